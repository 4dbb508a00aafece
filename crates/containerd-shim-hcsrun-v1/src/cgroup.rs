//! A container's cgroups, read and written from outside through
//! `hcsrun-cgroup`, on cgroup v1 or v2 alike.
//!
//! The Linux compute service puts each system at `<parent>/<id>` (in every
//! v1 hierarchy it uses, or in the unified one); the shim chooses the
//! parent when it builds the service, so it finds the container's cgroups
//! without asking: for containerd's metrics (`stats.rs`), the host pids of
//! the container (`Pids`, `Kill --all`), resource updates (the service
//! cannot change a running system's resources) and OOM events (v1's
//! `memory.oom_control`). A spec's `linux.cgroupsPath` moves them at the
//! first process's start; the holder's record says where, and every call
//! here follows it.
//!
//! Everything here blocks (file systems): callers run it on the blocking
//! pool.

use std::{
    io,
    path::{Path, PathBuf},
};

use hcsrun_cgroup::{Cgroup, Counters, Exact, Hierarchies};
use hcsrun_shim_protocol::record::CGROUPS_FILE;
use serde_json::Value;

/// The cgroups of one container.
#[derive(Clone, Debug)]
pub struct Cgroups {
    cgroup: Cgroup,
}

impl Cgroups {
    /// The cgroups of system `id` under `parent`, in the service's runtime
    /// directory `runtime_dir`; nothing is created.
    pub fn locate(parent: &str, id: &str, runtime_dir: &Path) -> io::Result<Self> {
        Ok(Self {
            cgroup: Cgroup::new(parent, id)?.moved_by(runtime_dir.join(id).join(CGROUPS_FILE)),
        })
    }

    /// True once a spec's `linux.cgroupsPath` has moved them.
    pub fn is_moved(&self) -> bool {
        self.cgroup.is_moved()
    }

