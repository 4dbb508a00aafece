//! Writing to this process's stdout and stderr without ever panicking:
//! when a reader goes away (`hcsrun ... 2>&1 | head -1`), what is left to
//! say is dropped and hcsrun carries on to its normal end, cleaning up as
//! always. (`println!` and `eprintln!` panic on a closed pipe, and so does
//! tracing's writer, which reports a failed write with `eprintln!`.)

use std::{
    io::{self, Write},
    sync::atomic::{AtomicBool, Ordering},
};

/// Set once stderr failed: later diagnostics are not even tried.
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// stderr for diagnostics: a write that fails is dropped, never reported.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !STDERR_GONE.load(Ordering::Relaxed) {
            if let Err(e) = io::stderr().write_all(data) {
                if e.kind() != io::ErrorKind::Interrupted {
                    STDERR_GONE.store(true, Ordering::Relaxed);
                }
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

/// Prints `line` and a newline to stderr, if anyone still reads it.
pub fn error_line(line: &str) {
    let _ = Stderr.write_all(format!("{line}\n").as_bytes());
}

/// Prints `text` to stdout; a reader that went away is not an error (the
/// output was not wanted), anything else is.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_never_fail() {
        // Whatever stderr is, the writer reports every byte written.
        assert_eq!(Stderr.write(b"").unwrap(), 0);
        assert!(Stderr.flush().is_ok());
    }
}
