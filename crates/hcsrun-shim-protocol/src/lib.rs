//! What the Linux compute service (`hcs-linux`) and the holder of each of
//! its running systems (`hcsrun-shim`) share, so that the two programs
//! cannot disagree:
//!
//! - [`message`]: the bootstrap, requests, replies and events they
//!   exchange;
//! - [`wire`]: how messages travel, with file descriptors, over a
//!   `SOCK_SEQPACKET` unix socket;
//! - [`record`]: the system's directory under the runtime directory, its
//!   record and its socket;
//! - [`errno`]: the HCS code of a Linux failure, which both sides report;
//! - [`paths`]: where the configuration's Windows paths are inside a
//!   container.
//!
//! The holder is synchronous and the service async: this crate is neither
//! (no runtime). On other systems than Linux it is empty.

#![warn(missing_docs)]

#[cfg(target_os = "linux")]
pub mod errno;
#[cfg(target_os = "linux")]
pub mod message;
#[cfg(target_os = "linux")]
pub mod paths;
#[cfg(target_os = "linux")]
pub mod record;
#[cfg(target_os = "linux")]
pub mod wire;
