//! Test support for hcsrun's crates, used only as a dev-dependency (of
//! `hcs-linux`, `vmcompute-linux`, `hcsrun` and `hcsrun-cli`), so that no
//! test setup is written twice:
//!
//! - [`artifacts`]: the programs tests run, the holder `hcsrun-shim`,
//!   `libvmcompute.so` and `hcsrun`, built with cargo when first asked for;
//! - [`require_root`]: the check at the top of every test that runs
//!   systems. Such tests are `#[ignore = "needs root"]`, run with
//!   `cargo test -- --include-ignored` as root (`.ci/run` does), and fail
//!   rather than pass when they cannot run;
//! - [`Sandbox`]: a test's own runtime directory, scratch folders and cgroup
//!   parent, and the services on them; dropping it kills and removes
//!   whatever a failed test left there;
//! - [`Fixture`]: a sandbox and the compute service under test, with a
//!   configuration on the host's root; [`client`]: the same for the runtime
//!   client, with an embedder that records its events;
//! - [`vmcompute`]: private, configured instances of `libvmcompute.so`;
//! - [`process`]: running a process to its end; [`stdio`]: the stdio
//!   contract both backends keep, checked through the trait; [`host`]:
//!   counting what a test itself left on the host; [`vhd`]: `layer.vhd`
//!   images; [`rootfs`]: busybox roots; [`linux`]: Linux containers and
//!   their specs.
//!
//! Linux only, as the tests it supports are.

#![warn(missing_docs)]
#![cfg(target_os = "linux")]

pub mod artifacts;
pub mod client;
mod fixture;
pub mod host;
pub mod linux;
pub mod process;
mod root;
pub mod rootfs;
mod sandbox;
pub mod stdio;
pub mod vhd;
pub mod vmcompute;

pub use fixture::{idle_init, Fixture};
pub use root::{cannot_run, require_root};
pub use sandbox::{Sandbox, ServiceKind};
