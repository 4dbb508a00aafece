//! A system's cgroups: limits, freezing, statistics, its processes.
//!
//! Each system has `<parent>/<id>` in the hierarchies it needs: on cgroup
//! v1 those of statistics and pausing always, those of CPU limits only when
//! it has them (each v1 cgroup costs a mkdir, a join and an rmdir on every
//! start). The system's processes live there; its holder never does.
//!
//! Used by the Linux compute service (`hcs-linux`) and the containerd shim
//! (its metrics, pids and updates), each on its blocking pool, and by
//! `hcsrun-oci`, which makes a container's cgroups at its
//! `linux.cgroupsPath` itself (no holder: "The process model" in
//! `docs/ARCHITECTURE.md`). Empty on other systems than Linux.

#![cfg(target_os = "linux")]
#![warn(missing_docs)]

mod counters;
mod cpus;
mod hierarchy;
mod limits;
mod prime;
mod update;
pub use limits::IoLimits;
mod v1;
mod v2;

use std::{
    borrow::Cow,
    fs, io,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    thread,
    time::Duration,
};

pub use counters::{
    BlkioEntry, Counters, IoEntry, Keyed, Pids, V1Counters, V1Cpu, V1Memory, V1MemoryEntry,
    V2Counters,
};
pub use cpus::host_cpus;
pub use hierarchy::Hierarchies;
pub use limits::{Exact, Limits};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
pub use prime::start_grace_period;

/// Counters read from a system's cgroups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// Memory in use, in bytes.
    pub memory_usage: u64,
    /// The most memory ever in use, in bytes.
    pub memory_peak: u64,
    /// Anonymous memory: what the processes themselves own.
    pub memory_private: u64,
    /// Processor time, in nanoseconds.
    pub cpu_total_ns: u64,
    /// Processor time in user mode, in nanoseconds.
    pub cpu_user_ns: u64,
    /// Processor time in the kernel, in nanoseconds.
    pub cpu_kernel_ns: u64,
    /// Bytes read from block devices.
    pub io_read_bytes: u64,
    /// Bytes written to block devices.
    pub io_write_bytes: u64,
    /// Reads from block devices.
    pub io_reads: u64,
    /// Writes to block devices.
    pub io_writes: u64,
}

/// The cgroups of one system.
#[derive(Clone, Debug)]
pub struct Cgroup {
    hierarchies: &'static Hierarchies,
    /// `<mount>/<parent>` for each hierarchy used.
    parents: Vec<PathBuf>,
    /// `<mount>/<parent>/<name>`, in the same order.
    dirs: Vec<PathBuf>,
    /// The file in which the holder names the path the system's cgroups
    /// were moved to (a Linux spec's `linux.cgroupsPath`), if any.
    moved: Option<PathBuf>,
}

impl Cgroup {
    /// The cgroups of system `name` under `parent`; nothing is created.
    pub fn new(parent: &str, name: &str) -> io::Result<Self> {
        let hierarchies = Hierarchies::get()?;
        let mounts: Vec<&Path> = match hierarchies {
            Hierarchies::V1(mounts) => mounts.iter().map(|m| m.path.as_path()).collect(),
            Hierarchies::V2(root) => vec![root.as_path()],
        };
        let parents: Vec<PathBuf> = mounts.iter().map(|m| m.join(parent)).collect();
        let dirs = parents.iter().map(|p| p.join(name)).collect();
        Ok(Self {
            hierarchies,
            parents,
            dirs,
            moved: None,
        })
    }

    /// The same cgroups, found wherever `file` (the holder's record of a
    /// `linux.cgroupsPath`) says they were moved.
    pub fn moved_by(mut self, file: PathBuf) -> Self {
        self.moved = Some(file);
        self
    }

