//! The hcsrun runtime: the Docker engine's Windows container runtime (moby's
//! `libcontainerd` on Windows) in Rust.
//!
//! [`translate`] turns an OCI runtime spec and create options into the
//! `ContainerConfig` and `ProcessConfig` documents a compute service
//! receives; [`client`] creates and supervises containers from them through
//! any compute service; [`service`] chooses that service by name.

#![warn(missing_docs)]

pub mod client;
pub mod service;
pub mod translate;
