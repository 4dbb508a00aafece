//! A process handle of the vmcompute backend.

use std::{sync::Mutex, time::Duration};

use async_trait::async_trait;
use hcs::{ErrorCode, ErrorKind, Process, Result, Stdio, StdioHandle, Subject};
use hcs_schema::{ProcessModifyRequest, ProcessStatus, STD_ERR, STD_OUT};

use crate::{
    abi::{self, Handle},
    error,
    handle::{close_raw, with_output, with_result, HandleKind, HcsHandle},
    library::Library,
    notify::Kind,
    wide::to_wide,
};

pub(crate) struct VmComputeProcess {
    system_id: String,
    pid: u32,
    handle: HcsHandle,
    /// The ends `HcsCreateProcess` (or, for an opened process,
    /// `HcsGetProcessInfo`) handed out, until `take_stdio` hands them on.
    stdio: Mutex<Stdio>,
}

impl VmComputeProcess {
    /// Wraps a handle the service returned with the process's pipes
    /// (blocking: registers the callback). On failure the handle is closed.
    pub fn attach(
        lib: &'static Library,
        system_id: String,
        pid: u32,
        raw: Handle,
        stdio: Stdio,
        operation: &'static str,
    ) -> Result<Self> {
        let subject = Subject::Process {
            id: system_id.clone(),
            pid,
        };
        match HcsHandle::attach(lib, HandleKind::Process, subject, raw, operation) {
            Ok(handle) => Ok(Self {
                system_id,
                pid,
                handle,
                stdio: Mutex::new(stdio),
            }),
            Err(e) => {
                // SAFETY: `raw` is live and nobody else holds it.
                unsafe { close_raw(lib, HandleKind::Process, raw) };
                Err(e)
            }
        }
    }

    /// Wraps an opened process: its pipes, if the service hands any out,
    /// come from `HcsGetProcessInfo` (blocking).
    pub fn open(
        lib: &'static Library,
        system_id: String,
        pid: u32,
        raw: Handle,
        operation: &'static str,
    ) -> Result<Self> {
        // SAFETY: `raw` is live.
        let (hr, stdio, result) = unsafe { process_info(lib, raw) };
        if hr < 0 {
            // SAFETY: a live handle nobody else has.
            unsafe { close_raw(lib, HandleKind::Process, raw) };
            let subject = Subject::Process { id: system_id, pid };
            return Err(error::from_hresult(
                &subject,
                operation,
                hr,
                result.as_deref(),
            ));
        }
        Self::attach(lib, system_id, pid, raw, stdio, operation)
    }

    fn subject(&self) -> &Subject {
        self.handle.subject()
    }

    async fn modify(&self, operation: &'static str, request: ProcessModifyRequest) -> Result<()> {
        let settings = hcs_schema::to_string(&request).expect("a process modify request encodes");
        let settings = to_wide(&settings).expect("a process modify request holds no NUL");
        let (hr, result) = self
            .handle
            .call(operation, move |lib, h| {
                // SAFETY: `h` is live; the settings are NUL-terminated and
                // outlive the call; the result is read and freed.
                unsafe {
                    with_result(lib, |result| {
                        (lib.exports.modify_process)(h, settings.as_ptr(), result)
                    })
                }
            })
            .await?;
        error::check(self.subject(), operation, hr, result.as_deref())
    }

    async fn wait_for_exit(
        &self,
        operation: &'static str,
        timeout: Option<Duration>,
    ) -> Result<()> {
        self.handle.check_open(operation)?;
        let waited = self
            .handle
            .watcher()
            .wait(Kind::ProcessExited, timeout)
            .await;
        error::from_wait(self.subject(), operation, waited)
    }
}

/// `HcsGetProcessInfo`: its HRESULT, the pipe ends it handed out (owned, so
/// that they are closed whatever becomes of the call) and its result
/// document (blocking).
///
/// # Safety
/// `raw` is a live process handle of `lib`.
unsafe fn process_info(lib: &Library, raw: Handle) -> (abi::Hresult, Stdio, Option<String>) {
    let mut info = abi::ProcessInformation::default();
    // SAFETY: `raw` is live (the caller's promise); `info` is written by
    // the call; the result is read and freed.
    let (hr, result) = unsafe {
        with_result(lib, |result| {
            (lib.exports.process_info)(raw, &mut info, result)
        })
    };
    // SAFETY: the handles in `info` are ours now, each owned once.
    let stdio = unsafe { stdio_from(&info) };
    (hr, stdio, result)
}

/// Takes ownership of the pipe ends in `info` (0 means none).
///
/// # Safety
/// The non-zero handles in `info` are open, belong to the caller, and are
/// owned by nothing else.
pub(crate) unsafe fn stdio_from(info: &abi::ProcessInformation) -> Stdio {
    // SAFETY: passed on from the caller, one handle at a time.
    unsafe {
        Stdio {
            stdin: own(info.std_input),
            stdout: own(info.std_output),
            stderr: own(info.std_error),
        }
    }
}

