//! What a Linux spec asks of the whole container, which the system's pid 1
//! applies when the first process arrives (the spec travels with it), in
//! the root it built at start, before it becomes that process: the spec's
//! `mounts` (`mounts.rs`), the device nodes of `linux.devices`,
//! `linux.readonlyPaths` and `linux.maskedPaths` (on top of docker's,
//! which every container has), and last of all, the root made read-only
//! (`root.readonly`), once every mount is in place. And for any system
//! whose first process has a console, `/dev/console` is that console.
//!
//! Pid 1 still has every capability here and runs only hcsrun's code: no
//! process of the container exists yet (the holder refuses later
//! processes until the first one has started). Its root is the
//! container's (the host's was detached at start), so no path here can
//! lead out of the container.

use std::{
    ffi::CString,
    os::fd::{AsRawFd, OwnedFd},
    path::{Path, PathBuf},
};

use hcs::ErrorCode;
use hcsrun_linux_spec::{DeviceKind, LinuxSpec, Mount, Namespace, StandardMount};
use hcsrun_shim_protocol::{
    errno::errno_code,
    message::{CgroupDir, WireError},
};
use nix::{
    errno::Errno,
    fcntl::OFlag,
    mount::{mount, MsFlags},
    sys::stat::{makedev, mknod, Mode, SFlag},
    unistd::{chown, Gid, Uid},
};
use serde::{Deserialize, Serialize};

use crate::{
    cgroupfs::CgroupView,
    masks,
    mounts::{self, SpecMount},
    root::Root,
};

/// A device node of `linux.devices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub path: PathBuf,
    /// `S_IFCHR`, `S_IFBLK` or `S_IFIFO`.
    pub kind: u32,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The container-wide part of a Linux spec, as pid 1 applies it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSetup {
    /// `linux.devices`.
    pub devices: Vec<Node>,
    /// `mounts`: bind flags and kernel file systems beyond the service's.
    pub mounts: Vec<SpecMount>,
    /// `linux.sysctl`: each key, its value (namespaced keys only: the
    /// spec refuses the others).
    pub sysctl: Vec<(String, String)>,
    /// `domainname`.
    pub domainname: Option<String>,
    /// `linux.readonlyPaths`.
    pub read_only_paths: Vec<String>,
    /// `linux.maskedPaths`.
    pub masked_paths: Vec<String>,
    /// `root.readonly`.
    pub root_readonly: bool,
    /// `linux.rootfsPropagation`: `MS_*` bits (with `MS_REC` for the
    /// recursive kinds), applied to the container's root inside its own
    /// mount namespace; 0 keeps it private.
    pub rootfs_propagation: u64,
    /// A cgroup namespace of the container's own (`linux.namespaces`),
    /// made once pid 1 is in its cgroups.
    pub cgroup_ns: bool,
    /// `/sys/fs/cgroup` (the spec's cgroup mount there): the container's
    /// own cgroups, whose clones come with the first process.
    pub cgroupfs: Option<CgroupView>,
}

fn failed(what: impl std::fmt::Display, e: Errno) -> WireError {
    WireError {
        code: errno_code(e as i32).0,
        message: format!("{what}: {e}"),
    }
}

impl ContainerSetup {
    /// What `spec` asks of the container.
    pub fn of_spec(spec: &LinuxSpec) -> Self {
        let devices = spec
            .devices()
            .iter()
            .map(|d| Node {
                path: d.path.clone(),
                kind: match d.kind {
                    DeviceKind::Char => libc::S_IFCHR,
                    DeviceKind::Block => libc::S_IFBLK,
                    DeviceKind::Fifo => libc::S_IFIFO,
                },
                major: d.major as u64,
                minor: d.minor as u64,
                mode: d.file_mode.unwrap_or(0o666),
                uid: d.uid.unwrap_or(0),
                gid: d.gid.unwrap_or(0),
            })
            .collect();
        let paths = |list: &[PathBuf]| {
            list.iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        };
        Self {
            devices,
            mounts: mounts::of_spec(spec),
            sysctl: spec
                .sysctl()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            domainname: spec.domainname().map(str::to_owned),
            read_only_paths: paths(spec.readonly_paths()),
            masked_paths: paths(spec.masked_paths()),
            root_readonly: spec.root().is_some_and(|r| r.readonly),
            cgroup_ns: spec.namespaces().cgroup == Namespace::New,
            cgroupfs: spec.mounts().iter().find_map(|m| match m {
                Mount::Kernel(k) if k.standard == Some(StandardMount::SysFsCgroup) => {
                    Some(CgroupView {
                        read_only: k.readonly,
                        ..CgroupView::default()
                    })
                }
                _ => None,
            }),
            rootfs_propagation: match mounts::propagation(spec.rootfs_propagation()) {
                (0, _) => 0,
                (flags, true) => flags | MsFlags::MS_REC.bits(),
                (flags, false) => flags,
            },
        }
    }

    /// Fills `cgroupfs` in for the container's cgroup directories `dirs`
    /// and clones them for pid 1 (nothing without `cgroupfs`). Runs
    /// outside the container, once its cgroups are where they stay.
    pub fn clone_cgroups(&mut self, dirs: &[CgroupDir]) -> Result<Vec<OwnedFd>, WireError> {
        let Some(view) = &mut self.cgroupfs else {
            return Ok(Vec::new());
        };
        view.clone_cgroups(dirs).map_err(|e| WireError {
            code: ErrorCode::ACCESS_IS_DENIED.0,
            message: format!("/sys/fs/cgroup: {e}"),
        })
    }

