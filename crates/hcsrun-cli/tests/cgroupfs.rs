//! `/sys/fs/cgroup` inside a container of `hcsrun run`: its own cgroups,
//! with its limits, read-only unless `--privileged`, and nothing of the
//! host's or other containers'. Needs root.

mod common;

use std::path::Path;

use common::output;
use hcs_testkit::require_root;

/// The container's stdout for `hcsrun run FLAGS -- sh -c SCRIPT`.
fn run_sh(flags: &[&str], script: &str) -> String {
    let mut args = vec!["run"];
    args.extend(flags);
    args.extend(["--", "sh", "-c", script]);
    output(&args)
}

/// The host's layout: the cgroup v2 unified hierarchy alone, or v1.
fn unified() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

#[test]
#[ignore = "needs root"]
fn sys_fs_cgroup_is_the_containers_own_and_read_only() {
    require_root();
    let (memory, pids) = if unified() {
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup")
    } else {
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/pids",
        )
    };
    // Its limits; its processes only (this shell, pid 1, and `wc`); no
    // cgroup of hcsrun's (other containers) below; nothing writable; no
    // mount shared with the host's (a mount below would appear there).
    let script = format!(
        "cat {memory} {pids}/pids.max; wc -l < {pids}/cgroup.procs; \
         grep -cx 1 {pids}/cgroup.procs; ls {pids} | grep -c hcsrun; \
         touch {pids}/x 2>/dev/null && echo rw || echo ro; \
         mkdir {pids}/sub 2>/dev/null && echo rw || echo ro; \
         grep ' /sys/fs/cgroup' /proc/self/mountinfo | grep -c shared: || true"
    );
    assert_eq!(
        run_sh(&["--memory", "64m", "--pids-limit", "77"], &script),
        "67108864\n77\n2\n1\n0\nro\nro\n0\n"
    );
}

#[test]
#[ignore = "needs root"]
fn privileged_containers_may_make_cgroups_below_their_own() {
    require_root();
    let pids = if unified() {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/pids"
    };
    let script = format!("mkdir {pids}/sub && rmdir {pids}/sub && echo rw");
    assert_eq!(run_sh(&["--privileged"], &script), "rw\n");
}

#[test]
#[ignore = "needs root"]
fn hierarchies_keep_the_hosts_names_and_show_cpu_limits() {
    require_root();
    if unified() {
        assert_eq!(
            run_sh(&["--cpus", "0.5"], "cat /sys/fs/cgroup/cpu.max"),
            "50000 100000\n"
        );
        return;
    }
    // Each hierarchy the container is in has the host's directory name,
    // and each controller of a co-mounted one a link to it, as on the
    // host (`cpu -> cpu,cpuacct`). With CPU limits it is in every one.
    let mut host: Vec<String> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let ours = [
                "cpu", "cpuacct", "cpuset", "memory", "blkio", "freezer", "pids", "devices",
            ];
            n.split(',').any(|part| ours.contains(&part))
        })
        .collect();
    host.sort();
    let listed = run_sh(&["--cpus", "0.5", "--cpu-count", "1"], "ls /sys/fs/cgroup");
    let mut inside: Vec<&str> = listed.lines().collect();
    inside.sort();
    assert_eq!(inside, host);
    assert_eq!(
        run_sh(
            &["--cpus", "0.5"],
            "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
        ),
        "50000\n"
    );
}

/// Makes a host mount shared for a test's while, private again after.
struct SharedForAWhile(&'static str);

impl SharedForAWhile {
    fn make(path: &'static str) -> Self {
        let made = std::process::Command::new("mount")
            .args(["--make-shared", path])
            .status()
            .unwrap();
        assert!(made.success(), "mount --make-shared {path}");
        Self(path)
    }
}

impl Drop for SharedForAWhile {
    fn drop(&mut self) {
        let _ = std::process::Command::new("mount")
            .args(["--make-private", self.0])
            .status();
    }
}

#[test]
#[ignore = "needs root"]
fn the_view_is_private_even_where_the_hosts_cgroups_are_shared() {
    require_root();
    // systemd mounts /sys/fs/cgroup shared; a clone of it would join the
    // host's peer group, and a mount below it in the container would
    // appear on the host.
    let host = if unified() {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/pids"
    };
    if !std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(host))
    {
        panic!("{host} is not a mount point on this host");
    }
    let _shared = SharedForAWhile::make(host);
    assert_eq!(
        run_sh(
            &[],
            "grep ' /sys/fs/cgroup' /proc/self/mountinfo | grep -c shared: || true"
        ),
        "0\n"
    );
}
