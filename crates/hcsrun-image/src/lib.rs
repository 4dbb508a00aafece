//! hcsrun's image store: images pulled from registries or loaded from
//! archives, kept as unpacked layer folders that the compute service
//! overlays, and as `layer.vhd` ext4 images for Hyper-V isolated Linux
//! containers.
//!
//! See `docs/ARCHITECTURE.md` (hcsrun-image) for the on-disk layout.
#![warn(missing_docs)]

pub mod digest;
pub mod error;
pub mod image;
pub mod limits;
pub mod reference;

#[cfg(target_os = "linux")]
mod archive;
#[cfg(target_os = "linux")]
pub mod fsops;
#[cfg(target_os = "linux")]
mod layers;
#[cfg(target_os = "linux")]
mod pull;
#[cfg(target_os = "linux")]
mod store;
#[cfg(target_os = "linux")]
mod unpack;
#[cfg(target_os = "linux")]
pub mod vhd;
#[cfg(target_os = "linux")]
pub mod whiteout;

pub use digest::Digest;
pub use error::{Error, ErrorKind, Result};
pub use image::{ImageConfig, Platform, RunConfig};
pub use limits::Limits;
pub use reference::Reference;

#[cfg(target_os = "linux")]
pub use archive::LoadOptions;
#[cfg(target_os = "linux")]
pub use layers::{LayerFormat, LayerLock, LayerOutcome, Removed};
#[cfg(target_os = "linux")]
pub use pull::{Progress, ProgressFn, PullOptions, RegistryAuth};
#[cfg(target_os = "linux")]
pub use store::{Image, ImageSummary, Layer, Store};