/// # Safety
/// As for [`stdio_from`].
#[cfg(unix)]
unsafe fn own(handle: Handle) -> Option<StdioHandle> {
    use std::os::fd::FromRawFd;
    // On Unix the handle fields carry file descriptors; 0 is "none", as on
    // Windows, and a value that is no descriptor is ignored.
    let fd = i32::try_from(handle as usize).ok().filter(|&fd| fd > 0)?;
    // SAFETY: an open descriptor we own (the caller's promise).
    Some(unsafe { StdioHandle::from_raw_fd(fd) })
}

/// # Safety
/// As for [`stdio_from`].
#[cfg(windows)]
unsafe fn own(handle: Handle) -> Option<StdioHandle> {
    use std::os::windows::io::FromRawHandle;
    // INVALID_HANDLE_VALUE (-1) is no handle either.
    if handle.is_null() || handle as isize == -1 {
        return None;
    }
    // SAFETY: an open handle we own (the caller's promise).
    Some(unsafe { StdioHandle::from_raw_handle(handle) })
}

#[async_trait]
impl Process for VmComputeProcess {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn system_id(&self) -> &str {
        &self.system_id
    }

    async fn kill(&self) -> Result<()> {
        let operation = "Kill";
        let (hr, result) = self
            .handle
            .call(operation, |lib, h| {
                // SAFETY: `h` is live; the result is read and freed.
                unsafe { with_result(lib, |result| (lib.exports.terminate_process)(h, result)) }
            })
            .await?;
        error::check(self.subject(), operation, hr, result.as_deref())
    }

    async fn wait(&self) -> Result<()> {
        self.wait_for_exit("Wait", None).await
    }

    async fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.wait_for_exit("WaitTimeout", Some(timeout)).await
    }

    async fn exit_code(&self) -> Result<u32> {
        let operation = "ExitCode";
        let (hr, properties, result) = self
            .handle
            .call(operation, |lib, h| {
                // SAFETY: `h` is live; both outputs are read and freed.
                unsafe {
                    with_output(lib, |props, result| {
                        (lib.exports.process_properties)(h, props, result)
                    })
                }
            })
            .await?;
        error::check(self.subject(), operation, hr, result.as_deref())?;
        let status: ProcessStatus = hcs_schema::from_str(properties.as_deref().unwrap_or("{}"))
            .map_err(|e| error::bad_document(self.subject(), operation, "process properties", e))?;
        if !status.exited {
            return Err(self.handle.error(operation, ErrorKind::InvalidProcessState));
        }
        if status.last_wait_result != 0 {
            let code = ErrorCode::from_hresult(status.last_wait_result);
            return Err(self.handle.error(operation, ErrorKind::Code(code)));
        }
        Ok(status.exit_code)
    }

    async fn resize_console(&self, width: u16, height: u16) -> Result<()> {
        self.modify(
            "ResizeConsole",
            ProcessModifyRequest::console_size(width, height),
        )
        .await
    }

    async fn stdio(&self) -> Result<Stdio> {
        // New handles from the service on every call, as hcsshim's Stdio()
        // gets them once its cached pipes are handed out.
        let operation = "Stdio";
        let (hr, stdio, result) = self
            .handle
            .call(operation, |lib, h| {
                // SAFETY: `h` is live for the call.
                unsafe { process_info(lib, h) }
            })
            .await?;
        error::check(self.subject(), operation, hr, result.as_deref())?;
        Ok(stdio)
    }

    fn take_stdio(&self) -> Result<Stdio> {
        self.handle.check_open("Stdio")?;
        Ok(std::mem::take(&mut *self.stdio.lock().unwrap()))
    }

    async fn close_stdin(&self) -> Result<()> {
        let operation = "CloseStdin";
        self.handle.check_open(operation)?;
        // A pipe ends when its last write end closes: ours, if not handed
        // over, and the service's, which it closes when asked.
        self.stdio.lock().unwrap().stdin = None;
        self.modify(operation, ProcessModifyRequest::close_stdin())
            .await
    }

    async fn close_stdout(&self) -> Result<()> {
        let operation = "CloseStdout";
        self.handle.check_open(operation)?;
        // Ours, if not handed over (all hcsshim's CloseStdout closes), and
        // the service's.
        self.stdio.lock().unwrap().stdout = None;
        self.modify(operation, ProcessModifyRequest::close_handle(STD_OUT))
            .await
    }

    async fn close_stderr(&self) -> Result<()> {
        let operation = "CloseStderr";
        self.handle.check_open(operation)?;
        self.stdio.lock().unwrap().stderr = None;
        self.modify(operation, ProcessModifyRequest::close_handle(STD_ERR))
            .await
    }

    async fn close(&self) -> Result<()> {
        let closed = self.handle.close().await;
        std::mem::take(&mut *self.stdio.lock().unwrap());
        closed
    }
}

impl std::fmt::Debug for VmComputeProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmComputeProcess")
            .field("system_id", &self.system_id)
            .field("pid", &self.pid)
            .finish()
    }
}
