//! Fixtures for running real systems through libvmcompute.so: a private
//! runtime directory per test, the FFI-backed service and the Linux service
//! itself on that directory, and a configuration on the host's root.

#![allow(dead_code)]

use std::{
    fs,
    io::Read,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use hcs::{ComputeService, ComputeSystem, Stdio};
use hcs_linux::LinuxComputeService;
use hcs_schema::{ContainerConfig, Layer, ProcessConfig};
use hcs_vmcompute::VmComputeService;
use vmcompute::testing::{self, Settings};

/// Returns early from a test, saying why, where systems cannot run.
#[macro_export]
macro_rules! require_root {
    () => {
        if let Some(why) = $crate::common::cannot_run() {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
}

pub fn cannot_run() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("the Linux compute service needs root (namespaces, mounts, cgroups)".into());
    }
    if !fs::read_to_string("/proc/filesystems")
        .unwrap_or_default()
        .contains("overlay")
    {
        return Some("the kernel has no overlayfs".into());
    }
    None
}

/// The holder binary: `$HCSRUN_SHIM`, else cargo's, beside the test
/// programs' directory.
pub fn shim() -> PathBuf {
    if let Some(path) = std::env::var_os("HCSRUN_SHIM") {
        return path.into();
    }
    let exe = std::env::current_exe().unwrap();
    let shim = exe.parent().unwrap().parent().unwrap().join("hcsrun-shim");
    assert!(
        shim.is_file(),
        "{} is missing: build it with `cargo build -p hcsrun-shim` (cargo test --workspace does)",
        shim.display()
    );
    shim
}

pub struct Fixture {
    /// The Linux service behind libvmcompute.so, through the C ABI.
    pub ffi: Arc<dyn ComputeService>,
    pub vmcompute: VmComputeService,
    /// The same service called directly, on the same runtime directory.
    pub direct: LinuxComputeService,
    pub runtime_dir: PathBuf,
    pub scratch_root: PathBuf,
}

impl Fixture {
    pub fn new(name: &str) -> Self {
        let tag = format!("hcsrun-vmtest-{name}-{}", std::process::id());
        let runtime_dir = PathBuf::from("/run").join(&tag);
        let scratch_root = std::env::temp_dir().join(&tag);
        fs::create_dir_all(&scratch_root).unwrap();
        let shim = shim();
        let settings = Settings {
            runtime_dir: Some(runtime_dir.clone()),
            shim: Some(shim.clone()),
            ..Settings::default()
        };
        let vmcompute = testing::service(&settings).unwrap();
        let direct = LinuxComputeService::builder()
            .shim(shim)
            .runtime_dir(&runtime_dir)
            .build()
            .unwrap();
        Self {
            ffi: Arc::new(vmcompute.clone()),
            vmcompute,
            direct,
            runtime_dir,
            scratch_root,
        }
    }

    /// A Windows-schema configuration running on the host's root.
    pub fn config(&self, id: &str) -> ContainerConfig {
        let scratch = self.scratch_root.join(id);
        fs::create_dir_all(&scratch).unwrap();
        ContainerConfig {
            system_type: "Container".into(),
            name: id.into(),
            owner: "vmcompute-tests".into(),
            layer_folder_path: scratch.to_string_lossy().into(),
            layers: vec![Layer {
                id: hcs_linux::name_to_guid("host").to_string(),
                path: "/".into(),
            }],
            host_name: format!("h-{id}"),
            ignore_flushes_during_boot: true,
            ..Default::default()
        }
    }

    /// Creates and starts a system through the C ABI.
    pub async fn start(&self, id: &str, config: &ContainerConfig) -> Box<dyn ComputeSystem> {
        let system = self.ffi.create_system(id, config).await.unwrap();
        system.start().await.unwrap();
        system
    }

    pub async fn start_default(&self, id: &str) -> Box<dyn ComputeSystem> {
        self.start(id, &self.config(id)).await
    }

    /// Terminates and closes a system, waiting until it is gone.
    pub async fn remove(&self, system: Box<dyn ComputeSystem>) {
        match system.terminate().await {
            Ok(()) => {}
            Err(e) if e.is_pending() => system.wait_timeout(Duration::from_secs(30)).await.unwrap(),
            Err(e) if e.is_already_stopped() => {}
            Err(e) => panic!("terminate: {e}"),
        }
        system.close().await.unwrap();
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.scratch_root);
        remove_runtime_dir(&self.runtime_dir);
    }
}

/// Removes a runtime directory and the cgroup parent named after it (both
/// empty once their systems are gone).
pub fn remove_runtime_dir(dir: &Path) {
    let _ = fs::remove_dir(dir);
    let Some(name) = dir.file_name() else { return };
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mounts = info
        .lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4));
    for mount in mounts {
        let _ = fs::remove_dir(Path::new(mount).join(name));
    }
}

/// A shell command as a Windows command line.
pub fn sh(script: &str) -> ProcessConfig {
    ProcessConfig {
        command_line: hcs::cmdline::join(&["sh", "-c", script]),
        create_std_out_pipe: true,
        create_std_err_pipe: true,
        ..Default::default()
    }
}

/// Everything a descriptor yields until end of file, read on a thread.
pub async fn read_all(fd: Option<OwnedFd>) -> String {
    let Some(fd) = fd else { return String::new() };
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let _ = fs::File::from(fd).read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

/// Runs `config` to completion: (exit code, stdout, stderr).
pub async fn run(system: &dyn ComputeSystem, config: &ProcessConfig) -> (u32, String, String) {
    let process = system.create_process(config).await.unwrap();
    let Stdio { stdout, stderr, .. } = process.take_stdio().unwrap();
    let (out, err) = tokio::join!(read_all(stdout), read_all(stderr));
    process.wait_timeout(Duration::from_secs(60)).await.unwrap();
    let code = process.exit_code().await.unwrap();
    process.close().await.unwrap();
    (code, out, err)
}

/// Polls `check` until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}
