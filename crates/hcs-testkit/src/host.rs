//! What is on the host: cgroup hierarchies, and what a test itself left
//! there (mounts, loop devices, processes, descriptors). Leak checks count
//! only what the test made, so that they hold while anything else on the
//! machine mounts, attaches loop devices or starts processes.

use std::{
    fs,
    os::{
        fd::{AsFd, AsRawFd},
        unix::fs::MetadataExt,
    },
    path::{Path, PathBuf},
};

/// Every cgroup hierarchy's mount point.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .collect()
}

/// The processes in `cgroup` (`cgroup.procs`; none if it is gone).
pub fn cgroup_pids(cgroup: &Path) -> Vec<i32> {
    fs::read_to_string(cgroup.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Makes this process the reaper of its descendants' orphans: a holder
/// or container process left behind comes here (and is seen, and reaped)
/// rather than to a pid 1 that may not reap it.
pub fn become_subreaper() {
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
}

/// Process `pid`'s command line, its arguments joined by blanks (empty if
/// it is gone).
pub fn cmdline(pid: i32) -> String {
    let bytes = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&bytes).replace('\0', " ")
}

/// The parent of process `pid` (`/proc/PID/stat`), if it is there.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split(' ').nth(1)?.parse().ok()
}

/// The process in `cgroup` that is pid 1 of its own pid namespace (the
/// last `NSpid` is 1): a system's first process, by its host pid.
pub fn namespace_init(cgroup: &Path) -> Option<u32> {
    cgroup_pids(cgroup)
        .into_iter()
        .find(|pid| {
            fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
                status
                    .lines()
                    .any(|l| l.starts_with("NSpid:") && l.ends_with("\t1"))
            })
        })
        .map(|pid| pid as u32)
}

/// Processes whose parent is this process that are still there after up
/// to 5 s: a holder that has said goodbye is exiting, and the service
/// reaps it a moment later (a system's end does not wait for its exit).
pub async fn children_left() -> Vec<i32> {
    crate::process::eventually(std::time::Duration::from_secs(5), || children().is_empty()).await;
    children()
}

/// Processes whose parent is this process.
pub fn children() -> Vec<i32> {
    let me = std::process::id().to_string();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(") ")
                        .map(|(_, rest)| rest.split(' ').nth(1) == Some(me.as_str()))
                })
                .unwrap_or(false)
        })
        .collect()
}

/// This process's open descriptors.
pub fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

/// What a descriptor refers to (device and inode): a pipe's is the pipe's,
/// whichever end and duplicate.
pub fn file_of(fd: impl AsFd) -> (u64, u64) {
    let meta = fs::metadata(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())).unwrap();
    (meta.dev(), meta.ino())
}

/// This process's descriptors that refer to one of `files` (see
/// [`file_of`]): those of the pipes a test made, whatever other threads
/// open meanwhile.
pub fn fds_of(files: &[(u64, u64)]) -> Vec<i32> {
    fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let fd = e.file_name().to_str()?.parse::<i32>().ok()?;
            // A descriptor closed meanwhile is gone from the count too.
            let meta = fs::metadata(e.path()).ok()?;
            files.contains(&(meta.dev(), meta.ino())).then_some(fd)
        })
        .collect()
}

/// The mounts this process sees that concern `dirs`: mounted on a path
/// under one of them, or naming one in their source or options (an
/// overlay's layers and upper directory). A system's mounts live in its
/// holder's mount namespace; any of them seen here leaked into the host.
pub fn mounts_under(dirs: &[&Path]) -> Vec<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter(|line| {
            let mount_point = line.split(' ').nth(4).unwrap_or("");
            let (_, source_and_options) = line.split_once(" - ").unwrap_or(("", ""));
            dirs.iter().any(|d| {
                Path::new(mount_point).starts_with(d)
                    || source_and_options.contains(&format!("{}/", d.display()))
            })
        })
        .map(str::to_owned)
        .collect()
}

/// Loop devices attached to files under `dir`.
pub fn loop_devices_under(dir: &Path) -> Vec<String> {
    fs::read_dir("/sys/block")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("loop"))
                .filter(|e| {
                    fs::read_to_string(e.path().join("loop/backing_file"))
                        .is_ok_and(|f| Path::new(f.trim()).starts_with(dir))
                })
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a file holding one number; 0 if it is missing or not a number.
pub fn read_number(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}
