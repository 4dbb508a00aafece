//! The holder (`hcsrun-shim`): pid 1 of a running system of the Linux
//! compute service (`hcs-linux`).
//!
//! The service starts it in the system's new namespaces with a bootstrap
//! socket as fd 3 ([`main`]). It joins the system's cgroups, builds the
//! container's root, reports ready, and then serves the system's handles
//! until the system stops: it starts the system's processes, reaps them and
//! keeps their exit codes. It is synchronous (one thread, `poll`), and
//! speaks to the service in the messages of `hcsrun-shim-protocol`; see
//! `docs/ARCHITECTURE.md`.
//!
//! On other systems than Linux the library is empty.

#![warn(missing_docs)]

#[cfg(target_os = "linux")]
mod boot;
#[cfg(target_os = "linux")]
mod caps;
#[cfg(target_os = "linux")]
mod cgroups;
#[cfg(target_os = "linux")]
mod cleanup;
#[cfg(target_os = "linux")]
mod holder;
#[cfg(target_os = "linux")]
mod loopdev;
#[cfg(target_os = "linux")]
mod net;
#[cfg(target_os = "linux")]
mod root;
#[cfg(target_os = "linux")]
mod setup;
#[cfg(target_os = "linux")]
mod spawn;
#[cfg(target_os = "linux")]
mod user;

#[cfg(target_os = "linux")]
pub use boot::main;
/// The length of the file system inside a `layer.vhd` (the image less its
/// fixed-VHD footer), as the holder reads layers: what an image store
/// writing `layer.vhd` files checks itself against.
#[cfg(target_os = "linux")]
pub use loopdev::image_len as vhd_image_len;
