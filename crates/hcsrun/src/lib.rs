//! The hcsrun runtime: the Docker engine's Windows container runtime (moby's
//! `libcontainerd` on Windows) in Rust.
//!
//! [`translate`] turns an OCI runtime spec and create options into the
//! `ContainerConfig` and `ProcessConfig` documents a compute service
//! receives; [`client`] creates and supervises containers from them through
//! any compute service; [`service`] chooses that service by name. The
//! latter two need the `runtime` feature (default): without it the crate
//! is `translate` alone, with no async runtime.

#![warn(missing_docs)]

#[cfg(feature = "runtime")]
pub mod client;
#[cfg(feature = "runtime")]
pub mod service;
pub mod translate;
