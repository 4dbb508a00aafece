//! The system's cgroups, as the holder sees them from outside: it puts
//! the device allow-list in force, reads whether the OOM killer struck,
//! and removes them once the system has stopped. Every process of the
//! system joins them by itself, before it runs anything of the
//! container's (pid 1 in `init.rs`, later ones in `exec.rs`), through the
//! file [`hcsrun_cgroup::join_file`] names: on cgroup v1 that costs no
//! global lock and no RCU grace period. Only on cgroup v2 does the holder
//! move pid 1 itself, while pid 1 builds the root. Nothing of the holder
//! ever runs inside them.

use std::{
    fs::{self, File},
    io::{self, Write},
    os::fd::{AsFd, BorrowedFd, OwnedFd},
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

/// The system's cgroups: one directory and one join file per hierarchy.
pub struct Cgroups {
    pub dirs: Vec<CgroupDir>,
    /// The file of each that a single-threaded process joins it by,
    /// writing `0` (`tasks` on v1, `cgroup.procs` on v2), open for
    /// writing.
    pub join: Vec<OwnedFd>,
    /// Directories a spec's `linux.cgroupsPath` moved the system out of,
    /// removed once pid 1 has left them ([`Cgroups::remove_left`]).
    pub left: Vec<PathBuf>,
    /// The v1 join files of the directories moved to, which pid 1 has yet
    /// to join: sent with its first process ([`Cgroups::for_pid1`]), kept
    /// until that is sent, so that a first process that fails before it
    /// is sent and is asked for again still moves pid 1.
    pending: Vec<OwnedFd>,
}

/// The join files pid 1 writes `0` to, by when.
pub struct InitJoins<'a> {
    /// At once, before it builds the root (cgroup v1 but devices).
    pub now: Vec<BorrowedFd<'a>>,
    /// Once the root is built, which opens loop devices: the v1 devices
    /// cgroup, whose allow-list the holder writes meanwhile.
    pub after_root: Vec<BorrowedFd<'a>>,
}

