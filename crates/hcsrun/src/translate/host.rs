//! What translation needs to know about the host and its compute service.

use hcs::{ComputeService, HypervIsolation, ServiceFeatures};

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
    /// The facts of this machine and a service with these features.
    pub fn new(features: &ServiceFeatures) -> Self {
        Self {
            service: features.service.to_owned(),
            cpu_count: host_cpu_count(),
            os_build: features.os_build,
            named_pipe_mounts: features.named_pipe_mounts,
            owner: DEFAULT_OWNER.to_owned(),
            native_linux: features.native_linux,
            hyperv: features.hyperv,
        }
    }

    /// The facts of this machine and `service`.
    pub fn of_service(service: &dyn ComputeService) -> Self {
        Self::new(&service.features())
    }
}

/// The processors this process may run on (moby's `sysinfo.NumCPU`, Go's
/// `runtime.NumCPU`): on Linux the CPUs of its affinity mask, counted as
/// the Linux compute service counts them when it applies CPU limits
/// ([`hcsrun_cgroup::host_cpus`]); elsewhere std's count. At least 1.
pub fn host_cpu_count() -> u64 {
    #[cfg(target_os = "linux")]
    return u64::from(hcsrun_cgroup::host_cpus());
    #[cfg(not(target_os = "linux"))]
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_services_features_and_this_machines_cpus() {
        let features = ServiceFeatures {
            service: "vmcompute",
            os_build: Some(17763),
            named_pipe_mounts: true,
            needs_root: false,
            hyperv: HypervIsolation::Hypervisor,
            native_linux: false,
        };
        let facts = HostFacts::new(&features);
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
    fn the_service_says_whether_linux_runs_natively() {
        let linux = HostFacts::new(&ServiceFeatures {
            service: "linux",
            os_build: None,
            named_pipe_mounts: true,
            needs_root: true,
            hyperv: HypervIsolation::Emulated,
            native_linux: true,
        });
        assert!(linux.native_linux);
        assert_eq!(linux.hyperv, HypervIsolation::Emulated);
    }
}
