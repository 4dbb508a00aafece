//! A test's own corner of the machine.

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use hcs::ComputeService;
use hcs_linux::LinuxComputeService;
use hcs_vmcompute::VmComputeService;

use crate::{
    artifacts, host,
    vmcompute::{self, Settings},
};

/// Which compute service a test drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// `hcs-linux` directly.
    Linux,
    /// `hcs-linux` behind `libvmcompute.so`, through the vmcompute backend
    /// (`hcs-vmcompute`).
    VmCompute,
}

impl ServiceKind {
    fn name(self) -> &'static str {
        match self {
            ServiceKind::Linux => "linux",
            ServiceKind::VmCompute => "vmcompute",
        }
    }
}

/// A test's runtime directory (`/run/<tag>`), scratch folders
/// (`<tmp>/<tag>/<id>`) and cgroup parent (`<tag>` in each hierarchy, the
/// services' default for that runtime directory), where `<tag>` is
/// `hcsrun-test-<kind>-<name>-<pid>`: no two tests, or runs, share them.
///
/// Dropping the sandbox of the process that made it kills whatever still
/// runs in its cgroups (a failed test's systems), then removes the cgroups,
/// the runtime directory and the scratch folders. A sandbox shared with
/// another process ([`Sandbox::shared`]) is left to its owner.
pub struct Sandbox {
    tag: String,
    runtime_dir: PathBuf,
    scratch_root: PathBuf,
    owned: bool,
}

impl Sandbox {
    /// The sandbox `name` of this process, for services of `kind`.
    pub fn new(name: &str, kind: ServiceKind) -> Self {
        Self::shared(name, kind, std::process::id())
    }

    /// The sandbox `name` of process `pid`: a second process of a test
    /// works in the first one's sandbox, and leaves it in place.
    pub fn shared(name: &str, kind: ServiceKind, pid: u32) -> Self {
        let tag = format!("hcsrun-test-{}-{name}-{pid}", kind.name()).to_lowercase();
        let runtime_dir = PathBuf::from("/run").join(&tag);
        let scratch_root = std::env::temp_dir().join(&tag);
        fs::create_dir_all(&scratch_root).unwrap();
        Self {
            tag,
            runtime_dir,
            scratch_root,
            owned: pid == std::process::id(),
        }
    }

    /// The sandbox's name: the cgroup parent's, and a fine owner for its
    /// systems.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The services' runtime directory.
    pub fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    /// Where scratch folders go.
    pub fn scratch_root(&self) -> &Path {
        &self.scratch_root
    }

    /// System `id`'s scratch folder, made if need be.
    pub fn scratch(&self, id: &str) -> PathBuf {
        let dir = self.scratch_root.join(id);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The Linux compute service on this sandbox.
    pub fn linux_service(&self) -> LinuxComputeService {
        LinuxComputeService::builder()
            .shim(artifacts::shim())
            .runtime_dir(&self.runtime_dir)
            .build()
            .unwrap()
    }

    /// The Linux compute service on this sandbox, behind a private instance
    /// of `libvmcompute.so`.
    pub fn vmcompute_service(&self) -> VmComputeService {
        vmcompute::service(&Settings {
            runtime_dir: Some(self.runtime_dir.clone()),
            shim: Some(artifacts::shim()),
            ..Settings::default()
        })
    }

    /// The service of `kind` on this sandbox.
    pub fn service(&self, kind: ServiceKind) -> Arc<dyn ComputeService> {
        match kind {
            ServiceKind::Linux => Arc::new(self.linux_service()),
            ServiceKind::VmCompute => Arc::new(self.vmcompute_service()),
        }
    }

    /// The cgroup parent in each hierarchy (which may not exist).
    pub fn cgroup_parents(&self) -> Vec<PathBuf> {
        host::cgroup_mounts()
            .into_iter()
            .map(|m| m.join(&self.tag))
            .collect()
    }

    /// The cgroup directories of system `id` that exist.
    pub fn cgroups_of(&self, id: &str) -> Vec<PathBuf> {
        self.cgroup_parents()
            .into_iter()
            .map(|p| p.join(id))
            .filter(|p| p.exists())
            .collect()
    }

    /// Every system cgroup under the sandbox's parents.
    pub fn cgroups(&self) -> Vec<PathBuf> {
        self.cgroup_parents()
            .iter()
            .filter_map(|p| fs::read_dir(p).ok())
            .flat_map(|d| d.flatten())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    }

    /// A `linux.cgroupsPath` of the sandbox's own for system `id`
    /// (relative to each hierarchy's root), outside the service's parent:
    /// removed with the sandbox, whatever runs there killed, even when a
    /// test fails before its own cleanup.
    pub fn spec_cgroups_path(&self, id: &str) -> String {
        format!("{}/{id}", self.spec_cgroups_parent())
    }

    fn spec_cgroups_parent(&self) -> String {
        format!("{}-custom", self.tag)
    }

    /// Kills every process in the sandbox's cgroups (those of its parent
    /// and of [`Sandbox::spec_cgroups_path`]) and removes them, waiting
    /// (up to 10 s) for the processes to go.
    fn kill_and_remove_cgroups(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let custom: Vec<PathBuf> = host::cgroup_mounts()
            .into_iter()
            .map(|m| m.join(self.spec_cgroups_parent()))
            .collect();
        loop {
            let mut cgroups = self.cgroups();
            cgroups.extend(
                custom
                    .iter()
                    .filter_map(|p| fs::read_dir(p).ok())
                    .flat_map(|d| d.flatten())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir()),
            );
            for cgroup in &cgroups {
                for pid in host::cgroup_pids(cgroup) {
                    // SAFETY: kill with a pid from our own cgroups.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                let _ = fs::remove_dir(cgroup);
            }
            if cgroups.is_empty() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for parent in self.cgroup_parents().into_iter().chain(custom) {
            let _ = fs::remove_dir(parent);
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        self.kill_and_remove_cgroups();
        remove_all(&self.runtime_dir);
        remove_all(&self.scratch_root);
    }
}

fn remove_all(dir: &Path) {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            eprintln!("removing {}: {e}", dir.display())
        }
        _ => {}
    }
}
