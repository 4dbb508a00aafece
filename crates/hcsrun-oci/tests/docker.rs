//! docker drives hcsrun-oci (`dockerd --add-runtime hcsrun=hcsrun-oci`):
//! a private dockerd (its own data and exec roots, its own containerd,
//! no bridge, no iptables) starts containers through containerd's runc
//! shim with hcsrun-oci as the shim's binary, on a busybox image imported
//! from a tar (no network). `scripts/setup.sh` installs docker.io.

mod common;

use std::{
    fs,
    io::Write,
    process::{Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use common::OCI;

/// A private dockerd whose extra runtime `hcsrun` is hcsrun-oci.
struct Docker {
    dir: tempfile::TempDir,
    daemon: std::process::Child,
}

impl Docker {
    fn start() -> Self {
        hcs_testkit::require_root();
        assert!(
            Command::new("dockerd").arg("--version").output().is_ok(),
            "dockerd is missing: scripts/setup.sh installs docker.io"
        );
        let dir = tempfile::Builder::new()
            .prefix("dk")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        let log = fs::File::create(d.join("dockerd.log")).unwrap();
        let daemon = Command::new("dockerd")
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", d.join("d.sock").display()))
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .arg(format!("--add-runtime=hcsrun={OCI}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let docker = Self { dir, daemon };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !docker.run(&["info"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not start: {}",
                docker.log()
            );
            thread::sleep(Duration::from_millis(100));
        }
        docker
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("docker");
        c.env(
            "DOCKER_HOST",
            format!("unix://{}", self.dir.path().join("d.sock").display()),
        )
        .args(args)
        .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        common::stdout_of_success("docker", args, &self.run(args))
    }

    /// Imports a busybox root as image `bb:test`.
    fn import_busybox(&self) {
        let root = self.dir.path().join("rootfs");
        hcs_testkit::rootfs::busybox(&root);
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .args(["-c", "."])
            .output()
            .unwrap();
        assert!(tar.status.success());
        let mut import = self
            .cmd(&["import", "-", "bb:test"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        import.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
        assert!(import.wait().unwrap().success());
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let ids = self.run(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = self.run(&["rm", "-f", id]);
        }
        // dockerd stops its containerd on SIGTERM.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.daemon.wait();
        // What dockerd left mounted under its roots, if anything.
        for root in ["data", "exec"] {
            let _ = Command::new("umount")
                .args(["-R", "-l"])
                .arg(self.dir.path().join(root))
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[test]
#[ignore = "needs root and dockerd (scripts/setup.sh installs docker.io)"]
fn docker_runs_execs_updates_pauses_and_stops_through_hcsrun_oci() {
    let docker = Docker::start();
    docker.import_busybox();
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--runtime", "hcsrun"];
        all.extend_from_slice(args);
        docker.run(&all)
    };
    // Foreground: output and exit codes, as runc gives them.
    let out = run(&["--rm", "bb:test", "echo", "hi"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hi\n",
        "{}",
        docker.log()
    );
    assert_eq!(
        run(&["--rm", "bb:test", "sh", "-c", "exit 3"])
            .status
            .code(),
        Some(3)
    );
    let tty = run(&["--rm", "-t", "bb:test", "tty"]);
    assert_eq!(String::from_utf8_lossy(&tty.stdout).trim(), "/dev/pts/0");

    // Detached: the program is pid 1; exec (docker repeats the
    // container's oomScoreAdj on every exec), update, pause, stop.
    docker.ok(&[
        "run",
        "-d",
        "--runtime",
        "hcsrun",
        "--name",
        "c1",
        "bb:test",
        "sleep",
        "100",
    ]);
    let ps = docker.ok(&["exec", "c1", "ps", "-o", "pid,comm"]);
    assert!(
        ps.lines().any(|l| l.split_whitespace().eq(["1", "sleep"])),
        "{ps}"
    );
    docker.ok(&["update", "--memory", "64m", "--memory-swap", "64m", "c1"]);
    // A CPU limit on a container made without one (runc's cgroups are in
    // every hierarchy from the start).
    docker.ok(&["update", "--cpus", "0.5", "c1"]);
    let quota = docker.ok(&[
        "exec",
        "c1",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max",
    ]);
    assert_eq!(quota, "50000");
    let limit = docker.ok(&[
        "exec",
        "c1",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]);
    assert_eq!(limit, "67108864");
    docker.ok(&["pause", "c1"]);
    assert_eq!(
        docker.ok(&["inspect", "-f", "{{.State.Status}}", "c1"]),
        "paused"
    );
    docker.ok(&["unpause", "c1"]);
    assert!(docker.ok(&["top", "c1"]).contains("sleep 100"));
    // Another container in its pid namespace, and one in the host's.
    let shared = run(&[
        "--rm",
        "--pid",
        "container:c1",
        "bb:test",
        "ps",
        "-o",
        "pid,comm",
    ]);
    let shared = String::from_utf8_lossy(&shared.stdout);
    assert!(
        shared
            .lines()
            .any(|l| l.split_whitespace().eq(["1", "sleep"])),
        "{shared}"
    );
    let host = run(&["--rm", "--pid", "host", "bb:test", "cat", "/proc/1/comm"]);
    let init = fs::read_to_string("/proc/1/comm").unwrap();
    assert_eq!(String::from_utf8_lossy(&host.stdout), init);
    // sleep, as pid 1, ignores SIGTERM: docker kills it after the timeout.
    docker.ok(&["stop", "-t", "1", "c1"]);
    assert_eq!(
        docker.ok(&["inspect", "-f", "{{.State.ExitCode}}", "c1"]),
        "137"
    );
    docker.ok(&["start", "c1"]);
    assert_eq!(docker.ok(&["exec", "c1", "echo", "again"]), "again");
    let id = docker.ok(&["inspect", "-f", "{{.Id}}", "c1"]);
    docker.ok(&["rm", "-f", "c1"]);

    // Nothing of the container is left: no state, no cgroup.
    let state = docker.dir.path().join("exec/runtime-runc/moby").join(&id);
    assert!(!state.exists(), "{} is left", state.display());
    for mount in hcs_testkit::host::cgroup_mounts() {
        let cgroup = mount.join("docker").join(&id);
        assert!(!cgroup.exists(), "{} is left", cgroup.display());
    }
}
