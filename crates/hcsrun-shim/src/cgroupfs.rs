//! `/sys/fs/cgroup` in the container: its own cgroups and nothing else,
//! as runc shows them.
//!
//! The holder (or, in caller mode, `hcsrun-oci`) clones each of the
//! container's cgroup directories as a detached bind mount (`open_tree`),
//! with `nosuid,nodev,noexec` and, unless the spec says `rw`, read-only,
//! and hands the clones to pid 1 with its first process. Pid 1, whose root
//! is the container's by then, attaches them (`move_mount`): on cgroup v2
//! the one directory becomes `/sys/fs/cgroup`; on v1 a tmpfs there holds
//! one directory per hierarchy, named as the host names it (`memory`,
//! `cpu,cpuacct`), with the host's links for co-mounted controllers
//! (`cpu -> cpu,cpuacct`). A hierarchy the container has no cgroup in (v1
//! `cpu` and `cpuset` without CPU limits) is not shown: the host's cgroup
//! there is not the container's to see. Programs that size themselves
//! from their limits (the JVM, .NET, Go's GOMAXPROCS) read them here.

use std::{io, os::fd::OwnedFd, path::Path};

use hcsrun_cgroup::Hierarchies;
use hcsrun_shim_protocol::message::CgroupDir;
use nix::{
    errno::Errno,
    mount::MsFlags,
    sys::stat::{mkdirat, Mode},
    unistd::symlinkat,
};
use rustix::mount::{open_tree, OpenTreeFlags};
use serde::{Deserialize, Serialize};

use crate::{
    mounts::{attach, set_attributes},
    root::{mount_on, Root},
};

/// What pid 1 mounts at `/sys/fs/cgroup`, one descriptor per entry of
/// `hierarchies` (one in all on cgroup v2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupView {
    /// Read-only (the spec's `ro`; docker's default).
    pub read_only: bool,
    /// cgroup v2: the one directory is `/sys/fs/cgroup` itself.
    pub unified: bool,
    /// cgroup v1: each hierarchy's directory name under `/sys/fs/cgroup`.
    pub hierarchies: Vec<String>,
    /// cgroup v1: links to those directories (`cpu` -> `cpu,cpuacct`).
    pub links: Vec<(String, String)>,
}

impl CgroupView {
    /// Fills the view in for the cgroup directories `dirs` (the
    /// container's, where they are now) and clones each as a detached
    /// bind mount with the view's attributes. Runs outside the container.
    pub fn clone_cgroups(&mut self, dirs: &[CgroupDir]) -> io::Result<Vec<OwnedFd>> {
        let mut attr = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC;
        if self.read_only {
            attr |= libc::MOUNT_ATTR_RDONLY;
        }
        let mounts = Hierarchies::get().ok();
        let mut fds = Vec::new();
        for dir in dirs {
            let path = Path::new(&dir.path);
            if dir.is_unified() {
                self.unified = true;
            } else {
                let (name, controllers) = hierarchy_of(mounts, dir)?;
                for c in controllers.iter().filter(|c| **c != name) {
                    self.links.push((c.clone(), name.clone()));
                }
                self.hierarchies.push(name);
            }
            let fd = open_tree(
                rustix::fs::CWD,
                path,
                OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
            )
            .map_err(|e| io::Error::new(e.kind(), format!("cloning {}: {e}", dir.path)))?;
            // Private: a clone of a shared mount (systemd's /sys/fs/cgroup)
            // would join the host's peer group, and mounts made below it
            // in the container would appear on the host.
            set_attributes(&fd, attr, 0, libc::MS_PRIVATE, false)
                .map_err(|e| io::Error::other(format!("setting the flags of {}: {e}", dir.path)))?;
            fds.push(fd);
        }
        Ok(fds)
    }

    /// Mounts the clones at `/sys/fs/cgroup` in `root` (pid 1's).
    pub fn mount(&self, root: &Root, clones: Vec<OwnedFd>) -> nix::Result<()> {
        let target = root.existing("/sys/fs/cgroup")?;
        let mut clones = clones.into_iter();
        if self.unified {
            let clone = clones.next().ok_or(Errno::EBADF)?;
            return attach(&clone, &target);
        }
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount_on(
            &target,
            Some("tmpfs"),
            Some("tmpfs"),
            flags,
            Some("mode=755,size=64k"),
        )?;
        let dir = root.existing("/sys/fs/cgroup")?;
        for name in &self.hierarchies {
            let clone = clones.next().ok_or(Errno::EBADF)?;
            mkdirat(&dir, name.as_str(), Mode::from_bits_truncate(0o755))?;
            let at = root.existing(&format!("/sys/fs/cgroup/{name}"))?;
            attach(&clone, &at)?;
        }
        for (link, to) in &self.links {
            symlinkat(to.as_str(), &dir, link.as_str())?;
        }
        Ok(())
    }

    /// Makes v1's tmpfs read-only, once the spec's own mounts below it
    /// are in place (runc's order).
    pub fn seal(&self, root: &Root) -> nix::Result<()> {
        if self.unified || !self.read_only {
            return Ok(());
        }
        let dir = root.existing("/sys/fs/cgroup")?;
        set_attributes(&dir, libc::MOUNT_ATTR_RDONLY, 0, 0, false)
    }
}

/// The name and controllers of the v1 hierarchy `dir` is in.
fn hierarchy_of(
    mounts: Option<&'static Hierarchies>,
    dir: &CgroupDir,
) -> io::Result<(String, Vec<String>)> {
    let Some(Hierarchies::V1(mounts)) = mounts else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: no cgroup v1 hierarchy is mounted", dir.path),
        ));
    };
    mounts
        .iter()
        .filter(|m| Path::new(&dir.path).starts_with(&m.path))
        .find_map(|m| {
            let name = m.path.file_name()?.to_str()?.to_owned();
            Some((name, m.controllers.clone()))
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: not in a cgroup hierarchy", dir.path),
            )
        })
}
