//! A client on a real compute service, an embedder that records every state
//! change, and helpers to build specs that run on the host's root.

#![allow(dead_code)]

use std::{
    error::Error,
    fs,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use hcs::ComputeService;
use hcsrun::{
    client::{Backend, Client, IoPipe, State, StateInfo, StdinWriter, Timeouts},
    translate::{CreateOptions, HostFacts, Spec},
};
use tokio::{io::AsyncReadExt, sync::Notify, task::JoinHandle};

/// Returns early from a test, saying why, where systems cannot run.
#[macro_export]
macro_rules! require_root {
    () => {
        if !nix::unistd::geteuid().is_root() {
            eprintln!(
                "SKIPPED: the Linux compute service needs root (namespaces, mounts, cgroups)"
            );
            return;
        }
    };
}

/// Which compute service a test drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// hcs-linux directly.
    Linux,
    /// hcs-linux behind libvmcompute.so, through the vmcompute backend.
    VmCompute,
}

/// The embedder: records every state change in order.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<(String, StateInfo)>>,
    changed: Notify,
}

#[async_trait]
impl Backend for Recorder {
    async fn state_changed(
        &self,
        id: &str,
        info: StateInfo,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        self.events.lock().unwrap().push((id.to_owned(), info));
        self.changed.notify_waiters();
        Ok(())
    }
}

impl Recorder {
    /// The changes told of container `id`, in order.
    pub fn of(&self, id: &str) -> Vec<StateInfo> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Waits (at most 60 s) for container `id` to reach `state` with
    /// process `process_id` (any if empty).
    pub async fn wait(&self, id: &str, state: State, process_id: &str) -> StateInfo {
        let found = || {
            self.of(id)
                .into_iter()
                .find(|s| s.state == state && (process_id.is_empty() || s.process_id == process_id))
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let notified = self.changed.notified();
            if let Some(info) = found() {
                return info;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("{id} never reached {state} {process_id}: {:?}", self.of(id));
            }
        }
    }
}

/// What the attach callback kept of a process's streams.
#[derive(Default)]
pub struct Attached {
    pub stdout: Option<JoinHandle<String>>,
    pub stderr: Option<JoinHandle<String>>,
    pub stdin: Option<StdinWriter>,
}

/// An attach callback that reads stdout and stderr into strings and keeps
/// stdin.
pub fn capture(
    slot: &Arc<Mutex<Attached>>,
) -> impl FnOnce(IoPipe) -> Result<(), Box<dyn Error + Send + Sync>> + Send {
    let slot = slot.clone();
    move |pipes: IoPipe| {
        let read = |reader: Option<hcsrun::client::OutputReader>| {
            reader.map(|mut r| {
                tokio::spawn(async move {
                    let mut out = String::new();
                    let _ = r.read_to_string(&mut out).await;
                    out
                })
            })
        };
        let mut slot = slot.lock().unwrap();
        slot.stdout = read(pipes.stdout);
        slot.stderr = read(pipes.stderr);
        slot.stdin = pipes.stdin;
        Ok(())
    }
}

pub struct Harness {
    pub client: Client,
    pub events: Arc<Recorder>,
    pub service: Arc<dyn ComputeService>,
    pub scratch_root: PathBuf,
    pub runtime_dir: PathBuf,
    pub owner: String,
}

impl Harness {
    pub fn new(name: &str, kind: ServiceKind) -> Self {
        Self::with_timeouts(name, kind, Timeouts::default())
    }