    /// The v1 memory cgroup's directory, where it is now (OOM
    /// notifications). cgroup v2 has no `memory.oom_control` to register.
    pub fn memory_dir(&self) -> io::Result<PathBuf> {
        if let Hierarchies::V2(_) = Hierarchies::get()? {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "OOM events are read from cgroup v1's memory.oom_control; this host has cgroup v2",
            ));
        }
        let now = self.cgroup.current();
        now.dir("memory")
            .map(Path::to_path_buf)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no memory cgroup"))
    }

    /// The host pids of the container's processes.
    pub fn procs(&self) -> io::Result<Vec<u32>> {
        Ok(self
            .cgroup
            .pids()?
            .into_iter()
            .filter_map(|p| u32::try_from(p).ok())
            .collect())
    }

    /// Every counter of the container's cgroups, as this host's cgroup
    /// version keeps them.
    pub fn counters(&self) -> io::Result<Counters> {
        self.cgroup.counters()
    }

    /// Applies a `LinuxResources` document (containerd's `Update`): memory
    /// limits always (the container always has a memory cgroup), CPU
    /// settings where the container has cpu and cpuset cgroups (on v1 the
    /// service makes them only for a container created with a CPU limit).
    /// Any other field is refused by name, before anything is written. A
    /// memory limit without a swap limit allows no swap (memory plus swap is
    /// the memory limit), as at creation.
    pub fn update(&self, resources: &Value) -> Result<(), String> {
        let Some(fields) = resources.as_object() else {
            return Err("resources: not a JSON object".into());
        };
        let mut exact = Exact::default();
        let mut needed = Vec::new();
        for (key, value) in fields {
            match key.as_str() {
                "memory" => memory(value, &mut exact)?,
                "cpu" => cpu(value, &mut exact, &mut needed)?,
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
        if exact == Exact::default() {
            return Ok(());
        }
        let now = self.cgroup.current();
        for (key, controller) in needed {
            if now.dir(controller).is_none() {
                return Err(format!(
                    "linux.resources.{key}: the container was created without CPU limits, so it \
                     has no {controller} cgroup to update"
                ));
            }
        }
        now.apply_exact(&exact).map_err(|e| e.to_string())
    }
}

/// The fields of `linux.resources.memory` the shim can change.
fn memory(v: &Value, exact: &mut Exact) -> Result<(), String> {
    let fields = v
        .as_object()
        .ok_or("linux.resources.memory: not an object")?;
    for (key, value) in fields {
        if value.is_null() {
            continue;
        }
        let number = || {
            value
                .as_i64()
                .ok_or_else(|| format!("linux.resources.memory.{key}: not a number"))
        };
        match key.as_str() {
            "limit" => exact.memory_limit = Some(number()?),
            "swap" => exact.memory_swap = Some(number()?),
            "reservation" => exact.memory_reservation = Some(number()?),
            "swappiness" => {
                exact.memory_swappiness = Some(value.as_u64().ok_or_else(|| {
                    format!("linux.resources.memory.{key}: not a non-negative number")
                })?)
            }
            other => {
                return Err(format!(
                    "linux.resources.memory.{other}: cannot be updated by the hcsrun shim"
                ))
            }
        }
    }
    if exact.memory_swap.is_none() {
        exact.memory_swap = exact.memory_limit;
    }
    Ok(())
}

/// The fields of `linux.resources.cpu`, and the cgroup each needs (named
/// after the spec's field).
fn cpu(
    v: &Value,
    exact: &mut Exact,
    needed: &mut Vec<(&'static str, &'static str)>,
) -> Result<(), String> {
    let fields = v.as_object().ok_or("linux.resources.cpu: not an object")?;
    for (key, value) in fields {
        let bad = || format!("linux.resources.cpu.{key}: not a valid value: {value}");
        let (field, controller) = match key.as_str() {
            _ if value.is_null() => continue,
            "shares" => {
                exact.cpu_shares = Some(value.as_u64().ok_or_else(bad)?);
                ("cpu.shares", "cpu")
            }
            "quota" => {
                exact.cpu_quota = Some(value.as_i64().ok_or_else(bad)?);
                ("cpu.quota", "cpu")
            }
            "period" => {
                exact.cpu_period = Some(value.as_u64().ok_or_else(bad)?);
                ("cpu.period", "cpu")
            }
            // An empty set is the spec's "unchanged".
            "cpus" | "mems" => {
                let set = value.as_str().ok_or_else(bad)?;
                if set.is_empty() {
                    continue;
                }
                if key == "cpus" {
                    exact.cpuset_cpus = Some(set.to_owned());
                    ("cpu.cpus", "cpuset")
                } else {
                    exact.cpuset_mems = Some(set.to_owned());
                    ("cpu.mems", "cpuset")
                }
            }
            other => {
                return Err(format!(
                    "linux.resources.cpu.{other}: cannot be updated by the hcsrun shim"
                ))
            }
        };
        needed.push((field, controller));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holders_record_moves_them() {
        let dir = tempfile::tempdir().unwrap();
        let cg = Cgroups::locate("hcsrun-test-parent", "c1", dir.path()).unwrap();
        assert!(!cg.is_moved(), "no record yet");
        std::fs::create_dir(dir.path().join("c1")).unwrap();
        let record = dir.path().join("c1").join(CGROUPS_FILE);
        std::fs::write(&record, "hcsrun-test-parent/c1\n").unwrap();
        assert!(!cg.is_moved(), "recorded where it was made");
        std::fs::write(&record, "default/c1\n").unwrap();
        assert!(cg.is_moved());
        // A record that would leave the hierarchy is not followed.
        std::fs::write(&record, "../x\n").unwrap();
        assert!(!cg.is_moved());
    }

    #[test]
    fn updates_refuse_what_they_cannot_apply_by_name() {
        let cg = Cgroups::locate("hcsrun-test-parent", "c1", Path::new("/nonexistent")).unwrap();
        let err = cg
            .update(&serde_json::json!({"pids": {"limit": 5}}))
            .unwrap_err();
        assert_eq!(
            err,
            "linux.resources.pids: cannot be updated by the hcsrun shim"
        );
        let err = cg
            .update(&serde_json::json!({"memory": {"kernel": 5}}))
            .unwrap_err();
        assert_eq!(
            err,
            "linux.resources.memory.kernel: cannot be updated by the hcsrun shim"
        );
        // Empty sections are what CRI sends along: nothing to do.
        cg.update(&serde_json::json!({"devices": [], "pids": null, "cpu": {"cpus": ""}}))
            .unwrap();
    }

    #[test]
    fn a_memory_limit_alone_allows_no_swap() {
        let mut e = Exact::default();
        memory(
            &serde_json::json!({"limit": 1024, "reservation": null}),
            &mut e,
        )
        .unwrap();
        assert_eq!((e.memory_limit, e.memory_swap), (Some(1024), Some(1024)));
        let mut e = Exact::default();
        memory(&serde_json::json!({"limit": 1024, "swap": 4096}), &mut e).unwrap();
        assert_eq!((e.memory_limit, e.memory_swap), (Some(1024), Some(4096)));
    }

    #[test]
    fn cpu_fields_name_the_cgroup_they_need() {
        let (mut e, mut needed) = (Exact::default(), Vec::new());
        cpu(
            &serde_json::json!({"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": ""}),
            &mut e,
            &mut needed,
        )
        .unwrap();
        assert_eq!(e.cpu_shares, Some(512));
        assert_eq!(e.cpu_quota, Some(50000));
        assert_eq!(e.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(e.cpuset_mems, None);
        assert!(needed.contains(&("cpu.cpus", "cpuset")));
        assert!(needed.contains(&("cpu.shares", "cpu")));
        let err = cpu(&serde_json::json!({"shares": "x"}), &mut e, &mut needed).unwrap_err();
        assert!(err.starts_with("linux.resources.cpu.shares"), "{err}");
    }
}
