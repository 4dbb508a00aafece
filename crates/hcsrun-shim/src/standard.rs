//! The standard mounts (`/proc`, `/dev`, `/dev/pts`, `/dev/shm`,
//! `/dev/mqueue`, `/sys`; `/sys/fs/cgroup` is `cgroupfs`'s): the service
//! makes them at start with [`STANDARD`]'s flags and data; where a spec's
//! differ, pid 1 reconfigures them in place (see `mounts`).

use hcsrun_linux_spec::{Atime, KernelMount, MountFlags, StandardMount};
use nix::{errno::Errno, mount::MsFlags};

use crate::{
    mounts::{attributes, io_errno, sb_flags, SpecMount},
    root::fd_path,
};

/// How the service makes a standard mount at start (docker's flags and
/// data, so that the usual spec changes next to nothing).
pub(crate) struct Made {
    /// Which mount.
    pub which: StandardMount,
    /// Read-only (`/sys`: the mount, not its file system).
    pub readonly: bool,
    /// Its flags.
    pub flags: MountFlags,
    /// The file system's data.
    pub data: &'static str,
}

const fn flags(nosuid: bool, nodev: bool, noexec: bool, atime: Option<Atime>) -> MountFlags {
    MountFlags {
        nosuid,
        nodev,
        noexec,
        sync: false,
        dirsync: false,
        atime,
        nodiratime: false,
        lazytime: false,
        nosymfollow: false,
        silent: false,
    }
}

/// The standard mounts as the service makes them.
pub(crate) const STANDARD: [Made; 6] = [
    Made {
        which: StandardMount::Proc,
        readonly: false,
        flags: flags(true, true, true, None),
        data: "",
    },
    // noexec beyond docker's: a spec without it (docker's, hcsrun run's)
    // has it cleared.
    Made {
        which: StandardMount::Dev,
        readonly: false,
        flags: flags(true, false, true, None),
        data: "mode=755,size=65536k",
    },
    Made {
        which: StandardMount::DevPts,
        readonly: false,
        flags: flags(true, false, true, None),
        data: "newinstance,ptmxmode=0666,mode=0620,gid=5",
    },
    Made {
        which: StandardMount::DevShm,
        readonly: false,
        flags: flags(true, true, true, None),
        data: "mode=1777,size=65536k",
    },
    Made {
        which: StandardMount::DevMqueue,
        readonly: false,
        flags: flags(true, true, true, None),
        data: "",
    },
    Made {
        which: StandardMount::Sys,
        readonly: true,
        flags: flags(true, true, true, None),
        data: "",
    },
];

/// How the service makes `which` (see [`STANDARD`]): its `MS_*` flags
/// (but read-only) and data.
pub(crate) fn made(which: StandardMount) -> (MsFlags, &'static str) {
    let Some(m) = STANDARD.iter().find(|m| m.which == which) else {
        return (MsFlags::empty(), "");
    };
    let mut ms = MsFlags::empty();
    for (on, flag) in [
        (m.flags.nosuid, MsFlags::MS_NOSUID),
        (m.flags.nodev, MsFlags::MS_NODEV),
        (m.flags.noexec, MsFlags::MS_NOEXEC),
        (
            m.flags.atime == Some(Atime::Strictatime),
            MsFlags::MS_STRICTATIME,
        ),
    ] {
        if on {
            ms |= flag;
        }
    }
    (ms, m.data)
}

/// Mount data as a comparable list: sizes in bytes, modes as numbers,
/// in order.
fn normalized(data: &str) -> Vec<String> {
    let mut list: Vec<String> =
        data.split(',')
            .filter(|o| !o.is_empty())
            .map(|o| match o.split_once('=') {
                Some((k @ ("size" | "nr_inodes" | "nr_blocks"), v)) => {
                    let (digits, unit) = match v.chars().last() {
                        Some('k' | 'K') => (&v[..v.len() - 1], 1u64 << 10),
                        Some('m' | 'M') => (&v[..v.len() - 1], 1 << 20),
                        Some('g' | 'G') => (&v[..v.len() - 1], 1 << 30),
                        _ => (v, 1),
                    };
                    digits
                        .parse::<u64>()
                        .map_or_else(|_| o.to_owned(), |n| format!("{k}={}", n * unit))
                }
                Some((k @ ("mode" | "ptmxmode"), v)) => u32::from_str_radix(v, 8)
                    .map_or_else(|_| o.to_owned(), |n| format!("{k}={n:o}")),
                _ => o.to_owned(),
            })
            .collect();
    list.sort();
    list
}

