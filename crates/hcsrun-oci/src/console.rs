//! `--console-socket`: a terminal's master side, sent over the caller's
//! unix socket with `SCM_RIGHTS`, as runc sends it (conmon and
//! containerd's shim receive it).

use std::{
    io::IoSlice,
    os::{
        fd::{AsRawFd, BorrowedFd},
        unix::net::UnixStream,
    },
    path::Path,
};

use anyhow::{Context, Result};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

/// Connects to `socket` and sends `master` with its name as the payload.
pub fn send(socket: &Path, master: BorrowedFd<'_>) -> Result<()> {
    let stream = UnixStream::connect(socket)
        .with_context(|| format!("connecting to {}", socket.display()))?;
    let name = b"/dev/ptmx";
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .context("sending the console")?;
    Ok(())
}
