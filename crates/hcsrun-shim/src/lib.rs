//! The holder (`hcsrun-shim`): the supervisor of a running system of the
//! Linux compute service (`hcs-linux`), outside the system's namespaces and
//! cgroups.
//!
//! The service starts it with a bootstrap socket as fd 3 ([`main`]). It
//! forks the system's pid 1 into a new pid namespace; pid 1 builds the
//! container's root in namespaces of its own and parks until the first
//! process, which it becomes. The holder forks every later process into the
//! container, reaps them all, serves the system's handles until pid 1 has
//! exited, then writes the exit record, removes the cgroups and exits. It
//! is synchronous (one thread, `poll`), and speaks to the service in the
//! messages of `hcsrun-shim-protocol`; see "The process model" in
//! `docs/ARCHITECTURE.md`.
//!
//! [`caller`] runs the same container code in-process for a front end
//! with no holder (`hcsrun-oci`, runc's command line), whose caller is the
//! container's monitor.
//!
//! On other systems than Linux the library is empty.

#![warn(missing_docs)]

#[cfg(target_os = "linux")]
mod boot;
#[cfg(target_os = "linux")]
pub mod caller;
#[cfg(target_os = "linux")]
mod caps;
#[cfg(target_os = "linux")]
mod cgroupfs;
#[cfg(target_os = "linux")]
mod cgroups;
#[cfg(target_os = "linux")]
mod container;
#[cfg(target_os = "linux")]
mod context;
#[cfg(target_os = "linux")]
mod copyup;
#[cfg(target_os = "linux")]
mod devices;
#[cfg(target_os = "linux")]
mod exec;
#[cfg(target_os = "linux")]
mod filters;
#[cfg(target_os = "linux")]
mod holder;
#[cfg(target_os = "linux")]
pub mod hooks;
#[cfg(target_os = "linux")]
mod init;
#[cfg(target_os = "linux")]
mod loopdev;
#[cfg(target_os = "linux")]
mod masks;
#[cfg(target_os = "linux")]
mod monitor;
#[cfg(target_os = "linux")]
mod mounts;
#[cfg(target_os = "linux")]
mod net;
#[cfg(target_os = "linux")]
mod record;
#[cfg(target_os = "linux")]
mod resources;
#[cfg(target_os = "linux")]
mod root;
#[cfg(target_os = "linux")]
mod security;
#[cfg(target_os = "linux")]
mod setup;
#[cfg(target_os = "linux")]
mod standard;
#[cfg(target_os = "linux")]
mod stdio;
#[cfg(target_os = "linux")]
mod title;
#[cfg(target_os = "linux")]
mod user;

#[cfg(target_os = "linux")]
pub use boot::main;
/// The length of the file system inside a `layer.vhd` (the image less its
/// fixed-VHD footer), as the holder reads layers: what an image store
/// writing `layer.vhd` files checks itself against.
#[cfg(target_os = "linux")]
pub use loopdev::image_len as vhd_image_len;
