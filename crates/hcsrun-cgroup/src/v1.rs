//! cgroup v1: one directory per hierarchy.

use std::{fs, io, path::Path, thread, time::Duration};

use super::{
    limits::{first_cpus, weight_to_shares, CPU_PERIOD_US},
    read_keyed, read_u64, write, Cgroup, CgroupStats, Exact, Limits,
};

/// A new cpuset cgroup starts with no CPUs or memory nodes; give it (and
/// the parent made for it) those of its parent.
pub fn init_cpuset(dir: &Path) -> io::Result<()> {
    let parent = dir.parent().expect("a cgroup below a mount");
    for d in [parent, dir] {
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if fs::read_to_string(d.join(file))?.trim().is_empty() {
                let from = fs::read_to_string(d.parent().expect("below a mount").join(file))?;
                write(d, file, from.trim())?;
            }
        }
    }
    Ok(())
}

pub fn apply(cgroup: &Cgroup, limits: &Limits) -> io::Result<()> {
    if let (Some(count), Some(dir)) = (limits.cpu_count, cgroup.v1_dir("cpuset")) {
        let available = fs::read_to_string(dir.join("cpuset.cpus"))?;
        write(dir, "cpuset.cpus", first_cpus(&available, count))?;
    }
    if let Some(dir) = cgroup.v1_dir("cpu") {
        if let Some(weight) = limits.cpu_weight {
            write(dir, "cpu.shares", weight_to_shares(weight).to_string())?;
        }
        if let Some(quota) = limits.cpu_quota_us {
            write(dir, "cpu.cfs_period_us", CPU_PERIOD_US.to_string())?;
            write(dir, "cpu.cfs_quota_us", quota.to_string())?;
        }
    }
    if let (Some(bytes), Some(dir)) = (limits.memory_bytes, cgroup.v1_dir("memory")) {
        write(dir, "memory.limit_in_bytes", bytes.to_string())?;
        // With swap accounting, memory+swap gets the same limit: no swap.
        if dir.join("memory.memsw.limit_in_bytes").exists() {
            write(dir, "memory.memsw.limit_in_bytes", bytes.to_string())?;
        }
    }
    if let (Some(io), Some(dir)) = (limits.io, cgroup.v1_dir("blkio")) {
        let (major, minor) = io.device;
        for (value, files) in [
            (
                io.bytes_per_second,
                [
                    "blkio.throttle.read_bps_device",
                    "blkio.throttle.write_bps_device",
                ],
            ),
            (
                io.iops,
                [
                    "blkio.throttle.read_iops_device",
                    "blkio.throttle.write_iops_device",
                ],
            ),
        ] {
            if let Some(value) = value {
                for file in files {
                    write(dir, file, format!("{major}:{minor} {value}"))?;
                }
            }
        }
    }
    apply_exact(cgroup, &limits.exact)
}

