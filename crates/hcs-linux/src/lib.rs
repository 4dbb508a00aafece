//! The Linux compute service: runs HCS schema v1 configurations for real
//! with namespaces, overlayfs layers, bind mounts, cgroup limits and ptys.

mod capabilities;
mod guid;

pub use capabilities::capabilities;
pub use guid::name_to_guid;
