//! What translation needs to know about the host and its compute service.

use hcs::{Capabilities, ComputeService, HypervIsolation};

/// The owner tag hcsrun gives its compute systems (moby's is `"docker"`).
pub const DEFAULT_OWNER: &str = "hcsrun";

/// The Windows build from which named pipes can be mapped into containers.
pub const NAMED_PIPE_MIN_BUILD: u32 = 16210;

/// Facts about the host that a configuration depends on. Build them with
/// [`HostFacts::new`] or [`HostFacts::of_service`] and override fields to
/// show what another host would receive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    /// The compute service's short name, for messages.
    pub service: String,
    /// Processors of the host; a container asking for more gets this many.
    pub cpu_count: u64,
    /// The Windows build, where the service runs on Windows.
    pub os_build: Option<u32>,
    /// The service can map named pipes into containers.
    pub named_pipe_mounts: bool,
    /// The `Owner` of created systems.
    pub owner: String,
    /// The service runs Linux containers (`ContainerType: "linux"`) with
    /// the host's own kernel, without a utility VM: a spec with a `linux`
    /// section and no LCOW option takes [`Platform::LinuxNative`](super::Platform::LinuxNative).
    pub native_linux: bool,
    /// How the service runs Hyper-V isolated systems.
    pub hyperv: HypervIsolation,
}

impl HostFacts {
    /// The facts of this machine and a service with these capabilities.
    pub fn new(capabilities: &Capabilities) -> Self {
        Self {
            service: capabilities.service.to_owned(),
            cpu_count: host_cpu_count(),
            os_build: capabilities.os_build,
            named_pipe_mounts: capabilities.named_pipe_mounts,
            owner: DEFAULT_OWNER.to_owned(),
            native_linux: runs_linux_natively(capabilities),
            hyperv: capabilities.hyperv,
        }
    }

    /// The facts of this machine and `service`.
    pub fn of_service(service: &dyn ComputeService) -> Self {
        Self::new(&service.capabilities())
    }
}

/// A service that runs Linux container configurations and has no
/// hypervisor (its Hyper-V isolation is emulated, as the Linux compute
/// service's is) runs them with the host's kernel.
fn runs_linux_natively(capabilities: &Capabilities) -> bool {
    capabilities.lcow && capabilities.hyperv == HypervIsolation::Emulated
}

/// The processors this process may run on (moby's `sysinfo.NumCPU`): std's
/// `available_parallelism`, which reads the affinity mask and, on Linux, a
/// cgroup CPU quota too; at least 1.
pub fn host_cpu_count() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_services_capabilities_and_this_machines_cpus() {
        let caps = Capabilities {
            service: "vmcompute",
            os_build: Some(17763),
            named_pipe_mounts: true,
            hyperv: HypervIsolation::Hypervisor,
            lcow: false,
            pause_process_isolated: false,
            notes: vec![],
        };
        let facts = HostFacts::new(&caps);
        assert_eq!(
            facts,
            HostFacts {
                service: "vmcompute".into(),
                cpu_count: host_cpu_count(),
                os_build: Some(17763),
                named_pipe_mounts: true,
                owner: "hcsrun".into(),
                native_linux: false,
                hyperv: HypervIsolation::Hypervisor,
            }
        );
        assert!(facts.cpu_count >= 1);
    }

    #[test]
    fn linux_runs_natively_where_hyperv_is_emulated() {
        let linux = HostFacts::new(&Capabilities {
            service: "linux",
            os_build: None,
            named_pipe_mounts: true,
            hyperv: HypervIsolation::Emulated,
            lcow: true,
            pause_process_isolated: true,
            notes: vec![],
        });
        assert!(linux.native_linux);
        assert_eq!(linux.hyperv, HypervIsolation::Emulated);
    }
}
