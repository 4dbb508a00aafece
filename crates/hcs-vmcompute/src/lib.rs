//! The Host Compute Service through `vmcompute.dll`, its v1 C ABI
//! (hcs-v1-reference §1), loaded at run time so that this crate builds
//! everywhere.
//!
//! [`VmComputeService`] implements the compute-service traits over the
//! library's exports (their types are in `vmcompute_abi`, which
//! `libvmcompute.so` implements too). Strings cross as UTF-16; result and
//! property documents are read, then freed with `CoTaskMemFree`. Each
//! system and process handle registers a notification callback; the
//! service's notifications are latched per handle and complete the calls
//! that wait for them:
//!
//! - create, start, pause and resume that return "pending" wait for their
//!   completion notification, at most the service's timeout (4 minutes by
//!   default);
//! - shutdown and terminate hand "pending" to the caller, and `wait`
//!   completes them when the system exits;
//! - an exit while waiting for something else is "unexpected container
//!   exit", a lost service "lost communication with compute service";
//! - after `close`, calls fail with "already closed" and waiters wake with
//!   "handle closed".
//!
//! Any library with the same exports can stand in for `vmcompute.dll`
//! ([`VmComputeService::load`]): on Linux, hcsrun's `libvmcompute.so`
//! (crate `vmcompute-linux`) runs the Linux compute service behind this
//! ABI, so this backend is exercised for real off Windows.

#![warn(missing_docs)]

mod error;
mod handle;
mod host;
mod library;
mod notify;
mod process;
mod service;
mod system;

#[cfg(all(test, unix))]
mod tests;

pub use library::VMCOMPUTE_DLL;
pub use service::{Builder, VmComputeService};
// The ABI's types and strings, as the modules name them.
use vmcompute_abi::{self as abi, wide};
