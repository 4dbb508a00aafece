//! OOM events from a container's memory cgroup: on v1 an eventfd
//! registered on `memory.oom_control` through `cgroup.event_control`, on
//! v2 an inotify watch of `memory.events` ([`register_v2`]).
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

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
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

/// A registration for a memory cgroup's OOM events, made before the
/// container's program runs.
pub enum Registration {
    /// cgroup v1: the eventfd.
    V1(OwnedFd),
    /// cgroup v2: the inotify watch.
    V2(V2Registration),
}

/// Registers for `memory_dir`'s OOM events, as its cgroup version offers
/// them (blocking: run on the blocking pool).
pub fn register(memory_dir: &Path) -> io::Result<Registration> {
    if memory_dir.join("memory.oom_control").exists() {
        register_v1(memory_dir).map(Registration::V1)
    } else {
        register_v2(memory_dir).map(Registration::V2)
    }
}

/// The OOM kills `memory_dir` has counted (0 where the kernel does not
/// count). Blocking.
pub fn kills(memory_dir: &Path) -> u64 {
    kills_v1(memory_dir)
        .or_else(|| kills_v2(memory_dir))
        .unwrap_or(0)
}

/// Watches `registration`, calling `on_oom` for each OOM.
pub fn watch(
    registration: Registration,
    memory_dir: PathBuf,
    on_oom: impl Fn() + Send + 'static,
) -> io::Result<OomWatch> {
    match registration {
        Registration::V1(efd) => watch_v1(efd, memory_dir, on_oom),
        Registration::V2(r) => watch_v2(r, memory_dir, on_oom),
    }
}

/// Registers an eventfd for `memory_dir`'s OOM notifications (v1;
/// blocking).
fn register_v1(memory_dir: &Path) -> io::Result<OwnedFd> {
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

/// `oom_kill` in `memory_dir`'s `file` (v1's `memory.oom_control`, v2's
/// `memory.events`), if it can be read and has one. Blocking.
fn oom_kill(memory_dir: &Path, file: &str) -> Option<u64> {
    fs::read_to_string(memory_dir.join(file))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
}

fn kills_v1(memory_dir: &Path) -> Option<u64> {
    oom_kill(memory_dir, "memory.oom_control")
}

/// Watches the registered `efd` (v1), calling `on_oom` for each OOM.
fn watch_v1(
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

/// OOM events of a cgroup v2 memory controller: `memory.events` is
/// watched with inotify (the kernel reports a modification when a counter
/// changes) and each rise of its `oom_kill` count is an OOM kill. The
/// watch ends when the cgroup goes.
pub struct V2Registration {
    inotify: Inotify,
    /// `oom_kill` when the watch was registered.
    baseline: u64,
}

/// Registers an inotify watch on `memory_dir`'s `memory.events` (cgroup
/// v2; blocking: run on the blocking pool).
fn register_v2(memory_dir: &Path) -> io::Result<V2Registration> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    let events = memory_dir.join("memory.events");
    inotify.add_watch(&events, AddWatchFlags::IN_MODIFY)?;
    Ok(V2Registration {
        inotify,
        baseline: kills_v2(memory_dir).unwrap_or(0),
    })
}

fn kills_v2(memory_dir: &Path) -> Option<u64> {
    oom_kill(memory_dir, "memory.events")
}

/// Watches a v2 registration, calling `on_oom` for each OOM kill counted
/// since it was made.
fn watch_v2(
    registration: V2Registration,
    memory_dir: PathBuf,
    on_oom: impl Fn() + Send + 'static,
) -> io::Result<OomWatch> {
    let V2Registration { inotify, baseline } = registration;
    // SAFETY: the OwnedFd stays open, and the same descriptor, for as long
    // as the AsyncFd owns it.
    let fd = unsafe { AsyncFd::register(OwnedFd::from(inotify)) }.map_err(io::Error::from)?;
    let task = tokio::spawn(async move {
        let mut told = baseline;
        loop {
            let Ok(mut guard) = fd.readable().await else {
                return;
            };
            // Drain the events; the count says what happened.
            let mut buf = [0u8; 4096];
            loop {
                // SAFETY: reads into a buffer of its length.
                let n = unsafe {
                    libc::read(fd.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
                };
                if n <= 0 {
                    break;
                }
            }
            guard.clear_ready();
            let dir = memory_dir.clone();
            let count = tokio::task::spawn_blocking(move || kills_v2(&dir))
                .await
                .ok()
                .flatten();
            let Some(count) = count else {
                // The cgroup is gone.
                return;
            };
            for _ in told..count {
                on_oom();
            }
            told = told.max(count);
        }
    });
    Ok(OomWatch { task })
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    };

    use super::*;

    #[tokio::test]
    async fn v2_oom_kills_are_told_once_each_from_memory_events() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("memory.events");
        fs::write(&events, "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n").unwrap();
        let registration = register(dir.path()).unwrap();
        assert!(matches!(registration, Registration::V2(_)));
        assert_eq!(kills(dir.path()), 1);
        let told = Arc::new(AtomicU64::new(0));
        let counter = told.clone();
        let _watch = watch(registration, dir.path().to_owned(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        // Counted before the watch: not told again.
        fs::write(&events, "low 0\nhigh 0\nmax 3\noom 3\noom_kill 3\n").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while told.load(Ordering::SeqCst) < 2 {
            assert!(std::time::Instant::now() < deadline, "no OOM told");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(told.load(Ordering::SeqCst), 2, "the two new kills");
    }

    #[test]
    fn v1_counts_come_from_oom_control() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
        )
        .unwrap();
        assert_eq!(kills(dir.path()), 4);
        assert_eq!(kills(&dir.path().join("gone")), 0);
    }
}
