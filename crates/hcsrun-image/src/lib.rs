//! hcsrun's image store: images pulled from registries or loaded from
//! archives, kept as unpacked layer folders that the compute service
//! overlays, and as `layer.vhd` ext4 images for Hyper-V isolated Linux
//! containers.
//!
//! See `docs/ARCHITECTURE.md` (hcsrun-image) for the on-disk layout.
#![warn(missing_docs)]

pub mod digest;
pub mod error;
pub mod limits;
pub mod reference;

#[cfg(target_os = "linux")]
pub mod fsops;
#[cfg(target_os = "linux")]
mod unpack;
#[cfg(target_os = "linux")]
pub mod whiteout;

pub use digest::Digest;
pub use error::{Error, ErrorKind, Result};
pub use limits::Limits;
pub use reference::Reference;
