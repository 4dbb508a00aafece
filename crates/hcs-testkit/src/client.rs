//! The runtime client on a real compute service, an embedder that records
//! every state change, and specs that run on the host's root.

use std::{
    error::Error,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use hcs::ComputeService;
use hcsrun::{
    client::{Backend, Client, IoPipe, State, StateInfo, StdinWriter, Timeouts},
    translate::{parse_process, CreateOptions, HostFacts, OciProcess, Spec},
};
use tokio::{io::AsyncReadExt, sync::Notify, task::JoinHandle};

use crate::{Sandbox, ServiceKind};

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
    /// The reader of stdout, to its end.
    pub stdout: Option<JoinHandle<String>>,
    /// The reader of stderr, to its end.
    pub stderr: Option<JoinHandle<String>>,
    /// The writer of stdin.
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

/// A runtime client on a compute service of some kind, on its own sandbox,
/// telling a [`Recorder`].
pub struct Harness {
    /// The client under test.
    pub client: Client,
    /// What the client told its embedder.
    pub events: Arc<Recorder>,
    /// The service the client drives.
    pub service: Arc<dyn ComputeService>,
    /// Where the service keeps its systems.
    pub sandbox: Sandbox,
}

impl Harness {
    /// A client with default timeouts on a service of `kind`, on the
    /// sandbox `name` of this process.
    pub fn new(name: &str, kind: ServiceKind) -> Self {
        Self::with_timeouts(name, kind, Timeouts::default())
    }

    /// As [`Harness::new`], with `timeouts`.
    pub fn with_timeouts(name: &str, kind: ServiceKind, timeouts: Timeouts) -> Self {
        Self::on(Sandbox::new(name, kind), kind, timeouts)
    }

    /// A client on the sandbox `name` of process `pid` (a second process of
    /// a test), which this one leaves in place.
    pub fn shared(name: &str, kind: ServiceKind, pid: u32, timeouts: Timeouts) -> Self {
        Self::on(Sandbox::shared(name, kind, pid), kind, timeouts)
    }

    fn on(sandbox: Sandbox, kind: ServiceKind, timeouts: Timeouts) -> Self {
        let service = sandbox.service(kind);
        let events = Arc::new(Recorder::default());
        let host = HostFacts {
            owner: sandbox.tag().to_owned(),
            ..HostFacts::of_service(&*service)
        };
        let client = Client::with(service.clone(), events.clone(), host, timeouts);
        Self {
            client,
            events,
            service,
            sandbox,
        }
    }

    /// The owner of the client's systems.
    pub fn owner(&self) -> &str {
        self.sandbox.tag()
    }

    /// Options running on the host's root with a scratch folder of `id`'s.
    pub fn options(&self, id: &str) -> CreateOptions {
        let json = serde_json::json!({
            "ignore_flushes_during_boot": true,
            "layers": {"layer_folder_path": self.sandbox.scratch(id), "layer_paths": ["/"]},
        });
        CreateOptions::from_json(&json.to_string()).unwrap()
    }

    /// Creates container `id` running `script` under `sh -c`, capturing its
    /// streams.
    pub async fn run(&self, id: &str, script: &str) -> Arc<Mutex<Attached>> {
        self.run_spec(id, &spec(&["sh", "-c", script]), &self.options(id))
            .await
    }

    /// Creates container `id` from `spec` and `options`, capturing its
    /// streams.
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

/// An exec process (`add_process`'s) running `args` as root in the
/// container's working directory.
pub fn exec(args: &[&str]) -> OciProcess {
    let json = serde_json::json!({
        "terminal": false,
        "user": {"uid": 0, "gid": 0},
        "args": args,
        "cwd": "",
    });
    parse_process(&json.to_string()).unwrap()
}

/// Instantiates client tests for each backend, as `mod linux` and `mod
/// vmcompute`: each `async fn test(kind: ServiceKind)` of the calling module
/// becomes `linux::test` and `vmcompute::test`. Those listed under
/// `needs_root` run systems: they are ignored unless asked for and call
/// [`require_root`](crate::require_root); those under `anyone` run for
/// everyone.
#[macro_export]
macro_rules! for_each_backend {
    (needs_root: [$($test:ident),* $(,)?], anyone: [$($plain:ident),* $(,)?] $(,)?) => {
        $crate::for_each_backend!(@kind linux, Linux, [$($test),*], [$($plain),*]);
        $crate::for_each_backend!(@kind vmcompute, VmCompute, [$($test),*], [$($plain),*]);
    };
    (@kind $module:ident, $kind:ident, [$($test:ident),*], [$($plain:ident),*]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs root"]
                async fn $test() {
                    $crate::require_root();
                    super::$test($crate::ServiceKind::$kind).await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $plain() {
                    super::$plain($crate::ServiceKind::$kind).await
                }
            )*
        }
    };
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
