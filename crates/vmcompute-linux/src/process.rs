//! The process exports, on the Linux service.

use hcs::{ErrorCode, ErrorKind};
use hcs_schema::{
    ProcessModifyRequest, ProcessStatus, MODIFY_CLOSE_HANDLE, MODIFY_CONSOLE_SIZE, STD_ALL,
    STD_ERR, STD_IN, STD_OUT,
};
use vmcompute_abi::{self as abi, Handle, Hresult, ProcessInformation};

use crate::{
    ffi::{parse, Failure},
    handles, notifier,
    runtime::block,
    system::information,
};

/// `HcsCloseProcess`: the process keeps running.
pub fn close(raw: Handle) -> Result<Hresult, Failure> {
    let entry = handles::remove_process(raw, "HcsCloseProcess")?;
    let handle = entry.handle;
    let closed = block(async move { entry.process.close().await });
    notifier::forget(handle);
    closed?;
    Ok(abi::S_OK)
}

/// `HcsTerminateProcess`.
pub fn terminate(raw: Handle) -> Result<Hresult, Failure> {
    let entry = handles::process(raw, "HcsTerminateProcess")?;
    block(async move { entry.process.kill().await })?;
    Ok(abi::S_OK)
}

/// `HcsGetProcessInfo`: the pid, and new descriptors for the pipes on
/// every call (duplicates of the ends the process handle keeps: none for
/// an opened process, nor for stdin once it was closed).
pub fn info(raw: Handle, out: *mut ProcessInformation) -> Result<Hresult, Failure> {
    let entry = handles::process(raw, "HcsGetProcessInfo")?;
    let process = entry.process.clone();
    let stdio = block(async move { process.stdio().await })?;
    // SAFETY: checked non-NULL by the export.
    unsafe { *out = information(entry.process.pid(), stdio) };
    Ok(abi::S_OK)
}

/// `HcsGetProcessProperties`: a `ProcessStatus`.
pub fn properties(raw: Handle) -> Result<String, Failure> {
    let entry = handles::process(raw, "HcsGetProcessProperties")?;
    let pid = entry.process.pid();
    let exit = block(async move { entry.process.exit_code().await });
    let status = match exit {
        Ok(code) => ProcessStatus {
            process_id: pid,
            exited: true,
            exit_code: code,
            last_wait_result: 0,
        },
        Err(e) if matches!(e.kind(), ErrorKind::InvalidProcessState) => ProcessStatus {
            process_id: pid,
            ..Default::default()
        },
        Err(e) => return Err(e.into()),
    };
    Ok(hcs_schema::to_string(&status).expect("a process status always encodes"))
}

/// `HcsModifyProcess`: console size, or closing a standard handle the
/// library keeps (`CloseHandle` `StdIn`, `StdOut`, `StdErr` or `All`).
pub fn modify(raw: Handle, settings: &str) -> Result<Hresult, Failure> {
    let export = "HcsModifyProcess";
    let request: ProcessModifyRequest = parse(export, "settings", settings)?;
    let entry = handles::process(raw, export)?;
    let process = entry.process.clone();
    match (
        request.operation.as_str(),
        request.console_size,
        request.close_handle,
    ) {
        (MODIFY_CONSOLE_SIZE, Some(size), _) => {
            block(async move { process.resize_console(size.width, size.height).await })?
        }
        (MODIFY_CLOSE_HANDLE, _, Some(h)) => {
            let is = |name: &str| h.handle.eq_ignore_ascii_case(name);
            let (stdin, stdout, stderr) = if is(STD_ALL) {
                (true, true, true)
            } else {
                (is(STD_IN), is(STD_OUT), is(STD_ERR))
            };
            if !(stdin || stdout || stderr) {
                return Err(Failure::new(
                    ErrorCode::NOT_SUPPORTED,
                    format!(
                        "({export}: no such handle {:?}: StdIn, StdOut, StdErr or All)",
                        h.handle
                    ),
                ));
            }
            // The output ends are only the process handle's own: release
            // them first, whatever becomes of stdin.
            block(async move {
                if stdout {
                    process.close_stdout().await?;
                }
                if stderr {
                    process.close_stderr().await?;
                }
                if stdin {
                    process.close_stdin().await?;
                }
                Ok::<_, hcs::HcsError>(())
            })?
        }
        (op, _, _) => {
            return Err(Failure::new(
                ErrorCode::INVALID_DATA,
                format!("({export}: unknown or incomplete operation {op:?})"),
            ))
        }
    }
    Ok(abi::S_OK)
}
