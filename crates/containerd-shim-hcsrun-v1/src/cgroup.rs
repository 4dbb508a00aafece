//! A container's cgroups, read and written from outside: the shim's one
//! module that touches cgroup files.
//!
//! The Linux compute service puts each system at `<parent>/<id>` in every
//! cgroup v1 hierarchy it uses (memory, cpuacct, blkio and freezer always;
//! cpu and cpuset only with a CPU limit). The shim chooses the parent when it
//! builds the service, so it finds the container's cgroups without asking:
//! for containerd's metrics (`io.containerd.cgroups.v1.Metrics`), the host
//! pids of the container (`Pids`, `Kill --all`), resource updates (the
//! service cannot change a running system's resources) and OOM events.
//!
//! Everything here blocks (file systems): callers run it on the blocking
//! pool.

use std::{
    collections::HashMap,
    fs, io,
    path::{Path, PathBuf},
};

use containerd_shim::protos::cgroups::metrics::{
    BlkIOEntry, BlkIOStat, CPUStat, CPUUsage, MemoryEntry, MemoryOomControl, MemoryStat, Metrics,
    PidsStat, Throttle,
};
use hcsrun_shim_protocol::record::CGROUPS_FILE;
use serde_json::Value;

/// The v1 hierarchies of this host: controller name -> mount point.
fn hierarchies() -> io::Result<HashMap<String, PathBuf>> {
    let text = fs::read_to_string("/proc/self/mountinfo")?;
    let mut found = HashMap::new();
    for line in text.lines() {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        if r.next() != Some("cgroup") {
            continue;
        }
        let (Some(_source), Some(options)) = (r.next(), r.next()) else {
            continue;
        };
        let Some(mount) = left.split(' ').nth(4) else {
            continue;
        };
        for option in options.split(',') {
            if matches!(
                option,
                "cpu" | "cpuacct" | "cpuset" | "memory" | "blkio" | "freezer" | "pids"
            ) {
                found
                    .entry(option.to_owned())
                    .or_insert_with(|| PathBuf::from(unescape(mount)));
            }
        }
    }
    Ok(found)
}

/// Mountinfo escapes spaces, tabs, newlines and backslashes as octal.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(v) = u8::from_str_radix(&field[i + 1..i + 4], 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

/// The cgroups of one container.
#[derive(Clone, Debug)]
pub struct Cgroups {
    /// Controller -> its hierarchy's mount point, for those mounted.
    mounts: HashMap<String, PathBuf>,
    /// `<parent>/<id>`: where the service made them.
    made: PathBuf,
    /// The holder's `cgroups.path` in the system's directory: where a
    /// spec's `linux.cgroupsPath` moved them (at the first process's start).
    moved: PathBuf,
}

impl Cgroups {
    /// The cgroups of system `id` under `parent`, in the service's runtime
    /// directory `runtime_dir`; nothing is created. Only cgroup v1
    /// hierarchies are known (this module's limit: on a unified host every
    /// call says so).
    pub fn locate(parent: &str, id: &str, runtime_dir: &Path) -> io::Result<Self> {
        Ok(Self {
            mounts: hierarchies()?,
            made: Path::new(parent).join(id),
            moved: runtime_dir.join(id).join(CGROUPS_FILE),
        })
    }

    /// Where they are now, relative to each hierarchy's root: moved (the
    /// holder's record, as the service reads it), or where they were made.
    fn relative(&self) -> PathBuf {
        let Ok(text) = fs::read_to_string(&self.moved) else {
            return self.made.clone();
        };
        let rel = text.trim().trim_matches('/');
        if rel.is_empty() || rel.split('/').any(|c| c == ".." || c == ".") {
            return self.made.clone();
        }
        PathBuf::from(rel)
    }

    /// True once a spec's `linux.cgroupsPath` has moved them.
    pub fn is_moved(&self) -> bool {
        self.relative() != self.made
    }

