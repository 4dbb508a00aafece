//! What the Linux spec `hcsrun run` builds depends on about this host.

use hcsrun_linux_spec::{capability_of_number, CapSet, HostProbe, ThisHost};
use hcsrun_seccomp::{native_arch, running_kernel, Arch, KernelVersion};

/// The host's facts, read once; tests state them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// cgroup v2 only: docker then gives containers a cgroup namespace.
    pub cgroup2: bool,
    /// The memory cgroup limits swap (`memory.memsw.*` on v1,
    /// `memory.swap.max` on v2): docker's swap defaults apply.
    pub swap_limit: bool,
    /// The kernel's last capability (`cap_last_cap`).
    pub last_cap: u8,
    /// The capabilities there are to give: this process's bounding set
    /// (`--privileged` and `--cap-add ALL` give these, as docker's).
    pub available_caps: CapSet,
    /// The seccomp architecture profiles are resolved for.
    pub arch: Arch,
    /// The running kernel, for profiles' `minKernel` and for `rro`.
    pub kernel: KernelVersion,
    /// The processors this process may run on, in order (`--cpu-count`
    /// takes the first N).
    pub cpus: Vec<usize>,
    /// How many processors the host gives (`--cpus`, `--cpu-maximum`).
    pub host_cpus: u64,
}

impl Facts {
    /// This machine's.
    pub fn probe(host_cpus: u64) -> Result<Self, String> {
        let cgroup2 = ThisHost.cgroup2();
        Ok(Self {
            cgroup2,
            swap_limit: swap_limit(cgroup2),
            last_cap: ThisHost.last_capability().unwrap_or(40),
            available_caps: bounding_set(),
            arch: native_arch(),
            kernel: running_kernel().map_err(|e| e.to_string())?,
            cpus: allowed_cpus(),
            host_cpus,
        })
    }
}

/// This process's bounding set (`CapBnd` of `/proc/self/status`); every
/// capability if it cannot be read.
fn bounding_set() -> CapSet {
    let mask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX);
    (0..64u8)
        .filter(|n| mask & (1 << n) != 0)
        .filter_map(capability_of_number)
        .collect()
}

/// Whether the memory controller limits swap on this host, as docker's
/// `SwapLimit` is found.
fn swap_limit(cgroup2: bool) -> bool {
    if !cgroup2 {
        return std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists();
    }
    std::fs::read_dir("/sys/fs/cgroup").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().join("memory.swap.max").exists())
    })
}

/// The processors in this process's affinity mask.
fn allowed_cpus() -> Vec<usize> {
    use nix::sched::{sched_getaffinity, CpuSet};
    let Ok(set) = sched_getaffinity(nix::unistd::Pid::from_raw(0)) else {
        return Vec::new();
    };
    (0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect()
}

/// `0-3,6`: the first `count` of `cpus` as a cpuset list; `None` when that
/// is all of them (no restriction).
pub fn cpu_list(cpus: &[usize], count: u64) -> Option<String> {
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count >= cpus.len() {
        return None;
    }
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &cpu in &cpus[..count] {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == cpu => *end = cpu,
            _ => ranges.push((cpu, cpu)),
        }
    }
    Some(
        ranges
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(","),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list(&[0, 1, 2, 3], 2).as_deref(), Some("0-1"));
        assert_eq!(cpu_list(&[0, 1, 2, 3], 1).as_deref(), Some("0"));
        assert_eq!(cpu_list(&[0, 2, 3, 4, 7, 9], 5).as_deref(), Some("0,2-4,7"));
        assert_eq!(cpu_list(&[0, 1], 2), None);
        assert_eq!(cpu_list(&[0, 1], 8), None);
    }

    #[test]
    fn this_host_is_probed() {
        let facts = Facts::probe(2).unwrap();
        assert!(facts.last_cap >= 36);
        assert!(facts
            .available_caps
            .contains(hcsrun_linux_spec::Capability::Kill));
        assert!(!facts.cpus.is_empty());
    }
}
