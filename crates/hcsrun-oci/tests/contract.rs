//! runc's contract, through the binary, as conmon or containerd's shim
//! drive it: the test process is a subreaper and reaps the pid-file
//! process itself.

mod common;

use std::fs;

use common::*;

#[test]
#[ignore = "needs root"]
fn create_start_state_kill_delete() {
    let env = Env::new(&["sleep", "1000"]);
    let pid = env.create("c1");
    let p = pid.to_string();
    // Pid 1 as the host sees it, in the container's namespaces, parked
    // before the user's program.
    for name in ["pid", "mnt", "net", "uts", "ipc"] {
        assert_ne!(ns(&p, name), ns("self", name), "{name} namespace");
    }
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_ne!(comm.trim(), "sleep", "the user's program ran before start");
    let nspid = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = nspid.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert!(nspid.ends_with("\t1"), "{nspid}");
    let state = env.state("c1");
    assert_eq!(state["status"], "created");
    assert_eq!(state["pid"], pid);
    assert_eq!(state["id"], "c1");
    assert_eq!(state["ociVersion"], "1.0.2");
    assert_eq!(state["bundle"], env.bundle().to_str().unwrap());

    env.ok(&["start", "c1"]);
    eventually("sleep runs", || {
        fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    assert_eq!(env.state("c1")["status"], "running");
    // A running container is not deleted without --force.
    let out = env.output(&["delete", "c1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not stopped"));

    env.ok(&["kill", "c1", "KILL"]);
    assert_eq!(
        reap(pid),
        128 + 9,
        "the caller reaps pid 1 and sees SIGKILL"
    );
    assert_eq!(env.state("c1")["status"], "stopped");
    env.ok(&["delete", "c1"]);
    assert!(!env.root().join("c1").exists());
    let out = env.output(&["state", "c1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
#[ignore = "needs root"]
fn the_process_is_pid_1_with_the_callers_stdio_and_its_exit_code() {
    let env = Env::new(&["sh", "-c", "echo $$; echo err >&2; exit 7"]);
    let out = env
        .cmd(&["run", "--bundle", env.bundle().to_str().unwrap(), "r1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("err"));
    assert!(!env.root().join("r1").exists(), "run deletes the container");

    // create + start: the pid file's process exits with the code, reaped
    // by the caller.
    let pid = env.create("r2");
    env.ok(&["start", "r2"]);
    assert_eq!(reap(pid), 7);
    env.ok(&["delete", "r2"]);
}

#[test]
#[ignore = "needs root"]
fn exec_with_process_file_detach_and_pid_file() {
    let env = Env::new(&["sleep", "1000"]);
    let pid = env.create("e1");
    env.ok(&["start", "e1"]);
    let process = env.dir.path().join("process.json");
    fs::write(
        &process,
        serde_json::json!({
            "args": ["sh", "-c", "read x < /proc/self/stat; exit 4"],
            "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}
        })
        .to_string(),
    )
    .unwrap();
    let pid_file = env.dir.path().join("exec.pid");
    env.ok(&[
        "exec",
        "--process",
        process.to_str().unwrap(),
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "e1",
    ]);
    let exec_pid: i32 = fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(reap(exec_pid), 4, "the caller reaps the exec'd process");

    // In the foreground: the process's own exit code, its namespaces
    // pid 1's.
    let out = env.output(&["exec", "e1", "sh", "-c", "hostname; exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "oci-test\n");

    let ps: Vec<i32> = serde_json::from_str(&env.ok(&["ps", "--format", "json", "e1"])).unwrap();
    assert!(ps.contains(&pid), "{ps:?} lacks {pid}");

    env.ok(&["delete", "--force", "e1"]);
    assert_eq!(reap(pid), 128 + 9);
}

#[test]
#[ignore = "needs root"]
fn pause_resume_update_and_stats() {
    let mut spec = spec(&["sleep", "1000"]);
    spec["linux"]["resources"] = serde_json::json!({"pids": {"limit": 50}});
    let env = Env::new(&["true"]);
    env.write_spec(spec);
    let pid = env.create("p1");
    env.ok(&["start", "p1"]);
    env.ok(&["pause", "p1"]);
    assert_eq!(env.state("p1")["status"], "paused");
    env.ok(&["resume", "p1"]);
    assert_eq!(env.state("p1")["status"], "running");

    let pids_max = hcs_testkit::host::cgroup_mounts()
        .into_iter()
        .map(|m| m.join("hcsrun-oci/p1/pids.max"))
        .find(|f| f.exists())
        .expect("the container's pids cgroup");
    assert_eq!(fs::read_to_string(&pids_max).unwrap().trim(), "50");
    env.ok(&["update", "--pids-limit", "20", "p1"]);
    assert_eq!(fs::read_to_string(&pids_max).unwrap().trim(), "20");

    let stats: serde_json::Value =
        serde_json::from_str(&env.ok(&["events", "--stats", "p1"])).unwrap();
    assert_eq!(stats["type"], "stats");
    assert_eq!(stats["data"]["pids"]["current"], 1);
    assert_eq!(stats["data"]["pids"]["limit"], 20);
    assert!(stats["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0);

    env.ok(&["delete", "--force", "p1"]);
    reap(pid);
    assert!(!pids_max.exists(), "delete removes the cgroups");
}

#[test]
#[ignore = "needs root"]
fn block_io_weight_and_throttles_are_written_and_docker_zero_weight_is_none() {
    let env = Env::new(&["true"]);
    let mut spec = spec(&["true"]);
    // A loop device exists on every machine these tests run on.
    spec["linux"]["resources"] = serde_json::json!({"blockIO": {"weight": 500,
        "throttleReadBpsDevice": [{"major": 7, "minor": 0, "rate": 1048576}]}});
    env.write_spec(spec.clone());
    let pid = env.create("b1");
    let dir = hcs_testkit::host::cgroup_mounts()
        .into_iter()
        .flat_map(|m| [m.join("hcsrun-oci/b1"), m.join("blkio/hcsrun-oci/b1")])
        .find(|d| d.join("blkio.throttle.read_bps_device").exists() || d.join("io.max").exists())
        .expect("the container's blkio (or io) cgroup");
    let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap_or_default();
    let throttle = read("blkio.throttle.read_bps_device") + &read("io.max");
    assert!(
        throttle.contains("7:0 ") && throttle.contains("1048576"),
        "{throttle:?}"
    );
    let weight_file = [
        "blkio.bfq.weight",
        "blkio.weight",
        "io.bfq.weight",
        "io.weight",
    ]
    .into_iter()
    .find(|f| dir.join(f).exists());
    if let Some(file) = weight_file {
        // io.weight has its own range, into which 500 is converted.
        let want = if file == "io.weight" { "4545" } else { "500" };
        assert!(read(file).contains(want), "{file}: {:?}", read(file));
    }
    env.ok(&["delete", "--force", "b1"]);
    reap(pid);

    // Docker always sends a weight, 0 when the user asked for none.
    spec["linux"]["resources"] = serde_json::json!({"blockIO": {"weight": 0}});
    env.write_spec(spec);
    let pid = env.create("b2");
    env.ok(&["delete", "--force", "b2"]);
    reap(pid);
}

#[test]
#[ignore = "needs root"]
fn a_capability_the_runtime_lacks_is_named() {
    use std::os::unix::process::CommandExt;
    /// Its number (linux/capability.h): one nothing here needs.
    const CAP_WAKE_ALARM: libc::c_ulong = 35;
    let env = Env::new(&["true"]);
    let mut spec = spec(&["true"]);
    spec["process"]["capabilities"] = serde_json::json!({
        "bounding": ["CAP_WAKE_ALARM"], "effective": ["CAP_WAKE_ALARM"],
        "permitted": ["CAP_WAKE_ALARM"]});
    env.write_spec(spec);
    let mut cmd = env.cmd(&["run", "--bundle", env.bundle().to_str().unwrap(), "k1"]);
    // SAFETY: a prctl between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_CAPBSET_DROP, CAP_WAKE_ALARM, 0, 0, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("CAP_WAKE_ALARM not held by the runtime itself"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs root"]
fn errors_name_the_container_and_reach_the_json_log() {
    let env = Env::new(&["no-such-program"]);
    let log = env.dir.path().join("log.json");
    let out = env.output(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        env.bundle().to_str().unwrap(),
        "bad",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad") && stderr.contains("no-such-program"),
        "{stderr}"
    );
    let line = fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["msg"].as_str().unwrap().contains("no-such-program"));
    assert!(last["time"].is_string());
    assert!(
        !env.root().join("bad").exists(),
        "a failed create leaves nothing"
    );

    let out = Command::new(OCI).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("runc version "));
    let out = Command::new(OCI)
        .args(["--systemd-cgroup", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cgroupfs"));
}

use std::process::Command;

#[test]
#[ignore = "needs root"]
fn list_kill_by_name_exec_flags_spec_and_features() {
    let env = Env::new(&["sleep", "1000"]);
    let pid = env.create("l1");
    env.ok(&["start", "l1"]);
    assert_eq!(env.ok(&["list", "-q"]), "l1\n");
    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["list", "--format", "json"])).unwrap();
    assert_eq!(list[0]["id"], "l1");
    assert_eq!(list[0]["status"], "running");
    assert!(env.ok(&["list"]).starts_with("ID\tPID\tSTATUS"));

    // runc's exec flags: the environment added to init's, a user, a cwd.
    let out = env.output(&[
        "exec",
        "--env",
        "EXTRA=yes",
        "--user",
        "1000:1000",
        "--cwd",
        "/tmp",
        "l1",
        "sh",
        "-c",
        "echo $EXTRA $PATH $(id -u):$(id -g) $(pwd)",
    ]);
    assert_ok(&out, &["exec"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "yes /bin 1000:1000 /tmp\n"
    );

    // A signal by name, to every process of the container.
    env.ok(&["kill", "--all", "l1", "SIGKILL"]);
    assert_eq!(reap(pid), 128 + 9);
    let out = env.output(&["kill", "l1", "TERM"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running"));
    env.ok(&["delete", "l1"]);

    // spec writes a bundle's config.json that hcsrun-oci reads back.
    let bundle = env.dir.path().join("spec");
    fs::create_dir_all(&bundle).unwrap();
    env.ok(&["spec", "--bundle", bundle.to_str().unwrap()]);
    let spec = hcsrun_linux_spec_from(&bundle.join("config.json"));
    assert_eq!(spec["process"]["terminal"], true);
    assert!(!env
        .output(&["spec", "--bundle", bundle.to_str().unwrap()])
        .status
        .success());
    let features: serde_json::Value = serde_json::from_str(&env.ok(&["features"])).unwrap();
    assert_eq!(features["linux"]["cgroup"]["systemd"], false);
    assert!(features["hooks"]
        .as_array()
        .unwrap()
        .contains(&"poststop".into()));
    let out = env.output(&["checkpoint", "l1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not supported"));
}

fn hcsrun_linux_spec_from(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}
