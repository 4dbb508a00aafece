//! A Linux spec's `linux.resources`, written exactly into the system's
//! cgroups by the holder when the first process arrives, before it runs
//! (pid 1, parked, is the container's only process). The service applied
//! the HCS fields the translation derived from them at start
//! (`MemoryMaximumInMB`, `ProcessorWeight`, ...), rounded to HCS's units
//! and creating the hierarchies they need; these are the spec's own
//! values, and the fields HCS has none for (pids, swap, reservation,
//! swappiness, the OOM killer, cpusets, per-device block I/O).
//!
//! The device rules are not here: `devices/` owns them.

use std::{fs, io, path::Path};

use hcsrun_linux_spec::{BlockIo, Cpu, Limit, Memory, Resources};
use hcsrun_shim_protocol::message::CgroupDir;

/// The cgroup of `controller` (v1), or the unified one (v2).
fn dir_of<'a>(dirs: &'a [CgroupDir], controller: &str) -> io::Result<&'a Path> {
    dirs.iter()
        .find(|d| d.has(controller))
        .map(|d| Path::new(d.path.as_str()))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("the system has no {controller} cgroup"),
            )
        })
}

fn is_v2(dirs: &[CgroupDir]) -> bool {
    dirs.iter().any(CgroupDir::is_unified)
}

fn write(dir: &Path, file: &str, value: impl AsRef<str>) -> io::Result<()> {
    let path = dir.join(file);
    fs::write(&path, value.as_ref()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("writing {:?} to {}: {e}", value.as_ref(), path.display()),
        )
    })
}

fn v1_limit(limit: Limit) -> String {
    match limit {
        Limit::Unlimited => "-1".to_owned(),
        Limit::Max(n) => n.to_string(),
    }
}

fn v2_limit(limit: Limit) -> String {
    match limit {
        Limit::Unlimited => "max".to_owned(),
        Limit::Max(n) => n.to_string(),
    }
}

/// Writes `resources` into the system's cgroups `dirs`; each failure names
/// the spec's field.
pub fn apply(dirs: &[CgroupDir], resources: &Resources) -> Result<(), String> {
    let field = |name: &'static str| move |e: io::Error| format!("linux.resources.{name}: {e}");
    if let Some(limit) = resources.pids_limit {
        let dir = dir_of(dirs, "pids").map_err(field("pids"))?;
        // "max" is no limit on both versions.
        write(dir, "pids.max", v2_limit(limit)).map_err(field("pids"))?;
    }
    memory(dirs, &resources.memory).map_err(field("memory"))?;
    cpu(dirs, &resources.cpu).map_err(field("cpu"))?;
    block_io(dirs, &resources.block_io).map_err(field("blockIO"))?;
    if is_v2(dirs) {
        let dir = dir_of(dirs, "unified").map_err(field("unified"))?;
        for (file, value) in &resources.unified {
            write(dir, file, value).map_err(field("unified"))?;
        }
    }
    Ok(())
}

fn memory(dirs: &[CgroupDir], m: &Memory) -> io::Result<()> {
    let wanted = m.limit.is_some()
        || m.reservation.is_some()
        || m.swap.is_some()
        || m.swappiness.is_some()
        || m.disable_oom_killer;
    if !wanted {
        return Ok(());
    }
    let dir = dir_of(dirs, "memory")?;
    if is_v2(dirs) {
        if let Some(limit) = m.limit {
            write(dir, "memory.max", v2_limit(limit))?;
        }
        if let Some(reservation) = m.reservation {
            write(dir, "memory.low", v2_limit(reservation))?;
        }
        // v2 limits swap alone: the spec's memory+swap less memory.
        let swap = match (m.swap, m.limit) {
            (Some(Limit::Max(swap)), Some(Limit::Max(limit))) => {
                Some(swap.saturating_sub(limit).to_string())
            }
            (Some(Limit::Unlimited), _) => Some("max".to_owned()),
            _ => None,
        };
        if let Some(swap) = swap.filter(|_| dir.join("memory.swap.max").exists()) {
            write(dir, "memory.swap.max", swap)?;
        }
        return Ok(());
    }
    let memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    match (m.limit, m.swap.filter(|_| memsw)) {
        (Some(limit), Some(swap)) => {
            // memory ≤ memory+swap at every step: raise the sum first
            // when it grows, lower the memory first otherwise.
            let current = fs::read_to_string(dir.join("memory.memsw.limit_in_bytes"))?;
            let grows = match swap {
                Limit::Unlimited => true,
                Limit::Max(n) => current.trim().parse::<u64>().is_ok_and(|c| n >= c),
            };
            if grows {
                write(dir, "memory.memsw.limit_in_bytes", v1_limit(swap))?;
                write(dir, "memory.limit_in_bytes", v1_limit(limit))?;
            } else {
                write(dir, "memory.limit_in_bytes", v1_limit(limit))?;
                write(dir, "memory.memsw.limit_in_bytes", v1_limit(swap))?;
            }
        }
        (Some(limit), None) => {
            // No swap asked for: none beyond the limit, as the service set
            // it (memory+swap follows the memory limit).
            if memsw {
                let raise = |dir: &Path| write(dir, "memory.memsw.limit_in_bytes", "-1");
                raise(dir)?;
                write(dir, "memory.limit_in_bytes", v1_limit(limit))?;
                write(dir, "memory.memsw.limit_in_bytes", v1_limit(limit))?;
            } else {
                write(dir, "memory.limit_in_bytes", v1_limit(limit))?;
            }
        }
        (None, Some(swap)) => write(dir, "memory.memsw.limit_in_bytes", v1_limit(swap))?,
        (None, None) => {}
    }
    if let Some(reservation) = m.reservation {
        write(dir, "memory.soft_limit_in_bytes", v1_limit(reservation))?;
    }
    if let Some(swappiness) = m.swappiness {
        write(dir, "memory.swappiness", swappiness.to_string())?;
    }
    if m.disable_oom_killer {
        write(dir, "memory.oom_control", "1")?;
    }
    Ok(())
}

