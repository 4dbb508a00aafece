//! What the shim knows of its containers and their processes.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc, Mutex,
    },
    time::{Duration, SystemTime},
};

use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use hcsrun::{client::ParkedContainer, translate::OciProcess};
use hcsrun_linux_spec::Namespaces;
use tokio::sync::watch;

use crate::{
    cgroup::Cgroups,
    oom::OomWatch,
    stdio::{Copies, StdioPaths},
};

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// Its exit code, or 128 + the signal that killed it.
    pub status: u32,
    /// When the shim learnt of it.
    pub at: SystemTime,
}

impl Exit {
    /// An exit with `status`, now.
    pub fn now(status: u32) -> Self {
        Self {
            status,
            at: SystemTime::now(),
        }
    }
}

/// A `SystemTime` as protobuf's `Timestamp`.
pub fn timestamp(t: SystemTime) -> Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
        ..Default::default()
    }
}

/// The zero time containerd shows for "not exited" (Go's zero `time.Time`).
pub fn zero_time() -> Timestamp {
    Timestamp {
        seconds: -62_135_596_800,
        nanos: 0,
        ..Default::default()
    }
}

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Created, not started (init: its pid 1 is parked).
    Created,
    /// `Start` is under way; an exit told meanwhile waits here so that
    /// TaskExit never precedes TaskStart/TaskExecStarted.
    Starting(Option<Exit>),
    Running,
    Exited(Exit),
}

/// One process: the container's init (`exec_id` empty) or an exec'd one.
pub struct Proc {
    /// containerd's exec id (empty: the init).
    pub exec_id: String,
    /// Where containerd wants its streams.
    pub stdio: StdioPaths,
    /// An exec'd process's spec (`Exec`), run at its `Start`.
    pub spec: Option<Box<OciProcess>>,
    /// The host's pid, 0 until known.
    pub pid: AtomicU32,
    /// Where it is in its life.
    pub phase: Mutex<Phase>,
    exited: watch::Sender<Option<Exit>>,
    /// Its stdio copies (stdin's close, the outputs to wait for).
    pub copies: Mutex<Copies>,
}

impl Proc {
    /// A process created, not started.
    pub fn new(exec_id: &str, stdio: StdioPaths, spec: Option<Box<OciProcess>>) -> Self {
        Self {
            exec_id: exec_id.to_owned(),
            stdio,
            spec,
            pid: AtomicU32::new(0),
            phase: Mutex::new(Phase::Created),
            exited: watch::channel(None).0,
            copies: Mutex::default(),
        }
    }

    /// Its host pid (0 until known).
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    /// Its phase now.
    pub fn phase(&self) -> Phase {
        *self.phase.lock().unwrap()
    }

    /// Its exit, once it has exited.
    pub fn exit(&self) -> Option<Exit> {
        match self.phase() {
            Phase::Exited(exit) => Some(exit),
            _ => None,
        }
    }

    /// Records the exit and wakes every `Wait`.
    pub fn set_exited(&self, exit: Exit) {
        *self.phase.lock().unwrap() = Phase::Exited(exit);
        self.exited.send_replace(Some(exit));
    }

    /// Waits for the exit.
    pub async fn wait(&self) -> Exit {
        let mut rx = self.exited.subscribe();
        loop {
            if let Some(exit) = *rx.borrow_and_update() {
                return exit;
            }
            if rx.changed().await.is_err() {
                return Exit::now(crate::backend::UNKNOWN_STATUS);
            }
        }
    }

    /// Waits (at most `limit`) for the output to reach containerd.
    pub async fn outputs_done(&self, limit: Duration) {
        let tasks = self.copies.lock().unwrap().take_outputs();
        let _ = tokio::time::timeout(limit, async {
            for task in tasks {
                let _ = task.await;
            }
        })
        .await;
    }
}

/// One container.
pub struct Container {
    /// containerd's container id.
    pub id: String,
    /// Its bundle directory (config.json, rootfs/).
    pub bundle: PathBuf,
    /// containerd mounted nothing itself: the rootfs is ours to unmount.
    pub mounted_rootfs: bool,
    /// Its init process (pid 1).
    pub init: Arc<Proc>,
    /// Until `Start` (or a kill or delete before it).
    pub parked: Mutex<Option<ParkedContainer>>,
    /// Its exec'd processes by exec id.
    pub execs: Mutex<HashMap<String, Arc<Proc>>>,
    /// Its cgroup v1 directories (metrics, pids, updates).
    pub cgroups: Cgroups,
    /// The network, IPC and UTS namespaces its spec names.
    pub namespaces: Namespaces,
    /// The OOM watch, until the init is deleted.
    pub oom: Mutex<Option<OomWatch>>,
    /// Frozen by `Pause`.
    pub paused: AtomicBool,
}

impl Container {
    /// The process `exec_id` (empty: init).
    pub fn process(&self, exec_id: &str) -> Option<Arc<Proc>> {
        if exec_id.is_empty() {
            return Some(self.init.clone());
        }
        self.execs.lock().unwrap().get(exec_id).cloned()
    }
}
