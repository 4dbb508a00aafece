//! The standard mounts (`/proc`, `/dev`, `/dev/pts`, `/dev/shm`,
//! `/dev/mqueue`, `/sys`; `/sys/fs/cgroup` is `cgroupfs`'s): the service
//! makes them at start with [`STANDARD`]'s flags and data; where a spec's
//! differ, pid 1 reconfigures them in place (see `mounts`).

use hcsrun_linux_spec::{KernelMount, MountFlags, StandardMount};
use nix::{errno::Errno, mount::MsFlags};

use crate::{
    mounts::{attributes, io_errno, sb_flags, SpecMount},
    root::fd_path,
};

/// The standard mounts as the service makes them at start: read-only,
/// `nosuid`, `nodev`, `noexec`, and the file system's data.
pub(crate) const STANDARD: [(StandardMount, bool, bool, bool, bool, &str); 6] = [
    (StandardMount::Proc, false, true, true, true, ""),
    (
        StandardMount::Dev,
        false,
        true,
        false,
        true,
        "mode=755,size=65536k",
    ),
    (
        StandardMount::DevPts,
        false,
        true,
        false,
        true,
        "newinstance,ptmxmode=0666,mode=0620,gid=5",
    ),
    (
        StandardMount::DevShm,
        false,
        true,
        true,
        true,
        "mode=1777,size=65536k",
    ),
    (StandardMount::DevMqueue, false, true, true, true, ""),
    (StandardMount::Sys, true, true, true, true, ""),
];

/// The service's data for `which` (see [`STANDARD`]).
pub(crate) fn standard_data(which: StandardMount) -> &'static str {
    STANDARD.iter().find(|s| s.0 == which).map_or("", |s| s.5)
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
    let &(_, ro, nosuid, nodev, noexec, data) =
        STANDARD.iter().find(|s| Some(s.0) == k.standard)?;
    let made = MountFlags {
        nosuid,
        nodev,
        noexec,
        ..MountFlags::default()
    };
    let spec_data = k.data.join(",");
    if k.readonly == ro && k.flags == made && spec_data == data && k.propagation.is_none() {
        return None;
    }
    let (attr_set, attr_clr) = attributes(k.readonly, &k.flags);
    let (propagation, _) = crate::mounts::propagation(k.propagation);
    Some(SpecMount {
        destination: k.destination.to_string_lossy().into_owned(),
        fstype: None,
        source: String::new(),
        data: if spec_data == data {
            String::new()
        } else {
            spec_data
        },
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