fn cpu(dirs: &[CgroupDir], c: &Cpu) -> io::Result<()> {
    if c.shares.is_some() || c.quota.is_some() || c.period.is_some() {
        let dir = dir_of(dirs, "cpu")?;
        if is_v2(dirs) {
            if let Some(shares) = c.shares {
                // The kernel's conversion (as runc's).
                let weight = 1 + (shares.clamp(2, 262_144) - 2) * 9_999 / 262_142;
                write(dir, "cpu.weight", weight.to_string())?;
            }
            if c.quota.is_some() || c.period.is_some() {
                let quota = c.quota.map_or("max".to_owned(), v2_limit);
                let period = c.period.unwrap_or(100_000);
                write(dir, "cpu.max", format!("{quota} {period}"))?;
            }
        } else {
            if let Some(shares) = c.shares {
                write(dir, "cpu.shares", shares.to_string())?;
            }
            if let Some(period) = c.period {
                write(dir, "cpu.cfs_period_us", period.to_string())?;
            }
            if let Some(quota) = c.quota {
                write(dir, "cpu.cfs_quota_us", v1_limit(quota))?;
            }
        }
    }
    if c.cpus.is_some() || c.mems.is_some() {
        let dir = dir_of(dirs, "cpuset")?;
        if let Some(cpus) = &c.cpus {
            write(dir, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = &c.mems {
            write(dir, "cpuset.mems", mems)?;
        }
    }
    Ok(())
}

fn block_io(dirs: &[CgroupDir], b: &BlockIo) -> io::Result<()> {
    let throttles = [
        (
            &b.throttle_read_bps,
            "blkio.throttle.read_bps_device",
            "rbps",
        ),
        (
            &b.throttle_write_bps,
            "blkio.throttle.write_bps_device",
            "wbps",
        ),
        (
            &b.throttle_read_iops,
            "blkio.throttle.read_iops_device",
            "riops",
        ),
        (
            &b.throttle_write_iops,
            "blkio.throttle.write_iops_device",
            "wiops",
        ),
    ];
    let wanted = b.weight.is_some()
        || !b.weight_devices.is_empty()
        || throttles.iter().any(|(list, _, _)| !list.is_empty());
    if !wanted {
        return Ok(());
    }
    let v2 = is_v2(dirs);
    let dir = dir_of(dirs, if v2 { "io" } else { "blkio" })?;
    // BFQ's weights where the scheduler is BFQ (CFQ's files are gone
    // since Linux 5.0), as runc picks them; v2's io.weight has another
    // range (1..10000), into which runc converts.
    let bfq = dir
        .join(if v2 {
            "io.bfq.weight"
        } else {
            "blkio.bfq.weight"
        })
        .exists();
    let (weight_file, device_file, scale): (_, _, fn(u64) -> u64) = match (v2, bfq) {
        (false, true) => ("blkio.bfq.weight", "blkio.bfq.weight_device", |w| w),
        (false, false) => ("blkio.weight", "blkio.weight_device", |w| w),
        (true, true) => ("io.bfq.weight", "io.bfq.weight", |w| w),
        (true, false) => ("io.weight", "io.weight", |w| {
            1 + (w.clamp(10, 1000) - 10) * 9999 / 990
        }),
    };
    if let Some(weight) = b.weight {
        let value = scale(weight.into());
        let line = if v2 {
            format!("default {value}")
        } else {
            value.to_string()
        };
        write(dir, weight_file, line)?;
    }
    for d in &b.weight_devices {
        write(
            dir,
            device_file,
            format!("{}:{} {}", d.major, d.minor, scale(d.value)),
        )?;
    }
    for (list, v1_file, v2_key) in throttles {
        for d in list {
            if v2 {
                let line = format!("{}:{} {v2_key}={}", d.major, d.minor, d.value);
                write(dir, "io.max", line)?;
            } else {
                write(dir, v1_file, format!("{}:{} {}", d.major, d.minor, d.value))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hcsrun_linux_spec::DeviceValue;

    use super::*;

    /// A fake v1 layout: one directory per controller, with the files the
    /// kernel would have.
    fn v1(root: &Path) -> Vec<CgroupDir> {
        let files: &[(&str, &[&str])] = &[
            ("pids", &["pids.max"]),
            (
                "memory",
                &[
                    "memory.limit_in_bytes",
                    "memory.memsw.limit_in_bytes",
                    "memory.soft_limit_in_bytes",
                    "memory.swappiness",
                    "memory.oom_control",
                ],
            ),
            (
                "cpu",
                &["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"],
            ),
            ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
            ("blkio", &["blkio.weight", "blkio.throttle.read_bps_device"]),
        ];
        files
            .iter()
            .map(|(controller, names)| {
                let dir = root.join(controller);
                fs::create_dir_all(&dir).unwrap();
                for name in *names {
                    fs::write(dir.join(name), "9223372036854771712").unwrap();
                }
                CgroupDir {
                    path: dir.to_string_lossy().into_owned(),
                    controllers: vec![(*controller).to_owned()],
                }
            })
            .collect()
    }

    #[test]
    fn every_field_lands_in_its_v1_file() {
        let root = std::env::temp_dir().join(format!("hcs-resources-{}", std::process::id()));
        let dirs = v1(&root);
        let resources = Resources {
            memory: Memory {
                limit: Some(Limit::Max(64 << 20)),
                reservation: Some(Limit::Max(32 << 20)),
                swap: Some(Limit::Max(128 << 20)),
                swappiness: Some(10),
                disable_oom_killer: true,
            },
            cpu: Cpu {
                shares: Some(512),
                quota: Some(Limit::Max(50_000)),
                period: Some(200_000),
                cpus: Some("0".into()),
                mems: Some("0".into()),
            },
            pids_limit: Some(Limit::Max(50)),
            block_io: BlockIo {
                weight: Some(300),
                throttle_read_bps: vec![DeviceValue {
                    major: 8,
                    minor: 0,
                    value: 1 << 20,
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        apply(&dirs, &resources).unwrap();
        let read = |c: &str, f: &str| fs::read_to_string(root.join(c).join(f)).unwrap();
        for (c, f, want) in [
            ("pids", "pids.max", "50"),
            ("memory", "memory.limit_in_bytes", "67108864"),
            ("memory", "memory.memsw.limit_in_bytes", "134217728"),
            ("memory", "memory.soft_limit_in_bytes", "33554432"),
            ("memory", "memory.swappiness", "10"),
            ("memory", "memory.oom_control", "1"),
            ("cpu", "cpu.shares", "512"),
            ("cpu", "cpu.cfs_period_us", "200000"),
            ("cpu", "cpu.cfs_quota_us", "50000"),
            ("cpuset", "cpuset.cpus", "0"),
            ("blkio", "blkio.weight", "300"),
            ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576"),
        ] {
            assert_eq!(read(c, f), want, "{c}/{f}");
        }
        // Unlimited pids on v1 is "max" too.
        let unlimited = Resources {
            pids_limit: Some(Limit::Unlimited),
            ..Default::default()
        };
        apply(&dirs, &unlimited).unwrap();
        assert_eq!(read("pids", "pids.max"), "max");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_hierarchy_names_the_field() {
        let resources = Resources {
            pids_limit: Some(Limit::Max(5)),
            ..Default::default()
        };
        let err = apply(&[], &resources).unwrap_err();
        assert!(err.starts_with("linux.resources.pids: "), "{err}");
    }
}
