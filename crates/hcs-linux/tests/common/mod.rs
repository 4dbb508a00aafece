//! Shared fixtures for the Linux compute service's tests: a private runtime
//! directory and cgroup parent per test binary, the host's root as the
//! read-only base layer, and a scratch folder per system.

#![allow(dead_code)]

use std::{
    fs,
    io::{Read, Write},
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    time::Duration,
};

use hcs::{ComputeService, ComputeSystem, Stdio};
use hcs_linux::LinuxComputeService;
use hcs_schema::{ContainerConfig, Layer, ProcessConfig};

/// Returns early from a test, saying why, where the service cannot run.
#[macro_export]
macro_rules! require_root {
    () => {
        if let Some(why) = $crate::common::cannot_run() {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
}

/// Why this machine cannot run systems, if it cannot.
pub fn cannot_run() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("the Linux compute service needs root (namespaces, mounts, cgroups)".into());
    }
    let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems.contains("overlay") {
        return Some("the kernel has no overlayfs".into());
    }
    None
}

pub struct Fixture {
    pub service: LinuxComputeService,
    pub runtime_dir: PathBuf,
    pub scratch_root: PathBuf,
    pub cgroup_parent: String,
    /// False in a second process using the first one's fixture.
    owned: bool,
}

impl Fixture {
    /// A service with its own runtime directory, named after `name`. In a
    /// process started with `HCS_FIXTURE_PID`, the directory of that
    /// process's fixture, which this one leaves in place.
    pub fn new(name: &str) -> Self {
        let shared = std::env::var("HCS_FIXTURE_PID").ok();
        let owner = shared
            .clone()
            .unwrap_or_else(|| std::process::id().to_string());
        let tag = format!("hcsrun-test-{name}-{owner}");
        let runtime_dir = PathBuf::from("/run").join(&tag);
        let scratch_root = std::env::temp_dir().join(&tag);
        fs::create_dir_all(&scratch_root).unwrap();
        let service = LinuxComputeService::builder()
            .shim(shim())
            .runtime_dir(&runtime_dir)
            .build()
            .unwrap();
        Self {
            service,
            runtime_dir,
            scratch_root,
            cgroup_parent: tag,
            owned: shared.is_none(),
        }
    }

    /// A Windows-schema configuration running on the host's root, with its
    /// own scratch folder.
    pub fn config(&self, id: &str) -> ContainerConfig {
        let scratch = self.scratch_root.join(id);
        fs::create_dir_all(&scratch).unwrap();
        ContainerConfig {
            system_type: "Container".into(),
            name: id.into(),
            owner: "hcs-linux-tests".into(),
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

    pub async fn start(&self, id: &str, config: &ContainerConfig) -> Box<dyn ComputeSystem> {
        let system = self.service.create_system(id, config).await.unwrap();
        system.start().await.unwrap();
        system
    }

    pub async fn start_default(&self, id: &str) -> Box<dyn ComputeSystem> {
        self.start(id, &self.config(id)).await
    }

    /// Stops and closes a system, waiting until it is gone.
    pub async fn remove(&self, system: Box<dyn ComputeSystem>) {
        match system.terminate().await {
            Ok(()) => {}
            Err(e) if e.is_pending() => system.wait_timeout(Duration::from_secs(30)).await.unwrap(),
            Err(e) if e.is_already_stopped() => {}
            Err(e) => panic!("terminate: {e}"),
        }
        system.close().await.unwrap();
    }

    /// The cgroup directories of system `id` that exist.
    pub fn cgroups_of(&self, id: &str) -> Vec<PathBuf> {
        cgroup_mounts()
            .into_iter()
            .map(|m| m.join(&self.cgroup_parent).join(id))
            .filter(|p| p.exists())
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let _ = fs::remove_dir_all(&self.scratch_root);
        let _ = fs::remove_dir(&self.runtime_dir);
        for mount in cgroup_mounts() {
            let _ = fs::remove_dir(mount.join(&self.cgroup_parent));
        }
    }
}

/// The holder binary, built by cargo beside the test programs' directory
/// (`cargo build -p hcsrun-shim`).
pub fn shim() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let shim = exe.parent().unwrap().parent().unwrap().join("hcsrun-shim");
    assert!(
        shim.is_file(),
        "{} is missing: cargo build -p hcsrun-shim",
        shim.display()
    );
    shim
}

/// Every cgroup hierarchy's mount point.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .collect()
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
        // A console's master reads EIO once the other side has closed.
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

pub fn read_number(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// A fixed-VHD layer image (`layer.vhd`): an ext4 file system holding
/// `files`, followed by a 512-byte VHD footer. `None` (with the reason
/// printed) where `mkfs.ext4` is missing.
pub fn vhd_layer(dir: &Path, files: &[(&str, &str)]) -> Option<PathBuf> {
    let tree = dir.join("vhd-tree");
    fs::create_dir_all(&tree).unwrap();
    for (name, text) in files {
        fs::write(tree.join(name), text).unwrap();
    }
    let image = dir.join("layer.vhd");
    let made = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&tree)
        .arg(&image)
        .arg("4M")
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfs.ext4 (e2fsprogs) is needed to build a VHD layer");
        return None;
    }
    let size = fs::metadata(&image).unwrap().len();
    let mut file = fs::OpenOptions::new().append(true).open(&image).unwrap();
    file.write_all(&vhd_footer(size)).unwrap();
    Some(image)
}

/// A fixed-disk VHD footer for a disk of `size` bytes.
fn vhd_footer(size: u64) -> [u8; 512] {
    let mut f = [0u8; 512];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // version 1.0
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // no dynamic header
    f[28..32].copy_from_slice(b"hcsr");
    f[40..48].copy_from_slice(&size.to_be_bytes());
    f[48..56].copy_from_slice(&size.to_be_bytes());
    f[60..64].copy_from_slice(&2u32.to_be_bytes()); // fixed disk
    let sum: u32 = f.iter().map(|&b| u32::from(b)).sum();
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}

/// Loop devices attached right now.
pub fn attached_loop_devices() -> usize {
    fs::read_dir("/sys/block")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("loop"))
                .filter(|e| e.path().join("loop/backing_file").exists())
                .count()
        })
        .unwrap_or(0)
}

/// Processes whose parent is this process.
pub fn children() -> Vec<i32> {
    let me = std::process::id().to_string();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(") ")
                        .map(|(_, rest)| rest.split(' ').nth(1) == Some(me.as_str()))
                })
                .unwrap_or(false)
        })
        .collect()
}

pub fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

pub fn host_mounts() -> usize {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .count()
}
