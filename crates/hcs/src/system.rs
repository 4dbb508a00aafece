//! A compute system: a container, Hyper-V isolated or not.

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use hcs_schema::{
    MappedVirtualDiskController, ProcessConfig, ProcessListItem,
    ResourceModificationRequestResponse, Statistics,
};

use crate::{Process, Result};

/// A handle to a compute system (hcsshim's `Container`). Handles are
/// independent: closing one does not stop the system or affect others.
#[async_trait]
pub trait ComputeSystem: Send + Sync {
    /// The system's id.
    fn id(&self) -> &str;

    /// Starts the system and returns once it runs.
    async fn start(&self) -> Result<()>;

    /// Asks the system to shut down. Returns a pending error
    /// ([`crate::HcsError::is_pending`]) when the shutdown goes on in the
    /// background; [`wait`](Self::wait) then tells when it is done.
    async fn shutdown(&self) -> Result<()>;

    /// Stops the system forcibly; may return pending, as `shutdown`.
    async fn terminate(&self) -> Result<()>;

    /// Waits until the system has stopped.
    async fn wait(&self) -> Result<()>;

    /// Waits until the system has stopped or `timeout` passes, in which case
    /// the error is a timeout ([`crate::HcsError::is_timeout`]).
    async fn wait_timeout(&self, timeout: Duration) -> Result<()>;

    /// Freezes the system's processes (Hyper-V containers, on Windows).
    async fn pause(&self) -> Result<()>;

    /// Thaws a paused system.
    async fn resume(&self) -> Result<()>;

    /// True if the system has updates waiting to be installed.
    async fn has_pending_updates(&self) -> Result<bool>;

    /// The system's memory, processor, storage and network statistics.
    async fn statistics(&self) -> Result<Statistics>;

    /// The system's processes.
    async fn process_list(&self) -> Result<Vec<ProcessListItem>>;

    /// Virtual disks mapped into the utility VM, by controller.
    async fn mapped_virtual_disks(&self) -> Result<BTreeMap<i32, MappedVirtualDiskController>>;

    /// Starts a process in the system.
    async fn create_process(&self, config: &ProcessConfig) -> Result<Box<dyn Process>>;

    /// Opens a process of the system by its pid.
    async fn open_process(&self, pid: u32) -> Result<Box<dyn Process>>;

    /// Changes a running system (hcsshim: network endpoints).
    async fn modify(&self, request: &ResourceModificationRequestResponse) -> Result<()>;

    /// Releases this handle; the system itself keeps running. Later calls on
    /// the handle fail with "already closed", and waiters wake with "handle
    /// closed".
    async fn close(&self) -> Result<()>;
}
