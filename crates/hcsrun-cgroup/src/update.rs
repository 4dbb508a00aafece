//! A running system's limits changed in place ([`hcs_schema::LimitsUpdate`]).

use std::{io, path::Path};

use hcs_schema::LimitsUpdate;

use super::{limits::CPU_PERIOD_US, read_u64, write, Cgroup, Hierarchies};

/// cgroup v1's "no limit" is any value this large.
const V1_UNLIMITED: u64 = 1 << 62;

impl Cgroup {
    /// Sets each limit `update` gives. A controller the system was made
    /// without (a v1 `cpu` hierarchy when it had no CPU limit) is refused,
    /// naming it.
    pub fn update(&self, update: &LimitsUpdate) -> io::Result<()> {
        match self.hierarchies {
            Hierarchies::V1(_) => self.update_v1(update),
            Hierarchies::V2(_) => update_v2(&self.dirs[0], update),
        }
    }

    fn update_v1(&self, update: &LimitsUpdate) -> io::Result<()> {
        let dir = |controller: &str| {
            self.v1_dir(controller)
                .filter(|d| d.exists())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        format!(
                            "the system has no {controller} cgroup (it was created without that \
                             limit)"
                        ),
                    )
                })
        };
        if let Some(bytes) = update.memory_bytes {
            let memory = dir("memory")?;
            let old = read_u64(memory, "memory.limit_in_bytes")?;
            let swap = memory.join("memory.memsw.limit_in_bytes");
            // memory+swap keeps the swap it allowed beyond memory; it must
            // never be below memory, so the larger goes first.
            let memsw = if swap.exists() {
                let old_memsw = read_u64(memory, "memory.memsw.limit_in_bytes")?;
                (old_memsw < V1_UNLIMITED).then(|| bytes + old_memsw.saturating_sub(old))
            } else {
                None
            };
            if bytes > old {
                if let Some(memsw) = memsw {
                    write(memory, "memory.memsw.limit_in_bytes", memsw.to_string())?;
                }
                write(memory, "memory.limit_in_bytes", bytes.to_string())?;
            } else {
                write(memory, "memory.limit_in_bytes", bytes.to_string())?;
                if let Some(memsw) = memsw {
                    write(memory, "memory.memsw.limit_in_bytes", memsw.to_string())?;
                }
            }
        }
        if update.cpu_quota_us.is_some() || update.cpu_shares.is_some() {
            let cpu = dir("cpu")?;
            if let Some(quota) = update.cpu_quota_us {
                let period = update.cpu_period_us.unwrap_or(CPU_PERIOD_US);
                write(cpu, "cpu.cfs_period_us", period.to_string())?;
                write(cpu, "cpu.cfs_quota_us", quota.to_string())?;
            }
            if let Some(shares) = update.cpu_shares {
                write(cpu, "cpu.shares", shares.to_string())?;
            }
        }
        if let Some(limit) = update.pids_limit {
            write(dir("pids")?, "pids.max", pids_max(limit))?;
        }
        Ok(())
    }
}

fn update_v2(dir: &Path, update: &LimitsUpdate) -> io::Result<()> {
    if let Some(bytes) = update.memory_bytes {
        write(dir, "memory.max", bytes.to_string())?;
    }
    if let Some(quota) = update.cpu_quota_us {
        let period = update.cpu_period_us.unwrap_or(CPU_PERIOD_US);
        write(dir, "cpu.max", format!("{quota} {period}"))?;
    }
    if let Some(shares) = update.cpu_shares {
        // runc's conversion of shares to a weight.
        let weight = 1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142;
        write(dir, "cpu.weight", weight.to_string())?;
    }
    if let Some(limit) = update.pids_limit {
        write(dir, "pids.max", pids_max(limit))?;
    }
    Ok(())
}

fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_owned()
    }
}
