//! The client's embedder: its state changes become containerd's events.
//!
//! Order, as containerd's runtime v2 README asks: TaskStart is published
//! when the client tells the start, which it does before it watches for the
//! exit; an exec'd process's exit told while its `Start` is still under way
//! waits until TaskExecStarted is out. TaskExit is published once per
//! process, after its output has reached containerd's FIFOs (so `ctr`
//! prints all of it) and after any TaskOOM.

use std::{
    collections::HashMap,
    error::Error,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use hcsrun::client::{Backend, State, StateInfo, INIT_PROCESS, UNKNOWN_EXIT_CODE};

use crate::{
    container::{timestamp, Container, Exit, Phase, Proc},
    events::EventSender,
};

/// The exit status reported when the real one is lost (containerd's
/// `UnknownExitStatus`).
pub const UNKNOWN_STATUS: u32 = 255;

/// How long an exit waits for its output to be delivered: a process's
/// output ends with it, unless something it started outside holds the
/// pipe (an exec'd process's background child).
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// What the task service and the backend share.
pub struct Shared {
    /// The ordered queue of events to containerd.
    pub events: EventSender,
    /// The daemon's containers by id.
    pub containers: Mutex<HashMap<String, Arc<Container>>>,
}

impl Shared {
    /// Container `id`, if this daemon holds it.
    pub fn container(&self, id: &str) -> Option<Arc<Container>> {
        self.containers.lock().unwrap().get(id).cloned()
    }

    /// Publishes `proc`'s exit (once) and wakes its waiters.
    pub async fn exited(&self, container: &Container, proc: &Proc, exit: Exit) {
        proc.outputs_done(OUTPUT_GRACE).await;
        let id = if proc.exec_id.is_empty() {
            &container.id
        } else {
            &proc.exec_id
        };
        self.events.task_exit(
            &container.id,
            id,
            proc.pid(),
            exit.status,
            timestamp(exit.at),
        );
        proc.set_exited(exit);
    }

    /// An exit told by the client: published now, or held until the
    /// process's `Start` has published its start.
    async fn told_exit(&self, container: &Container, proc: &Proc, exit: Exit) {
        {
            let mut phase = proc.phase.lock().unwrap();
            match *phase {
                Phase::Starting(_) => {
                    *phase = Phase::Starting(Some(exit));
                    return;
                }
                Phase::Exited(_) => return,
                Phase::Created | Phase::Running => {}
            }
        }
        self.exited(container, proc, exit).await;
    }
}

/// The backend handed to the client.
pub struct EventBackend(pub Arc<Shared>);

fn status(info: &StateInfo) -> u32 {
    if info.lost.is_some() || info.exit_code == UNKNOWN_EXIT_CODE {
        UNKNOWN_STATUS
    } else {
        info.exit_code
    }
}

#[async_trait]
impl Backend for EventBackend {
    async fn state_changed(
        &self,
        container_id: &str,
        info: StateInfo,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        let shared = &self.0;
        let Some(container) = shared.container(container_id) else {
            crate::trace!("state {} of unknown container {container_id}", info.state);
            return Ok(());
        };
        match info.state {
            State::Start => {
                let init = &container.init;
                shared.events.task_start(&container.id, init.pid());
            }
            State::Exit => {
                if let Some(lost) = &info.lost {
                    log::warn!("container {container_id}: {lost}");
                }
                let exit = Exit::now(status(&info));
                shared.told_exit(&container, &container.init, exit).await;
            }
            State::ExitProcess => {
                let name = if info.process_id == INIT_PROCESS {
                    ""
                } else {
                    info.process_id.as_str()
                };
                if let Some(proc) = container.process(name) {
                    shared
                        .told_exit(&container, &proc, Exit::now(status(&info)))
                        .await;
                }
            }
            State::Pause => {
                container
                    .paused
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                shared.events.task_paused(&container.id);
            }
            State::Resume => {
                container
                    .paused
                    .store(false, std::sync::atomic::Ordering::SeqCst);
                shared.events.task_resumed(&container.id);
            }
        }
        Ok(())
    }
}
