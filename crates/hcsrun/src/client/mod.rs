//! The runtime client an engine embeds (the seed's `libcontainerd` client
//! on Windows): containers created from OCI specs, processes added to them,
//! signals, consoles, pause, statistics and restore, with every state change
//! told to a [`Backend`].
//!
//! ```no_run
//! # async fn demo(service: std::sync::Arc<dyn hcs::ComputeService>, backend: std::sync::Arc<dyn hcsrun::client::Backend>) -> Result<(), Box<dyn std::error::Error>> {
//! use hcsrun::{client::Client, translate::{CreateOptions, Spec}};
//!
//! let client = Client::new(service, backend);
//! let spec = Spec::load("bundle")?;
//! client
//!     .create("c1", &spec, &CreateOptions::default(), |pipes| {
//!         // Hand pipes.stdout/stderr/stdin to whatever copies them.
//!         drop(pipes);
//!         Ok(())
//!     })
//!     .await?;
//! client.signal("c1", 15).await?;
//! # Ok(()) }
//! ```
//!
//! Calls on one container are serialized; calls on different containers
//! never wait on each other. Each process's exit is awaited by a task, not a
//! thread.

mod container;
mod control;
mod create;
mod error;
mod events;
mod exec;
mod locks;
mod restore;
mod stdio;
mod supervise;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use hcs::ComputeService;

use self::{container::Container, locks::IdLocks};
pub use self::{
    control::{Checkpoints, Resources, ServerVersion},
    create::ParkedContainer,
    error::{ClientError, ClientErrorKind, Result},
    events::{Backend, State, StateInfo, INIT_PROCESS, RESTORED_EXIT_CODE, UNKNOWN_EXIT_CODE},
    stdio::{IoPipe, OutputReader, StdinWriter},
};
use crate::translate::HostFacts;

/// The embedder's attach callback (the seed's `StdioCallback`): receives a
/// process's streams. An error fails the call that started the process, and
/// the process is killed.
pub type AttachError = Box<dyn std::error::Error + Send + Sync>;

/// How long the client waits for systems to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Shutdown after the init process exits, before terminating instead.
    pub shutdown: Duration,
    /// Terminate, before giving up.
    pub terminate: Duration,
    /// Terminate of a system found by `restore`.
    pub restore: Duration,
}

impl Default for Timeouts {
    /// The seed's: five minutes each, two for restore.
    fn default() -> Self {
        Self {
            shutdown: Duration::from_secs(5 * 60),
            terminate: Duration::from_secs(5 * 60),
            restore: Duration::from_secs(2 * 60),
        }
    }
}

/// The runtime client. Cheap to clone; clones share containers.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    service: Arc<dyn ComputeService>,
    backend: Arc<dyn Backend>,
    host: HostFacts,
    timeouts: Timeouts,
    containers: Mutex<HashMap<String, Arc<Container>>>,
    locks: IdLocks,
}

impl Client {
    /// A client of `service` reporting to `backend`, with the host facts of
    /// this machine and the service, and the default owner (`hcsrun`).
    pub fn new(service: Arc<dyn ComputeService>, backend: Arc<dyn Backend>) -> Self {
        let host = HostFacts::of_service(&*service);
        Self::with(service, backend, host, Timeouts::default())
    }

    /// A client with explicit host facts (owner, cpu count, Windows build)
    /// and timeouts.
    pub fn with(
        service: Arc<dyn ComputeService>,
        backend: Arc<dyn Backend>,
        host: HostFacts,
        timeouts: Timeouts,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                backend,
                host,
                timeouts,
                containers: Mutex::default(),
                locks: IdLocks::default(),
            }),
        }
    }

    /// The owner the client's systems are created with.
    pub fn owner(&self) -> &str {
        &self.inner.host.owner
    }

    /// The ids of the containers this client runs.
    pub fn container_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .inner
            .containers
            .lock()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }
}

impl Inner {
    /// The running container `id`, or "invalid container: ID".
    fn container(&self, operation: &'static str, id: &str) -> Result<Arc<Container>> {
        self.containers
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .ok_or_else(|| ClientError::new(operation, id, ClientErrorKind::InvalidContainer))
    }
}
