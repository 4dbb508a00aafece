//! A process's streams relayed to and from this process's, as `hcsrun run`
//! relays them, for `exec` and `start -a`: output spliced to stdout and
//! stderr, this process's stdin copied in with -i, the console resized
//! with the terminal, and the process's exit code at the end.

use hcs::{Process, Stdio};
use tokio::signal::unix::{signal, SignalKind};

use super::run::{exit, io};

/// Relays `stdio` of `process` until it exits; returns hcsrun's exit code
/// for its code. `interactive` copies this process's stdin in (else the
/// process's input ends at once, unless it is a console); `tty` is the
/// process's console, put in raw mode and resized with this terminal.
pub async fn attach(
    process: &dyn Process,
    stdio: Stdio,
    interactive: bool,
    tty: bool,
) -> anyhow::Result<u8> {
    let raw_terminal = (tty && interactive).then(io::RawTerminal::enter).flatten();
    let mut forwards = Vec::new();
    for (stream, output) in [
        (stdio.stdout, libc::STDOUT_FILENO),
        (stdio.stderr, libc::STDERR_FILENO),
    ] {
        if let Some(fd) = stream {
            forwards.push(tokio::task::spawn_blocking(move || {
                io::forward_fd(fd, output)
            }));
        }
    }
    if !tty {
        // The readers here are the only ones: a writer no one reads gets
        // EPIPE rather than blocking.
        let _ = process.close_stdout().await;
        let _ = process.close_stderr().await;
    }
    if let Some(stdin) = stdio.stdin {
        if interactive {
            let stdin = std::fs::File::from(stdin);
            tokio::spawn(async move {
                let mut to = tokio::fs::File::from_std(stdin);
                let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut to).await;
            });
        } else if !tty {
            drop(stdin);
            let _ = process.close_stdin().await;
        }
    }
    let code = wait(process, tty).await;
    for forward in forwards {
        let _ = forward.await;
    }
    drop(raw_terminal);
    code
}

/// Waits for the process, resizing its console with the terminal.
async fn wait(process: &dyn Process, tty: bool) -> anyhow::Result<u8> {
    let mut window = signal(SignalKind::window_change())?;
    loop {
        tokio::select! {
            waited = process.wait() => {
                waited?;
                return Ok(exit::for_exit(process.exit_code().await?));
            }
            _ = window.recv(), if tty => {
                if let Some((height, width)) = io::terminal_size() {
                    let _ = process.resize_console(width, height).await;
                }
            }
        }
    }
}
