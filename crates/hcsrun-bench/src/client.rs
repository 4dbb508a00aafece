//! hcsrun's runtime client on the Linux compute service, as an embedder
//! uses it: containers of one read-only layer, and their events awaited.

use std::{
    collections::{hash_map::Entry, HashMap},
    error::Error,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::{bail, Context};
use async_trait::async_trait;
use hcs_linux::LinuxComputeService;
use hcsrun::{
    client::{Backend, Client, IoPipe, State, StateInfo},
    translate::{CreateOptions, LayerOption, OciProcess, Spec},
};
use tokio::{io::AsyncReadExt, sync::oneshot};

/// The bench's own runtime directory: its systems and cgroups (named after
/// it) are apart from any other hcsrun's.
pub const RUNTIME_DIR: &str = "/run/hcsrun-bench";

/// Which event: container, state, and the added process's name (empty for
/// the container's own events).
type Key = (String, State, String);

enum Slot {
    Arrived(StateInfo),
    Awaited(oneshot::Sender<StateInfo>),
}

/// The embedder: each event goes to whoever awaits it, or waits for them.
#[derive(Default)]
pub struct Events {
    slots: Mutex<HashMap<Key, Slot>>,
}

impl Events {
    /// The event `state` of container `id` (of its added process `name` for
    /// `exit-process`), whether it already came or is still to come.
    pub fn expect(&self, id: &str, state: State, name: &str) -> oneshot::Receiver<StateInfo> {
        let (tx, rx) = oneshot::channel();
        let key = (id.to_owned(), state, name.to_owned());
        let mut slots = self.slots.lock().unwrap();
        match slots.remove(&key) {
            Some(Slot::Arrived(info)) => {
                let _ = tx.send(info);
            }
            _ => {
                slots.insert(key, Slot::Awaited(tx));
            }
        }
        rx
    }
}

#[async_trait]
impl Backend for Events {
    async fn state_changed(
        &self,
        id: &str,
        info: StateInfo,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        let name = match info.state {
            State::ExitProcess => info.process_id.clone(),
            _ => String::new(),
        };
        let key = (id.to_owned(), info.state, name);
        let mut slots = self.slots.lock().unwrap();
        match slots.entry(key) {
            Entry::Occupied(slot) => {
                if let Slot::Awaited(tx) = slot.remove() {
                    let _ = tx.send(info);
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(Slot::Arrived(info));
            }
        }
        Ok(())
    }
}

/// The client, its events, and what its containers are made of.
pub struct Bench {
    pub client: Client,
    pub events: Arc<Events>,
    layer: PathBuf,
    scratch_root: PathBuf,
}

impl Bench {
    /// A client of the Linux compute service (holder: `hcsrun-shim` beside
    /// this program), running containers of the read-only `layer` with
    /// scratch folders under `scratch_root`.
    pub fn new(layer: &Path, scratch_root: &Path) -> anyhow::Result<Self> {
        if !layer.is_dir() {
            bail!("layer {} is not a directory", layer.display());
        }
        std::fs::create_dir_all(scratch_root)
            .with_context(|| format!("creating {}", scratch_root.display()))?;
        let service = LinuxComputeService::builder()
            .runtime_dir(RUNTIME_DIR)
            .build()
            .context("opening the linux compute service")?;
        let events = Arc::new(Events::default());
        let client = Client::new(Arc::new(service), events.clone());
        Ok(Self {
            client,
            events,
            layer: layer.to_owned(),
            scratch_root: scratch_root.to_owned(),
        })
    }

    /// Creates and starts container `id` running `args`, as `hcsrun run`
    /// would (a scratch folder of its own, flushes ignored), with its
    /// output drained and its stdin closed.
    pub async fn create(&self, id: &str, args: &[&str]) -> anyhow::Result<()> {
        let scratch = self.scratch_root.join(id);
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let spec = Spec::from_json(&spec_json(args).to_string()).context("the bench's spec")?;
        let options = CreateOptions {
            layers: Some(LayerOption {
                layer_folder_path: scratch.to_string_lossy().into_owned(),
                layer_paths: vec![self.layer.to_string_lossy().into_owned()],
            }),
            ignore_flushes_during_boot: Some(true),
            ..Default::default()
        };
        let created = self
            .client
            .create(id, &spec, &options, |pipes| {
                drain(pipes);
                Ok(())
            })
            .await
            .with_context(|| format!("creating container {id}"));
        if created.is_err() {
            // Nothing runs (the client saw to it); nothing is left either.
            let _ = std::fs::remove_dir_all(&scratch);
        }
        created
    }

    /// Starts `args` in container `id` as the added process `name`; its
    /// output is drained and its stdin closed. Returns its pid.
    pub async fn exec(&self, id: &str, name: &str, args: &[&str]) -> anyhow::Result<u32> {
        let process: OciProcess =
            serde_json::from_value(process_json(args)).context("the bench's process spec")?;
        self.client
            .add_process(id, name, &process, |pipes| {
                drain(pipes);
                Ok(())
            })
            .await
            .with_context(|| format!("adding {name} to container {id}"))
    }

    /// Removes the scratch folder of container `id` (once it has exited).
    pub fn remove_scratch(&self, id: &str) -> anyhow::Result<()> {
        let scratch = self.scratch_root.join(id);
        std::fs::remove_dir_all(&scratch).with_context(|| format!("removing {}", scratch.display()))
    }
}

/// What an embedder does with streams it does not show: reads them to the
/// end, and ends stdin at once.
fn drain(pipes: IoPipe) {
    for mut output in [pipes.stdout, pipes.stderr].into_iter().flatten() {
        tokio::spawn(async move {
            let mut buf = vec![0; 4096];
            while matches!(output.read(&mut buf).await, Ok(n) if n > 0) {}
        });
    }
    // Dropping the writer closes stdin, in the pipe and in the system.
    drop(pipes.stdin);
}

/// The process part of the bench's specs.
fn process_json(args: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "terminal": false,
        "user": {"uid": 0, "gid": 0},
        "args": args,
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "cwd": "/",
    })
}

