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
#[derive(Debug, Default)]
pub struct Stdio {
    /// The write end of its stdin.
    pub stdin: Option<StdioHandle>,
    /// The read end of its stdout.
    pub stdout: Option<StdioHandle>,
    /// The read end of its stderr.
    pub stderr: Option<StdioHandle>,
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

    /// Waits until the process has exited.
    async fn wait(&self) -> Result<()>;

    /// Waits until the process has exited or `timeout` passes (a timeout
    /// error).
    async fn wait_timeout(&self, timeout: Duration) -> Result<()>;

    /// The exit code; an invalid-state error while the process still runs.
    async fn exit_code(&self) -> Result<u32>;

    /// Resizes the process's console.
    async fn resize_console(&self, width: u16, height: u16) -> Result<()>;

    /// Hands over the caller's ends of the standard streams. The first call
    /// gets them; later calls get none.
    fn take_stdio(&self) -> Result<Stdio>;

    /// Closes the process's stdin so that it reads end of file.
    async fn close_stdin(&self) -> Result<()>;

    /// Releases this handle; the process keeps running.
    async fn close(&self) -> Result<()>;
}
