//! The resource fields of a configuration as cgroup limits.

use hcs_schema::ContainerConfig;

/// cgroup CPU bandwidth period, in microseconds.
pub const CPU_PERIOD_US: u64 = 100_000;

/// Limits of one system, independent of the cgroup version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Run on the first `n` CPUs of those the service may use
    /// (`ProcessorCount`).
    pub cpu_count: Option<u32>,
    /// Relative CPU weight, 1 to 10000 (`ProcessorWeight`; the range is
    /// cgroup v2's `cpu.weight`).
    pub cpu_weight: Option<u64>,
    /// CPU time per [`CPU_PERIOD_US`], in microseconds (`ProcessorMaximum`).
    pub cpu_quota_us: Option<u64>,
    /// `MemoryMaximumInMB`, in bytes; swap is not allowed beyond it.
    pub memory_bytes: Option<u64>,
    /// `StorageIOPSMaximum` and `StorageBandwidthMaximum` on one device.
    pub io: Option<IoLimits>,
    /// The exact values of a Linux spec's `linux.resources` (hcsrun-oci),
    /// applied after the fields above.
    pub exact: Exact,
    /// A cgroup in every hierarchy, limits or not, as runc makes them: an
    /// update may set any limit later (`hcsrun-oci update`, `docker
    /// update --cpus`).
    pub every_hierarchy: bool,
}

/// A Linux spec's resources as runc writes them: exact cgroup v1 values
/// (converted for v2 as runc converts them). `None` leaves the file alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exact {
    /// `memory.limit_in_bytes` (-1: unlimited).
    pub memory_limit: Option<i64>,
    /// `memory.soft_limit_in_bytes`.
    pub memory_reservation: Option<i64>,
    /// `memory.memsw.limit_in_bytes`: memory plus swap (-1: unlimited).
    pub memory_swap: Option<i64>,
    /// `memory.swappiness`.
    pub memory_swappiness: Option<u64>,
    /// `memory.oom_control` 1.
    pub disable_oom_killer: bool,
    /// `cpu.shares`.
    pub cpu_shares: Option<u64>,
    /// `cpu.cfs_quota_us` (-1: unlimited).
    pub cpu_quota: Option<i64>,
    /// `cpu.cfs_period_us`.
    pub cpu_period: Option<u64>,
    /// `cpuset.cpus`.
    pub cpuset_cpus: Option<String>,
    /// `cpuset.mems`.
    pub cpuset_mems: Option<String>,
    /// `pids.max` (-1 or 0: unlimited).
    pub pids_limit: Option<i64>,
}

/// Storage limits, applied to reads and writes of one block device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoLimits {
    /// The block device, major and minor.
    pub device: (u32, u32),
    /// Operations per second.
    pub iops: Option<u64>,
    /// Bytes per second.
    pub bytes_per_second: Option<u64>,
}

impl Limits {
    /// The cgroup v1 controllers a system with these limits needs:
    /// statistics (cpuacct, memory, blkio), pausing (freezer), the
    /// device allow-list (devices) and the number of tasks (pids: a Linux
    /// spec's limit, and a fork bomb's accounting) always, cpu and cpuset
    /// only for their limits.
    pub fn v1_controllers(&self) -> Vec<&'static str> {
        let mut needed = vec!["cpuacct", "memory", "blkio", "freezer", "devices", "pids"];
        let e = &self.exact;
        if self.every_hierarchy
            || self.cpu_weight.is_some()
            || self.cpu_quota_us.is_some()
            || e.cpu_shares.is_some()
            || e.cpu_quota.is_some()
            || e.cpu_period.is_some()
        {
            needed.push("cpu");
        }
        if self.every_hierarchy
            || self.cpu_count.is_some()
            || e.cpuset_cpus.is_some()
            || e.cpuset_mems.is_some()
        {
            needed.push("cpuset");
        }
        needed
    }

    /// The limits `config` asks for. `host_cpus` is the number of CPUs the
    /// machine has (`ProcessorMaximum` is a share of all of them);
    /// `io_device` is the block device storage limits apply to, if one is
    /// known.
    pub fn from_config(
        config: &ContainerConfig,
        host_cpus: u32,
        io_device: Option<(u32, u32)>,
    ) -> Self {
        let positive = |v: u64| (v > 0).then_some(v);
        let cpu_quota_us = (config.processor_maximum > 0).then(|| {
            let share = config.processor_maximum.min(10_000) as u64;
            (share * u64::from(host_cpus.max(1)) * CPU_PERIOD_US / 10_000).max(1_000)
        });
        let io = io_device.and_then(|device| {
            let iops = positive(config.storage_iops_maximum);
            let bytes_per_second = positive(config.storage_bandwidth_maximum);
            (iops.is_some() || bytes_per_second.is_some()).then_some(IoLimits {
                device,
                iops,
                bytes_per_second,
            })
        });
        Self {
            cpu_count: (config.processor_count > 0).then_some(config.processor_count),
            cpu_weight: positive(config.processor_weight).map(|w| w.min(10_000)),
            cpu_quota_us,
            memory_bytes: (config.memory_maximum_in_mb > 0)
                .then(|| config.memory_maximum_in_mb as u64 * 1024 * 1024),
            io,
            exact: Exact::default(),
            every_hierarchy: false,
        }
    }

    /// True if the configuration asks for storage limits.
    pub fn wants_io(config: &ContainerConfig) -> bool {
        config.storage_iops_maximum > 0 || config.storage_bandwidth_maximum > 0
    }
}

