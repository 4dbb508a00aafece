//! How many processors the host gives this process.

/// The processors this process may run on: the CPUs of its affinity mask,
/// as moby's `sysinfo.NumCPU` counts them. CPU limits given as a count or
/// a share of the host are made against this number, by the front end
/// that writes them (`hcsrun`'s translation) and by the service that
/// applies them alike; std's `available_parallelism` would also read the
/// caller's own CPU quota from its cgroup (and parse the cgroup mounts to
/// find it). At least 1; read once.
pub fn host_cpus() -> u32 {
    static COUNT: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        let count = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
            .map(|set| {
                (0..nix::sched::CpuSet::count())
                    .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
                    .count()
            })
            .unwrap_or(0);
        u32::try_from(count).unwrap_or(u32::MAX).max(1)
    })
}
