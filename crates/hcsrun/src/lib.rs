//! The hcsrun runtime: the Docker engine's Windows container runtime (moby's
//! `libcontainerd` on Windows) in Rust.
//!
//! [`translate`] turns an OCI runtime spec and create options into the
//! `ContainerConfig` and `ProcessConfig` documents a compute service
//! receives.

pub mod translate;
