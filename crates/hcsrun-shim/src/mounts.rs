//! A Linux spec's `mounts` beyond what the service made at start: the
//! flags of its bind mounts (the service bound them as `MappedDirectories`,
//! read-only where `ro`; `nosuid`, `nodev`, `noexec`, atime, `nosymfollow`
//! and propagation are set here) and its kernel file systems other than
//! the standard ones (a `tmpfs` on `/tmp`, ...), mounted here. Pid 1
//! applies them in the spec's order when the first process arrives, in the
//! container's root, before the masked and read-only paths and the root
//! made read-only.
//!
//! The standard mounts (`/proc`, `/dev`, `/dev/pts`, `/dev/shm`,
//! `/dev/mqueue`, `/sys`; `/sys/fs/cgroup` is `cgroupfs`'s) are the
//! service's own, made at start with `standard::STANDARD`'s flags and data. Where
//! the spec's differ (docker's `--shm-size`, `--read-only`, `--privileged`'s
//! writable `/sys`, docker's `/dev` without `noexec`), pid 1 reconfigures
//! them in place: the file system's data with a remount (a tmpfs's mode
//! and owner set on its root, which a remount leaves alone), the flags
//! with `mount_setattr`, those the service set and the spec does not
//! cleared.

use std::{
    os::fd::{AsFd, OwnedFd},
    path::Path,
};

use hcsrun_linux_spec::{Atime, LinuxSpec, Mount, MountFlags, Propagation};
use nix::{errno::Errno, mount::MsFlags};
use rustix::mount::{move_mount, MoveMountFlags};
use serde::{Deserialize, Serialize};

use crate::{
    root::{fd_path, mount_on, Root},
    standard,
};

/// One mount of the spec, as pid 1 applies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecMount {
    /// The container path.
    pub destination: String,
    /// A kernel file system to mount there (`Some(type)`, with `source`
    /// and `data`); `None`: a bind the service made, whose attributes are
    /// set.
    pub fstype: Option<String>,
    pub source: String,
    pub data: String,
    /// `MS_*` superblock flags of a kernel mount (`sync`, `dirsync`,
    /// `lazytime`, `silent`).
    pub sb_flags: u64,
    /// `MOUNT_ATTR_*` to set, and to clear first (the atime bits).
    pub attr_set: u64,
    pub attr_clr: u64,
    /// The attributes apply to every mount under it too.
    pub recursive: bool,
    /// `MS_SHARED`, `MS_SLAVE`, `MS_PRIVATE` or `MS_UNBINDABLE`; 0 keeps it.
    pub propagation: u64,
    /// A standard mount the service made: reconfigured with `data` (when
    /// not empty) rather than mounted.
    pub reconfigure: bool,
    /// `tmpcopyup`: the new tmpfs starts with a copy of what was there.
    pub copy_up: bool,
    /// Binds the spec lists after this kernel mount, below it: the service
    /// made them at start, so they are moved onto the new mount, which
    /// would cover them otherwise (podman's `/etc/hostname` on a `--tmpfs
    /// /etc`, `/run/.containerenv` on a `--read-only` container's `/run`).
    #[serde(default)]
    pub restack: Vec<String>,
}

pub(crate) fn sb_flags(flags: &MountFlags) -> u64 {
    let mut sb = MsFlags::empty();
    for (on, flag) in [
        (flags.sync, MsFlags::MS_SYNCHRONOUS),
        (flags.dirsync, MsFlags::MS_DIRSYNC),
        (flags.lazytime, MsFlags::MS_LAZYTIME),
        (flags.silent, MsFlags::MS_SILENT),
    ] {
        if on {
            sb |= flag;
        }
    }
    sb.bits()
}

pub(crate) fn attributes(readonly: bool, flags: &MountFlags) -> (u64, u64) {
    let mut set = 0;
    let mut clr = 0;
    for (on, attr) in [
        (readonly, libc::MOUNT_ATTR_RDONLY),
        (flags.nosuid, libc::MOUNT_ATTR_NOSUID),
        (flags.nodev, libc::MOUNT_ATTR_NODEV),
        (flags.noexec, libc::MOUNT_ATTR_NOEXEC),
        (flags.nodiratime, libc::MOUNT_ATTR_NODIRATIME),
        (flags.nosymfollow, libc::MOUNT_ATTR_NOSYMFOLLOW),
    ] {
        if on {
            set |= attr;
        }
    }
    if let Some(atime) = flags.atime {
        clr |= libc::MOUNT_ATTR__ATIME;
        set |= match atime {
            Atime::Noatime => libc::MOUNT_ATTR_NOATIME,
            Atime::Relatime => libc::MOUNT_ATTR_RELATIME,
            Atime::Strictatime => libc::MOUNT_ATTR_STRICTATIME,
        };
    }
    (set, clr)
}