    /// Where the system's cgroups are now: moved (as the file given to
    /// [`Cgroup::moved_by`] says), or where they were made. Reads that file
    /// (blocking).
    pub fn current(&self) -> Cow<'_, Self> {
        let Some(text) = self.moved.as_ref().and_then(|f| fs::read_to_string(f).ok()) else {
            return Cow::Borrowed(self);
        };
        let rel = text.trim().trim_matches('/');
        if rel.is_empty() || rel.split('/').any(|c| c == ".." || c == ".") {
            return Cow::Borrowed(self);
        }
        let dirs = self
            .parents
            .iter()
            .map(|p| p.parent().expect("a parent below a mount").join(rel))
            .collect();
        Cow::Owned(Self {
            hierarchies: self.hierarchies,
            parents: self.parents.clone(),
            dirs,
            moved: None,
        })
    }

    /// True once the system's cgroups have been moved (the file given to
    /// [`Cgroup::moved_by`] names a path other than where they were made).
    pub fn is_moved(&self) -> bool {
        self.current().dirs != self.dirs
    }

    /// Creates the cgroups and applies `limits`.
    pub fn create(&self, limits: &Limits) -> io::Result<()> {
        match self.hierarchies {
            Hierarchies::V1(mounts) => {
                let needed = limits.v1_controllers();
                for (mount, (parent, dir)) in mounts.iter().zip(self.parents.iter().zip(&self.dirs))
                {
                    if mount
                        .controllers
                        .iter()
                        .any(|c| needed.contains(&c.as_str()))
                    {
                        below(parent, dir, |p| fs::create_dir_all(p))?;
                    }
                }
                // A cpuset co-mounted with a needed controller is made too.
                if let Some(cpuset) = self.v1_dir("cpuset").filter(|d| d.exists()) {
                    v1::init_cpuset(cpuset)?;
                }
                v1::apply(self, limits)
            }
            Hierarchies::V2(root) => {
                below(&self.parents[0], &self.dirs[0], |p| {
                    v2::enable_controllers(root, p)
                })?;
                v2::apply(&self.dirs[0], limits)
            }
        }
    }

    /// Removes the parents of these cgroups where they are empty: for a
    /// caller whose parent is its own to make and remove (`hcsrun-oci`'s
    /// default). One that another system's cgroup is in stays.
    pub fn remove_empty_parents(&self) {
        for parent in &self.parents {
            // EBUSY or ENOTEMPTY: in use; ENOENT: gone already.
            let _ = fs::remove_dir(parent);
        }
    }

    /// Each cgroup the system has, with its hierarchy's controllers (none
    /// on cgroup v2: it has them all) and the file a single-threaded
    /// process joins it by, writing `0` (itself), open for writing: see
    /// [`join_file`].
    pub fn join_fds(&self) -> io::Result<Vec<(PathBuf, Vec<String>, OwnedFd)>> {
        let controllers = |d: &Path| match self.hierarchies {
            Hierarchies::V1(mounts) => mounts
                .iter()
                .find(|m| d.starts_with(&m.path))
                .map(|m| m.controllers.clone())
                .unwrap_or_default(),
            Hierarchies::V2(_) => Vec::new(),
        };
        self.dirs
            .iter()
            .filter_map(|d| {
                match open(
                    &d.join(join_file(matches!(self.hierarchies, Hierarchies::V2(_)))),
                    OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                ) {
                    // A hierarchy this system does not need.
                    Err(nix::errno::Errno::ENOENT) if !d.exists() => None,
                    opened => Some(
                        opened
                            .map(|fd| (d.clone(), controllers(d), fd))
                            .map_err(io::Error::from),
                    ),
                }
            })
            .collect()
    }

    /// Freezes (`true`) or thaws the system's processes and waits until the
    /// change has taken effect.
    pub fn freeze(&self, frozen: bool) -> io::Result<()> {
        let this = self.current();
        let this = this.as_ref();
        match this.hierarchies {
            Hierarchies::V1(_) => {
                let dir = this.v1_dir("freezer").ok_or_else(|| {
                    io::Error::new(io::ErrorKind::Unsupported, "no freezer cgroup")
                })?;
                v1::freeze(dir, frozen)
            }
            Hierarchies::V2(_) => v2::freeze(&this.dirs[0], frozen),
        }
    }

    /// True if the system's processes are frozen.
    pub fn is_frozen(&self) -> io::Result<bool> {
        let this = self.current();
        match this.hierarchies {
            Hierarchies::V1(_) => this.v1_dir("freezer").map_or(Ok(false), v1::is_frozen),
            Hierarchies::V2(_) => v2::is_frozen(&this.dirs[0]),
        }
    }

    /// Host pids of the system's processes.
    pub fn pids(&self) -> io::Result<Vec<i32>> {
        // The freezer is one of the hierarchies every system has; the
        // cgroups a container made below its own count too.
        let this = self.current();
        let dir = this.v1_dir("freezer").unwrap_or(&this.dirs[0]);
        let mut pids = Vec::new();
        procs_below(dir, &mut pids, 0)?;
        Ok(pids)
    }

    /// The system's counters.
    pub fn stats(&self) -> io::Result<CgroupStats> {
        let this = self.current();
        match this.hierarchies {
            Hierarchies::V1(_) => v1::stats(&this),
            Hierarchies::V2(_) => v2::stats(&this.dirs[0]),
        }
    }

    /// Every counter of the system's cgroups, in the shape of its cgroup
    /// version (for callers that report them file by file, as containerd's
    /// metrics do). A system whose cgroups are gone is `NotFound`.
    pub fn counters(&self) -> io::Result<Counters> {
        let this = self.current();
        match this.hierarchies {
            Hierarchies::V1(_) => counters::read_v1(&this).map(Counters::V1),
            Hierarchies::V2(_) => V2Counters::read(&this.dirs[0]).map(Counters::V2),
        }
    }

    /// Removes the cgroups, waiting briefly for exiting processes to leave;
    /// those never made are already gone.
    pub fn remove(&self) -> io::Result<()> {
        let this = self.current();
        // Where they were made too, if they were moved.
        let made = if this.dirs == self.dirs {
            &[][..]
        } else {
            &self.dirs[..]
        };
        for dir in this.dirs.iter().chain(made) {
            remove_tree(dir, 0)?;
        }
        Ok(())
    }

    /// Removes the empty cgroups under `parent` whose name `keep` rejects:
    /// those of systems whose supervising process died before it could
    /// remove them.
    pub fn sweep(parent: &str, keep: impl Fn(&str) -> bool) {
        let Ok(hierarchies) = Hierarchies::get() else {
            return;
        };
        let mounts: Vec<&Path> = match hierarchies {
            Hierarchies::V1(mounts) => mounts.iter().map(|m| m.path.as_path()).collect(),
            Hierarchies::V2(root) => vec![root.as_path()],
        };
        for mount in mounts {
            let Ok(entries) = fs::read_dir(mount.join(parent)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if is_dir && name.to_str().is_some_and(|n| !keep(n)) {
                    // A cgroup with processes in it refuses: it is in use.
                    let _ = fs::remove_dir(entry.path());
                }
            }
        }
    }

    /// The directory of the system's cgroup with `controller` (on v2, the
    /// one directory), if it was made.
    pub fn dir(&self, controller: &str) -> Option<&Path> {
        match self.hierarchies {
            Hierarchies::V1(_) => self.v1_dir(controller).filter(|d| d.exists()),
            Hierarchies::V2(_) => Some(self.dirs[0].as_path()).filter(|d| d.exists()),
        }
    }

    /// Applies `exact` to cgroups already made (`update`).
    pub fn apply_exact(&self, exact: &Exact) -> io::Result<()> {
        match self.hierarchies {
            Hierarchies::V1(_) => v1::apply_exact(self, exact),
            Hierarchies::V2(_) => v2::apply_exact(&self.dirs[0], exact),
        }
    }

    /// Every cgroup directory of the system, made or not.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    fn v1_dir(&self, controller: &str) -> Option<&Path> {
        let mount = self.hierarchies.v1_mount(controller)?;
        self.dirs
            .iter()
            .find(|d| d.starts_with(mount))
            .map(PathBuf::as_path)
    }
}

