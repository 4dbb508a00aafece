//! Turning Linux failures into HCS errors that name the system and
//! operation, with the Linux detail kept as extra text.

use std::io;

use hcs::{ErrorCode, ErrorKind, HcsError};
use hcsrun_shim_protocol::{
    errno::{errno_code, io_code},
    message::{Reply, WireError},
};

use crate::conn::{Answer, ConnError};

/// An error of system `id` during `operation` with `code` and detail.
pub fn system_error(
    id: &str,
    operation: &'static str,
    code: ErrorCode,
    detail: impl Into<String>,
) -> HcsError {
    HcsError::system(id, operation, ErrorKind::Code(code)).with_extra(parenthesize(detail.into()))
}

/// An error of process `pid` in system `id`.
pub fn process_error(
    id: &str,
    pid: u32,
    operation: &'static str,
    code: ErrorCode,
    detail: impl Into<String>,
) -> HcsError {
    HcsError::process(id, pid, operation, ErrorKind::Code(code))
        .with_extra(parenthesize(detail.into()))
}

/// An I/O failure of system `id`, with what was being done.
pub fn system_io_error(id: &str, operation: &'static str, what: &str, err: &io::Error) -> HcsError {
    system_error(id, operation, io_code(err), format!("{what}: {err}"))
}

/// An error the holder reported for system `id` (or, with `pid`, for one
/// of its processes).
pub fn from_wire(id: &str, pid: Option<u32>, operation: &'static str, err: WireError) -> HcsError {
    let code = ErrorCode(err.code);
    match pid {
        Some(pid) => process_error(id, pid, operation, code, err.message),
        None => system_error(id, operation, code, err.message),
    }
}

/// A request that got no reply: the system stopped, or the socket failed.
pub fn from_conn(id: &str, pid: Option<u32>, operation: &'static str, err: ConnError) -> HcsError {
    let (code, detail) = match err {
        ConnError::Gone => (
            ErrorCode::SYSTEM_ALREADY_STOPPED,
            "the system has stopped".to_owned(),
        ),
        ConnError::Io(e) => (
            errno_code(e as i32),
            format!("talking to the system's holder: {e}"),
        ),
    };
    from_wire(
        id,
        pid,
        operation,
        WireError {
            code: code.0,
            message: detail,
        },
    )
}

/// The answer to a request, or the error naming the system or process.
pub fn answer(
    id: &str,
    pid: Option<u32>,
    operation: &'static str,
    answer: Result<Answer, ConnError>,
) -> Result<(Reply, Vec<std::os::fd::OwnedFd>), HcsError> {
    let answer = answer.map_err(|e| from_conn(id, pid, operation, e))?;
    match answer.result {
        Ok(reply) => Ok((reply, answer.fds)),
        Err(err) => Err(from_wire(id, pid, operation, err)),
    }
}

fn parenthesize(detail: String) -> String {
    if detail.is_empty() {
        detail
    } else {
        format!("({detail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_follows_the_message() {
        let err = system_io_error(
            "c1",
            "Start",
            "mounting /x",
            &io::Error::from_raw_os_error(libc::ENOENT),
        );
        let text = err.to_string();
        assert!(
            text.starts_with("container c1 encountered an error during Start: "),
            "{text}"
        );
        assert!(
            text.ends_with("(0x2) (mounting /x: No such file or directory (os error 2))"),
            "{text}"
        );
    }
}
