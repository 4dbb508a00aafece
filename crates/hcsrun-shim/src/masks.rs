//! What a container must not see or change of the host, though its root,
//! `/proc` and `/sys` would show it: docker's masked and read-only paths,
//! the directories of hcsrun's own state (hidden: the host's root may be
//! the container's base layer, or bound as its `VolumePath`), and a Linux
//! spec's `maskedPaths` and `readonlyPaths`.
//!
//! A masked directory gets an empty read-only tmpfs over it, a masked file
//! the container's `/dev/null` (or the host's, before the container's
//! exists); a read-only path is bound onto itself and made read-only,
//! recursively. A path the container does not have is skipped. Every path
//! is resolved inside the container's root ([`Root`], `RESOLVE_IN_ROOT`),
//! so a link in an image cannot aim a mount at the host.

use std::{fs, os::fd::OwnedFd};

use hcsrun_linux_spec::docker::{MASKED_PATHS, READONLY_PATHS};
use nix::{errno::Errno, mount::MsFlags};

use crate::root::{fd_path, mount_on, Root};

/// Opens `path` in `root` without making it: `None` if the container
/// does not have it.
fn existing(root: &Root, path: &str) -> nix::Result<Option<OwnedFd>> {
    match root.existing(path) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Masks `path` in `root`: an empty read-only tmpfs over a directory,
/// `null` (a path to a character device, `/dev/null`) over anything else.
pub fn mask(root: &Root, path: &str, null: &str) -> nix::Result<()> {
    let Some(target) = existing(root, path)? else {
        return Ok(());
    };
    if fs::metadata(fd_path(&target)).is_ok_and(|m| m.is_dir()) {
        mount_on(
            &target,
            Some("tmpfs"),
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=0,mode=755"),
        )
    } else {
        mount_on(&target, Some(null), None, MsFlags::MS_BIND, None)
    }
}

/// Makes `path` in `root`, and every mount under it, read-only.
pub fn read_only(root: &Root, path: &str) -> nix::Result<()> {
    let Some(target) = existing(root, path)? else {
        return Ok(());
    };
    let source = fd_path(&target);
    mount_on(
        &target,
        Some(source.as_str()),
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )?;
    // The bind mount, not the entry under it.
    let Some(bound) = existing(root, path)? else {
        return Ok(());
    };
    crate::setup::make_read_only(&bound)
}

/// Applies docker's masked and read-only paths to the container's fresh
/// `/proc` and `/sys` if `docker_defaults` (a configuration without a Linux
/// spec, whose own lists are applied instead), then hides each of `hidden`
/// (host directories of hcsrun's state) where the root holds it: always.
pub fn protect(
    root: &Root,
    hidden: &[String],
    docker_defaults: bool,
) -> Result<(), (String, Errno)> {
    if docker_defaults {
        // The container's /dev is not made yet: the host's null.
        for path in MASKED_PATHS {
            mask(root, path, "/dev/null").map_err(|e| (format!("masking {path}"), e))?;
        }
        for path in READONLY_PATHS {
            read_only(root, path).map_err(|e| (format!("making {path} read-only"), e))?;
        }
    }
    for path in hidden {
        hide(root, path).map_err(|e| (format!("hiding {path}"), e))?;
    }
    Ok(())
}

/// An empty read-only tmpfs over directory `path` of `root`, if the root
/// has it (a file there is left alone: hcsrun's state directories are
/// directories, and a file of that name is not theirs).
fn hide(root: &Root, path: &str) -> nix::Result<()> {
    let Some(target) = existing(root, path)? else {
        return Ok(());
    };
    if !fs::metadata(fd_path(&target)).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    mount_on(
        &target,
        Some("tmpfs"),
        Some("tmpfs"),
        MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("size=0,mode=755"),
    )
}
