//! A process's stdio: containerd's FIFOs (or files) on one side, the
//! client's `IoPipe` on the other, joined by copy tasks.
//!
//! Open order, so that nothing blocks:
//! - stdout/stderr FIFOs are opened read-write: the open never waits for
//!   containerd's reader, and the shim's own read side keeps the FIFO
//!   usable while containerd restarts (as the runc shims keep a reader).
//!   Both ends close once the process's output has ended, so the reader
//!   sees end of file.
//! - the stdin FIFO is opened read-only and non-blocking: readiness comes
//!   only when containerd's writer has written or gone (a FIFO that never
//!   had a writer does not report hang-up), so the copy waits without a
//!   thread and ends at containerd's end of file.

use std::{io, path::Path};

use hcsrun::client::{IoPipe, OutputReader, StdinWriter};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt},
    net::unix::pipe,
    sync::oneshot,
    task::JoinHandle,
};

/// Where containerd wants a process's streams (`""` = not wanted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StdioPaths {
    /// stdin FIFO (or URI).
    pub stdin: String,
    /// stdout FIFO (or URI).
    pub stdout: String,
    /// stderr FIFO (or URI); empty with a terminal.
    pub stderr: String,
    /// A terminal is wanted (the process console).
    pub terminal: bool,
}

enum Output {
    Fifo(pipe::Sender),
    File(tokio::fs::File),
}

/// The containerd side, opened.
pub struct Opened {
    stdin: Option<pipe::Receiver>,
    stdout: Option<Output>,
    stderr: Option<Output>,
}

/// The copies of one process; the handle closes its stdin (`CloseIO`) and
/// waits for its output to be delivered.
#[derive(Default)]
pub struct Copies {
    close_stdin: Option<oneshot::Sender<()>>,
    outputs: Vec<JoinHandle<()>>,
}

impl Copies {
    /// Closes the process's stdin once what containerd already wrote has
    /// been passed on.
    pub fn close_stdin(&mut self) {
        if let Some(tx) = self.close_stdin.take() {
            let _ = tx.send(());
        }
    }

    /// The output copies, to wait for (the process's streams ended and
    /// everything was written to containerd's side).
    pub fn take_outputs(&mut self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.outputs)
    }
}

/// A path or a `fifo://` / `file://` URI (containerd's pkg/process/io.go).
enum Target<'a> {
    None,
    Fifo(&'a str),
    File(&'a str),
}

fn target(uri: &str) -> io::Result<Target<'_>> {
    if uri.is_empty() {
        return Ok(Target::None);
    }
    if let Some(path) = uri.strip_prefix("file://") {
        return Ok(Target::File(path));
    }
    if let Some(path) = uri.strip_prefix("fifo://") {
        return Ok(Target::Fifo(path));
    }
    if uri.starts_with("binary://") {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{uri}: logging binaries are not supported by the hcsrun shim"),
        ));
    }
    if uri.contains("://") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{uri}: unknown stdio URI scheme"),
        ));
    }
    Ok(Target::Fifo(uri))
}

async fn open_output(uri: &str) -> io::Result<Option<Output>> {
    Ok(match target(uri)? {
        Target::None => None,
        Target::Fifo(path) => Some(Output::Fifo(
            pipe::OpenOptions::new()
                .read_write(true)
                .open_sender(path)
                .map_err(|e| named(path, e))?,
        )),
        Target::File(path) => {
            if let Some(dir) = Path::new(path).parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            Some(Output::File(
                tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(|e| named(path, e))?,
            ))
        }
    })
}

fn named(path: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{path}: {e}"))
}

/// Opens containerd's side of the streams in `paths` (never blocks).
pub async fn open(paths: &StdioPaths) -> io::Result<Opened> {
    let stdin = match target(&paths.stdin)? {
        Target::None => None,
        Target::Fifo(path) => Some(
            pipe::OpenOptions::new()
                .open_receiver(path)
                .map_err(|e| named(path, e))?,
        ),
        Target::File(path) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("stdin from a file ({path}) is not supported"),
            ))
        }
    };
    Ok(Opened {
        stdin,
        stdout: open_output(&paths.stdout).await?,
        // With a terminal, stderr is the terminal too.
        stderr: if paths.terminal {
            None
        } else {
            open_output(&paths.stderr).await?
        },
    })
}

/// Joins the opened side with the process's `pipes`; must run inside the
/// runtime (it spawns the copies).
pub fn attach(opened: Opened, pipes: IoPipe) -> Copies {
    let mut copies = Copies::default();
    if let (Some(fifo), Some(writer)) = (opened.stdin, pipes.stdin) {
        let (tx, rx) = oneshot::channel();
        copies.close_stdin = Some(tx);
        tokio::spawn(copy_stdin(fifo, writer, rx));
    }
    for (out, reader) in [(opened.stdout, pipes.stdout), (opened.stderr, pipes.stderr)] {
        if let (Some(out), Some(reader)) = (out, reader) {
            copies.outputs.push(tokio::spawn(copy_output(reader, out)));
        }
        // A stream containerd does not want is dropped: its pipe closes.
    }
    copies
}

async fn copy_stdin(
    mut fifo: pipe::Receiver,
    mut writer: StdinWriter,
    close: oneshot::Receiver<()>,
) {
    tokio::select! {
        _ = tokio::io::copy(&mut fifo, &mut writer) => {}
        _ = close => {
            // CloseIO: containerd's writer is done; pass on what it left.
            let mut buf = vec![0u8; 32 * 1024];
            while let Ok(n) = fifo.try_read(&mut buf) {
                if n == 0 || writer.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = writer.shutdown().await;
}

async fn copy_output(mut reader: OutputReader, out: Output) {
    match out {
        Output::Fifo(mut fifo) => pump(&mut reader, &mut fifo).await,
        Output::File(mut file) => pump(&mut reader, &mut file).await,
    }
}

async fn pump<R, W>(reader: &mut R, writer: &mut W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if let Err(e) = tokio::io::copy(reader, writer).await {
        log::debug!("copying output: {e}");
    }
    let _ = writer.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert!(matches!(target("").unwrap(), Target::None));
        assert!(matches!(target("/run/f").unwrap(), Target::Fifo("/run/f")));
        assert!(matches!(
            target("fifo:///run/f").unwrap(),
            Target::Fifo("/run/f")
        ));
        assert!(matches!(
            target("file:///l/x").unwrap(),
            Target::File("/l/x")
        ));
        let e = target("binary:///bin/log?x=1").err().unwrap();
        assert!(e.to_string().contains("not supported by the hcsrun shim"));
    }
}
