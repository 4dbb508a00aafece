//! cgroup v2: one directory in the unified hierarchy.

use std::{fs, io, path::Path, thread, time::Duration};

use super::{limits::CPU_PERIOD_US, read_keyed, read_u64, write, CgroupStats, Exact, Limits};

const WANTED: &[&str] = &["cpu", "cpuset", "memory", "io", "pids"];

/// Lets `parent`'s children use the controllers the service needs, making
/// `parent` if needed.
pub fn enable_controllers(root: &Path, parent: &Path) -> io::Result<()> {
    let available = fs::read_to_string(root.join("cgroup.controllers"))?;
    let enable: Vec<String> = available
        .split_whitespace()
        .filter(|c| WANTED.contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    let enable = enable.join(" ");
    write(root, "cgroup.subtree_control", &enable)?;
    super::mkdir(parent)?;
    write(parent, "cgroup.subtree_control", &enable)
}

pub fn apply(dir: &Path, limits: &Limits) -> io::Result<()> {
    if let Some(count) = limits.cpu_count {
        let available = fs::read_to_string(dir.join("cpuset.cpus.effective"))?;
        write(
            dir,
            "cpuset.cpus",
            super::limits::first_cpus(&available, count),
        )?;
    }
    if let Some(weight) = limits.cpu_weight {
        write(dir, "cpu.weight", weight.to_string())?;
    }
    if let Some(quota) = limits.cpu_quota_us {
        write(dir, "cpu.max", format!("{quota} {CPU_PERIOD_US}"))?;
    }
    if let Some(bytes) = limits.memory_bytes {
        write(dir, "memory.max", bytes.to_string())?;
        if dir.join("memory.swap.max").exists() {
            write(dir, "memory.swap.max", "0")?;
        }
    }
    if let Some(io) = limits.io {
        let (major, minor) = io.device;
        let mut line = format!("{major}:{minor}");
        if let Some(bps) = io.bytes_per_second {
            line += &format!(" rbps={bps} wbps={bps}");
        }
        if let Some(iops) = io.iops {
            line += &format!(" riops={iops} wiops={iops}");
        }
        write(dir, "io.max", line)?;
    }
    apply_exact(dir, &limits.exact)
}

/// A Linux spec's exact values, converted as runc converts them.
pub fn apply_exact(dir: &Path, e: &Exact) -> io::Result<()> {
    let max = |v: i64| {
        if v < 0 {
            "max".to_owned()
        } else {
            v.to_string()
        }
    };
    if let Some(cpus) = &e.cpuset_cpus {
        write(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = &e.cpuset_mems {
        write(dir, "cpuset.mems", mems)?;
    }
    if let Some(shares) = e.cpu_shares {
        // runc's conversion of shares to weight.
        let weight = 1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142;
        write(dir, "cpu.weight", weight.to_string())?;
    }
    if e.cpu_quota.is_some() || e.cpu_period.is_some() {
        let quota = e.cpu_quota.map_or("max".to_owned(), max);
        let period = e.cpu_period.unwrap_or(CPU_PERIOD_US);
        write(dir, "cpu.max", format!("{quota} {period}"))?;
    }
    if let Some(limit) = e.memory_limit {
        write(dir, "memory.max", max(limit))?;
    }
    if let (Some(swap), true) = (e.memory_swap, dir.join("memory.swap.max").exists()) {
        // v1's memsw is memory plus swap; v2's swap.max is swap alone.
        let swap_only = match (swap, e.memory_limit) {
            (s, Some(l)) if s >= 0 && l >= 0 => (s - l).max(0),
            (s, _) => s,
        };
        write(dir, "memory.swap.max", max(swap_only))?;
    }
    if let Some(v) = e.memory_reservation {
        write(dir, "memory.low", max(v))?;
    }
    if let Some(limit) = e.pids_limit {
        write(
            dir,
            "pids.max",
            if limit > 0 {
                limit.to_string()
            } else {
                "max".to_owned()
            },
        )?;
    }
    Ok(())
}

pub fn freeze(dir: &Path, frozen: bool) -> io::Result<()> {
    write(dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
    for _ in 0..1000 {
        if is_frozen(dir)? == frozen {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(1));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "{} did not {}",
            dir.display(),
            if frozen { "freeze" } else { "thaw" }
        ),
    ))
}

pub fn is_frozen(dir: &Path) -> io::Result<bool> {
    Ok(read_keyed(dir, "cgroup.events")?("frozen") == 1)
}

pub fn stats(dir: &Path) -> io::Result<CgroupStats> {
    let memory = read_keyed(dir, "memory.stat")?;
    let cpu = read_keyed(dir, "cpu.stat")?;
    let usage = read_u64(dir, "memory.current")?;
    let mut stats = CgroupStats {
        memory_usage: usage,
        memory_peak: read_u64(dir, "memory.peak").unwrap_or(usage),
        memory_private: memory("anon"),
        cpu_total_ns: cpu("usage_usec") * 1000,
        cpu_user_ns: cpu("user_usec") * 1000,
        cpu_kernel_ns: cpu("system_usec") * 1000,
        ..CgroupStats::default()
    };
    for line in fs::read_to_string(dir.join("io.stat"))?.lines() {
        for field in line.split_whitespace().skip(1) {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let value: u64 = value.parse().unwrap_or(0);
            match key {
                "rbytes" => stats.io_read_bytes += value,
                "wbytes" => stats.io_write_bytes += value,
                "rios" => stats.io_reads += value,
                "wios" => stats.io_writes += value,
                _ => {}
            }
        }
    }
    Ok(stats)
}