    fn dir(&self, controller: &str) -> io::Result<PathBuf> {
        self.mounts
            .get(controller)
            .map(|mount| mount.join(self.relative()))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("no cgroup v1 {controller} hierarchy on this host"),
                )
            })
    }

    /// The memory cgroup's directory (OOM notifications).
    pub fn memory_dir(&self) -> io::Result<PathBuf> {
        self.dir("memory")
    }

    /// The host pids of the container's processes (its freezer cgroup's,
    /// which every process of the container joins before it runs).
    pub fn procs(&self) -> io::Result<Vec<u32>> {
        let text = fs::read_to_string(self.dir("freezer")?.join("cgroup.procs"))?;
        Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
    }

    /// Threads in the container (what the pids controller would count).
    fn tasks(&self) -> io::Result<u64> {
        let text = fs::read_to_string(self.dir("freezer")?.join("tasks"))?;
        Ok(text.lines().count() as u64)
    }

    /// Counters in containerd's cgroup v1 shape. Controllers the container
    /// has no cgroup in are left empty.
    pub fn metrics(&self) -> io::Result<Metrics> {
        let mut m = Metrics::new();
        let mem = self.dir("memory")?;
        if !mem.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the container's cgroups are gone",
            ));
        }
        m.memory = Some(memory_stat(&mem)?).into();
        let oom = keyed(&mem.join("memory.oom_control")).unwrap_or_default();
        m.memory_oom_control = Some(MemoryOomControl {
            oom_kill_disable: oom.get("oom_kill_disable").copied().unwrap_or(0),
            under_oom: oom.get("under_oom").copied().unwrap_or(0),
            oom_kill: oom.get("oom_kill").copied().unwrap_or(0),
            ..Default::default()
        })
        .into();
        if let Ok(acct) = self.dir("cpuacct") {
            let mut cpu = CPUStat::new();
            cpu.usage = Some(cpu_usage(&acct)?).into();
            if let Some(stat) = self
                .dir("cpu")
                .ok()
                .and_then(|d| keyed(&d.join("cpu.stat")).ok())
            {
                cpu.throttling = Some(Throttle {
                    periods: stat.get("nr_periods").copied().unwrap_or(0),
                    throttled_periods: stat.get("nr_throttled").copied().unwrap_or(0),
                    throttled_time: stat.get("throttled_time").copied().unwrap_or(0),
                    ..Default::default()
                })
                .into();
            }
            m.cpu = Some(cpu).into();
        }
        // The pids cgroup (every system joins one); else the freezer's tasks.
        let pids = self.dir("pids").ok().filter(|d| d.exists());
        m.pids = Some(PidsStat {
            current: pids.as_ref().map_or_else(
                || self.tasks().unwrap_or(0),
                |d| number(&d.join("pids.current")),
            ),
            limit: pids.as_ref().map_or(0, |d| number(&d.join("pids.max"))),
            ..Default::default()
        })
        .into();
        if let Ok(blkio) = self.dir("blkio") {
            let mut b = BlkIOStat::new();
            b.io_service_bytes_recursive =
                blkio_entries(&blkio.join("blkio.throttle.io_service_bytes_recursive"));
            b.io_serviced_recursive =
                blkio_entries(&blkio.join("blkio.throttle.io_serviced_recursive"));
            m.blkio = Some(b).into();
        }
        Ok(m)
    }

    /// Applies a `LinuxResources` document (containerd's `Update`): memory
    /// limits always (the container always has a memory cgroup), CPU
    /// settings where the container has cpu and cpuset cgroups (the service
    /// makes them only for a container created with a CPU limit). Any other
    /// field is refused by name, before anything is written.
    pub fn update(&self, resources: &Value) -> Result<(), String> {
        let mut writes: Vec<(PathBuf, String)> = Vec::new();
        let Some(fields) = resources.as_object() else {
            return Err("resources: not a JSON object".into());
        };
        for (key, value) in fields {
            match key.as_str() {
                "memory" => self.memory_writes(value, &mut writes)?,
                "cpu" => self.cpu_writes(value, &mut writes)?,
                // Sent by CRI and `ctr task update` alike; empty means unchanged.
                "devices" | "hugepageLimits" | "blockIO" | "network" | "rdma" | "unified"
                | "pids"
                    if hcsrun_linux_spec::asks_nothing(value) => {}
                other => {
                    return Err(format!(
                        "linux.resources.{other}: cannot be updated by the hcsrun shim"
                    ))
                }
            }
        }
        for (path, text) in writes {
            fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    }

    fn memory_writes(&self, v: &Value, out: &mut Vec<(PathBuf, String)>) -> Result<(), String> {
        let dir = self.dir("memory").map_err(|e| e.to_string())?;
        let fields = v
            .as_object()
            .ok_or("linux.resources.memory: not an object")?;
        let limit = fields.get("limit").and_then(Value::as_i64);
        let swap = fields.get("swap").and_then(Value::as_i64);
        for (key, value) in fields {
            match key.as_str() {
                "limit" | "swap" => {}
                "reservation" => {
                    if let Some(r) = value.as_i64() {
                        out.push((dir.join("memory.soft_limit_in_bytes"), r.to_string()));
                    }
                }
                "swappiness" => {
                    if let Some(s) = value.as_u64() {
                        out.push((dir.join("memory.swappiness"), s.to_string()));
                    }
                }
                _ if value.is_null() => {}
                other => {
                    return Err(format!(
                        "linux.resources.memory.{other}: cannot be updated by the hcsrun shim"
                    ))
                }
            }
        }
        // memsw must stay >= limit: raise it first when growing, lower it
        // last when shrinking (the service sets both to the same value).
        let memsw = dir.join("memory.memsw.limit_in_bytes");
        let has_memsw = memsw.exists();
        if let Some(limit) = limit {
            let swap = swap.unwrap_or(limit);
            let current: i64 = fs::read_to_string(dir.join("memory.limit_in_bytes"))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(i64::MAX);
            let limit_write = (dir.join("memory.limit_in_bytes"), limit.to_string());
            if has_memsw && (limit > current || limit == -1) {
                out.push((memsw, swap.to_string()));
                out.push(limit_write);
            } else {
                out.push(limit_write);
                if has_memsw {
                    out.push((memsw, swap.to_string()));
                }
            }
        } else if let (Some(swap), true) = (swap, has_memsw) {
            out.push((memsw, swap.to_string()));
        }
        Ok(())
    }

    fn cpu_writes(&self, v: &Value, out: &mut Vec<(PathBuf, String)>) -> Result<(), String> {
        let fields = v.as_object().ok_or("linux.resources.cpu: not an object")?;
        for (key, value) in fields {
            if value.is_null() {
                continue;
            }
            let (controller, file) = match key.as_str() {
                "shares" => ("cpu", "cpu.shares"),
                "quota" => ("cpu", "cpu.cfs_quota_us"),
                "period" => ("cpu", "cpu.cfs_period_us"),
                "cpus" => ("cpuset", "cpuset.cpus"),
                "mems" => ("cpuset", "cpuset.mems"),
                other => {
                    return Err(format!(
                        "linux.resources.cpu.{other}: cannot be updated by the hcsrun shim"
                    ))
                }
            };
            let dir = self
                .dir(controller)
                .map_err(|e| e.to_string())?
                .to_path_buf();
            if !dir.exists() {
                return Err(format!(
                    "linux.resources.cpu.{key}: the container was created without CPU limits, \
                     so it has no {controller} cgroup to update"
                ));
            }
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push((dir.join(file), text));
        }
        Ok(())
    }
}

