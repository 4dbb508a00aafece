//! The compute service: where compute systems are created and found.

use async_trait::async_trait;
use hcs_schema::{ComputeSystemQuery, ContainerConfig, ContainerProperties};

use crate::{ComputeSystem, Guid, Result};

/// What a compute service supports and what it needs of its caller, as
/// translation and the command line consult it. (The features of a
/// service; "capabilities" in hcsrun means Linux capabilities only.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFeatures {
    /// A short name for the service, for messages: `"linux"`,
    /// `"vmcompute"`.
    pub service: &'static str,
    /// The Windows build the service runs on, where there is one.
    pub os_build: Option<u32>,
    /// Named pipes (`\\.\pipe\NAME` mounts) can be mapped into systems.
    pub named_pipe_mounts: bool,
    /// Running systems needs the calling process to be root: the service
    /// creates their namespaces, mounts and cgroups itself (the Linux
    /// compute service). A service that runs elsewhere (Windows' own) does
    /// not.
    pub needs_root: bool,
    /// How the service runs Hyper-V isolated (`HvPartition`) systems.
    pub hyperv: HypervIsolation,
    /// Linux containers (`ContainerType: "linux"`) run with the host's own
    /// kernel, without a utility VM: the Linux compute service.
    pub native_linux: bool,
}

/// How a service gives a system Hyper-V isolation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HypervIsolation {
    /// In a utility VM under a hypervisor, as Windows does; translation
    /// looks for the utility VM image in the layers.
    Hypervisor,
    /// Without a hypervisor: the system runs as a process-isolated one
    /// would, and needs no utility VM image.
    Emulated,
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

    /// What this service supports and needs.
    fn features(&self) -> ServiceFeatures;
}