/// The flags a standard mount can carry, cleared where the spec has not
/// got them.
const FLAG_ATTRS: u64 = libc::MOUNT_ATTR_RDONLY
    | libc::MOUNT_ATTR_NOSUID
    | libc::MOUNT_ATTR_NODEV
    | libc::MOUNT_ATTR_NOEXEC
    | libc::MOUNT_ATTR_NODIRATIME
    | libc::MOUNT_ATTR_NOSYMFOLLOW;

/// A standard mount whose spec differs from what the service made.
pub(crate) fn reconfigured(k: &KernelMount) -> Option<SpecMount> {
    let made = STANDARD.iter().find(|m| Some(m.which) == k.standard)?;
    let spec_data = k.data.join(",");
    let same_data = normalized(&spec_data) == normalized(made.data);
    if k.readonly == made.readonly && k.flags == made.flags && same_data && k.propagation.is_none()
    {
        return None;
    }
    let (attr_set, attr_clr) = attributes(k.readonly, &k.flags);
    let (propagation, _) = crate::mounts::propagation(k.propagation);
    Some(SpecMount {
        destination: k.destination.to_string_lossy().into_owned(),
        fstype: None,
        source: String::new(),
        data: if same_data { String::new() } else { spec_data },
        sb_flags: sb_flags(&k.flags),
        attr_set,
        attr_clr: attr_clr | (FLAG_ATTRS & !attr_set),
        recursive: false,
        propagation,
        reconfigure: true,
        copy_up: false,
        restack: Vec::new(),
    })
}

/// The `MS_*` flags of `MOUNT_ATTR_*` bits, for a remount (which sets the
/// mount's flags as well as the file system's).
pub(crate) fn ms_of_attrs(attrs: u64) -> MsFlags {
    let mut ms = MsFlags::empty();
    for (attr, flag) in [
        (libc::MOUNT_ATTR_RDONLY, MsFlags::MS_RDONLY),
        (libc::MOUNT_ATTR_NOSUID, MsFlags::MS_NOSUID),
        (libc::MOUNT_ATTR_NODEV, MsFlags::MS_NODEV),
        (libc::MOUNT_ATTR_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if attrs & attr != 0 {
            ms |= flag;
        }
    }
    ms
}

/// A tmpfs's `mode=`, `uid=` and `gid=`, which a remount does not apply,
/// set on its root.
pub(crate) fn tmpfs_root(target: &impl std::os::fd::AsRawFd, data: &str) -> nix::Result<()> {
    let path = fd_path(target);
    let value = |key: &str| {
        data.split(',')
            .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
    };
    if let Some(mode) = value("mode") {
        let mode = u32::from_str_radix(mode, 8).map_err(|_| Errno::EINVAL)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(io_errno)?;
    }
    let id = |key: &str| {
        value(key)
            .map(str::parse::<u32>)
            .transpose()
            .map_err(|_| Errno::EINVAL)
    };
    let (uid, gid) = (id("uid")?, id("gid")?);
    if uid.is_some() || gid.is_some() {
        nix::unistd::chown(
            path.as_str(),
            uid.map(nix::unistd::Uid::from_raw),
            gid.map(nix::unistd::Gid::from_raw),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_compared_by_value() {
        assert_eq!(
            normalized("mode=1777,size=65536k"),
            normalized("size=67108864,mode=01777")
        );
        assert_ne!(
            normalized("mode=1777,size=8m"),
            normalized("mode=1777,size=65536k")
        );
        assert_eq!(
            normalized("newinstance,ptmxmode=0666,mode=0620,gid=5"),
            normalized("newinstance,ptmxmode=666,mode=620,gid=5")
        );
    }
}
