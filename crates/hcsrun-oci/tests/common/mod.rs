//! What the contract tests share: the binary, a bundle of busybox, and a
//! caller that is a subreaper, as conmon and containerd's shim are.

#![allow(dead_code)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::Once,
    thread,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// The binary under test.
pub const OCI: &str = env!("CARGO_BIN_EXE_hcsrun-oci");

/// A root for state directories and a bundle, removed at drop.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    /// A fresh root and a busybox bundle whose process is `args`.
    pub fn new(args: &[&str]) -> Self {
        hcs_testkit::require_root();
        become_subreaper();
        let dir = tempfile::tempdir().unwrap();
        let env = Self { dir };
        hcs_testkit::rootfs::busybox(&env.bundle().join("rootfs"));
        env.write_spec(spec(args));
        env
    }

    /// A new directory for what hooks and programs write, outside the
    /// bundle.
    pub fn out_dir(&self) -> PathBuf {
        let out = self.dir.path().join("out");
        fs::create_dir(&out).unwrap();
        out
    }

    /// `--root`.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The bundle.
    pub fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    /// Replaces `config.json`.
    pub fn write_spec(&self, spec: Value) {
        fs::create_dir_all(self.bundle()).unwrap();
        fs::write(self.bundle().join("config.json"), spec.to_string()).unwrap();
    }

    /// A command of the binary with `--root`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(OCI);
        c.arg("--root").arg(self.root()).args(args);
        c
    }

    /// Runs a command; its stdout, which must be a success. Its stdio are
    /// files, not pipes: a container created inherits them (runc's
    /// contract) and would hold a pipe open.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert_ok(&out, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command with files as stdout and stderr; its output.
    pub fn output(&self, args: &[&str]) -> Output {
        let stdout = tempfile::tempfile().unwrap();
        let stderr = tempfile::tempfile().unwrap();
        let status = self
            .cmd(args)
            .stdin(std::process::Stdio::null())
            .stdout(stdout.try_clone().unwrap())
            .stderr(stderr.try_clone().unwrap())
            .status()
            .unwrap();
        let read = |mut f: fs::File| {
            use std::io::{Read, Seek};
            let mut v = Vec::new();
            f.seek(std::io::SeekFrom::Start(0)).unwrap();
            f.read_to_end(&mut v).unwrap();
            v
        };
        Output {
            status,
            stdout: read(stdout),
            stderr: read(stderr),
        }
    }

    /// `create --bundle … --pid-file … ID`; pid 1's host pid.
    pub fn create(&self, id: &str) -> i32 {
        let pid_file = self.dir.path().join(format!("{id}.pid"));
        self.ok(&[
            "create",
            "--bundle",
            self.bundle().to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            id,
        ]);
        fs::read_to_string(pid_file).unwrap().parse().unwrap()
    }

    /// `state ID` as JSON.
    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).unwrap()
    }
}

/// The trimmed stdout of `tool args`, which must have succeeded (a
/// panic with its stderr otherwise).
pub fn stdout_of_success(tool: &str, args: &[&str], out: &Output) -> String {
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The container's view of its pids cgroup (with a cgroup mount in its
/// spec): `/sys/fs/cgroup` on a v2 host, `/sys/fs/cgroup/pids` on v1.
pub fn container_pids_dir() -> &'static str {
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/pids"
    }
}

/// Panics with the command's stderr unless it succeeded.
pub fn assert_ok(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "hcsrun-oci {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bundle spec: busybox, no terminal, runc's namespaces.
pub fn spec(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/"
        },
        "root": {"path": "rootfs"},
        "hostname": "oci-test",
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ]
        }
    })
}

/// The test process reaps orphans below it, as conmon does.
pub fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        hcs_testkit::host::become_subreaper();
    });
}

/// Waits for `pid` (a child of this process by reparenting); its exit
/// code, or 128 + the signal.
pub fn reap(pid: i32) -> i32 {
    use nix::sys::wait::{waitpid, WaitStatus};
    match waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap() {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        other => panic!("pid {pid}: {other:?}"),
    }
}

/// Polls `f` for up to 5 s.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The namespace inode `/proc/PID/ns/NAME` names.
pub fn ns(pid: &str, name: &str) -> PathBuf {
    fs::read_link(Path::new("/proc").join(pid).join("ns").join(name)).unwrap()
}
