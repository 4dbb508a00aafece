//! A private containerd 1.6 for a test: its own root, state, sockets and
//! config under a temp dir, the shim on its PATH, a busybox OCI image made
//! here (no network) imported, driven through `ctr`. Dropping it kills
//! whatever the test left (tasks, shims, holders, mounts, cgroups) and
//! removes the directory.

#![allow(dead_code)]

pub mod image;

use std::{
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

pub const RUNTIME: &str = "io.containerd.hcsrun.v1";
pub const IMAGE: &str = "docker.io/library/busybox:hcsrun";
/// The cgroup v1 hierarchies a container of the Linux service may be in
/// (devices: its device allow-list).
const CONTROLLERS: [&str; 8] = [
    "memory", "freezer", "cpuacct", "blkio", "cpu", "cpuset", "pids", "devices",
];
/// The host bridge the CRI configuration's CNI network makes.
pub const CNI_BRIDGE: &str = "hcsrun-cni0";
/// The pods' addresses: 10.233.47.0/24.
pub const CNI_SUBNET_PREFIX: &str = "10.233.47.";

pub struct Containerd {
    pub dir: tempfile::TempDir,
    /// The containerd namespace `ctr` uses, this instance's own: ctr puts a
    /// container's cgroups at `/<namespace>/<id>` (its spec's cgroupsPath),
    /// so parallel tests' leak checks never see each other's.
    pub ns: String,
    child: Option<Child>,
    cri: bool,
}

/// containerd 1.6 or 1.7 and ctr on PATH (task API v2), or the test
/// fails saying how to get them: these tests are `#[ignore]`d, so they run
/// only where asked for (`--include-ignored`, as CI does after
/// scripts/setup.sh installed containerd).
pub fn require_containerd() {
    let version = Command::new("containerd")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        version.contains(" 1.6.") || version.contains(" 1.7."),
        "containerd 1.6 or 1.7 is needed (found {version:?}): scripts/setup.sh installs \
         Debian's (apt-get install containerd)"
    );
    assert!(
        Command::new("ctr").arg("--version").output().is_ok(),
        "ctr (Debian's containerd package) is needed"
    );
}

/// The shim under test, as cargo built it.
pub fn shim_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_containerd-shim-hcsrun-v1"))
}

impl Containerd {
    /// Starts containerd (CRI off) and imports the busybox image.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Starts containerd, with its CRI plugin when `cri`, and imports the
    /// busybox image (into `k8s.io` too with CRI, with a pause image).
    pub fn start_with(cri: bool) -> Self {
        hcs_testkit::require_root();
        require_containerd();
        // Short paths: unix socket names are limited to 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("hcsrun-ctd.")
            .tempdir_in("/tmp")
            .unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        symlink(shim_binary(), bin.join("containerd-shim-hcsrun-v1")).unwrap();
        let holder = hcs_testkit::artifacts::shim();
        symlink(&holder, bin.join("hcsrun-shim")).unwrap();
        let ns = format!(
            "hcsrun-test-{}",
            dir.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .rsplit('.')
                .next()
                .unwrap()
        );
        let mut me = Self {
            dir,
            ns,
            child: None,
            cri,
        };
        me.write_config();
        me.launch();
        let tar = me.dir.path().join("busybox.tar");
        image::write(&tar, IMAGE, &["/bin/sh"]).unwrap();
        me.ctr_ok(&["image", "import", tar.to_str().unwrap()]);
        if cri {
            let pause = me.dir.path().join("pause.tar");
            image::write(
                &pause,
                "localhost/hcsrun/pause:1",
                &["/bin/sleep", "2147483647"],
            )
            .unwrap();
            me.ctr_ok(&["-n", "k8s.io", "image", "import", tar.to_str().unwrap()]);
            me.ctr_ok(&["-n", "k8s.io", "image", "import", pause.to_str().unwrap()]);
        }
        me
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.path().join("containerd.sock")
    }

    pub fn state(&self) -> PathBuf {
        self.path().join("state")
    }

