//! The process exports, on the Linux service.

use hcs::{ErrorCode, ErrorKind};
use hcs_schema::{
    ProcessModifyRequest, ProcessStatus, MODIFY_CLOSE_HANDLE, MODIFY_CONSOLE_SIZE, STD_IN,
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

/// `HcsModifyProcess`: console size, or closing stdin.
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
        (MODIFY_CLOSE_HANDLE, _, Some(h)) if h.handle.eq_ignore_ascii_case(STD_IN) => {
            block(async move { process.close_stdin().await })?
        }
        (MODIFY_CLOSE_HANDLE, _, Some(h)) => {
            return Err(Failure::new(
                ErrorCode::NOT_SUPPORTED,
                format!("({export}: only StdIn can be closed, not {:?})", h.handle),
            ))
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