    /// A harness whose runtime directory and owner are named after `name`
    /// and `pid` (another process passes the first process's pid to share
    /// them).
    pub fn shared(name: &str, kind: ServiceKind, pid: u32, timeouts: Timeouts) -> Self {
        let tag = format!("hcsrun-ctest-{kind:?}-{name}-{pid}").to_lowercase();
        let runtime_dir = PathBuf::from("/run").join(&tag);
        let scratch_root = std::env::temp_dir().join(&tag);
        fs::create_dir_all(&scratch_root).unwrap();
        let service: Arc<dyn ComputeService> = match kind {
            ServiceKind::Linux => Arc::new(
                hcs_linux::LinuxComputeService::builder()
                    .shim(shim())
                    .runtime_dir(&runtime_dir)
                    .build()
                    .unwrap(),
            ),
            ServiceKind::VmCompute => Arc::new(
                vmcompute::testing::service(&vmcompute::testing::Settings {
                    runtime_dir: Some(runtime_dir.clone()),
                    shim: Some(shim()),
                    ..Default::default()
                })
                .unwrap(),
            ),
        };
        let events = Arc::new(Recorder::default());
        let host = HostFacts {
            owner: tag.clone(),
            ..HostFacts::of_service(&*service)
        };
        let client = Client::with(service.clone(), events.clone(), host, timeouts);
        Self {
            client,
            events,
            service,
            scratch_root,
            runtime_dir,
            owner: tag,
        }
    }

    pub fn with_timeouts(name: &str, kind: ServiceKind, timeouts: Timeouts) -> Self {
        Self::shared(name, kind, std::process::id(), timeouts)
    }

    /// Options running on the host's root with a scratch folder of `id`'s.
    pub fn options(&self, id: &str) -> CreateOptions {
        let scratch = self.scratch_root.join(id);
        fs::create_dir_all(&scratch).unwrap();
        let json = serde_json::json!({
            "ignore_flushes_during_boot": true,
            "layers": {"layer_folder_path": scratch, "layer_paths": ["/"]},
        });
        CreateOptions::from_json(&json.to_string()).unwrap()
    }

    /// Creates container `id` running `script` under `sh -c`, capturing its
    /// streams.
    pub async fn run(&self, id: &str, script: &str) -> Arc<Mutex<Attached>> {
        self.run_spec(id, &spec(&["sh", "-c", script]), &self.options(id))
            .await
    }

    pub async fn run_spec(
        &self,
        id: &str,
        spec: &Spec,
        options: &CreateOptions,
    ) -> Arc<Mutex<Attached>> {
        let attached = Arc::new(Mutex::new(Attached::default()));
        self.client
            .create(id, spec, options, capture(&attached))
            .await
            .unwrap();
        attached
    }

    /// All the stdout of an attached process.
    pub async fn stdout(attached: &Arc<Mutex<Attached>>) -> String {
        let handle = attached.lock().unwrap().stdout.take().unwrap();
        handle.await.unwrap()
    }

    /// All the stderr of an attached process.
    pub async fn stderr(attached: &Arc<Mutex<Attached>>) -> String {
        let handle = attached.lock().unwrap().stderr.take().unwrap();
        handle.await.unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // What the service makes on demand and leaves: the runtime
        // directory and the cgroup parents named after it (empty by now, or
        // the removals fail and the leftovers show).
        let _ = fs::remove_dir_all(&self.scratch_root);
        if std::env::var("HCS_TEST_ROLE").is_ok() {
            return;
        }
        let _ = fs::remove_dir(&self.runtime_dir);
        let tag = self.runtime_dir.file_name().unwrap().to_owned();
        for hierarchy in fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = fs::remove_dir(hierarchy.path().join(&tag));
        }
        let _ = fs::remove_dir(PathBuf::from("/sys/fs/cgroup").join(&tag));
    }
}

/// The holder binary, built by cargo next to the test programs.
pub fn shim() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let shim = dir.join("hcsrun-shim");
    assert!(
        shim.exists(),
        "{} is missing: cargo build -p hcsrun-shim",
        shim.display()
    );
    shim
}

/// A Windows-platform spec whose process runs `args`.
pub fn spec(args: &[&str]) -> Spec {
    spec_with(args, serde_json::json!({}))
}

/// A spec with `process` fields merged over the defaults.
pub fn spec_with(args: &[&str], process: serde_json::Value) -> Spec {
    let mut p = serde_json::json!({
        "terminal": false,
        "user": {"uid": 0, "gid": 0},
        "args": args,
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "cwd": "/",
    });
    for (k, v) in process.as_object().unwrap() {
        p[k] = v.clone();
    }
    let json = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": p,
        "root": {"path": ""},
        "hostname": "clienthost",
        "windows": {},
    });
    Spec::from_json(&json.to_string()).unwrap()
}