/// `MS_*` propagation bits of `p`, and whether it applies to submounts.
pub fn propagation(p: Option<Propagation>) -> (u64, bool) {
    let Some(p) = p else { return (0, false) };
    let flag = match p {
        Propagation::Private | Propagation::RPrivate => MsFlags::MS_PRIVATE,
        Propagation::Shared | Propagation::RShared => MsFlags::MS_SHARED,
        Propagation::Slave | Propagation::RSlave => MsFlags::MS_SLAVE,
        Propagation::Unbindable | Propagation::RUnbindable => MsFlags::MS_UNBINDABLE,
    };
    (flag.bits(), p.recursive())
}

/// The spec's mounts pid 1 applies.
pub fn of_spec(spec: &LinuxSpec) -> Vec<SpecMount> {
    let mut list = spec_mounts(spec);
    for i in 0..list.len() {
        if list[i].fstype.is_none() {
            continue;
        }
        let over = Path::new(&list[i].destination).to_owned();
        let mut below: Vec<String> = Vec::new();
        for later in &list[i + 1..] {
            let dest = Path::new(&later.destination);
            let bind = later.fstype.is_none() && !later.reconfigure;
            // One clone carries the binds below it.
            if bind && dest.starts_with(&over) && !below.iter().any(|b| dest.starts_with(b)) {
                below.push(later.destination.clone());
            }
        }
        list[i].restack = below;
    }
    list
}

fn spec_mounts(spec: &LinuxSpec) -> Vec<SpecMount> {
    spec.mounts()
        .iter()
        .filter_map(|m| match m {
            Mount::Bind(b) => {
                let (attr_set, attr_clr) = attributes(b.readonly, &b.flags);
                let (propagation, _) = propagation(b.propagation);
                Some(SpecMount {
                    destination: b.destination.to_string_lossy().into_owned(),
                    fstype: None,
                    source: String::new(),
                    data: String::new(),
                    sb_flags: 0,
                    attr_set,
                    attr_clr,
                    // The service bound it recursively; `rro` makes every
                    // submount read-only too, and the other flags follow
                    // `rbind`'s submounts as runc's remount does not:
                    // stricter.
                    recursive: b.recursive || b.recursive_readonly,
                    propagation,
                    reconfigure: false,
                    copy_up: false,
                    restack: Vec::new(),
                })
            }
            Mount::Kernel(k) if k.standard.is_none() => {
                let (attr_set, attr_clr) = attributes(k.readonly, &k.flags);
                let (propagation, recursive) = propagation(k.propagation);
                Some(SpecMount {
                    destination: k.destination.to_string_lossy().into_owned(),
                    fstype: Some(k.kind.name().to_owned()),
                    source: k.source.clone(),
                    data: k.data.join(","),
                    sb_flags: sb_flags(&k.flags),
                    attr_set,
                    attr_clr,
                    recursive,
                    propagation,
                    reconfigure: false,
                    copy_up: k.copy_up,
                    restack: Vec::new(),
                })
            }
            Mount::Kernel(k) => standard::reconfigured(k),
        })
        .collect()
}

/// A bind to move onto a new mount: its destination, its mount (`O_PATH`)
/// and whether it is a directory.
type Lifted = (String, OwnedFd, bool);

impl SpecMount {
    /// Applies it in `root` (pid 1's, the container's); a failure says
    /// what failed (the destination, and a copied file's name).
    pub fn apply(&self, root: &Root) -> Result<(), (String, Errno)> {
        let what = || format!("mounts: {}", self.destination);
        let lifted = self.lift(root)?;
        let below = self.mount(root).map_err(|e| (what(), e))?;
        if let Some(below) = below {
            let mounted = root
                .existing(&self.destination)
                .and_then(|fd| reopen_dir(&fd))
                .map_err(|e| (what(), e))?;
            let keep_mode = self.data.split(',').any(|o| o.starts_with("mode="));
            crate::copyup::copy_tree(below.as_fd(), mounted.as_fd(), keep_mode)
                .map_err(|e| (format!("{} (tmpcopyup): {e}", what()), io_errno(e)))?;
        }
        // Mount points for the binds moved on, made while the new mount
        // may still be written.
        let mut places = Vec::with_capacity(lifted.len());
        for (dest, bind, is_dir) in lifted {
            let place = if is_dir {
                root.dir(&dest)
            } else {
                root.file(&dest)
            };
            let place = place.map_err(|e| (format!("mounts: {dest}"), io_errno(e)))?;
            places.push((dest, bind, place));
        }
        // The mount itself, not what is under it; its flags set before the
        // binds are moved on, so that they do not reach them.
        let target = root.existing(&self.destination).map_err(|e| (what(), e))?;
        if self.attr_set != 0 || self.attr_clr != 0 || self.propagation != 0 {
            set_attributes(
                &target,
                self.attr_set,
                self.attr_clr,
                self.propagation,
                self.recursive,
            )
            .map_err(|e| (what(), e))?;
        }
        // Moved, not copied: nothing is left under the new mount.
        for (dest, bind, place) in places {
            attach(&bind, &place)
                .map_err(|e| (format!("mounts: {dest} (onto {})", self.destination), e))?;
        }
        Ok(())
    }

