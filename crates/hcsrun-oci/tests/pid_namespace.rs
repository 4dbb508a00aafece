//! The spec's pid namespace: the caller's own (docker's `--pid host`) or
//! another container's (Kubernetes' shared process namespace), through the
//! binary; and the runtime's hooks stay out of the container's.

mod common;

use std::fs;

use common::*;
use serde_json::json;

fn namespaces(pid: serde_json::Value) -> serde_json::Value {
    let mut list = vec![
        json!({"type": "network"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if !pid.is_null() {
        list.push(pid);
    }
    json!(list)
}

#[test]
#[ignore = "needs root"]
fn the_hosts_pid_namespace_is_shared_and_what_outlives_pid_1_goes_at_delete() {
    let env = Env::new(&["true"]);
    let out = env.out_dir();
    // The program leaves a process behind: with the host's pid namespace
    // nothing ends it when the program exits.
    let mut spec = spec(&["sh", "-c", "echo $$ > /pid; sleep 1000 & echo $! > /left"]);
    spec["linux"]["namespaces"] = namespaces(json!(null));
    spec["hooks"] = json!({"createRuntime": [{"path": "/bin/sh",
        "args": ["sh", "-c", format!("readlink /proc/self/ns/pid > {}/hook.ns", out.display())]}]});
    env.write_spec(spec);
    let pid = env.create("h1");
    assert_eq!(ns(&pid.to_string(), "pid"), ns("self", "pid"));
    assert_eq!(
        fs::read_to_string(out.join("hook.ns")).unwrap().trim(),
        ns("self", "pid").to_str().unwrap()
    );
    env.ok(&["start", "h1"]);
    assert_eq!(reap(pid), 0);
    let rootfs = env.bundle().join("rootfs");
    let seen: i32 = fs::read_to_string(rootfs.join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(seen, pid, "the program sees its host pid");
    let left: i32 = fs::read_to_string(rootfs.join("left"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{left}")).exists());
    assert_eq!(env.state("h1")["status"], "stopped");
    env.ok(&["delete", "h1"]);
    // The leftover was killed; this process (a subreaper) reaps it.
    assert_eq!(reap(left), 128 + 9);
    assert!(!env.root().join("h1").exists());
}

#[test]
#[ignore = "needs root"]
fn a_container_joins_another_containers_pid_namespace() {
    let env = Env::new(&["true"]);
    env.write_spec(spec(&["sleep", "1000"]));
    let first = env.create("a");
    env.ok(&["start", "a"]);
    let path = format!("/proc/{first}/ns/pid");
    let mut spec = spec(&["sh", "-c", "ps -o pid,comm > /ps"]);
    spec["linux"]["namespaces"] = namespaces(json!({"type": "pid", "path": path}));
    env.write_spec(spec);
    let second = env.create("b");
    assert_eq!(
        ns(&second.to_string(), "pid"),
        ns(&first.to_string(), "pid")
    );
    env.ok(&["start", "b"]);
    assert_eq!(reap(second), 0);
    let ps = fs::read_to_string(env.bundle().join("rootfs/ps")).unwrap();
    assert!(
        ps.lines().any(|l| l.split_whitespace().eq(["1", "sleep"])),
        "the first container's pid 1 is visible: {ps}"
    );
    env.ok(&["delete", "b"]);
    env.ok(&["delete", "--force", "a"]);
    reap(first);
}

#[test]
#[ignore = "needs root"]
fn runtime_hooks_run_outside_a_new_pid_namespace() {
    let env = Env::new(&["true"]);
    let out = env.out_dir();
    let hook = |name: &str| {
        json!([{"path": "/bin/sh", "args": ["sh", "-c",
            format!("readlink /proc/self/ns/pid > {}/{name}", out.display())]}])
    };
    let mut spec = spec(&["true"]);
    spec["hooks"] = json!({"prestart": hook("prestart"), "createRuntime": hook("createRuntime"),
        "poststart": hook("poststart"), "poststop": hook("poststop")});
    env.write_spec(spec);
    let run = env.output(&["run", "--bundle", env.bundle().to_str().unwrap(), "r1"]);
    assert_ok(&run, &["run"]);
    for name in ["prestart", "createRuntime", "poststart", "poststop"] {
        let seen = fs::read_to_string(out.join(name)).unwrap();
        assert_eq!(
            seen.trim(),
            ns("self", "pid").to_str().unwrap(),
            "{name} ran in the container's pid namespace"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn cgroups_a_container_makes_below_its_own_go_with_it() {
    let pids = container_pids_dir();
    // docker-in-docker's shape: the program moves itself into a cgroup of
    // its own below the container's, and its child is born there; the
    // container's own cgroup is left with no process.
    let script = format!(
        "mkdir {pids}/sub && echo $$ > {pids}/sub/cgroup.procs && {{ sleep 1000 & }}; wait"
    );
    let env = Env::new(&["true"]);
    let mut spec = spec(&["sh", "-c", &script]);
    spec["mounts"] = json!([{"destination": "/sys/fs/cgroup", "type": "cgroup",
        "source": "cgroup", "options": ["nosuid", "noexec", "nodev"]}]);
    env.write_spec(spec);
    let pid = env.create("s1");
    env.ok(&["start", "s1"]);
    let listed = || -> usize {
        let ps: serde_json::Value =
            serde_json::from_str(&env.ok(&["ps", "--format", "json", "s1"])).unwrap();
        ps.as_array().unwrap().len()
    };
    // Both processes are in the sub-cgroup, and still the container's.
    eventually("pid 1 and its sleep listed", || listed() == 2);
    let sub_exists = hcs_testkit::host::cgroup_mounts()
        .into_iter()
        .any(|m| m.join("hcsrun-oci/s1/sub").exists());
    assert!(sub_exists, "the program made its cgroup");
    env.ok(&["delete", "--force", "s1"]);
    reap(pid);
    for mount in hcs_testkit::host::cgroup_mounts() {
        let dir = mount.join("hcsrun-oci/s1");
        assert!(!dir.exists(), "{} is left", dir.display());
    }
}
