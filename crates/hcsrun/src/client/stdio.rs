//! The embedder's side of a process's standard streams (the seed's
//! `IOPipe`): asynchronous readers and a writer over the handles the compute
//! service hands back, with the seed's closing rules, fixed where later
//! versions fixed them.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use hcs::{Process, StdioHandle};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A process's streams, handed to the embedder's attach callback.
pub struct IoPipe {
    /// Writes to the process's stdin. Shutting it down (or dropping it)
    /// closes stdin.
    pub stdin: Option<StdinWriter>,
    /// Reads the process's stdout (with a console, both streams).
    pub stdout: Option<OutputReader>,
    /// Reads the process's stderr.
    pub stderr: Option<OutputReader>,
    /// The process has a console: stdout carries both streams.
    pub terminal: bool,
    /// The process's pid on the host, where the service knows it (the
    /// Linux service does): an embedder that signals or accounts for
    /// processes itself needs it before the process can have exited.
    pub host_pid: Option<u32>,
}

impl std::fmt::Debug for IoPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoPipe")
            .field("stdin", &self.stdin.is_some())
            .field("stdout", &self.stdout.is_some())
            .field("stderr", &self.stderr.is_some())
            .field("terminal", &self.terminal)
            .field("host_pid", &self.host_pid)
            .finish()
    }
}

/// A stream of a process's output. It closes its pipe as soon as it reads
/// end of file or fails in any way, so that a broken pipe is never held
/// open (the seed closed only at end of file); reads after that return end
/// of file.
pub struct OutputReader {
    inner: Option<Stream>,
}

impl OutputReader {
    pub(crate) fn new(handle: StdioHandle) -> io::Result<Self> {
        Ok(Self {
            inner: Some(Stream::new(handle)?),
        })
    }

    /// The descriptor underneath, for zero-copy transfers (`splice`).
    #[cfg(unix)]
    pub fn as_raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.as_ref().map(Stream::raw_fd)
    }

    /// Waits until the stream can be read (or has ended).
    #[cfg(unix)]
    pub async fn readable(&self) -> io::Result<()> {
        match &self.inner {
            Some(stream) => stream.readable().await,
            None => Ok(()),
        }
    }
}

impl AsyncRead for OutputReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(stream) = this.inner.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let before = buf.filled().len();
        let result = ready!(Pin::new(stream).poll_read(cx, buf));
        if result.is_err() || buf.filled().len() == before {
            this.inner = None;
        }
        Poll::Ready(result)
    }
}

/// The process's stdin (the seed's `createStdInCloser`). Closing it closes
/// the pipe and then stdin in the compute system, ignoring that the process
/// or system is already gone.
pub struct StdinWriter {
    inner: Option<Stream>,
    process: Arc<dyn Process>,
    closing: Option<BoxFuture<io::Result<()>>>,
}

impl StdinWriter {
    pub(crate) fn new(handle: StdioHandle, process: Arc<dyn Process>) -> io::Result<Self> {
        Ok(Self {
            inner: Some(Stream::new(handle)?),
            process,
            closing: None,
        })
    }

    /// The descriptor underneath, for zero-copy transfers (`splice`).
    #[cfg(unix)]
    pub fn as_raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.as_ref().map(Stream::raw_fd)
    }

    /// Closes stdin: the pipe, then the process's stdin in the compute
    /// system.
    pub async fn close(mut self) -> io::Result<()> {
        self.inner = None;
        close_stdin(self.process.clone()).await
    }
}

/// `CloseStdin`, with the errors that mean "already closed" ignored: the
/// process or system is gone, the handle closed, or the system is shutting
/// down.
async fn close_stdin(process: Arc<dyn Process>) -> io::Result<()> {
    match process.close_stdin().await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_exist() || e.is_already_closed() || e.is_already_stopped() => Ok(()),
        Err(e) if e.code() == Some(hcs::ErrorCode::INVALID_STATE) => Ok(()),
        Err(e) => Err(io::Error::other(e)),
    }
}

impl AsyncWrite for StdinWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().inner.as_mut() {
            Some(stream) => Pin::new(stream).poll_write(cx, buf),
            None => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.inner = None;
        let closing = this
            .closing
            .get_or_insert_with(|| Box::pin(close_stdin(this.process.clone())));
        closing.as_mut().poll(cx)
    }
}

impl Drop for StdinWriter {
    fn drop(&mut self) {
        // Dropping without a shutdown still closes stdin in the compute
        // system, where a runtime is at hand to do it.
        if self.inner.is_some() && self.closing.is_none() {
            self.inner = None;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(close_stdin(self.process.clone()));
            }
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

#[cfg(unix)]
use unix::Stream;
#[cfg(windows)]
use windows::Stream;

#[cfg(unix)]
mod unix {
    //! Pipes and console masters as non-blocking descriptors driven by the
    //! runtime's reactor: no thread per stream.

    use std::{
        io,
        os::fd::{AsFd, AsRawFd, OwnedFd, RawFd},
        pin::Pin,
        task::{ready, Context, Poll},
    };

    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use tokio::io::{unix::AsyncFd, AsyncRead, AsyncWrite, Interest, ReadBuf};

    pub struct Stream(AsyncFd<OwnedFd>);

    impl Stream {
        pub fn new(fd: OwnedFd) -> io::Result<Self> {
            let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
            fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
            // SAFETY: an OwnedFd stays open, and the same descriptor, for as
            // long as the AsyncFd owns it.
            let fd = unsafe {
                AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE)
            }
            .map_err(io::Error::from)?;
            Ok(Self(fd))
        }

        pub fn raw_fd(&self) -> RawFd {
            self.0.get_ref().as_raw_fd()
        }

        pub async fn readable(&self) -> io::Result<()> {
            self.0.readable().await.map(|mut guard| guard.clear_ready())
        }
    }

    impl AsyncRead for Stream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            loop {
                let mut guard = ready!(self.0.poll_read_ready(cx))?;
                let unfilled = buf.initialize_unfilled();
                match guard.try_io(|fd| {
                    nix::unistd::read(fd.get_ref().as_fd(), unfilled).map_err(io::Error::from)
                }) {
                    Ok(Ok(n)) => {
                        buf.advance(n);
                        return Poll::Ready(Ok(()));
                    }
                    // A console's master reads EIO once the process side has
                    // closed: that is its end of file.
                    Ok(Err(e)) if e.raw_os_error() == Some(libc_eio()) => {
                        return Poll::Ready(Ok(()))
                    }
                    Ok(Err(e)) => return Poll::Ready(Err(e)),
                    Err(_would_block) => continue,
                }
            }
        }
    }

    impl AsyncWrite for Stream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            loop {
                let mut guard = ready!(self.0.poll_write_ready(cx))?;
                match guard
                    .try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io::Error::from))
                {
                    Ok(result) => return Poll::Ready(result),
                    Err(_would_block) => continue,
                }
            }
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn libc_eio() -> i32 {
        nix::errno::Errno::EIO as i32
    }
}

#[cfg(windows)]
mod windows {
    //! Pipe handles through the runtime's blocking pool.

    use std::io;

    pub type Stream = tokio::fs::File;

    pub trait FromHandle: Sized {
        fn new(handle: hcs::StdioHandle) -> io::Result<Self>;
    }

    impl FromHandle for Stream {
        fn new(handle: hcs::StdioHandle) -> io::Result<Self> {
            Ok(tokio::fs::File::from_std(std::fs::File::from(handle)))
        }
    }
}
#[cfg(windows)]
use windows::FromHandle as _;
