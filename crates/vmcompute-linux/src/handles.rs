//! The handles the library hands out: numbers standing for compute systems
//! and processes of the Linux service, and the watchers that turn their
//! ends into notifications.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, OnceLock,
    },
};

use hcs::{ComputeSystem, ErrorKind, HcsError, Process};
use hcs_schema::ContainerConfig;
use tokio::sync::watch;
use vmcompute_abi::{notification as n, Handle};

use crate::{
    ffi::Failure,
    notifier::{self, Note},
    runtime,
};

/// What a system handle's creation came to: the system, or why not.
pub type Created = Result<Arc<dyn ComputeSystem>, Failure>;

/// A compute system handle.
pub struct SystemHandle {
    pub handle: u64,
    pub id: String,
    /// The configuration, for a system created through this handle.
    pub config: Option<ContainerConfig>,
    created: watch::Sender<Option<Created>>,
    watching: AtomicBool,
}

impl SystemHandle {
    /// A handle whose system is being created.
    pub fn creating(id: String, config: ContainerConfig) -> Self {
        Self::with(id, Some(config), None)
    }

    /// A handle of an existing system.
    pub fn ready(id: String, system: Arc<dyn ComputeSystem>) -> Self {
        Self::with(id, None, Some(Ok(system)))
    }

    fn with(id: String, config: Option<ContainerConfig>, created: Option<Created>) -> Self {
        Self {
            handle: next_handle(),
            id,
            config,
            created: watch::Sender::new(created),
            watching: AtomicBool::new(false),
        }
    }

    /// Records the creation's outcome; waiters of [`system`](Self::system)
    /// go on.
    pub fn set_created(&self, created: Created) {
        self.created.send_replace(Some(created));
    }

    /// The system, once created.
    pub async fn system(&self) -> Created {
        let mut rx = self.created.subscribe();
        let created = rx
            .wait_for(Option::is_some)
            .await
            .expect("the sender lives in self");
        created.clone().expect("waited for Some")
    }

    /// Watches for the system's end (once per handle): `SystemExited`.
    pub fn watch_exit(&self, system: Arc<dyn ComputeSystem>) {
        if self.watching.swap(true, Ordering::SeqCst) {
            return;
        }
        let handle = self.handle;
        runtime::spawn(async move {
            let waited = system.wait().await;
            notify_end(handle, n::SYSTEM_EXITED, waited);
        });
    }
}

/// A process handle.
pub struct ProcessHandle {
    pub handle: u64,
    pub process: Arc<dyn Process>,
}

impl ProcessHandle {
    /// A handle of `process`, watched for its end (`ProcessExited`).
    pub fn new(process: Arc<dyn Process>) -> Arc<Self> {
        let this = Arc::new(Self {
            handle: next_handle(),
            process,
        });
        insert(Object::Process(this.clone()));
        let (handle, process) = (this.handle, this.process.clone());
        runtime::spawn(async move {
            let waited = process.wait().await;
            notify_end(handle, n::PROCESS_EXITED, waited);
        });
        this
    }
}

/// Tells of a system's or process's end; nothing once the handle is
/// closed.
fn notify_end(handle: u64, kind: u32, waited: Result<(), HcsError>) {
    let note = match waited {
        Ok(()) => Note {
            kind,
            status: 0,
            data: None,
        },
        Err(e) if matches!(e.kind(), ErrorKind::HandleClosed | ErrorKind::AlreadyClosed) => return,
        Err(e) => {
            let kind = match e.kind() {
                ErrorKind::ServiceDisconnect => n::SERVICE_DISCONNECT,
                _ => kind,
            };
            let failure = Failure::from(e);
            Note {
                kind,
                status: failure.hr,
                data: Some(failure.result),
            }
        }
    };
    notifier::send(handle, note);
}

pub enum Object {
    System(Arc<SystemHandle>),
    Process(Arc<ProcessHandle>),
}

fn table() -> &'static Mutex<HashMap<u64, Object>> {
    static TABLE: OnceLock<Mutex<HashMap<u64, Object>>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

fn next_handle() -> u64 {
    // Small multiples of 4, as Windows handles are; never 0.
    static NEXT: AtomicU64 = AtomicU64::new(0x100);
    NEXT.fetch_add(4, Ordering::Relaxed)
}

/// Makes `object` reachable by its handle; notifications for it are kept
/// from now on.
pub fn insert(object: Object) {
    let handle = match &object {
        Object::System(s) => s.handle,
        Object::Process(p) => p.handle,
    };
    notifier::open(handle);
    table().lock().unwrap().insert(handle, object);
}

pub fn as_raw(handle: u64) -> Handle {
    handle as usize as Handle
}

fn lookup<T>(
    raw: Handle,
    export: &str,
    remove: bool,
    pick: fn(&Object) -> Option<Arc<T>>,
) -> Result<Arc<T>, Failure> {
    let key = raw as usize as u64;
    let mut table = table().lock().unwrap();
    let found = table
        .get(&key)
        .and_then(pick)
        .ok_or_else(|| Failure::invalid_handle(export))?;
    if remove {
        table.remove(&key);
    }
    Ok(found)
}

fn pick_system(o: &Object) -> Option<Arc<SystemHandle>> {
    match o {
        Object::System(s) => Some(s.clone()),
        Object::Process(_) => None,
    }
}

fn pick_process(o: &Object) -> Option<Arc<ProcessHandle>> {
    match o {
        Object::Process(p) => Some(p.clone()),
        Object::System(_) => None,
    }
}

pub fn system(raw: Handle, export: &str) -> Result<Arc<SystemHandle>, Failure> {
    lookup(raw, export, false, pick_system)
}

pub fn process(raw: Handle, export: &str) -> Result<Arc<ProcessHandle>, Failure> {
    lookup(raw, export, false, pick_process)
}

/// Takes a system handle out of the table (closing it).
pub fn remove_system(raw: Handle, export: &str) -> Result<Arc<SystemHandle>, Failure> {
    lookup(raw, export, true, pick_system)
}

/// Takes a process handle out of the table (closing it).
pub fn remove_process(raw: Handle, export: &str) -> Result<Arc<ProcessHandle>, Failure> {
    lookup(raw, export, true, pick_process)
}
