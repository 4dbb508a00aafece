//! The system's cgroups, as the holder sees them from outside: it moves the
//! system's pid 1 in, puts the device allow-list in force, reads whether
//! the OOM killer struck, and removes them once the system has stopped.
//! Every later process joins by itself before it runs anything
//! (`exec.rs`), so nothing of the container ever runs outside them, and
//! nothing of the holder ever runs inside.

use std::{
    fs::{self, File},
    io::{self, Write},
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    thread,
    time::Duration,
};

use hcsrun_shim_protocol::message::CgroupDir;
use nix::{
    fcntl::{open, OFlag},
    sys::stat::Mode,
};

use crate::devices::{self, Rule};

/// The system's cgroups: one directory and one `cgroup.procs` per
/// hierarchy.
pub struct Cgroups {
    pub dirs: Vec<CgroupDir>,
    /// `cgroup.procs` of each, open for writing.
    pub procs: Vec<OwnedFd>,
}

impl Cgroups {
    /// Moves process `pid` into every cgroup but the v1 devices one
    /// ([`Cgroups::enforce_devices`] does that once pid 1 has built the
    /// root, which opens loop devices).
    pub fn add(&self, pid: u32) -> io::Result<()> {
        let text = pid.to_string();
        for (dir, fd) in self.dirs.iter().zip(&self.procs) {
            if !is_v1_devices(dir) {
                write_fd(fd, &text)?;
            }
        }
        Ok(())
    }

    /// Makes `rules` ready while pid 1 builds the root, without putting
    /// them in force for it: on cgroup v1 they are written into the
    /// devices cgroup, which pid 1 is not in yet; on v2 the program is
    /// loaded (and checked by the kernel's verifier), to be attached.
    pub fn prepare_devices(&self, rules: &[Rule]) -> io::Result<Option<OwnedFd>> {
        if let Some(dir) = self.dirs.iter().find(|d| is_v1_devices(d)) {
            devices::write_v1(Path::new(&dir.path), rules)?;
            return Ok(None);
        }
        if self.dirs.iter().any(CgroupDir::is_unified) {
            return devices::bpf::load(&devices::bpf::program(rules)).map(Some);
        }
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no devices cgroup: the device allow-list cannot be enforced",
        ))
    }

    /// Puts prepared rules in force: pid 1 moved into the v1 devices
    /// cgroup, or the v2 program attached to the cgroup, replacing the
    /// one before.
    pub fn enforce_devices(&self, pid: u32, program: Option<OwnedFd>) -> io::Result<()> {
        for (dir, fd) in self.dirs.iter().zip(&self.procs) {
            if is_v1_devices(dir) {
                write_fd(fd, &pid.to_string())?;
            }
        }
        if let (Some(program), Some(dir)) = (program, self.dirs.iter().find(|d| d.is_unified())) {
            let cgroup = open(
                dir.path.as_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            devices::bpf::attach(&program, &cgroup)?;
        }
        Ok(())
    }

    /// Replaces the allow-list in force (a Linux spec's, when its first
    /// process arrives; pid 1, parked, is the only process).
    pub fn set_devices(&self, pid: u32, rules: &[Rule]) -> io::Result<()> {
        let program = self.prepare_devices(rules)?;
        self.enforce_devices(pid, program)
    }

    /// Moves the system to `path` (a Linux spec's `linux.cgroupsPath`,
    /// relative to each hierarchy's root) unless it is there already: the
    /// same hierarchies made there (with their parents), the limits the
    /// service wrote copied, pid 1 (`pid`, the only process) moved in but
    /// for the v1 devices cgroup, which [`Cgroups::set_devices`] fills and
    /// joins. Gives the directories left, to remove once that is done.
    pub fn move_to(&mut self, path: &Path, pid: u32) -> io::Result<Vec<PathBuf>> {
        let rel = path.to_string_lossy();
        let rel = rel.trim_matches('/');
        let mut moved = Vec::new();
        for dir in &self.dirs {
            let old = PathBuf::from(&dir.path);
            // `<mount>/<parent>/<id>`: parent and id are single names.
            let mount = old
                .parent()
                .and_then(Path::parent)
                .ok_or_else(|| io::Error::other(format!("{}: not below a mount", dir.path)))?;
            let new = mount.join(rel);
            if new == old {
                return Ok(Vec::new());
            }
            make(mount, &new, dir)?;
            copy_limits(&old, &new)?;
            moved.push((old, new));
        }
        let mut dirs = Vec::new();
        let mut procs = Vec::new();
        for ((_, new), dir) in moved.iter().zip(&self.dirs) {
            let fd = open(
                &new.join("cgroup.procs"),
                OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let dir = CgroupDir {
                path: new.to_string_lossy().into_owned(),
                controllers: dir.controllers.clone(),
            };
            if !is_v1_devices(&dir) {
                write_fd(&fd, &pid.to_string())?;
            }
            dirs.push(dir);
            procs.push(fd);
        }
        self.dirs = dirs;
        self.procs = procs;
        Ok(moved.into_iter().map(|(old, _)| old).collect())
    }

    /// How many times the memory cgroup's OOM killer killed a process:
    /// `oom_kill` in `memory.oom_control` (v1) or `memory.events` (v2).
    pub fn oom_kills(&self) -> u64 {
        self.paths()
            .flat_map(|d| [d.join("memory.oom_control"), d.join("memory.events")])
            .filter_map(|file| fs::read_to_string(file).ok())
            .filter_map(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse::<u64>().ok())
            })
            .sum()
    }

    /// Removes the cgroups, retrying for about 3 s while exiting processes
    /// leave them; those already gone are removed.
    pub fn remove(&self) -> io::Result<()> {
        let mut result = Ok(());
        for dir in self.paths() {
            if let Err(e) = remove_dir_retrying(&dir) {
                result = Err(io::Error::new(
                    e.kind(),
                    format!("removing {}: {e}", dir.display()),
                ));
            }
        }
        result
    }

    fn paths(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.dirs.iter().map(|d| PathBuf::from(&d.path))
    }
}