    fn write_config(&self) {
        let t = self.path().display();
        // Top-level keys come before the tables.
        let mut config = format!("version = 2\nroot = \"{t}/root\"\nstate = \"{t}/state\"\n");
        if !self.cri {
            config.push_str("disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n");
        }
        config.push_str(&format!(
            "[grpc]\n  address = \"{t}/containerd.sock\"\n\
             [ttrpc]\n  address = \"{t}/containerd.sock.ttrpc\"\n"
        ));
        if self.cri {
            // A bridge network for pods (Debian's containernetworking-plugins),
            // its addresses kept under the test's directory.
            fs::create_dir_all(self.path().join("cni")).unwrap();
            let network = serde_json::json!({
                "cniVersion": "0.4.0",
                "name": "hcsrun-test",
                "plugins": [{
                    "type": "bridge",
                    "bridge": CNI_BRIDGE,
                    "isGateway": true,
                    "ipMasq": false,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": format!("{CNI_SUBNET_PREFIX}0/24")}]],
                        "dataDir": self.path().join("cni-ipam"),
                    },
                }],
            });
            fs::write(
                self.path().join("cni/10-hcsrun.conflist"),
                network.to_string(),
            )
            .unwrap();
            config.push_str(&format!(
                "[plugins.\"io.containerd.grpc.v1.cri\"]\n\
                 \x20 sandbox_image = \"localhost/hcsrun/pause:1\"\n\
                 \x20 restrict_oom_score_adj = true\n\
                 \x20 stream_server_address = \"127.0.0.1\"\n\
                 \x20 stream_server_port = \"0\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".cni]\n\
                 \x20 bin_dir = \"/usr/lib/cni\"\n\
                 \x20 conf_dir = \"{t}/cni\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n\
                 \x20 default_runtime_name = \"hcsrun\"\n\
                 [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hcsrun]\n\
                 \x20 runtime_type = \"{RUNTIME}\"\n"
            ));
        }
        fs::write(self.path().join("config.toml"), config).unwrap();
    }

    fn launch(&mut self) {
        let path = format!(
            "{}:{}",
            self.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path().join("containerd.log"))
            .unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(self.path().join("config.toml"))
            .env("PATH", path)
            .env("HCSRUN_SHIM", self.path().join("bin/hcsrun-shim"))
            .env("HCSRUN_SHIM_TRACE", self.path().join("trace.log"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting containerd (apt-get install containerd)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.socket().exists() || !self.ctr(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "containerd did not start:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops containerd (its shims run on) and starts it again.
    pub fn restart(&mut self) {
        self.stop_daemon();
        self.launch();
    }

    fn stop_daemon(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.path().join("containerd.log")).unwrap_or_default()
    }

    pub fn trace(&self) -> String {
        fs::read_to_string(self.path().join("trace.log")).unwrap_or_default()
    }

    /// `ctr --address SOCKET ARGS...`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_command(args).output().unwrap()
    }

    pub fn ctr_command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address").arg(self.socket());
        if args.first() != Some(&"-n") {
            c.arg("--namespace").arg(&self.ns);
        }
        c.args(args);
        c.stdin(Stdio::null());
        c
    }

    /// `ctr ARGS...`, which must succeed; its stdout.
    pub fn ctr_ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ctr run --rm --runtime hcsrun IMAGE ID ARGS...`.
    pub fn run(&self, id: &str, args: &[&str]) -> Output {
        let mut all = vec!["run", "--rm", "--runtime", RUNTIME, IMAGE, id];
        all.extend_from_slice(args);
        self.ctr(&all)
    }

    /// `ctr run -d`: a detached container.
    pub fn run_detached(&self, id: &str, args: &[&str]) {
        let mut all = vec!["run", "-d", "--runtime", RUNTIME, IMAGE, id];
        all.extend_from_slice(args);
        self.ctr_ok(&all);
    }

    /// The task's `ctr task ls` line: (pid, status).
    pub fn task(&self, id: &str) -> Option<(u32, String)> {
        self.task_in(&self.ns, id)
    }

    pub fn task_in(&self, ns: &str, id: &str) -> Option<(u32, String)> {
        let out = self.ctr_ok(&["-n", ns, "task", "ls"]);
        out.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| (f[1].parse().unwrap_or(0), f[2].to_owned()))
        })
    }

    /// Waits until the task's status is `status`.
    pub fn wait_status(&self, id: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.task(id).map(|t| t.1);
            if now.as_deref() == Some(status) {
                return;
            }
            assert!(Instant::now() < deadline, "{id}: {now:?}, not {status}");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills and removes every task and container of every namespace.
    pub fn clean(&self) {
        for ns in [self.ns.as_str(), "k8s.io"] {
            let tasks = self.ctr(&["-n", ns, "task", "ls", "-q"]);
            for id in String::from_utf8_lossy(&tasks.stdout).lines() {
                let _ = self.ctr(&["-n", ns, "task", "kill", "-s", "9", id]);
                let _ = self.ctr(&["-n", ns, "task", "rm", "-f", id]);
            }
            let containers = self.ctr(&["-n", ns, "container", "ls", "-q"]);
            for id in String::from_utf8_lossy(&containers.stdout).lines() {
                let _ = self.ctr(&["-n", ns, "container", "rm", id]);
            }
        }
    }

    /// Processes whose working directory or executable is under the test's
    /// directory (its shims), and holders of its systems.
    pub fn leftover_processes(&self) -> Vec<u32> {
        let root = self.path().to_owned();
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if pid == std::process::id() {
                continue;
            }
            let cwd = fs::read_link(entry.path().join("cwd")).unwrap_or_default();
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let ours = cwd.starts_with(&root)
                || String::from_utf8_lossy(&cmdline).contains(root.to_str().unwrap());
            if ours && Some(pid) != self.child.as_ref().map(Child::id) {
                found.push(pid);
            }
        }
        found
    }

    /// The cgroups of this containerd's containers still there.
    pub fn leftover_cgroups(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for controller in CONTROLLERS {
            let Ok(entries) = fs::read_dir(Path::new("/sys/fs/cgroup").join(controller)) else {
                continue;
            };
            for parent in entries.flatten() {
                if !self.owns_cgroup_parent(&parent.file_name().to_string_lossy()) {
                    continue;
                }
                for child in fs::read_dir(parent.path()).into_iter().flatten().flatten() {
                    if child.path().is_dir() {
                        found.push(child.path());
                    }
                }
            }
        }
        found
    }

    /// Container `id`'s cgroup in `controller`'s hierarchy, if there is one.
    pub fn cgroup_of(&self, controller: &str, id: &str) -> Option<PathBuf> {
        fs::read_dir(Path::new("/sys/fs/cgroup").join(controller))
            .ok()?
            .flatten()
            .filter(|p| self.owns_cgroup_parent(&p.file_name().to_string_lossy()))
            .map(|p| p.path().join(id))
            .find(|d| d.is_dir())
    }

    fn owns_cgroup_parent(&self, name: &str) -> bool {
        // ctr's cgroupsPath, /<namespace>/<id>, where the holder moves them.
        if name == self.ns || (self.cri && name == "k8s.io") {
            return true;
        }
        // The shim names it hcsrun-<namespace>-<hash of the state dir>.
        let hash = self
            .state()
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
            });
        name.starts_with("hcsrun-") && name.ends_with(&format!("-{:08x}", hash as u32))
    }

    /// Mounts under the test's directory.
    pub fn leftover_mounts(&self) -> Vec<String> {
        let root = self.path().to_str().unwrap().to_owned();
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
            .filter(|m| m.starts_with(&root))
            .collect()
    }

    /// containerd's open descriptors.
    pub fn containerd_fds(&self) -> usize {
        let pid = self.child.as_ref().unwrap().id();
        fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.clean();
        }
        self.stop_daemon();
        for pid in self.leftover_processes() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        thread::sleep(Duration::from_millis(100));
        let mut mounts = self.leftover_mounts();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        for cgroup in self.leftover_cgroups() {
            let _ = fs::remove_dir(cgroup);
        }
        for controller in CONTROLLERS {
            for parent in fs::read_dir(Path::new("/sys/fs/cgroup").join(controller))
                .into_iter()
                .flatten()
                .flatten()
            {
                if self.owns_cgroup_parent(&parent.file_name().to_string_lossy()) {
                    let _ = fs::remove_dir(parent.path());
                }
            }
        }
    }
}

/// Text of an output's stdout.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Text of an output's stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Panics unless the command failed with `what` in its stderr.
pub fn assert_refused(o: &Output, what: &str) {
    assert!(!o.status.success(), "succeeded: {}", stdout(o));
    assert!(stderr(o).contains(what), "{what:?} not in {}", stderr(o));
}