/// A Linux spec's exact values, in runc's order (swap before the limit
/// when raising, the kernel refusing memsw below memory).
pub fn apply_exact(cgroup: &Cgroup, e: &Exact) -> io::Result<()> {
    if let Some(dir) = cgroup.v1_dir("cpuset") {
        if let Some(cpus) = &e.cpuset_cpus {
            write(dir, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = &e.cpuset_mems {
            write(dir, "cpuset.mems", mems)?;
        }
    }
    if let Some(dir) = cgroup.v1_dir("cpu") {
        if let Some(shares) = e.cpu_shares {
            write(dir, "cpu.shares", shares.to_string())?;
        }
        if let Some(period) = e.cpu_period {
            write(dir, "cpu.cfs_period_us", period.to_string())?;
        }
        if let Some(quota) = e.cpu_quota {
            write(dir, "cpu.cfs_quota_us", quota.to_string())?;
        }
    }
    if let Some(dir) = cgroup.v1_dir("memory") {
        let memsw = dir.join("memory.memsw.limit_in_bytes").exists();
        let set_limit = |v: i64| write(dir, "memory.limit_in_bytes", v.to_string());
        let set_swap = |v: i64| write(dir, "memory.memsw.limit_in_bytes", v.to_string());
        match (e.memory_limit, e.memory_swap.filter(|_| memsw)) {
            (Some(limit), Some(swap)) => {
                // Whichever order the kernel accepts: memsw never below
                // the memory limit.
                if set_swap(swap).is_err() {
                    set_limit(limit)?;
                    set_swap(swap)?;
                } else {
                    set_limit(limit)?;
                }
            }
            (Some(limit), None) => {
                if let Err(e) = set_limit(limit) {
                    if !memsw {
                        return Err(e);
                    }
                    // Raising above memsw: raise memsw with it.
                    set_swap(limit)?;
                    set_limit(limit)?;
                }
            }
            (None, Some(swap)) => set_swap(swap)?,
            (None, None) => {}
        }
        if let Some(v) = e.memory_reservation {
            write(dir, "memory.soft_limit_in_bytes", v.to_string())?;
        }
        if let Some(v) = e.memory_swappiness {
            write(dir, "memory.swappiness", v.to_string())?;
        }
        if e.disable_oom_killer {
            write(dir, "memory.oom_control", "1")?;
        }
    }
    if let (Some(limit), Some(dir)) = (e.pids_limit, cgroup.v1_dir("pids")) {
        let value = if limit > 0 {
            limit.to_string()
        } else {
            "max".to_owned()
        };
        write(dir, "pids.max", value)?;
    }
    Ok(())
}

pub fn freeze(dir: &Path, frozen: bool) -> io::Result<()> {
    let want = if frozen { "FROZEN" } else { "THAWED" };
    // FREEZING is transient; writing again nudges a stuck freeze along.
    for _ in 0..1000 {
        write(dir, "freezer.state", want)?;
        if fs::read_to_string(dir.join("freezer.state"))?.trim() == want {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(1));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{} did not become {want}", dir.display()),
    ))
}

pub fn is_frozen(dir: &Path) -> io::Result<bool> {
    Ok(fs::read_to_string(dir.join("freezer.state"))?.trim() != "THAWED")
}

pub fn stats(cgroup: &Cgroup) -> io::Result<CgroupStats> {
    let mut stats = CgroupStats::default();
    if let Some(dir) = cgroup.v1_dir("memory") {
        stats.memory_usage = read_u64(dir, "memory.usage_in_bytes")?;
        stats.memory_peak = read_u64(dir, "memory.max_usage_in_bytes")?;
        stats.memory_private = read_keyed(dir, "memory.stat")?("total_rss");
    }
    if let Some(dir) = cgroup.v1_dir("cpuacct") {
        stats.cpu_total_ns = read_u64(dir, "cpuacct.usage")?;
        stats.cpu_user_ns = read_u64(dir, "cpuacct.usage_user").unwrap_or(0);
        stats.cpu_kernel_ns = read_u64(dir, "cpuacct.usage_sys").unwrap_or(0);
    }
    if let Some(dir) = cgroup.v1_dir("blkio") {
        let sum = |file: &str, op: &str| -> io::Result<u64> {
            Ok(fs::read_to_string(dir.join(file))?
                .lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let (_device, kind, value) = (f.next()?, f.next()?, f.next()?);
                    (kind == op).then(|| value.parse::<u64>().ok())?
                })
                .sum())
        };
        stats.io_read_bytes = sum("blkio.throttle.io_service_bytes_recursive", "Read")?;
        stats.io_write_bytes = sum("blkio.throttle.io_service_bytes_recursive", "Write")?;
        stats.io_reads = sum("blkio.throttle.io_serviced_recursive", "Read")?;
        stats.io_writes = sum("blkio.throttle.io_serviced_recursive", "Write")?;
    }
    Ok(stats)
}