    /// The binds in `restack` (their mounts, as `O_PATH` descriptors), with
    /// whether each is a directory, taken before the mount covers them.
    fn lift(&self, root: &Root) -> Result<Vec<Lifted>, (String, Errno)> {
        let mut lifted = Vec::with_capacity(self.restack.len());
        for dest in &self.restack {
            let found = root.existing(dest).and_then(|at| {
                let is_dir = nix::sys::stat::fstat(&at)?.st_mode & libc::S_IFMT == libc::S_IFDIR;
                Ok((dest.clone(), at, is_dir))
            });
            lifted.push(found.map_err(|e| (format!("mounts: {dest}"), e))?);
        }
        Ok(lifted)
    }

    /// The mount, or the standard one reconfigured; with `tmpcopyup`, what
    /// the image has there, opened before the mount covered it.
    fn mount(&self, root: &Root) -> nix::Result<Option<OwnedFd>> {
        if self.reconfigure && !self.data.is_empty() {
            let target = root.existing(&self.destination)?;
            let flags = MsFlags::MS_REMOUNT
                | MsFlags::from_bits_truncate(self.sb_flags)
                | standard::ms_of_attrs(self.attr_set);
            mount_on(&target, None, None, flags, Some(self.data.as_str()))?;
            if self.destination == "/dev" || self.destination == "/dev/shm" {
                standard::tmpfs_root(&target, &self.data)?;
            }
        }
        let Some(fstype) = &self.fstype else {
            return Ok(None);
        };
        let dir = root.dir(&self.destination).map_err(io_errno)?;
        let below = self.copy_up.then(|| image_view(&dir)).transpose()?;
        mount_on(
            &dir,
            Some(self.source.as_str()),
            Some(fstype.as_str()),
            MsFlags::from_bits_truncate(self.sb_flags),
            (!self.data.is_empty()).then_some(self.data.as_str()),
        )?;
        Ok(below)
    }
}

/// Moves the mount `clone` is the root of (attached or detached) onto
/// `target`.
pub(crate) fn attach(clone: &OwnedFd, target: &OwnedFd) -> nix::Result<()> {
    move_mount(
        clone.as_fd(),
        "",
        target.as_fd(),
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .map_err(|e| Errno::from_raw(e.raw_os_error()))
}

/// A readable view of the directory `dir` without the mounts below it (a
/// non-recursive clone): what the image has there for `tmpcopyup`, not
/// the binds the service already made inside it.
fn image_view(dir: &OwnedFd) -> nix::Result<OwnedFd> {
    let flags = rustix::mount::OpenTreeFlags::OPEN_TREE_CLONE
        | rustix::mount::OpenTreeFlags::OPEN_TREE_CLOEXEC
        | rustix::mount::OpenTreeFlags::AT_EMPTY_PATH;
    let clone = rustix::mount::open_tree(dir.as_fd(), "", flags)
        .map_err(|e| Errno::from_raw(e.raw_os_error()))?;
    nix::fcntl::openat(
        clone.as_fd(),
        ".",
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
}

/// A readable descriptor of the directory `fd` (`O_PATH`) refers to.
fn reopen_dir(fd: &impl std::os::fd::AsRawFd) -> nix::Result<OwnedFd> {
    nix::fcntl::open(
        fd_path(fd).as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
}

pub(crate) fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL))
}

/// `mount_setattr` on the mount `target` is the root of.
pub(crate) fn set_attributes(
    target: &impl std::os::fd::AsRawFd,
    set: u64,
    clr: u64,
    propagation: u64,
    recursive: bool,
) -> nix::Result<()> {
    let attr = libc::mount_attr {
        attr_set: set,
        attr_clr: clr,
        propagation,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    // SAFETY: mount_setattr reads `size` bytes of `attr` and the empty
    // path.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            target.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Applies `mounts` in order in the root `/` (pid 1's).
pub fn apply_all(mounts: &[SpecMount]) -> Result<(), (String, Errno)> {
    if mounts.is_empty() {
        return Ok(());
    }
    let root =
        Root::open(Path::new("/")).map_err(|e| ("opening the root".to_owned(), io_errno(e)))?;
    for m in mounts {
        m.apply(&root)?;
    }
    Ok(())
}
