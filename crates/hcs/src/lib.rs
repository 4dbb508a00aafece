//! The Host Compute Service (HCS) API as async Rust traits.
//!
//! [`ComputeService`] creates and finds [`ComputeSystem`]s, which run
//! [`Process`]es. Two backends implement the traits, each in its own
//! crate: Windows' own `vmcompute.dll` (`hcs-vmcompute`, which also loads
//! any library with its ABI), and the Linux compute service (`hcs-linux`).
//! This crate is only the API: it starts no runtime and loads nothing.
//! Every error is an [`HcsError`] naming its subject and operation, and
//! classified as hcsshim classifies them ([`is_pending`], [`is_not_exist`],
//! ...).
//!
//! The traits are async so that one task, not one thread, waits on each of
//! thousands of processes.

#![warn(missing_docs)]

pub mod cmdline;
mod code;
mod error;
mod guid;
mod id;
mod process;
mod service;
mod system;

use std::time::Duration;

pub use code::ErrorCode;
pub use error::{
    innermost, is_already_closed, is_already_stopped, is_not_exist, is_not_supported, is_pending,
    is_timeout, ErrorKind, HcsError, Result, Subject,
};
pub use guid::{Guid, ParseGuidError};
pub use hcs_schema as schema;
pub use id::{is_plain_id, MAX_ID_LEN};
pub use process::{Process, Stdio, StdioHandle};
pub use service::{ComputeService, HypervIsolation, ServiceFeatures};
pub use system::ComputeSystem;

/// How long a call waits for its completion notification by default, as
/// hcsshim does.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(4 * 60);
