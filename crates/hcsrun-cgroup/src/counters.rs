//! Every counter a system's cgroups keep, file by file, for callers that
//! report them in a shape of their own (the containerd shim's metrics).
//! [`CgroupStats`](crate::CgroupStats) is the compute service's summary of
//! the same files.
//!
//! A file a controller does not have (a v1 `cpu` cgroup the system was made
//! without, `memory.swap.*` without swap accounting, `memory.peak` before
//! Linux 5.19) reads as zero or no limit; any other failure is an error
//! naming the file.

use std::{fs, io, path::Path};

use super::Cgroup;

/// A file of `key value` lines (`memory.stat`, `cpu.stat`,
/// `memory.events`, `memory.oom_control`), in the file's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keyed(Vec<(String, u64)>);

impl Keyed {
    /// Reads the lines of `text`; those without a number are skipped.
    pub fn parse(text: &str) -> Self {
        Self(
            text.lines()
                .filter_map(|l| {
                    let (k, v) = l.split_once(' ')?;
                    Some((k.to_owned(), v.trim().parse().ok()?))
                })
                .collect(),
        )
    }

    /// The value of `key`; 0 if the file has no such line.
    pub fn get(&self, key: &str) -> u64 {
        self.0.iter().find(|(k, _)| k == key).map_or(0, |(_, v)| *v)
    }
}

/// The counters of a system's cgroups, as its machine's cgroup version
/// keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Counters {
    /// cgroup v1: one directory per hierarchy.
    V1(V1Counters),
    /// cgroup v2: the one directory in the unified hierarchy.
    V2(V2Counters),
}

/// The number of tasks and its limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pids {
    /// Tasks (threads) in the cgroup.
    pub current: u64,
    /// `pids.max`; `None` for `max` (no limit) or no pids controller.
    pub limit: Option<u64>,
}

/// One v1 memory counter group (`memory.*`, `memory.memsw.*`,
/// `memory.kmem.*`, `memory.kmem.tcp.*`), in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V1MemoryEntry {
    /// `limit_in_bytes`.
    pub limit: u64,
    /// `usage_in_bytes`.
    pub usage: u64,
    /// `max_usage_in_bytes`.
    pub max: u64,
    /// `failcnt`: how often the limit was hit.
    pub failcnt: u64,
}

/// A v1 memory cgroup's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V1Memory {
    /// `memory.stat`.
    pub stat: Keyed,
    /// `memory.oom_control` (`oom_kill_disable`, `under_oom`, `oom_kill`).
    pub oom_control: Keyed,
    /// Memory.
    pub usage: V1MemoryEntry,
    /// Memory plus swap (`memory.memsw.*`).
    pub swap: V1MemoryEntry,
    /// Kernel memory (`memory.kmem.*`).
    pub kernel: V1MemoryEntry,
    /// Kernel TCP buffers (`memory.kmem.tcp.*`).
    pub kernel_tcp: V1MemoryEntry,
}

/// A v1 cpuacct cgroup's counters, in nanoseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V1Cpu {
    /// `cpuacct.usage`.
    pub usage_ns: u64,
    /// `cpuacct.usage_percpu`.
    pub per_cpu_ns: Vec<u64>,
    /// `user` of `cpuacct.stat` (kept in clock ticks, converted).
    pub user_ns: u64,
    /// `system` of `cpuacct.stat` (kept in clock ticks, converted).
    pub kernel_ns: u64,
}

