//! The Linux compute service: runs HCS schema v1 configurations for real
//! with namespaces, overlayfs layers, bind mounts, cgroup limits and ptys.
//!
//! [`LinuxComputeService`] implements the `hcs` traits. Each running system
//! has a holder process (`hcsrun-shim`, outside the system's namespaces and
//! cgroups) that is the parent of the system's pid 1 and of every process
//! started in it, reaps them, records the system's end, and serves its
//! handles over a unix socket under the runtime directory, so that any
//! process can open the system later. See "The process model" in
//! `docs/ARCHITECTURE.md`.
//!
//! On other systems than Linux only the service's facts are here (its
//! features and layer GUIDs), which need no Linux.

#![warn(missing_docs)]

mod features;
mod guid;

#[cfg(target_os = "linux")]
mod blocking;
#[cfg(target_os = "linux")]
use hcsrun_cgroup as cgroup;
#[cfg(target_os = "linux")]
mod conn;
#[cfg(target_os = "linux")]
mod errors;
#[cfg(target_os = "linux")]
mod id;
#[cfg(target_os = "linux")]
mod launch;
#[cfg(target_os = "linux")]
mod process;
#[cfg(target_os = "linux")]
mod service;
#[cfg(target_os = "linux")]
mod spare;
#[cfg(target_os = "linux")]
mod state;
#[cfg(target_os = "linux")]
mod stats;
#[cfg(target_os = "linux")]
mod system;
#[cfg(target_os = "linux")]
mod validate;

pub use features::features;
pub use guid::name_to_guid;
/// How a stopped system ended: [`LinuxComputeService::exit_record`].
#[cfg(target_os = "linux")]
pub use hcsrun_shim_protocol::record::{ExitHow, ExitRecord, LOST_EXIT_CODE};
/// Begins the wait of the first cgroup move of a system about to start
/// (an RCU grace period, unless the kernel runs with `favordynmods`), for
/// a caller with work to do before it asks for the start (a containerd
/// shim mounting a rootfs): the start then finds the wait over, or
/// shorter. Returns at once; does nothing without cgroups or root. Not
/// for a process that forks without exec afterwards.
#[cfg(target_os = "linux")]
pub fn prime_cgroup_moves() {
    hcsrun_cgroup::start_grace_period();
}

#[cfg(target_os = "linux")]
pub use service::{
    Builder, LinuxComputeService, DEFAULT_CGROUP_PARENT, DEFAULT_HIDDEN, DEFAULT_RUNTIME_DIR,
    SHIM_NAME,
};
