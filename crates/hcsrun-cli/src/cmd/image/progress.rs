//! A pull's progress as docker shows it: on a terminal one line per layer,
//! redrawn in place (`a1b2c3d4e5f6: Downloading [====>   ] 1.2MB/4.5MB`);
//! elsewhere a plain line per change of a layer's state.

use std::{
    io::Write,
    sync::Mutex,
    time::{Duration, Instant},
};

use hcsrun_image::{Digest, Progress};

use super::format::size;

/// Width of the bar between its brackets.
const BAR: usize = 30;
/// Redraws of byte counts at most this often.
const REDRAW: Duration = Duration::from_millis(100);

/// One layer's line.
struct Line {
    layer: Digest,
    status: String,
}

struct State {
    lines: Vec<Line>,
    /// Lines drawn so far (the cursor is below them).
    drawn: usize,
    last_draw: Option<Instant>,
}

/// Where a pull's lines go: stdout for `hcsrun pull`, stderr for the pull
/// `hcsrun run` makes (its stdout is the container's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// Whether it is a terminal.
    pub fn is_terminal(self) -> bool {
        use std::io::IsTerminal;
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }

    /// Writes `text`; a reader that went away is not an error here.
    pub fn write(self, text: &str) {
        let _ = match self {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
            Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
        };
    }
}

/// Shows a pull's progress.
pub struct Display {
    terminal: bool,
    stream: Stream,
    state: Mutex<State>,
}

impl Display {
    /// Redrawn bars on `stream` where it is a terminal, plain lines
    /// otherwise.
    pub fn new(stream: Stream) -> Self {
        Display {
            terminal: stream.is_terminal(),
            stream,
            state: Mutex::new(State {
                lines: Vec::new(),
                drawn: 0,
                last_draw: None,
            }),
        }
    }

    /// Takes in one step of the pull.
    pub fn update(&self, step: &Progress) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let (layer, status, urgent) = match step {
            Progress::Resolved { layers, .. } => {
                for (layer, _) in layers {
                    if !state.lines.iter().any(|l| &l.layer == layer) {
                        state.lines.push(Line {
                            layer: layer.clone(),
                            status: "Pulling fs layer".into(),
                        });
                        if !self.terminal {
                            self.plain(layer, "Pulling fs layer");
                        }
                    }
                }
                if self.terminal {
                    self.draw(&mut state);
                }
                return;
            }
            Progress::LayerExists { layer } => (layer, "Already exists".to_owned(), true),
            Progress::LayerDownloading {
                layer,
                downloaded,
                total,
            } => (layer, downloading(*downloaded, *total), false),
            Progress::LayerDone { layer, .. } => (layer, "Pull complete".to_owned(), true),
        };
        let Some(line) = state.lines.iter_mut().find(|l| &l.layer == layer) else {
            return;
        };
        if !self.terminal {
            // Byte counts are for terminals; a log gets each state once.
            if urgent && line.status != status {
                self.plain(layer, &status);
            } else if !urgent && !line.status.starts_with("Downloading") {
                self.plain(layer, "Downloading");
            }
            line.status = status;
            return;
        }
        line.status = status;
        let due = state.last_draw.is_none_or(|t| t.elapsed() >= REDRAW);
        if urgent || due {
            self.draw(&mut state);
        }
    }

    /// Draws every line once more, finally (byte counts skipped since the
    /// last redraw included).
    pub fn finish(&self) {
        if let Ok(mut state) = self.state.lock() {
            if self.terminal {
                self.draw(&mut state);
            }
        }
    }

    fn draw(&self, state: &mut State) {
        let mut text = String::new();
        if state.drawn > 0 {
            // Back to the first layer's line.
            text.push_str(&format!("\x1b[{}A", state.drawn));
        }
        for line in &state.lines {
            text.push_str(&format!("\x1b[2K{}: {}\n", line.layer.short(), line.status));
        }
        state.drawn = state.lines.len();
        state.last_draw = Some(Instant::now());
        self.stream.write(&text);
    }

    fn plain(&self, layer: &Digest, status: &str) {
        self.stream.write(&format!("{}: {status}\n", layer.short()));
    }
}

/// `Downloading [=====>      ]  1.2MB/4.5MB`.
fn downloading(done: u64, total: u64) -> String {
    if total == 0 {
        return format!("Downloading {}", size(done));
    }
    let filled = ((done.min(total) as f64 / total as f64) * BAR as f64) as usize;
    let bar = if filled >= BAR {
        "=".repeat(BAR)
    } else {
        format!("{}>{}", "=".repeat(filled), " ".repeat(BAR - filled - 1))
    };
    format!("Downloading [{bar}] {:>7}/{}", size(done), size(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_with_the_bytes() {
        assert_eq!(
            downloading(0, 100),
            format!("Downloading [>{}]      0B/100B", " ".repeat(29))
        );
        assert_eq!(
            downloading(50, 100),
            format!(
                "Downloading [{}>{}]     50B/100B",
                "=".repeat(15),
                " ".repeat(14)
            )
        );
        assert_eq!(
            downloading(100, 100),
            format!("Downloading [{}]    100B/100B", "=".repeat(30))
        );
    }
}
