//! The container's root: containerd's snapshot mounts, mounted on
//! `<bundle>/rootfs` as runc's shim does, so that the spec's `root.path`
//! (the Linux service's `VolumePath`) is the snapshot, whatever the
//! snapshotter (overlayfs, native bind mounts, block devices). Unmounted at
//! `Delete` and by `shim delete`.
//!
//! Blocking (mount(2)): callers run it on the blocking pool.

use std::{
    io,
    path::{Path, PathBuf},
};

use nix::{
    errno::Errno,
    mount::{mount, umount2, MntFlags, MsFlags},
};

/// One mount containerd asks for (`containerd.types.Mount`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootMount {
    /// File system type (`overlay`, `bind`...).
    pub kind: String,
    /// Its source (device, directory, `overlay`).
    pub source: String,
    /// Mount flags and file system options, as mount(8) takes them.
    pub options: Vec<String>,
}

/// The rootfs directory of `bundle`.
pub fn target(bundle: &Path) -> PathBuf {
    bundle.join("rootfs")
}

/// Options that are mount flags; the rest are the file system's data.
fn flag(option: &str) -> Option<(bool, MsFlags)> {
    Some(match option {
        "ro" => (true, MsFlags::MS_RDONLY),
        "rw" => (false, MsFlags::MS_RDONLY),
        "bind" => (true, MsFlags::MS_BIND),
        "rbind" => (true, MsFlags::MS_BIND | MsFlags::MS_REC),
        "nosuid" => (true, MsFlags::MS_NOSUID),
        "suid" => (false, MsFlags::MS_NOSUID),
        "nodev" => (true, MsFlags::MS_NODEV),
        "dev" => (false, MsFlags::MS_NODEV),
        "noexec" => (true, MsFlags::MS_NOEXEC),
        "exec" => (false, MsFlags::MS_NOEXEC),
        "sync" => (true, MsFlags::MS_SYNCHRONOUS),
        "async" => (false, MsFlags::MS_SYNCHRONOUS),
        "dirsync" => (true, MsFlags::MS_DIRSYNC),
        "noatime" => (true, MsFlags::MS_NOATIME),
        "atime" => (false, MsFlags::MS_NOATIME),
        "nodiratime" => (true, MsFlags::MS_NODIRATIME),
        "relatime" => (true, MsFlags::MS_RELATIME),
        "strictatime" => (true, MsFlags::MS_STRICTATIME),
        "remount" => (true, MsFlags::MS_REMOUNT),
        "defaults" => (false, MsFlags::empty()),
        _ => return None,
    })
}

/// Flags and data of `options`.
fn parse(options: &[String]) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for option in options {
        match flag(option) {
            Some((true, f)) => flags |= f,
            Some((false, f)) => flags &= !f,
            None => data.push(option.as_str()),
        }
    }
    (flags, data.join(","))
}

/// Mounts `mounts` on `target`, in order. On failure whatever was mounted
/// is unmounted again.
pub fn mount_all(mounts: &[RootMount], target: &Path) -> io::Result<()> {
    for (i, m) in mounts.iter().enumerate() {
        let (flags, data) = parse(&m.options);
        // A page is the kernel's limit for mount data (many layers' lowerdir).
        if data.len() >= 4096 {
            unmount_all(target)?;
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "rootfs mount {i} ({}): options of {} bytes exceed the kernel's page",
                    m.kind,
                    data.len()
                ),
            ));
        }
        let mut flags = flags;
        if m.kind == "bind" {
            flags |= MsFlags::MS_BIND;
        }
        let bind = flags.contains(MsFlags::MS_BIND);
        let kind = (!m.kind.is_empty() && !bind).then_some(m.kind.as_str());
        let result = mount(
            Some(m.source.as_str()),
            target,
            kind,
            flags,
            (!data.is_empty()).then_some(data.as_str()),
        )
        .and_then(|()| {
            // A bind mount is made read-only by a remount, as mount(8) does.
            if bind && flags.contains(MsFlags::MS_RDONLY) {
                let remount = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
                mount(None::<&str>, target, None::<&str>, remount, None::<&str>)
            } else {
                Ok(())
            }
        });
        if let Err(e) = result {
            let _ = unmount_all(target);
            return Err(io::Error::new(
                io::Error::from(e).kind(),
                format!(
                    "mounting the rootfs ({} {} on {}): {e}",
                    m.kind,
                    m.source,
                    target.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Unmounts everything mounted on `target` (nothing mounted is fine).
pub fn unmount_all(target: &Path) -> io::Result<()> {
    for _ in 0..64 {
        match umount2(target, MntFlags::empty()) {
            Ok(()) => continue,
            // Not a mount point (any more), or no such directory.
            Err(Errno::EINVAL) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EBUSY) => {
                umount2(target, MntFlags::MNT_DETACH).map_err(io::Error::from)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_and_data() {
        let opts: Vec<String> = [
            "index=off",
            "ro",
            "workdir=/w",
            "upperdir=/u",
            "lowerdir=/l",
        ]
        .map(String::from)
        .into();
        let (flags, data) = parse(&opts);
        assert_eq!(flags, MsFlags::MS_RDONLY);
        assert_eq!(data, "index=off,workdir=/w,upperdir=/u,lowerdir=/l");
        let (flags, data) = parse(&["rbind".into(), "rw".into()]);
        assert_eq!(flags, MsFlags::MS_BIND | MsFlags::MS_REC);
        assert_eq!(data, "");
    }
}
