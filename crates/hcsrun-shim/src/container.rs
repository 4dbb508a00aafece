//! What a Linux spec asks of the whole container, which the system's pid 1
//! applies when the first process arrives (the spec travels with it), in
//! the root it built at start, before it becomes that process: the device
//! nodes of `linux.devices`, and last of all, the root made read-only
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

use hcsrun_linux_spec::{DeviceKind, LinuxSpec};
use hcsrun_shim_protocol::{errno::errno_code, message::WireError};
use nix::{
    errno::Errno,
    mount::{mount, MsFlags},
    sys::stat::{makedev, mknod, Mode, SFlag},
    unistd::{chown, Gid, Uid},
};
use serde::{Deserialize, Serialize};

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
    /// `root.readonly`.
    pub root_readonly: bool,
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
        Self {
            devices,
            root_readonly: spec.root().is_some_and(|r| r.readonly),
        }
    }

    /// Applies it in pid 1, whose root is the container's.
    pub fn apply(&self) -> Result<(), WireError> {
        for node in &self.devices {
            make_node(node)
                .map_err(|e| failed(format_args!("creating device {}", node.path.display()), e))?;
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

/// Makes the mount at `path` read-only (with `recursive`, every mount
/// under it too), touching no other attribute.
pub fn set_read_only(path: &str, recursive: bool) -> nix::Result<()> {
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let path = std::ffi::CString::new(path).map_err(|_| nix::Error::EINVAL)?;
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: mount_setattr reads `size` bytes of `attr` and the path.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc < 0 {
        return Err(nix::Error::last());
    }
    Ok(())
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