/// A spec as `hcsrun run` makes one from its flags.
fn spec_json(args: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": "1.0.2",
        "process": process_json(args),
        "root": {"path": ""},
        "hostname": "bench",
        "mounts": [],
        "windows": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(name: &str) -> StateInfo {
        StateInfo {
            process_id: name.to_owned(),
            ..StateInfo::new(State::ExitProcess)
        }
    }

    #[tokio::test]
    async fn events_reach_waiters_before_and_after_they_come() {
        let events = Events::default();
        events.state_changed("c1", exit("early")).await.unwrap();
        let early = events.expect("c1", State::ExitProcess, "early");
        let late = events.expect("c1", State::ExitProcess, "late");
        events.state_changed("c1", exit("late")).await.unwrap();
        assert_eq!(early.await.unwrap().process_id, "early");
        assert_eq!(late.await.unwrap().process_id, "late");
    }

    #[tokio::test]
    async fn container_events_ignore_the_process_name() {
        let events = Events::default();
        let exit = events.expect("c1", State::Exit, "");
        let info = StateInfo {
            process_id: "init".into(),
            ..StateInfo::new(State::Exit)
        };
        events.state_changed("c1", info).await.unwrap();
        assert_eq!(exit.await.unwrap().state, State::Exit);
    }

    #[test]
    fn the_spec_parses_as_hcsrun_runs_it() {
        let spec = Spec::from_json(&spec_json(&["sleep", "1"]).to_string()).unwrap();
        assert!(!spec.has_linux());
        let process: OciProcess = serde_json::from_value(process_json(&["true"])).unwrap();
        assert_eq!(process.args().as_deref().unwrap(), ["true"]);
    }
}