/// How deep below a system's cgroup its own cgroups are followed.
const MAX_DEPTH: u32 = 32;

/// The file of a cgroup that a single-threaded process joins it by,
/// writing `0`. On cgroup v1 that is `tasks`: a write of `0` there moves
/// only the writer's own thread, which the kernel does without its global
/// `cgroup_threadgroup_rwsem` (a write to `cgroup.procs`, or of any other
/// pid, takes it for writing, and the first such write after a quiet
/// spell waits for an RCU grace period, 4–16 ms measured). The writer's
/// only thread is the whole process. Cgroup v2 (`unified`) moves threads
/// only within one domain: there it is `cgroup.procs`.
pub fn join_file(unified: bool) -> &'static str {
    if unified {
        "cgroup.procs"
    } else {
        "tasks"
    }
}

/// The processes in `dir`'s `cgroup.procs` and in the cgroups below it.
fn procs_below(dir: &Path, pids: &mut Vec<i32>, depth: u32) -> io::Result<()> {
    let text = fs::read_to_string(dir.join("cgroup.procs"))?;
    pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    if depth < MAX_DEPTH {
        for child in subdirs(dir) {
            // One gone meanwhile has nobody left in it.
            let _ = procs_below(&child, pids, depth + 1);
        }
    }
    Ok(())
}