/// Makes cgroup `new` and its parents below `mount`: on v1 a cpuset gets
/// its parent's CPUs and memory nodes (a new one has none); on v2 each
/// parent lets its children use the controllers it has.
fn make(mount: &Path, new: &Path, dir: &CgroupDir) -> io::Result<()> {
    let rel = new.strip_prefix(mount).map_err(io::Error::other)?;
    let mut level = mount.to_path_buf();
    for name in rel.components() {
        if dir.is_unified() {
            let available = fs::read_to_string(level.join("cgroup.controllers"))?;
            let enable: Vec<String> = available
                .split_whitespace()
                .filter(|c| ["cpu", "cpuset", "memory", "io", "pids"].contains(c))
                .map(|c| format!("+{c}"))
                .collect();
            fs::write(level.join("cgroup.subtree_control"), enable.join(" "))?;
        }
        let parent = level.clone();
        level.push(name);
        match fs::create_dir(&level) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        if !dir.is_unified() && dir.has("cpuset") {
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if fs::read_to_string(level.join(file))?.trim().is_empty() {
                    fs::write(
                        level.join(file),
                        fs::read_to_string(parent.join(file))?.trim(),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// The limit files the service may have written, in an order the kernel
/// takes from a fresh cgroup (memory before memory+swap).
const LIMIT_FILES: &[&str] = &[
    "cpuset.cpus",
    "cpuset.mems",
    "cpu.shares",
    "cpu.cfs_period_us",
    "cpu.cfs_quota_us",
    "cpu.weight",
    "cpu.max",
    "memory.limit_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.max",
    "memory.swap.max",
    "pids.max",
    "blkio.throttle.read_bps_device",
    "blkio.throttle.write_bps_device",
    "blkio.throttle.read_iops_device",
    "blkio.throttle.write_iops_device",
    "io.max",
];

/// Copies the limits of cgroup `old` to `new`, line by line (a device
/// file holds one line per device), skipping files neither has.
fn copy_limits(old: &Path, new: &Path) -> io::Result<()> {
    for file in LIMIT_FILES {
        let (from, to) = (old.join(file), new.join(file));
        let (Ok(text), true) = (fs::read_to_string(&from), to.exists()) else {
            continue;
        };
        // On v1, the cpu files of a hierarchy co-mounted with cpuacct
        // exist whether or not a limit was set: copying the defaults is
        // harmless.
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            // v2's io.max lists devices as `8:0 rbps=max ...`: fine to
            // write back; v1's throttle files list `8:0 1048576`.
            fs::write(&to, line.trim())
                .map_err(|e| io::Error::new(e.kind(), format!("copying {}: {e}", to.display())))?;
        }
    }
    Ok(())
}

fn is_v1_devices(dir: &CgroupDir) -> bool {
    !dir.is_unified() && dir.has("devices")
}

fn write_fd(fd: &OwnedFd, text: &str) -> io::Result<()> {
    File::from(fd.try_clone()?).write_all(text.as_bytes())
}

/// Writes `text` to each `cgroup.procs` (`0` moves the writer itself).
pub fn write_each(procs: &[OwnedFd], text: &str) -> io::Result<()> {
    for fd in procs {
        File::from(fd.try_clone()?).write_all(text.as_bytes())?;
    }
    Ok(())
}

fn remove_dir_retrying(dir: &PathBuf) -> io::Result<()> {
    let mut delay = Duration::from_micros(200);
    for _ in 0..14 {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    match fs::remove_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kills_are_read_from_either_version() {
        let root = std::env::temp_dir().join(format!("hcs-oom-{}", uuid::Uuid::new_v4()));
        let (v1, v2) = (root.join("v1"), root.join("v2"));
        fs::create_dir_all(&v1).unwrap();
        fs::create_dir_all(&v2).unwrap();
        fs::write(
            v1.join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        fs::write(
            v2.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .unwrap();
        let dir = |p: &PathBuf| CgroupDir {
            path: p.to_string_lossy().into_owned(),
            controllers: vec!["memory".into()],
        };
        let cgroups = Cgroups {
            dirs: vec![dir(&v1), dir(&v2), dir(&root.join("gone"))],
            procs: Vec::new(),
        };
        assert_eq!(cgroups.oom_kills(), 3);
        fs::remove_dir_all(&root).unwrap();
    }
}
