//! A process inside a compute system.

use std::time::Duration;

use async_trait::async_trait;

use crate::Result;

/// An owned pipe or console end of a process.
#[cfg(unix)]
pub type StdioHandle = std::os::fd::OwnedFd;
/// An owned pipe or console end of a process.
#[cfg(windows)]
pub type StdioHandle = std::os::windows::io::OwnedHandle;

/// The caller's ends of a process's standard streams: those the process was
/// created with (`CreateStd*Pipe`), none of the others.
///
/// Each end is a handle of its own: dropping it closes that handle only.
/// A pipe ends for the process when every handle of its caller's end is
/// closed, wherever its duplicates are.
#[derive(Debug, Default)]
pub struct Stdio {
    /// The write end of its stdin.
    pub stdin: Option<StdioHandle>,
    /// The read end of its stdout.
    pub stdout: Option<StdioHandle>,
    /// The read end of its stderr.
    pub stderr: Option<StdioHandle>,
}

impl Stdio {
    /// New handles for the same ends: `dup` (close-on-exec, numbered above
    /// the standard three) on Unix, `DuplicateHandle` (not inheritable) on
    /// Windows.
    pub fn try_clone(&self) -> std::io::Result<Stdio> {
        let dup = |h: &Option<StdioHandle>| h.as_ref().map(StdioHandle::try_clone).transpose();
        Ok(Stdio {
            stdin: dup(&self.stdin)?,
            stdout: dup(&self.stdout)?,
            stderr: dup(&self.stderr)?,
        })
    }
}

/// A handle to a process in a compute system.
#[async_trait]
pub trait Process: Send + Sync {
    /// The process id inside the system.
    fn pid(&self) -> u32;

    /// The process id in the caller's own pid namespace, where the service
    /// knows it: Linux front ends need it (pid files, containerd), since
    /// [`Process::pid`] is the id inside the container. `None` by default,
    /// and from services whose processes are not the caller's to see
    /// (Windows).
    fn host_pid(&self) -> Option<u32> {
        None
    }

    /// The id of the system the process runs in.
    fn system_id(&self) -> &str;

    /// Ends the process; does not wait for it.
    async fn kill(&self) -> Result<()>;

    /// Delivers signal `signal` (a Linux signal number) to the process,
    /// where the service can (later hcsshim's `HcsSignalProcess`; the Linux
    /// service can). By default: not supported, naming the process.
    async fn signal(&self, signal: i32) -> Result<()> {
        Err(crate::HcsError::process(
            self.system_id(),
            self.pid(),
            "Signal",
            crate::ErrorKind::Code(crate::ErrorCode::NOT_SUPPORTED),
        )
        .with_extra(format!(
            "(this compute service cannot deliver signal {signal} to a process; only kill, \
             shutdown and terminate)"
        )))
    }

    /// Waits until the process has exited.
    async fn wait(&self) -> Result<()>;

    /// Waits until the process has exited or `timeout` passes (a timeout
    /// error).
    async fn wait_timeout(&self, timeout: Duration) -> Result<()>;

    /// The exit code; an invalid-state error while the process still runs.
    async fn exit_code(&self) -> Result<u32>;

    /// Resizes the process's console.
    async fn resize_console(&self, width: u16, height: u16) -> Result<()>;

    /// New handles for the caller's ends of the standard streams, on every
    /// call, as vmcompute.dll's `HcsGetProcessInfo` hands them out (seed
    /// 004's `Stdio()`: "it should be possible to call this multiple times
    /// to get multiple interfaces"). Each is a duplicate the caller owns:
    /// closing it closes no other. The ends duplicated are those kept for
    /// the process: none for a stream it was created without, nor for stdin
    /// once [`close_stdin`](Self::close_stdin) closed it. The Linux service
    /// keeps them in the handle that created the process, so once
    /// [`take_stdio`](Self::take_stdio) handed them over, or on a handle
    /// that opened the process, there are none; through vmcompute each call
    /// asks `HcsGetProcessInfo`, whose service keeps its ends until its
    /// process handle is closed (libvmcompute.so: on the creating handle).
    async fn stdio(&self) -> Result<Stdio>;

    /// Hands over the ends this handle keeps, the convenience for a caller
    /// that attaches once: the first call gets them, later calls get none.
    /// On the Linux service the handle then keeps nothing, so closing what
    /// it returned is all that ends the process's stdin; through vmcompute
    /// the service still keeps its own, which
    /// [`close_stdin`](Self::close_stdin) closes.
    fn take_stdio(&self) -> Result<Stdio>;

    /// Closes the process's stdin so that it reads end of file.
    ///
    /// A console's input ends at once (its end-of-file character is
    /// written). A pipe ends when its last write end closes: this closes the
    /// one the handle and the service keep, but a duplicate the caller
    /// still holds from [`stdio`](Self::stdio) or
    /// [`take_stdio`](Self::take_stdio) keeps the pipe open until the caller
    /// closes it too (nothing can revoke a pipe end held elsewhere). So:
    /// close the writers you hold, then call this.
    async fn close_stdin(&self) -> Result<()>;

    /// Releases the stdout end kept for the process (hcsshim's
    /// `CloseStdout`, which closes the pipe it cached): the one this handle
    /// keeps for [`take_stdio`](Self::take_stdio) and, through vmcompute,
    /// the service's, which `HcsModifyProcess` `CloseHandle` `StdOut` asks
    /// it to close. The caller's handles keep working; later
    /// [`stdio`](Self::stdio) requests hand out no stdout.
    ///
    /// A pipe's writer fails (`EPIPE`, and `SIGPIPE` unless ignored) only
    /// once every read end is closed: so once the caller has taken or been
    /// handed the handles it reads, releasing the kept ones lets a process
    /// whose reader went away end, rather than block on a full pipe. A
    /// console's stdout is its master, which the console keeps: releasing it
    /// ends nothing.
    ///
    /// hcsshim's `CloseStdout` sends no request: `StdOut` is a handle the
    /// schema's `CloseHandle` names, which libvmcompute.so honours, but
    /// whether vmcompute.dll does is not known. A caller for which the
    /// release is an optimisation should ignore its errors.
    async fn close_stdout(&self) -> Result<()>;

    /// The same as [`close_stdout`](Self::close_stdout), for stderr
    /// (`CloseHandle` `StdErr`).
    async fn close_stderr(&self) -> Result<()>;

    /// Releases this handle; the process keeps running.
    async fn close(&self) -> Result<()>;
}