/// One line of a v1 blkio file: `MAJ:MIN Op value`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlkioEntry {
    /// The device's major number.
    pub major: u64,
    /// The device's minor number.
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard` or `Total`.
    pub op: String,
    /// Bytes or operations.
    pub value: u64,
}

/// The counters of a system's cgroup v1 hierarchies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V1Counters {
    /// The memory cgroup's (every system has one).
    pub memory: V1Memory,
    /// The cpuacct cgroup's, if the machine mounts cpuacct.
    pub cpu: Option<V1Cpu>,
    /// The cpu cgroup's `cpu.stat` (throttling), if the system has one.
    pub throttling: Option<Keyed>,
    /// The pids cgroup's; without one, the freezer's tasks and no limit.
    pub pids: Pids,
    /// `blkio.throttle.io_service_bytes_recursive` and
    /// `blkio.throttle.io_serviced_recursive`, if the machine mounts blkio.
    pub blkio: Option<(Vec<BlkioEntry>, Vec<BlkioEntry>)>,
}

/// One device's line of `io.stat`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoEntry {
    /// The device's major number.
    pub major: u64,
    /// The device's minor number.
    pub minor: u64,
    /// Bytes read.
    pub rbytes: u64,
    /// Bytes written.
    pub wbytes: u64,
    /// Reads.
    pub rios: u64,
    /// Writes.
    pub wios: u64,
}

/// The counters of a system's cgroup v2 directory. Limits are `None` for
/// `max` (no limit) or a controller not enabled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V2Counters {
    /// `pids.current` and `pids.max`.
    pub pids: Pids,
    /// `cpu.stat` (`usage_usec`, `user_usec`, `system_usec`, and with the
    /// cpu controller `nr_periods`, `nr_throttled`, `throttled_usec`).
    pub cpu_stat: Keyed,
    /// `memory.current`, in bytes.
    pub memory_current: u64,
    /// `memory.max`.
    pub memory_max: Option<u64>,
    /// `memory.peak` (Linux 5.19 on).
    pub memory_peak: Option<u64>,
    /// `memory.swap.current`, in bytes.
    pub swap_current: u64,
    /// `memory.swap.max`.
    pub swap_max: Option<u64>,
    /// `memory.swap.peak` (Linux 6.5 on).
    pub swap_peak: Option<u64>,
    /// `memory.stat`.
    pub memory_stat: Keyed,
    /// `memory.events` (`low`, `high`, `max`, `oom`, `oom_kill`,
    /// `oom_group_kill`).
    pub memory_events: Keyed,
    /// `io.stat`, one entry per device.
    pub io: Vec<IoEntry>,
}

impl V2Counters {
    /// Reads the counters of the cgroup v2 directory `dir` (blocking).
    pub fn read(dir: &Path) -> io::Result<Self> {
        gone_unless_exists(dir)?;
        let number = |file: &str| -> io::Result<u64> {
            Ok(optional(dir, file)?
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0))
        };
        let limit = |file: &str| -> io::Result<Option<u64>> {
            Ok(optional(dir, file)?.and_then(|t| t.trim().parse().ok()))
        };
        let keyed = |file: &str| -> io::Result<Keyed> {
            Ok(optional(dir, file)?.map_or_else(Keyed::default, |t| Keyed::parse(&t)))
        };
        Ok(Self {
            pids: Pids {
                current: number("pids.current")?,
                limit: limit("pids.max")?,
            },
            cpu_stat: keyed("cpu.stat")?,
            memory_current: number("memory.current")?,
            memory_max: limit("memory.max")?,
            memory_peak: limit("memory.peak")?,
            swap_current: number("memory.swap.current")?,
            swap_max: limit("memory.swap.max")?,
            swap_peak: limit("memory.swap.peak")?,
            memory_stat: keyed("memory.stat")?,
            memory_events: keyed("memory.events")?,
            io: optional(dir, "io.stat")?
                .map(|t| io_entries(&t))
                .unwrap_or_default(),
        })
    }
}

/// `MAJ:MIN key=value...` lines.
fn io_entries(text: &str) -> Vec<IoEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (major, minor) = device(fields.next()?)?;
            let mut entry = IoEntry {
                major,
                minor,
                ..IoEntry::default()
            };
            for (key, value) in fields.filter_map(|f| f.split_once('=')) {
                let value = value.parse().unwrap_or(0);
                match key {
                    "rbytes" => entry.rbytes = value,
                    "wbytes" => entry.wbytes = value,
                    "rios" => entry.rios = value,
                    "wios" => entry.wios = value,
                    _ => {}
                }
            }
            Some(entry)
        })
        .collect()
}

fn device(text: &str) -> Option<(u64, u64)> {
    let (major, minor) = text.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The v1 counters of `cgroup` (where its cgroups are now).
pub(crate) fn read_v1(cgroup: &Cgroup) -> io::Result<V1Counters> {
    let existing = |controller: &str| cgroup.v1_dir(controller).filter(|d| d.exists());
    let memory_dir = cgroup.v1_dir("memory").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "no cgroup v1 memory hierarchy on this machine",
        )
    })?;
    gone_unless_exists(memory_dir)?;
    let memory = v1_memory(memory_dir)?;
    let cpu = match cgroup.v1_dir("cpuacct") {
        Some(dir) => Some(v1_cpu(dir)?),
        None => None,
    };
    let throttling = match existing("cpu") {
        Some(dir) => optional(dir, "cpu.stat")?.map(|t| Keyed::parse(&t)),
        None => None,
    };
    let pids = match existing("pids") {
        Some(dir) => Pids {
            current: optional(dir, "pids.current")?
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0),
            limit: optional(dir, "pids.max")?.and_then(|t| t.trim().parse().ok()),
        },
        None => Pids {
            current: match existing("freezer") {
                Some(dir) => optional(dir, "tasks")?.map_or(0, |t| t.lines().count() as u64),
                None => 0,
            },
            limit: None,
        },
    };
    let blkio = match cgroup.v1_dir("blkio") {
        Some(dir) => Some((
            blkio_entries(dir, "blkio.throttle.io_service_bytes_recursive")?,
            blkio_entries(dir, "blkio.throttle.io_serviced_recursive")?,
        )),
        None => None,
    };
    Ok(V1Counters {
        memory,
        cpu,
        throttling,
        pids,
        blkio,
    })
}

fn v1_memory(dir: &Path) -> io::Result<V1Memory> {
    let entry = |prefix: &str| -> io::Result<V1MemoryEntry> {
        let number = |name: &str| -> io::Result<u64> {
            Ok(optional(dir, &format!("{prefix}{name}"))?
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0))
        };
        Ok(V1MemoryEntry {
            limit: number("limit_in_bytes")?,
            usage: number("usage_in_bytes")?,
            max: number("max_usage_in_bytes")?,
            failcnt: number("failcnt")?,
        })
    };
    Ok(V1Memory {
        stat: Keyed::parse(&read(dir, "memory.stat")?),
        oom_control: optional(dir, "memory.oom_control")?
            .map_or_else(Keyed::default, |t| Keyed::parse(&t)),
        usage: entry("memory.")?,
        swap: entry("memory.memsw.")?,
        kernel: entry("memory.kmem.")?,
        kernel_tcp: entry("memory.kmem.tcp.")?,
    })
}

fn v1_cpu(dir: &Path) -> io::Result<V1Cpu> {
    // cpuacct.stat counts USER_HZ ticks.
    // SAFETY: sysconf has no preconditions.
    let hz = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        t if t > 0 => t as u64,
        _ => 100,
    };
    let stat = optional(dir, "cpuacct.stat")?.map_or_else(Keyed::default, |t| Keyed::parse(&t));
    Ok(V1Cpu {
        usage_ns: read(dir, "cpuacct.usage")?.trim().parse().unwrap_or(0),
        per_cpu_ns: optional(dir, "cpuacct.usage_percpu")?
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect(),
        user_ns: stat.get("user") * (1_000_000_000 / hz),
        kernel_ns: stat.get("system") * (1_000_000_000 / hz),
    })
}

/// `MAJ:MIN Op value` lines (the closing `Total value` has no device).
fn blkio_entries(dir: &Path, file: &str) -> io::Result<Vec<BlkioEntry>> {
    let Some(text) = optional(dir, file)? else {
        return Ok(Vec::new());
    };
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (major, minor) = device(f.next()?)?;
            Some(BlkioEntry {
                major,
                minor,
                op: f.next()?.to_owned(),
                value: f.next()?.parse().ok()?,
            })
        })
        .collect())
}

/// A cgroup directory that is gone: the system's cgroups were removed.
fn gone_unless_exists(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: the system's cgroup is gone", dir.display()),
        ))
    }
}

/// Reads a control file, naming it in the error.
fn read(dir: &Path, file: &str) -> io::Result<String> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|e| named(&path, e))
}

/// Reads a control file the controller may not have: `None` if missing.
fn optional(dir: &Path, file: &str) -> io::Result<Option<String>> {
    let path = dir.join(file);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(named(&path, e)),
    }
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("reading {}: {e}", path.display()))
}

#[cfg(test)]
mod tests;
