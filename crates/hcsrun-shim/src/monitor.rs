//! Who monitors a process of the container, and the exec FIFO a process
//! waits on in caller mode ("The process model" in
//! `docs/ARCHITECTURE.md`).

use std::{
    fs,
    io::Write,
    os::fd::{AsRawFd, BorrowedFd, OwnedFd},
};

use hcs::ErrorCode;
use hcsrun_shim_protocol::{errno::errno_code, message::WireError};
use nix::{
    fcntl::{open, OFlag},
    sys::stat::Mode,
};

fn fail(code: ErrorCode, message: String) -> WireError {
    WireError {
        code: code.0,
        message,
    }
}

/// Who monitors a process of the container ("The process model").
pub enum Monitor<'a> {
    /// The holder, whose pidfd this is: the process carries the
    /// parent-death signal and checks that the holder lives.
    Holder(BorrowedFd<'a>),
    /// The caller of `hcsrun-oci` (no holder): no parent-death signal (the
    /// process outlives the command that made it). With a [`Start`] (the
    /// container's pid 1), the process applies everything, closes its
    /// status pipe (so `create` returns), and waits until `start` opens the
    /// exec FIFO before its `execve`.
    Caller(Option<Start>),
}

/// What pid 1 waits for and does at `start` in caller mode.
pub struct Start {
    /// The exec FIFO, an `O_PATH` descriptor opened before the root moved.
    pub fifo: OwnedFd,
    /// The spec's `startContainer` hooks, run once `start` has come.
    pub hooks: Vec<crate::hooks::Hook>,
    /// Their state JSON.
    pub state: String,
}

/// Waits for `start`: opens the exec FIFO for writing through
/// `/proc/self/fd` (the path is outside the container's root; the FIFO is
/// writable by anyone, as runc makes it) and writes one byte, which
/// `start` reads.
pub fn wait_for_start(fifo: &OwnedFd) -> Result<(), WireError> {
    let path = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    let opened = loop {
        match open(
            path.as_str(),
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Err(nix::Error::EINTR) => continue,
            other => break other,
        }
    };
    let fd =
        opened.map_err(|e| fail(errno_code(e as i32), format!("opening the exec FIFO: {e}")))?;
    fs::File::from(fd).write_all(b"0").map_err(|e| {
        fail(
            ErrorCode::INTERNAL_ERROR,
            format!("writing the exec FIFO: {e}"),
        )
    })
}
