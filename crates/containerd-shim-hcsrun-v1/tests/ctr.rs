//! `ctr` against a private containerd 1.6 with the shim on its PATH: every
//! task call containerd makes for `ctr run`, `ctr task ...` and `ctr events`.

mod common;

use std::{
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use common::{assert_refused, stderr, stdout, Containerd, IMAGE, RUNTIME};

#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn run_reports_the_exit_code_and_the_output() {
    let ctd = Containerd::start();
    let out = ctd.run("r1", &["sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(stdout(&out), "out\n");
    assert!(stderr(&out).contains("err\n"), "{}", stderr(&out));
    // stdin reaches the process and its end is the process's end of file.
    let mut child = ctd
        .ctr_command(&[
            "run",
            "--rm",
            "--runtime",
            RUNTIME,
            IMAGE,
            "r2",
            "sh",
            "-c",
            "wc -l",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"a\nb\nc\n").unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "3");
    // A spec the shim cannot honour fails Create, naming the field, and
    // leaves nothing behind.
    let out = ctd.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        "--rdt-class",
        "x",
        IMAGE,
        "r3",
        "true",
    ]);
    assert_refused(&out, "linux.intelRdt: not supported");
    assert!(ctd.task("r3").is_none());
}

#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn exec_pause_resume_metrics_pids_and_kill() {
    let ctd = Containerd::start();
    ctd.run_detached(
        "c1",
        &["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
    );
    let (pid, status) = ctd.task("c1").unwrap();
    assert_eq!(status, "RUNNING");
    assert!(pid > 1, "the init's host pid: {pid}");

    let out = ctd.ctr_ok(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "c1",
        "sh",
        "-c",
        "echo in $(hostname)",
    ]);
    assert!(out.starts_with("in "), "{out}");
    let out = ctd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e2",
        "c1",
        "sh",
        "-c",
        "exit 4",
    ]);
    assert_eq!(out.status.code(), Some(4));

    ctd.ctr_ok(&["task", "pause", "c1"]);
    assert_eq!(ctd.task("c1").unwrap().1, "PAUSED");
    let frozen = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        frozen.contains("State:\tS") || frozen.contains("State:\tD"),
        "{frozen}"
    );
    ctd.ctr_ok(&["task", "resume", "c1"]);
    assert_eq!(ctd.task("c1").unwrap().1, "RUNNING");

    let metrics = ctd.ctr_ok(&["task", "metrics", "c1"]);
    for key in ["memory.usage_in_bytes", "cpuacct.usage", "pids.current"] {
        assert!(metrics.contains(key), "{metrics}");
    }
    let usage: u64 = metrics
        .lines()
        .find(|l| l.starts_with("memory.usage_in_bytes"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap();
    assert!(usage > 0, "{metrics}");
    let json = ctd.ctr_ok(&["task", "metrics", "--format", "json", "c1"]);
    assert!(json.contains("\"memory\""), "{json}");

    let ps = ctd.ctr_ok(&["task", "ps", "c1"]);
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().next() == Some(&pid.to_string())),
        "{ps}"
    );

    // Its pid 1 ignores SIGTERM (the kernel shields a pid 1 from signals
    // it does not handle); SIGKILL ends it.
    ctd.ctr_ok(&["task", "kill", "c1"]);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(ctd.task("c1").unwrap().1, "RUNNING");
    ctd.ctr_ok(&["task", "kill", "-s", "9", "c1"]);
    ctd.wait_status("c1", "STOPPED");
    let out = ctd.ctr(&["task", "kill", "-s", "9", "c1"]);
    assert!(!out.status.success(), "a finished process cannot be killed");
    ctd.ctr_ok(&["task", "rm", "c1"]);
    ctd.ctr_ok(&["container", "rm", "c1"]);

    // kill --all reaches every process of the container.
    ctd.run_detached("c2", &["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    thread::sleep(Duration::from_millis(200));
    let pids = ctd.ctr_ok(&["task", "ps", "c2"]);
    assert_eq!(pids.lines().count(), 4, "{pids}");
    ctd.ctr_ok(&["task", "kill", "-a", "-s", "9", "c2"]);
    ctd.wait_status("c2", "STOPPED");

    // Checkpoints are not supported, clearly.
    ctd.run_detached("c3", &["sleep", "100"]);
    let out = ctd.ctr(&["task", "checkpoint", "c3"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not supported") || stderr(&out).contains("not implemented"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn a_terminal_is_a_usable_shell() {
    let ctd = Containerd::start();
    let cmd = format!(
        "ctr --address {} --namespace {} run --rm -t --runtime {RUNTIME} {IMAGE} t1 sh",
        ctd.socket().display(),
        ctd.ns
    );
    // `script` gives ctr a terminal of its own.
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        b"stty cols 77 rows 11; tty; stty size; exit 5\n",
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = stdout(&out);
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("11 77"), "{text}");
    assert_eq!(out.status.code(), Some(5), "{text}");

    // An exec'd process gets a terminal too.
    ctd.run_detached("t2", &["sleep", "100"]);
    let cmd = format!(
        "ctr --address {} --namespace {} task exec -t --exec-id x t2 sh -c 'tty; exit 6'",
        ctd.socket().display(),
        ctd.ns
    );
    let out = on_a_terminal(&cmd);
    assert!(stdout(&out).contains("/dev/pts/"), "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(6));

    // ctr sizes the container's console as its own (ResizePty).
    let cmd = format!(
        "stty rows 22 cols 77; ctr --address {} --namespace {} run --rm -t --runtime {RUNTIME} \
         {IMAGE} t3 sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do \
         [ \"$(stty size)\" = \"22 77\" ] && break; sleep 0.2; done; stty size'",
        ctd.socket().display(),
        ctd.ns
    );
    let out = on_a_terminal(&cmd);
    assert!(stdout(&out).contains("22 77"), "{}", stdout(&out));
}

/// Runs the shell command `cmd` on a terminal of its own (`script`'s).
fn on_a_terminal(cmd: &str) -> std::process::Output {
    Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn events_are_published_in_order() {
    let ctd = Containerd::start();
    let mut events = ctd
        .ctr_command(&["events"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    ctd.run_detached("ev", &["sleep", "100"]);
    ctd.ctr_ok(&["task", "exec", "--exec-id", "x1", "ev", "true"]);
    ctd.ctr_ok(&["task", "pause", "ev"]);
    ctd.ctr_ok(&["task", "resume", "ev"]);
    ctd.ctr_ok(&["task", "kill", "-s", "9", "ev"]);
    ctd.wait_status("ev", "STOPPED");
    ctd.ctr_ok(&["task", "rm", "ev"]);
    // The memory limit kills: TaskOOM, then the exit.
    let out = ctd.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        "--memory-limit",
        "16777216",
        IMAGE,
        "oom",
        "sh",
        "-c",
        "x=a; while true; do x=$x$x; done",
    ]);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    thread::sleep(Duration::from_millis(500));
    let _ = events.kill();
    let text = stdout(&events.wait_with_output().unwrap());
    let topics: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| {
            let topic = l.split_whitespace().find(|w| w.starts_with("/tasks/"))?;
            let id = if l.contains("\"container_id\":\"oom\"") {
                "oom"
            } else {
                "ev"
            };
            Some((id, topic))
        })
        .collect();
    let ev: Vec<&str> = topics.iter().filter(|t| t.0 == "ev").map(|t| t.1).collect();
    assert_eq!(
        ev,
        [
            "/tasks/create",
            "/tasks/start",
            "/tasks/exec-added",
            "/tasks/exec-started",
            "/tasks/exit",
            "/tasks/paused",
            "/tasks/resumed",
            "/tasks/exit",
            "/tasks/delete"
        ],
        "{text}"
    );
    let oom: Vec<&str> = topics
        .iter()
        .filter(|t| t.0 == "oom")
        .map(|t| t.1)
        .collect();
    assert_eq!(
        oom,
        [
            "/tasks/create",
            "/tasks/start",
            "/tasks/oom",
            "/tasks/exit",
            "/tasks/delete"
        ],
        "{text}"
    );
    // The init's exit says its code, its pid and when (exactly once).
    let exit = text
        .lines()
        .find(|l| l.contains("/tasks/exit") && l.contains("\"id\":\"ev\""))
        .unwrap();
    assert!(
        exit.contains("\"exit_status\":137") && exit.contains("exited_at"),
        "{exit}"
    );
}

/// A spec's network namespace (the host's with `--net-host`, one at a path
/// with `--with-ns`) is the container's, never one of its own instead (the
/// shim fails `Start` naming the field if a service made one).
#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn spec_namespaces_are_joined() {
    let ctd = Containerd::start();
    let name = format!("hcsrun-test-{}", std::process::id());
    let netns = format!("/var/run/netns/{name}");
    assert!(Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap()
        .success());
    struct Del(String);
    impl Drop for Del {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _del = Del(name);
    let inode = |path: &str| {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap()).to_string()
    };
    let with_ns = format!("network:{netns}");
    for (id, flags, wanted) in [
        ("n1", vec!["--with-ns", with_ns.as_str()], inode(&netns)),
        ("n2", vec!["--net-host"], inode("/proc/self/ns/net")),
    ] {
        let mut args = vec!["run", "--rm", "--runtime", RUNTIME];
        args.extend(flags);
        args.extend([IMAGE, id, "readlink", "/proc/self/ns/net"]);
        let out = ctd.ctr(&args);
        assert!(out.status.success(), "{id}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), format!("net:[{wanted}]"), "{id}");
    }
    // A pid namespace to join: the holder starts pid 1 in a new one, so
    // the shim refuses it by name rather than run the task elsewhere.
    let out = ctd.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        "--with-ns",
        "pid:/proc/1/ns/pid",
        IMAGE,
        "n3",
        "true",
    ]);
    assert_refused(&out, "linux.namespaces");
    let _ = ctd.ctr(&["container", "rm", "n3"]);
    assert_eq!(ctd.leftover_mounts(), Vec::<String>::new());
    assert_eq!(ctd.leftover_cgroups(), Vec::<std::path::PathBuf>::new());
}

/// The spec's memory and CPU limits (`ctr run --memory-limit --cpus
/// --cpu-shares`) are the container's cgroup limits.
#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn limits_are_the_containers_cgroup_limits() {
    let ctd = Containerd::start();
    let mut args = vec!["run", "-d", "--runtime", RUNTIME];
    args.extend([
        "--memory-limit",
        "33554432",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
    ]);
    args.extend([IMAGE, "lim", "sleep", "100"]);
    ctd.ctr_ok(&args);
    let read = |controller: &str, file: &str| {
        let dir = ctd
            .cgroup_of(controller, "lim")
            .unwrap_or_else(|| panic!("no {controller} cgroup"));
        std::fs::read_to_string(dir.join(file))
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(read("memory", "memory.limit_in_bytes"), "33554432");
    let quota: i64 = read("cpu", "cpu.cfs_quota_us").parse().unwrap();
    let period: i64 = read("cpu", "cpu.cfs_period_us").parse().unwrap();
    assert_eq!(quota * 2, period, "half a CPU");
    // Shares travel as the schema's ProcessorWeight (1-10000) and back: the
    // service's cgroup gets them within its rounding (512 -> 500).
    let shares: i64 = read("cpu", "cpu.shares").parse().unwrap();
    assert!(
        (shares - 512).abs() <= 512 / 20,
        "cpu.shares {shares}, 512 asked"
    );
}

/// The process's env and cwd, a bind mount, a read-only root and the host
/// name (the container's id, as ctr sets it) reach the container.
#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn spec_settings_reach_the_container() {
    let ctd = Containerd::start();
    let shared = ctd.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("file"), "from the host\n").unwrap();
    let mount = format!(
        "type=bind,src={},dst=/host,options=rbind:ro",
        shared.display()
    );
    let out = ctd.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        "--env",
        "GREETING=hello there",
        "--cwd",
        "/tmp",
        "--mount",
        &mount,
        "--read-only",
        IMAGE,
        "set1",
        "sh",
        "-c",
        "echo \"$GREETING\"; pwd; hostname; cat /host/file; \
         touch /host/x 2>/dev/null || echo host ro; touch /y 2>/dev/null || echo root ro",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "hello there\n/tmp\nset1\nfrom the host\nhost ro\nroot ro\n"
    );
    assert!(!shared.join("x").exists());
}