impl Cgroups {
    /// Cgroups `dirs`, joined through `join`, one per directory.
    pub fn new(dirs: Vec<CgroupDir>, join: Vec<OwnedFd>) -> Self {
        Cgroups {
            dirs,
            join,
            left: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// What pid 1 joins by itself ([`InitJoins`]): every v1 cgroup. The
    /// v2 one the holder moves it into ([`Cgroups::add_unified`]).
    pub fn init_joins(&self) -> InitJoins<'_> {
        let mut joins = InitJoins {
            now: Vec::new(),
            after_root: Vec::new(),
        };
        for (dir, fd) in self.dirs.iter().zip(&self.join) {
            match (dir.is_unified(), is_v1_devices(dir)) {
                (true, _) => {}
                (false, true) => joins.after_root.push(fd.as_fd()),
                (false, false) => joins.now.push(fd.as_fd()),
            }
        }
        joins
    }

    /// Moves process `pid` into the cgroup v2 of the system, if it has one
    /// (pid 1 joins those of v1 by itself).
    pub fn add_unified(&self, pid: u32) -> io::Result<()> {
        let text = pid.to_string();
        for (dir, fd) in self.dirs.iter().zip(&self.join) {
            if dir.is_unified() {
                write_fd(fd.as_fd(), &text)?;
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

    /// Puts prepared rules in force: on v2 the program attached to the
    /// cgroup, replacing the one before. On v1 they are in force once
    /// written, for pid 1 joins the devices cgroup before it reports its
    /// root built.
    pub fn enforce_devices(&self, program: Option<OwnedFd>) -> io::Result<()> {
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
    pub fn set_devices(&self, rules: &[Rule]) -> io::Result<()> {
        let program = self.prepare_devices(rules)?;
        self.enforce_devices(program)
    }

    /// Moves the system to `path` (a Linux spec's `linux.cgroupsPath`,
    /// relative to each hierarchy's root) unless it is there already: the
    /// same hierarchies made there (with their parents), the limits the
    /// service wrote copied, the old directories kept in `left`. On v2 the
    /// holder moves pid 1 (`pid`, the only process) at once; on v1 pid 1
    /// moves itself when its first process arrives, through the join
    /// files of [`Cgroups::for_pid1`], after [`Cgroups::set_devices`] has
    /// filled the new devices cgroup.
    pub fn move_to(&mut self, path: &Path, pid: u32) -> io::Result<()> {
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
                return Ok(());
            }
            make(mount, &new, dir)?;
            copy_limits(&old, &new)?;
            moved.push((old, new));
        }
        let mut dirs = Vec::new();
        let mut join = Vec::new();
        let mut for_pid1 = Vec::new();
        for ((_, new), dir) in moved.iter().zip(&self.dirs) {
            let fd = open(
                &new.join(hcsrun_cgroup::join_file(dir.is_unified())),
                OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            if dir.is_unified() {
                write_fd(fd.as_fd(), &pid.to_string())?;
            } else {
                for_pid1.push(fd.try_clone()?);
            }
            dirs.push(CgroupDir {
                path: new.to_string_lossy().into_owned(),
                controllers: dir.controllers.clone(),
            });
            join.push(fd);
        }
        self.dirs = dirs;
        self.join = join;
        self.left = moved.into_iter().map(|(old, _)| old).collect();
        self.pending = for_pid1;
        Ok(())
    }

    /// Duplicates of the join files pid 1 has yet to join, to send it with
    /// its first process.
    pub fn for_pid1(&self) -> io::Result<Vec<OwnedFd>> {
        self.pending.iter().map(OwnedFd::try_clone).collect()
    }

    /// Pid 1 has been sent its first process, and with it what it joins.
    pub fn sent_to_pid1(&mut self) {
        self.pending.clear();
    }

    /// Removes the directories pid 1 has left (`left`), now that it has;
    /// one that stays is kept for [`Cgroups::remove`].
    pub fn remove_left(&mut self) {
        let left = std::mem::take(&mut self.left);
        self.left = left
            .into_iter()
            .filter(|dir| remove_dir_retrying(dir).is_err())
            .collect();
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
        for dir in self.paths().chain(self.left.iter().cloned()) {
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

fn write_fd(fd: BorrowedFd<'_>, text: &str) -> io::Result<()> {
    File::from(fd.try_clone_to_owned()?).write_all(text.as_bytes())
}

/// Joins the calling process, single-threaded, to the cgroups of each
/// join file (`0` is the writer itself).
pub fn join_each(join: &[impl AsFd]) -> io::Result<()> {
    join.iter().try_for_each(|fd| write_fd(fd.as_fd(), "0"))
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
    use std::os::fd::AsRawFd;

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
        let cgroups = Cgroups::new(
            vec![dir(&v1), dir(&v2), dir(&root.join("gone"))],
            Vec::new(),
        );
        assert_eq!(cgroups.oom_kills(), 3);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn pid_1_joins_v1_at_once_but_devices_after_the_root_and_never_v2() {
        let dir = |path: &str, controllers: &[&str]| CgroupDir {
            path: path.to_owned(),
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
        };
        let dirs = vec![
            dir("/sys/fs/cgroup/memory/p/c", &["memory"]),
            dir("/sys/fs/cgroup/devices/p/c", &["devices"]),
            dir("/sys/fs/cgroup/cpu,cpuacct/p/c", &["cpu", "cpuacct"]),
            dir("/sys/fs/cgroup/unified/p/c", &[]),
        ];
        let join: Vec<OwnedFd> = (0..dirs.len())
            .map(|_| File::open("/dev/null").unwrap().into())
            .collect();
        let raw: Vec<i32> = join.iter().map(|fd| fd.as_raw_fd()).collect();
        let cgroups = Cgroups::new(dirs, join);
        let joins = cgroups.init_joins();
        let now: Vec<i32> = joins.now.iter().map(|fd| fd.as_raw_fd()).collect();
        let after: Vec<i32> = joins.after_root.iter().map(|fd| fd.as_raw_fd()).collect();
        assert_eq!(now, vec![raw[0], raw[2]]);
        assert_eq!(after, vec![raw[1]]);
    }
}