/// cgroup v1 `cpu.shares` for a v2-style weight (the kernel's and runc's
/// conversion, inverted: weight 1 → 2 shares, 10000 → 262144).
pub fn weight_to_shares(weight: u64) -> u64 {
    2 + (weight.clamp(1, 10_000) - 1) * 262_142 / 9_999
}

/// Parses a cpu list such as `0-3,5`.
pub fn parse_cpu_list(text: &str) -> Vec<u32> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    cpus.extend(a..=b);
                }
            }
            None => cpus.extend(part.parse::<u32>().ok()),
        }
    }
    cpus
}

/// The first `count` CPUs of `available`, as a cpu list.
pub fn first_cpus(available: &str, count: u32) -> String {
    parse_cpu_list(available)
        .into_iter()
        .take(count.max(1) as usize)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values_ask_for_their_hierarchies() {
        let limits = Limits {
            exact: Exact {
                pids_limit: Some(10),
                cpu_shares: Some(512),
                cpuset_mems: Some("0".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let needed = limits.v1_controllers();
        for c in ["pids", "cpu", "cpuset", "memory", "freezer"] {
            assert!(needed.contains(&c), "{c} in {needed:?}");
        }
    }

    #[test]
    fn cpu_hierarchies_are_needed_only_for_cpu_limits() {
        let always = ["cpuacct", "memory", "blkio", "freezer", "devices", "pids"];
        assert_eq!(Limits::default().v1_controllers(), always);
        let every = Limits {
            every_hierarchy: true,
            ..Default::default()
        };
        assert_eq!(
            every.v1_controllers(),
            [&always[..], &["cpu", "cpuset"]].concat()
        );
        let weight = Limits {
            cpu_weight: Some(10),
            ..Default::default()
        };
        assert_eq!(weight.v1_controllers(), [&always[..], &["cpu"]].concat());
        let quota = Limits {
            cpu_quota_us: Some(1_000),
            ..Default::default()
        };
        assert_eq!(quota.v1_controllers(), [&always[..], &["cpu"]].concat());
        let count = Limits {
            cpu_count: Some(1),
            memory_bytes: Some(1 << 20),
            ..Default::default()
        };
        assert_eq!(count.v1_controllers(), [&always[..], &["cpuset"]].concat());
    }

    #[test]
    fn every_resource_field_becomes_a_limit() {
        let config = ContainerConfig {
            processor_count: 1,
            processor_weight: 300,
            processor_maximum: 5000,
            memory_maximum_in_mb: 256,
            storage_iops_maximum: 100,
            storage_bandwidth_maximum: 1 << 20,
            ..Default::default()
        };
        let limits = Limits::from_config(&config, 2, Some((8, 0)));
        assert_eq!(
            limits,
            Limits {
                cpu_count: Some(1),
                cpu_weight: Some(300),
                // Half of two CPUs: one CPU's worth per period.
                cpu_quota_us: Some(100_000),
                memory_bytes: Some(256 << 20),
                io: Some(IoLimits {
                    device: (8, 0),
                    iops: Some(100),
                    bytes_per_second: Some(1 << 20),
                }),
                exact: Exact::default(),
                every_hierarchy: false,
            }
        );
    }

    #[test]
    fn zero_means_no_limit() {
        let limits = Limits::from_config(&ContainerConfig::default(), 4, Some((8, 0)));
        assert_eq!(limits, Limits::default());
    }

    #[test]
    fn storage_limits_need_a_device() {
        let config = ContainerConfig {
            storage_iops_maximum: 100,
            ..Default::default()
        };
        assert!(Limits::wants_io(&config));
        assert_eq!(Limits::from_config(&config, 1, None).io, None);
    }

    #[test]
    fn out_of_range_values_are_clamped() {
        let config = ContainerConfig {
            processor_weight: 20_000,
            processor_maximum: 1,
            ..Default::default()
        };
        let limits = Limits::from_config(&config, 1, None);
        assert_eq!(limits.cpu_weight, Some(10_000));
        assert_eq!(
            limits.cpu_quota_us,
            Some(1_000),
            "the kernel's minimum quota"
        );
    }

    #[test]
    fn weights_convert_to_shares() {
        assert_eq!(weight_to_shares(1), 2);
        assert_eq!(weight_to_shares(10_000), 262_144);
        assert_eq!(weight_to_shares(100), 2 + 99 * 262_142 / 9_999);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,5\n"), [0, 1, 2, 3, 5]);
        assert_eq!(parse_cpu_list(""), Vec::<u32>::new());
        assert_eq!(first_cpus("2-5", 2), "2,3");
        assert_eq!(first_cpus("0-1", 8), "0,1");
    }
}