/// The cgroups directly below `dir`.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes `dir` and, first, the cgroups a container made below it.
fn remove_tree(dir: &Path, depth: u32) -> io::Result<()> {
    if depth < MAX_DEPTH {
        for child in subdirs(dir) {
            remove_tree(&child, depth + 1)?;
        }
    }
    remove_dir_retrying(|| fs::remove_dir(dir))
}

/// Runs an rmdir until it stops failing with `EBUSY` (processes still
/// leaving the cgroup), for up to about a second. A missing directory is
/// already removed.
pub fn remove_dir_retrying(mut rmdir: impl FnMut() -> io::Result<()>) -> io::Result<()> {
    let mut delay = Duration::from_micros(200);
    for _ in 0..14 {
        match rmdir() {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    rmdir()
}

/// Makes `dir` below `parent`, which `make_parent` makes (or readies): a
/// parent removed meanwhile by the last system in it
/// ([`Cgroup::remove_empty_parents`]) is made again.
fn below(
    parent: &Path,
    dir: &Path,
    make_parent: impl Fn(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let mut tries = 3;
    loop {
        make_parent(parent)?;
        match mkdir(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries > 1 => tries -= 1,
            made => return made,
        }
    }
}

fn mkdir(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Writes a control file, naming it in the error.
fn write(dir: &Path, file: &str, value: impl AsRef<[u8]>) -> io::Result<()> {
    let path = dir.join(file);
    fs::write(&path, value)
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
}

/// Reads a control file holding one number.
fn read_u64(dir: &Path, file: &str) -> io::Result<u64> {
    let path = dir.join(file);
    let text = fs::read_to_string(&path)?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a number", path.display()),
        )
    })
}

/// Reads `key value` lines (memory.stat, cpu.stat) into a lookup.
fn read_keyed(dir: &Path, file: &str) -> io::Result<impl Fn(&str) -> u64> {
    let text = fs::read_to_string(dir.join(file))?;
    let pairs: Vec<(String, u64)> = text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect();
    Ok(move |key: &str| pairs.iter().find(|(k, _)| k == key).map_or(0, |(_, v)| *v))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn a_parent_removed_meanwhile_is_made_again() {
        let base = std::env::temp_dir().join(format!("hcsrun-cgroup-below-{}", std::process::id()));
        let (parent, dir) = (base.join("parent"), base.join("parent/dir"));
        fs::create_dir_all(&base).unwrap();
        // The first time, the parent is "removed" before the mkdir below it.
        let calls = Cell::new(0);
        below(&parent, &dir, |p| {
            calls.set(calls.get() + 1);
            if calls.get() > 1 {
                fs::create_dir_all(p)?;
            }
            Ok(())
        })
        .unwrap();
        assert!(dir.is_dir());
        assert_eq!(calls.get(), 2);
        // A parent that never comes is an error, after a few tries.
        let never = base.join("never/dir");
        let err = below(&base.join("never"), &never, |_| Ok(())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        fs::remove_dir_all(&base).unwrap();
    }
}
