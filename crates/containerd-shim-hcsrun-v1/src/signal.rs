//! Signals by host pid, for what the client has no call for: a signal
//! other than SIGTERM/SIGKILL to a container's init, any signal to an
//! exec'd process, and `Kill --all` (every process of the container's
//! cgroup). Sent through a pidfd, so a pid is resolved once: the process
//! signalled is the one the pid named when the pidfd was opened.

use std::{io, os::fd::AsRawFd, os::fd::FromRawFd, os::fd::OwnedFd};

/// Sends `signal` to host pid `pid`. A process that is gone is
/// `ErrorKind::NotFound`.
pub fn send(pid: u32, signal: u32) -> io::Result<()> {
    if pid == 0 {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no such process"));
    }
    // SAFETY: pidfd_open takes a pid and flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(not_found(io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a new descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(not_found(io::Error::last_os_error()));
    }
    Ok(())
}

fn not_found(e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ESRCH) {
        io::Error::new(io::ErrorKind::NotFound, "process already finished")
    } else {
        e
    }
}