    /// Applies it in pid 1, whose root is the container's; `cgroups` are
    /// the clones [`CgroupView::clone_cgroups`] made for `cgroupfs`.
    pub fn apply(&self, cgroups: Vec<OwnedFd>) -> Result<(), WireError> {
        if self.cgroup_ns {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
                .map_err(|e| failed("creating the cgroup namespace", e))?;
        }
        let root = || {
            Root::open(Path::new("/")).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))
        };
        if let Some(view) = &self.cgroupfs {
            let mounted = root().and_then(|root| view.mount(&root, cgroups));
            mounted.map_err(|e| failed("mounting /sys/fs/cgroup", e))?;
        }
        mounts::apply_all(&self.mounts).map_err(|(what, e)| failed(what, e))?;
        if let Some(view) = &self.cgroupfs {
            let sealed = root().and_then(|root| view.seal(&root));
            sealed.map_err(|e| failed("making /sys/fs/cgroup read-only", e))?;
        }
        if let Some(name) = &self.domainname {
            // SAFETY: setdomainname reads `len` bytes of `name`.
            let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
            if rc < 0 {
                return Err(failed(
                    "setting the domain name (domainname)",
                    Errno::last(),
                ));
            }
        }
        self.write_sysctl()?;
        for node in &self.devices {
            make_node(node)
                .map_err(|e| failed(format_args!("creating device {}", node.path.display()), e))?;
        }
        if !self.read_only_paths.is_empty() || !self.masked_paths.is_empty() {
            let root = Root::open(Path::new("/")).map_err(|e| {
                failed(
                    "opening the root",
                    Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                )
            })?;
            for path in &self.read_only_paths {
                masks::read_only(&root, path).map_err(|e| {
                    failed(
                        format_args!("making {path} read-only (linux.readonlyPaths)"),
                        e,
                    )
                })?;
            }
            for path in &self.masked_paths {
                masks::mask(&root, path, "/dev/null")
                    .map_err(|e| failed(format_args!("masking {path} (linux.maskedPaths)"), e))?;
            }
        }
        if self.rootfs_propagation != 0 {
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::from_bits_truncate(self.rootfs_propagation),
                None::<&str>,
            )
            .map_err(|e| {
                failed(
                    "setting the root's propagation (linux.rootfsPropagation)",
                    e,
                )
            })?;
        }
        if self.root_readonly {
            set_read_only("/", false).map_err(|e| WireError {
                code: errno_code(e as i32).0,
                message: format!("making the root read-only (root.readonly): {e}"),
            })?;
        }
        Ok(())
    }
}

impl ContainerSetup {
    /// Writes `linux.sysctl` in the container's namespaces (pid 1's: the
    /// kernel picks the network, IPC and UTS namespace of the writer),
    /// before the spec's read-only paths are applied.
    fn write_sysctl(&self) -> Result<(), WireError> {
        if self.sysctl.is_empty() {
            return Ok(());
        }
        // The spec's readonlyPaths (docker's /proc/sys among them when
        // hcsrun's CLI made the spec) are applied after this, as runc
        // orders it: /proc/sys is still the container's own, writable.
        for (key, value) in &self.sysctl {
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            std::fs::write(&path, value).map_err(|e| {
                failed(
                    format_args!("linux.sysctl: writing {value:?} to {key}"),
                    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)),
                )
            })?;
        }
        Ok(())
    }
}

/// Makes the mount at `path` read-only (with `recursive`, every mount
/// under it too), touching no other attribute.
pub fn set_read_only(path: &str, recursive: bool) -> nix::Result<()> {
    let target = nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())?;
    crate::mounts::set_attributes(&target, libc::MOUNT_ATTR_RDONLY, 0, 0, recursive)
}

/// Makes `node` (replacing what the image has there, but a directory),
/// with its exact mode and owner.
fn make_node(node: &Node) -> nix::Result<()> {
    if let Some(parent) = node.path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    }
    match std::fs::symlink_metadata(&node.path) {
        Ok(meta) if meta.is_dir() => return Err(Errno::EISDIR),
        Ok(_) => nix::unistd::unlink(&node.path)?,
        Err(_) => {}
    }
    let kind = SFlag::from_bits_truncate(node.kind);
    let mode = Mode::from_bits_truncate(node.mode);
    let dev = if kind == SFlag::S_IFIFO {
        0
    } else {
        makedev(node.major, node.minor)
    };
    mknod(&node.path, kind, mode, dev)?;
    chown(
        &node.path,
        Some(Uid::from_raw(node.uid)),
        Some(Gid::from_raw(node.gid)),
    )?;
    // mknod's mode went through the umask. (No process of the container
    // exists yet to swap the node for a link.)
    std::fs::set_permissions(
        &node.path,
        std::os::unix::fs::PermissionsExt::from_mode(node.mode),
    )
    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))
}

/// Makes `/dev/console` the console `slave` (a pty of the container's
/// own `devpts`), as runc does for a container's first process.
pub fn bind_console(slave: &OwnedFd) -> Result<(), WireError> {
    let console = Path::new("/dev/console");
    let made = match std::fs::symlink_metadata(console) {
        Ok(_) => Ok(()),
        Err(_) => std::fs::File::create(console).map(drop),
    };
    made.map_err(|e| {
        failed(
            "creating /dev/console",
            Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        )
    })?;
    let source = CString::new(format!("/proc/self/fd/{}", slave.as_raw_fd())).expect("no NUL");
    mount(
        Some(source.as_c_str()),
        console,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| failed("binding the console to /dev/console", e))
}
