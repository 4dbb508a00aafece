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
//! `/dev/mqueue`, `/sys`, `/sys/fs/cgroup`) are the service's own, made
//! at start with docker's flags.

use std::path::Path;

use hcsrun_linux_spec::{Atime, LinuxSpec, Mount, MountFlags, Propagation};
use nix::{errno::Errno, mount::MsFlags};
use serde::{Deserialize, Serialize};

use crate::root::{mount_on, Root};

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
}

fn attributes(readonly: bool, flags: &MountFlags) -> (u64, u64) {
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
                })
            }
            Mount::Kernel(k) if k.standard.is_none() => {
                let (attr_set, attr_clr) = attributes(k.readonly, &k.flags);
                let (propagation, recursive) = propagation(k.propagation);
                let mut sb = MsFlags::empty();
                for (on, flag) in [
                    (k.flags.sync, MsFlags::MS_SYNCHRONOUS),
                    (k.flags.dirsync, MsFlags::MS_DIRSYNC),
                    (k.flags.lazytime, MsFlags::MS_LAZYTIME),
                    (k.flags.silent, MsFlags::MS_SILENT),
                ] {
                    if on {
                        sb |= flag;
                    }
                }
                Some(SpecMount {
                    destination: k.destination.to_string_lossy().into_owned(),
                    fstype: Some(k.kind.name().to_owned()),
                    source: k.source.clone(),
                    data: k.data.join(","),
                    sb_flags: sb.bits(),
                    attr_set,
                    attr_clr,
                    recursive,
                    propagation,
                })
            }
            Mount::Kernel(_) => None,
        })
        .collect()
}

impl SpecMount {
    /// Applies it in `root` (pid 1's, the container's).
    pub fn apply(&self, root: &Root) -> nix::Result<()> {
        if let Some(fstype) = &self.fstype {
            let dir = root.dir(&self.destination).map_err(io_errno)?;
            mount_on(
                &dir,
                Some(self.source.as_str()),
                Some(fstype.as_str()),
                MsFlags::from_bits_truncate(self.sb_flags),
                (!self.data.is_empty()).then_some(self.data.as_str()),
            )?;
        }
        // The mount itself, not what is under it.
        let target = root.existing(&self.destination)?;
        if self.attr_set != 0 || self.attr_clr != 0 || self.propagation != 0 {
            set_attributes(
                &target,
                self.attr_set,
                self.attr_clr,
                self.propagation,
                self.recursive,
            )?;
        }
        Ok(())
    }
}

fn io_errno(e: std::io::Error) -> Errno {
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
        m.apply(&root)
            .map_err(|e| (format!("mounts: {}", m.destination), e))?;
    }
    Ok(())
}
