//! The Linux compute service: runs HCS schema v1 configurations for real
//! with namespaces, overlayfs layers, bind mounts, cgroup limits and ptys.
//!
//! [`LinuxComputeService`] implements the `hcs` traits. Each running system
//! has a holder process (`hcsrun-shim`, pid 1 of the system's namespaces)
//! that starts and reaps its processes and serves its handles over a unix
//! socket under the runtime directory, so that any process can open the
//! system later. See `docs/ARCHITECTURE.md`.

mod capabilities;
mod guid;

pub use capabilities::capabilities;
pub use guid::name_to_guid;

#[cfg(target_os = "linux")]
mod linux {
    pub mod cgroup;
    pub mod conn;
    pub mod errors;
    pub mod id;
    pub mod launch;
    pub mod process;
    pub mod service;
    pub mod state;
    pub mod stats;
    pub mod system;
    pub mod validate;
}

#[cfg(target_os = "linux")]
use linux::*;

#[cfg(target_os = "linux")]
pub use linux::{
    id::{validate_id, MAX_ID_LEN},
    service::{
        Builder, LinuxComputeService, DEFAULT_CGROUP_PARENT, DEFAULT_RUNTIME_DIR, SHIM_NAME,
    },
};
