//! `libvmcompute.so`: the v1 C ABI of Windows' `vmcompute.dll`
//! (hcs-v1-reference §1), on Linux, served by the Linux compute service
//! (`hcs-linux`).
//!
//! Every export of the reference is here, with `CoTaskMemFree` (which frees
//! the strings this library hands out) and `NameToGuid`, and it behaves as
//! Windows' does where the caller can tell: create, start, pause and resume
//! return "pending" and complete by a notification from another thread;
//! shutdown and terminate return "pending" while the system stops, and
//! `SystemExited` follows; a process's end is `ProcessExited`; notifications
//! for a handle wait until its callback is registered. Failures are an
//! HRESULT and a result document (`HcsResult`). The stdio "handles" of a
//! process are file descriptors. So the vmcompute backend of the `hcs` traits
//! (crate `hcs-vmcompute`) runs against it unchanged, on Linux.
//!
//! The library runs a tokio runtime of its own; a caller inside a tokio
//! runtime is fine (no call blocks on a runtime from within one). Panics
//! never cross the boundary: they become `ERROR_INTERNAL_ERROR`.
//!
//! The Linux service is configured from the environment when first used:
//! `HCSRUN_RUNTIME_DIR` (default `/run/hcsrun`), `HCSRUN_SHIM` (the
//! `hcsrun-shim` holder; default: beside the executable or on `PATH`),
//! `HCSRUN_CGROUP_PARENT`, `HCSRUN_SHIM_LOG`; or, before that, by one
//! export beyond vmcompute's, `HcsrunConfigure(settings)`, a JSON document
//! with `RuntimeDir`, `Shim`, `CgroupParent`, `ShimLog` (tests load private,
//! configured instances: `hcs-testkit`'s `vmcompute`).
//!
//! On other systems the crate is empty.

#![warn(missing_docs)]

#[cfg(target_os = "linux")]
mod exports;
#[cfg(target_os = "linux")]
mod ffi;
#[cfg(target_os = "linux")]
mod handles;
#[cfg(target_os = "linux")]
mod notifier;
#[cfg(target_os = "linux")]
mod process;
#[cfg(target_os = "linux")]
mod runtime;
#[cfg(target_os = "linux")]
mod service;
#[cfg(target_os = "linux")]
mod system;
