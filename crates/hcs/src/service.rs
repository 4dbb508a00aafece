//! The compute service: where compute systems are created and found.

use async_trait::async_trait;
use hcs_schema::{ComputeSystemQuery, ContainerConfig, ContainerProperties};

use crate::{ComputeSystem, Guid, Result};

/// How a service runs Hyper-V isolated systems (`HvPartition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HypervIsolation {
    /// In a utility VM under the Windows hypervisor.
    Hypervisor,
    /// With the same isolation as process containers: no hypervisor exists,
    /// the flag is accepted so that Hyper-V configurations run.
    Emulated,
    /// Refused.
    Unsupported,
}

/// What a compute service supports; translation consults it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// A short name for the service: `"linux"`, `"vmcompute"`.
    pub service: &'static str,
    /// The Windows build the service runs on, where there is one.
    pub os_build: Option<u32>,
    /// Named pipes (`\\.\pipe\NAME` mounts) can be mapped into systems.
    pub named_pipe_mounts: bool,
    pub hyperv: HypervIsolation,
    /// Linux container configurations (`ContainerType: "linux"`) run.
    pub lcow: bool,
    /// Systems without `HvPartition` can be paused.
    pub pause_process_isolated: bool,
    /// Anything a user should know about the service's limits, said plainly.
    pub notes: Vec<String>,
}

/// A compute service: the Host Compute Service on Windows, or the Linux
/// compute service. Implementations are cheap to share behind an `Arc`.
#[async_trait]
pub trait ComputeService: Send + Sync {
    /// Creates a compute system with `id` from `config`; it does not run
    /// until [`ComputeSystem::start`].
    async fn create_system(
        &self,
        id: &str,
        config: &ContainerConfig,
    ) -> Result<Box<dyn ComputeSystem>>;

    /// Opens an existing compute system, which may have been created by
    /// another process.
    async fn open_system(&self, id: &str) -> Result<Box<dyn ComputeSystem>>;

    /// Lists the compute systems matching `query`.
    async fn enumerate(&self, query: &ComputeSystemQuery) -> Result<Vec<ContainerProperties>>;

    /// The GUID this service assigns to a layer folder name.
    fn name_to_guid(&self, name: &str) -> Result<Guid>;

    /// What this service supports.
    fn capabilities(&self) -> Capabilities;
}
