//! A compute service on a test's sandbox, and configurations to run on it.

use std::{sync::Arc, time::Duration};

use hcs::{ComputeService, ComputeSystem};
use hcs_schema::{ContainerConfig, Layer, ProcessConfig};

use crate::{Sandbox, ServiceKind};

/// The compute service under test, of some kind, on its own sandbox; its
/// systems run on the host's root, each with its own scratch folder, owned
/// by [`Fixture::owner`].
pub struct Fixture {
    /// Where the service keeps its systems.
    pub sandbox: Sandbox,
    /// The service under test.
    pub service: Arc<dyn ComputeService>,
}

impl Fixture {
    /// A service of `kind` on the sandbox `name` of this process.
    pub fn new(name: &str, kind: ServiceKind) -> Self {
        Self::on(Sandbox::new(name, kind), kind)
    }

    /// A service of `kind` on the sandbox `name` of process `pid` (a second
    /// process of a test), which this one leaves in place.
    pub fn shared(name: &str, kind: ServiceKind, pid: u32) -> Self {
        Self::on(Sandbox::shared(name, kind, pid), kind)
    }

    fn on(sandbox: Sandbox, kind: ServiceKind) -> Self {
        Self {
            service: sandbox.service(kind),
            sandbox,
        }
    }

    /// The owner of the fixture's systems.
    pub fn owner(&self) -> &str {
        self.sandbox.tag()
    }

    /// A Windows-schema configuration running on the host's root, with its
    /// own scratch folder.
    pub fn config(&self, id: &str) -> ContainerConfig {
        ContainerConfig {
            system_type: "Container".into(),
            name: id.into(),
            owner: self.owner().into(),
            layer_folder_path: self.sandbox.scratch(id).to_string_lossy().into(),
            layers: vec![Layer {
                id: hcs_linux::name_to_guid("host").to_string(),
                path: "/".into(),
            }],
            host_name: format!("h-{id}"),
            ignore_flushes_during_boot: true,
            ..Default::default()
        }
    }

    /// Creates and starts system `id` from `config`, and gives it a first
    /// process ([`idle_init`]) that runs until it is told to stop, so that
    /// every process the test creates joins a running container: the
    /// system lasts as long as its first process does.
    pub async fn start(&self, id: &str, config: &ContainerConfig) -> Box<dyn ComputeSystem> {
        let system = self.start_parked(id, config).await;
        let init = system.create_process(&idle_init()).await.unwrap();
        assert_eq!(init.pid(), 1, "the first process is the system's pid 1");
        // A pid 1 drops a SIGTERM it has no handler for: a shutdown sent
        // before perl has set its handler would never end the system.
        match init.host_pid() {
            Some(pid) => wait_for_sigterm_handler(pid).await,
            // Not the caller's to see (a service behind the C ABI): time
            // enough for perl to start, as no signal can tell.
            None => tokio::time::sleep(Duration::from_millis(300)).await,
        }
        init.close().await.unwrap();
        system
    }

    /// Creates and starts system `id` from `config`, with no process yet:
    /// its pid 1 is parked, and the first process created becomes it.
    pub async fn start_parked(&self, id: &str, config: &ContainerConfig) -> Box<dyn ComputeSystem> {
        let system = self.service.create_system(id, config).await.unwrap();
        system.start().await.unwrap();
        system
    }

    /// Creates and starts system `id` from [`Fixture::config`].
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

/// Waits until process `pid` (as the host sees it) catches SIGTERM, as
/// its `/proc/PID/status` says (`SigCgt`), for at most 10 s.
async fn wait_for_sigterm_handler(pid: u32) {
    const SIGTERM_BIT: u64 = 1 << (libc::SIGTERM - 1);
    let status = format!("/proc/{pid}/status");
    for _ in 0..1000 {
        let text = tokio::fs::read_to_string(&status).await.unwrap_or_default();
        let caught = text
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok());
        if caught.is_some_and(|mask| mask & SIGTERM_BIT != 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the first process (host pid {pid}) did not set its SIGTERM handler within 10 s");
}

/// A first process that idles until SIGTERM, which it honours (a pid 1 of a
/// namespace gets SIGTERM only if it handles it): perl's `sleep` without
/// end, forking nothing.
pub fn idle_init() -> ProcessConfig {
    ProcessConfig {
        command_args: vec![
            "perl".into(),
            "-e".into(),
            "$SIG{TERM} = sub { exit 143 }; sleep".into(),
        ],
        ..Default::default()
    }
}
