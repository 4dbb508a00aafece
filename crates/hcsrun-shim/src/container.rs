//! What a Linux spec asks of the whole container, which the system's pid 1
//! applies when the first process arrives (the spec travels with it), in
//! the root it built at start, before it becomes that process: last of
//! all, the root made read-only (`root.readonly`), once every mount is in
//! place.
//!
//! Pid 1 still has every capability here and runs only hcsrun's code: no
//! process of the container exists yet (the holder refuses later
//! processes until the first one has started).

use hcsrun_linux_spec::LinuxSpec;
use hcsrun_shim_protocol::{errno::errno_code, message::WireError};
use serde::{Deserialize, Serialize};

/// The container-wide part of a Linux spec, as pid 1 applies it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSetup {
    /// `root.readonly`.
    pub root_readonly: bool,
}

impl ContainerSetup {
    /// What `spec` asks of the container.
    pub fn of_spec(spec: &LinuxSpec) -> Self {
        Self {
            root_readonly: spec.root().is_some_and(|r| r.readonly),
        }
    }

    /// Applies it in pid 1, whose root is the container's.
    pub fn apply(&self) -> Result<(), WireError> {
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
