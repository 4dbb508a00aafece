//! What the client knows of a running container.

use std::{
    collections::HashMap,
    sync::{atomic::AtomicBool, Arc, Mutex},
};

use hcs::{ComputeSystem, Process};

use crate::translate::{LinuxSpec, Platform, Spec};

/// A process of a container, by friendly name.
#[derive(Clone)]
pub struct ProcessEntry {
    pub pid: u32,
    pub process: Arc<dyn Process>,
}

pub struct Container {
    pub id: String,
    pub system: Arc<dyn ComputeSystem>,
    /// The spec it was created from: exec'd processes fall back to its
    /// working directory (and, for a Linux container, its user and
    /// security settings).
    pub spec: CreatedFrom,
    /// Hyper-V isolated (`HvPartition`): only those can be paused.
    pub hyperv: bool,
    pub init: ProcessEntry,
    /// Processes added with `add_process`.
    pub processes: Mutex<HashMap<String, ProcessEntry>>,
    /// A stop was asked for through the client (the seed's
    /// `manualStopRequested`), told with the exit.
    pub stop_requested: AtomicBool,
}

/// The spec a container was created from.
pub enum CreatedFrom {
    /// An OCI spec for one of the seed's paths (`platform` says which).
    Oci {
        /// The spec.
        spec: Box<Spec>,
        /// Which of the seed's paths it took.
        platform: Platform,
    },
    /// A Linux spec the service runs natively.
    Linux(Box<LinuxSpec>),
}

impl Container {
    /// The process with `name`: `init` or an added one.
    pub fn process(&self, name: &str) -> Option<ProcessEntry> {
        if name == super::INIT_PROCESS {
            return Some(self.init.clone());
        }
        self.processes.lock().unwrap().get(name).cloned()
    }
}
