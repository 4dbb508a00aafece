//! OOM events from a container's memory cgroup (v1): an eventfd registered
//! on `memory.oom_control` through `cgroup.event_control`.
//!
//! The kernel signals the eventfd when the memory cgroup hits its limit
//! (before the OOM killer's victim has exited) and once more when the
//! cgroup is removed. The holder removes a container's cgroups only after
//! its pid 1 has exited and been reaped, so a signal read while the cgroup
//! still exists is an OOM; one read after it is gone is the removal, unless
//! the count read is above one (an OOM and the removal together).
//! Registered at `Create`, while pid 1 is parked, so no OOM of the user's
//! program can come before it.

use std::{
    fs,
    io::{self, Write},
    os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd},
    path::{Path, PathBuf},
};

use tokio::{io::unix::AsyncFd, task::JoinHandle};

/// Watching a container's OOM events; dropping it stops watching.
pub struct OomWatch {
    task: JoinHandle<()>,
}

impl Drop for OomWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Registers an eventfd for `memory_dir`'s OOM notifications (blocking:
/// run on the blocking pool).
pub fn register(memory_dir: &Path) -> io::Result<OwnedFd> {
    let control = fs::File::open(memory_dir.join("memory.oom_control"))?;
    // SAFETY: eventfd has no memory preconditions; the result is checked.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor nothing else owns.
    let efd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut event_control = fs::OpenOptions::new()
        .write(true)
        .open(memory_dir.join("cgroup.event_control"))?;
    event_control
        .write_all(format!("{} {}", efd.as_raw_fd(), control.as_fd().as_raw_fd()).as_bytes())?;
    // The kernel holds its own references now; `control` may close.
    Ok(efd)
}

/// The OOM kills `memory_dir` has counted (`oom_kill` in
/// `memory.oom_control`; 0 where the kernel does not count). Blocking.
pub fn kills(memory_dir: &Path) -> u64 {
    fs::read_to_string(memory_dir.join("memory.oom_control"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Watches the registered `efd`, calling `on_oom` for each OOM.
pub fn watch(
    efd: OwnedFd,
    memory_dir: PathBuf,
    on_oom: impl Fn() + Send + 'static,
) -> io::Result<OomWatch> {
    // SAFETY: the OwnedFd stays open, and the same descriptor, for as long
    // as the AsyncFd owns it.
    let fd = unsafe { AsyncFd::register(efd) }.map_err(io::Error::from)?;
    let task = tokio::spawn(async move {
        loop {
            let Ok(mut guard) = fd.readable().await else {
                return;
            };
            let mut buf = [0u8; 8];
            // SAFETY: reads 8 bytes into an 8-byte buffer.
            let n =
                unsafe { libc::read(fd.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n != 8 {
                guard.clear_ready();
                continue;
            }
            let count = u64::from_ne_bytes(buf);
            // Checked after the read: a cgroup still there means the
            // removal's signal was not among those read.
            let alive = tokio::fs::try_exists(&memory_dir).await.unwrap_or(false);
            let ooms = if alive {
                count
            } else {
                count.saturating_sub(1)
            };
            for _ in 0..ooms {
                on_oom();
            }
            if !alive {
                return;
            }
        }
    });
    Ok(OomWatch { task })
}