/// A file of `key value` lines.
fn keyed(path: &Path) -> io::Result<HashMap<String, u64>> {
    Ok(fs::read_to_string(path)?
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect())
}

fn number(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

fn entry(dir: &Path, prefix: &str) -> MemoryEntry {
    let file = |name: &str| dir.join(format!("{prefix}{name}"));
    MemoryEntry {
        limit: number(&file("limit_in_bytes")),
        usage: number(&file("usage_in_bytes")),
        max: number(&file("max_usage_in_bytes")),
        failcnt: number(&file("failcnt")),
        ..Default::default()
    }
}

fn memory_stat(dir: &Path) -> io::Result<MemoryStat> {
    let s = keyed(&dir.join("memory.stat"))?;
    let g = |k: &str| s.get(k).copied().unwrap_or(0);
    Ok(MemoryStat {
        cache: g("cache"),
        rss: g("rss"),
        rss_huge: g("rss_huge"),
        mapped_file: g("mapped_file"),
        dirty: g("dirty"),
        writeback: g("writeback"),
        pg_pg_in: g("pgpgin"),
        pg_pg_out: g("pgpgout"),
        pg_fault: g("pgfault"),
        pg_maj_fault: g("pgmajfault"),
        inactive_anon: g("inactive_anon"),
        active_anon: g("active_anon"),
        inactive_file: g("inactive_file"),
        active_file: g("active_file"),
        unevictable: g("unevictable"),
        hierarchical_memory_limit: g("hierarchical_memory_limit"),
        hierarchical_swap_limit: g("hierarchical_memsw_limit"),
        total_cache: g("total_cache"),
        total_rss: g("total_rss"),
        total_rss_huge: g("total_rss_huge"),
        total_mapped_file: g("total_mapped_file"),
        total_dirty: g("total_dirty"),
        total_writeback: g("total_writeback"),
        total_pg_pg_in: g("total_pgpgin"),
        total_pg_pg_out: g("total_pgpgout"),
        total_pg_fault: g("total_pgfault"),
        total_pg_maj_fault: g("total_pgmajfault"),
        total_inactive_anon: g("total_inactive_anon"),
        total_active_anon: g("total_active_anon"),
        total_inactive_file: g("total_inactive_file"),
        total_active_file: g("total_active_file"),
        total_unevictable: g("total_unevictable"),
        usage: Some(entry(dir, "memory.")).into(),
        swap: Some(entry(dir, "memory.memsw.")).into(),
        kernel: Some(entry(dir, "memory.kmem.")).into(),
        kernel_tcp: Some(entry(dir, "memory.kmem.tcp.")).into(),
        ..Default::default()
    })
}

fn cpu_usage(dir: &Path) -> io::Result<CPUUsage> {
    let total = fs::read_to_string(dir.join("cpuacct.usage"))?
        .trim()
        .parse()
        .unwrap_or(0);
    let per_cpu = fs::read_to_string(dir.join("cpuacct.usage_percpu"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // cpuacct.stat counts USER_HZ ticks; containerd's fields are ns.
    // SAFETY: sysconf has no preconditions.
    let hz = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        t if t > 0 => t as u64,
        _ => 100,
    };
    let stat = keyed(&dir.join("cpuacct.stat")).unwrap_or_default();
    let ns = |k: &str| stat.get(k).copied().unwrap_or(0) * (1_000_000_000 / hz);
    Ok(CPUUsage {
        total,
        kernel: ns("system"),
        user: ns("user"),
        per_cpu,
        ..Default::default()
    })
}

/// `MAJ:MIN Op value` lines.
fn blkio_entries(path: &Path) -> Vec<BlkIOEntry> {
    let Ok(text) = fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, op, value) = (f.next()?, f.next()?, f.next()?);
            let (major, minor) = dev.split_once(':')?;
            Some(BlkIOEntry {
                op: op.to_owned(),
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                value: value.parse().ok()?,
                ..Default::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holders_record_moves_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut mounts = HashMap::new();
        mounts.insert("memory".to_owned(), PathBuf::from("/sys/fs/cgroup/memory"));
        let cg = Cgroups {
            mounts,
            made: "hcsrun-default/c1".into(),
            moved: dir.path().join(CGROUPS_FILE),
        };
        assert_eq!(
            cg.memory_dir().unwrap(),
            Path::new("/sys/fs/cgroup/memory/hcsrun-default/c1")
        );
        fs::write(dir.path().join(CGROUPS_FILE), "default/c1\n").unwrap();
        assert!(cg.is_moved());
        assert_eq!(
            cg.memory_dir().unwrap(),
            Path::new("/sys/fs/cgroup/memory/default/c1")
        );
        // A record that would leave the hierarchy is not followed.
        fs::write(dir.path().join(CGROUPS_FILE), "../x\n").unwrap();
        assert!(!cg.is_moved());
        assert!(cg.dir("pids").is_err());
    }

    #[test]
    fn mountinfo_fields_are_unescaped() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn updates_refuse_what_they_cannot_apply_by_name() {
        let cg = Cgroups {
            mounts: HashMap::new(),
            made: "p/c".into(),
            moved: "/nonexistent/cgroups.path".into(),
        };
        assert!(!cg.is_moved());
        let err = cg
            .update(&serde_json::json!({"pids": {"limit": 5}}))
            .unwrap_err();
        assert_eq!(
            err,
            "linux.resources.pids: cannot be updated by the hcsrun shim"
        );
        // Empty sections are what CRI sends along: nothing to do.
        cg.update(&serde_json::json!({"devices": [], "pids": null}))
            .unwrap();
    }
}
