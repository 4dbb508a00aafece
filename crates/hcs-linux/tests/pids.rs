//! The pids cgroup: every system has one, a Linux spec's
//! `linux.resources.pids.limit` is in force before its first process runs,
//! and a fork bomb under it (and a memory limit) stays inside, while the
//! holder, outside the container's accounting, survives to report the end.
//! A spec's `linux.cgroupsPath` moves the system's cgroups there, and the
//! service reads them there.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use std::{fs, path::PathBuf, time::Duration};

use hcs_testkit::{host::parent_of, linux, process::*, require_root, rootfs, Fixture, ServiceKind};
use serde_json::json;

/// The system's pids cgroup (v1's pids hierarchy, or the unified one).
fn pids_cgroup(fx: &Fixture, id: &str) -> PathBuf {
    fx.sandbox
        .cgroups_of(id)
        .into_iter()
        .find(|d| d.join("pids.max").exists())
        .expect("the system has a pids cgroup")
}

fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, r)| !r.starts_with('Z') && !r.starts_with('X'))
    })
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_fork_bomb_stays_under_its_limits_and_the_holder_reports_the_end() {
    require_root();
    let id = "forkbomb";
    let fx = Fixture::new(id, ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    // Pid 1 lights the bomb and keeps busy: the container lives until
    // it is killed.
    let bomb = "f() { f | f & }; f 2>/dev/null; while :; do :; done";
    let mut spec = linux::spec(&root, json!({"args": ["/bin/sh", "-c", bomb], "cwd": "/"}));
    spec["linux"]["resources"] = json!({
        "pids": {"limit": 50},
        "memory": {"limit": 64 << 20}
    });
    let mut config = linux::config(&fx, id, &root);
    config.memory_maximum_in_mb = 64;
    let system = fx.start_parked(id, &config).await;
    let cgroup = pids_cgroup(&fx, id);
    assert_eq!(
        fs::read_to_string(cgroup.join("pids.max")).unwrap(),
        "max\n"
    );
    let init = system.create_process(&linux::init(&spec)).await.unwrap();
    let init_host = init.host_pid().unwrap();
    let holder = parent_of(init_host).unwrap();
    assert_eq!(
        fs::read_to_string(cgroup.join("pids.max")).unwrap(),
        "50\n",
        "the spec's limit, in force before its first process ran"
    );

    // The bomb hits the limit: the kernel refuses forks, and counts them.
    let refused = |cgroup: &PathBuf| {
        fs::read_to_string(cgroup.join("pids.events"))
            .ok()
            .and_then(|t| t.trim().strip_prefix("max ")?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(
        eventually(Duration::from_secs(10), || refused(&cgroup) > 0).await,
        "no fork was refused"
    );
    let current: u64 = fs::read_to_string(cgroup.join("pids.current"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(current <= 50, "{current} tasks");
    assert!(
        alive(holder),
        "the holder is outside the container's limits"
    );

    // Killed: the holder reaps everything and reports the exit (a lost
    // holder fails the wait with SystemLost).
    init.close().await.unwrap();
    fx.remove(system).await;
    assert!(
        eventually(Duration::from_secs(5), || !alive(init_host)
            && !alive(holder))
        .await,
        "nothing left running"
    );
    assert!(
        fx.sandbox.cgroups_of(id).is_empty(),
        "no cgroup left: {:?}",
        fx.sandbox.cgroups_of(id)
    );
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_specs_cgroups_path_holds_the_system_and_its_statistics() {
    require_root();
    let id = "cgpath";
    let fx = Fixture::new(id, ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    // Under a parent of the test's own, so that nothing else is touched.
    let rel = fx.sandbox.spec_cgroups_path(id);
    let mut spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", "cat /proc/self/cgroup; exec sleep 100"], "cwd": "/"}),
    );
    spec["linux"]["cgroupsPath"] = json!(format!("/{rel}"));
    spec["linux"]["resources"] = json!({"pids": {"limit": 20}});
    let mut config = linux::config(&fx, id, &root);
    config.memory_maximum_in_mb = 64;
    let system = fx.start_parked(id, &config).await;
    let init = system.create_process(&linux::init(&spec)).await.unwrap();
    let init_host = init.host_pid().unwrap();
    let cgroup = fs::read_to_string(format!("/proc/{init_host}/cgroup")).unwrap();
    for line in limit_lines(&cgroup) {
        assert!(line.ends_with(&format!(":/{rel}")), "{line}\n{cgroup}");
    }
    assert!(
        fx.sandbox.cgroups_of(id).is_empty(),
        "the old ones are gone"
    );
    let mounts = hcs_testkit::host::cgroup_mounts();
    let custom: Vec<PathBuf> = mounts
        .iter()
        .map(|m| m.join(&rel))
        .filter(|d| d.exists())
        .collect();
    let pids_max = custom
        .iter()
        .find_map(|d| fs::read_to_string(d.join("pids.max")).ok());
    assert_eq!(pids_max.as_deref(), Some("20\n"));
    let memory = custom
        .iter()
        .find_map(|d| fs::read_to_string(d.join("memory.limit_in_bytes")).ok());
    if let Some(memory) = memory {
        assert_eq!(memory, "67108864\n", "the service's limit, copied");
    }
    // The service reads statistics and the process list from there.
    let stats = system.statistics().await.unwrap();
    assert!(stats.memory.usage_commit_bytes > 0, "{stats:?}");
    system.pause().await.unwrap();
    system.resume().await.unwrap();
    init.close().await.unwrap();
    fx.remove(system).await;
    assert!(
        eventually(Duration::from_secs(5), || custom
            .iter()
            .all(|d| !d.exists()))
        .await,
        "removed: {custom:?}"
    );
}

/// A first process that fails after the spec's `cgroupsPath` was made (a
/// network namespace path that does not exist), asked for again: pid 1
/// still joins the new cgroups, on cgroup v1 by itself when the process
/// is handed to it, and the old ones go.
#[tokio::test]
#[ignore = "needs root"]
async fn a_first_process_asked_again_after_a_failure_still_joins_the_specs_cgroups() {
    require_root();
    let id = "cgretry";
    let fx = Fixture::new(id, ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    let rel = fx.sandbox.spec_cgroups_path(id);
    let mut spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", "exec sleep 100"], "cwd": "/"}),
    );
    spec["linux"]["cgroupsPath"] = json!(format!("/{rel}"));
    let mut failing = spec.clone();
    let namespaces = failing["linux"]["namespaces"].as_array_mut().unwrap();
    namespaces.retain(|n| n["type"] != "network");
    namespaces.push(json!({"type": "network", "path": "/nonexistent/netns"}));
    let config = linux::config(&fx, id, &root);
    let system = fx.start_parked(id, &config).await;
    let error = system
        .create_process(&linux::init(&failing))
        .await
        .err()
        .expect("a network namespace that does not exist");
    assert!(error.to_string().contains("/nonexistent/netns"), "{error}");
    let init = system.create_process(&linux::init(&spec)).await.unwrap();
    let init_host = init.host_pid().unwrap();
    let cgroup = fs::read_to_string(format!("/proc/{init_host}/cgroup")).unwrap();
    let joined = limit_lines(&cgroup);
    assert!(!joined.is_empty(), "{cgroup}");
    for line in joined {
        assert!(line.ends_with(&format!(":/{rel}")), "{line}\n{cgroup}");
    }
    assert!(
        fx.sandbox.cgroups_of(id).is_empty(),
        "the old ones are gone: {:?}",
        fx.sandbox.cgroups_of(id)
    );
    init.close().await.unwrap();
    fx.remove(system).await;
}

/// The lines of a `/proc/PID/cgroup` of the hierarchies that hold limits
/// and state: memory, pids, freezer, devices.
fn limit_lines(cgroup: &str) -> Vec<&str> {
    cgroup
        .lines()
        .filter(|l| {
            ["memory", "pids", "freezer", "devices"].iter().any(|c| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|cs| cs.split(',').any(|x| x == *c))
            })
        })
        .collect()
}
