//! Notifications to the caller's callbacks, from a thread of the library's.
//!
//! One thread delivers every notification, in the order sent, so a
//! handle's notifications arrive in order. A notification for a handle
//! without a callback waits in the handle's queue; registering delivers the
//! queue first. Once unregistering returns, the callback is not running and
//! will not be called again.

use std::{
    collections::{HashMap, VecDeque},
    ffi::c_void,
    sync::{mpsc, Condvar, Mutex, OnceLock},
    thread::{self, ThreadId},
};

use hcs::ErrorCode;
use vmcompute_abi::{Hresult, NotificationCallback};

use crate::ffi::Failure;

/// One notification.
#[derive(Clone, Debug)]
pub struct Note {
    pub kind: u32,
    pub status: Hresult,
    pub data: Option<String>,
}

#[derive(Clone, Copy)]
struct Registration {
    id: u64,
    callback: NotificationCallback,
    context: usize,
}

#[derive(Default)]
struct Slot {
    registration: Option<Registration>,
    /// Delivery has begun: the queue was flushed.
    active: bool,
    queue: VecDeque<Note>,
}

#[derive(Default)]
struct Table {
    slots: HashMap<u64, Slot>,
    registrations: HashMap<u64, u64>,
    next: u64,
}

enum Message {
    Note(u64, Note),
    Activate(u64, u64),
}

struct Notifier {
    tx: mpsc::Sender<Message>,
    table: Mutex<Table>,
    /// The handle whose callback is running, if any.
    busy: Mutex<Option<u64>>,
    idle: Condvar,
    thread: ThreadId,
}

fn notifier() -> &'static Notifier {
    static NOTIFIER: OnceLock<Notifier> = OnceLock::new();
    NOTIFIER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("vmcompute-notify".into())
            .spawn(move || run(rx))
            .expect("libvmcompute: starting its notification thread");
        Notifier {
            tx,
            table: Mutex::default(),
            busy: Mutex::new(None),
            idle: Condvar::new(),
            thread: thread.thread().id(),
        }
    })
}

fn run(rx: mpsc::Receiver<Message>) {
    let n = notifier();
    for message in rx {
        match message {
            Message::Note(handle, note) => {
                let mut table = n.table.lock().unwrap();
                let Some(slot) = table.slots.get_mut(&handle) else {
                    continue;
                };
                match slot.registration.filter(|_| slot.active) {
                    Some(r) => {
                        claim(n, handle);
                        drop(table);
                        call(n, r, &note);
                    }
                    None => slot.queue.push_back(note),
                }
            }
            Message::Activate(handle, id) => {
                let queued = {
                    let mut table = n.table.lock().unwrap();
                    let Some(slot) = table.slots.get_mut(&handle) else {
                        continue;
                    };
                    if slot.registration.is_none_or(|r| r.id != id) {
                        continue;
                    }
                    slot.active = true;
                    std::mem::take(&mut slot.queue)
                };
                for note in &queued {
                    let table = n.table.lock().unwrap();
                    // Unregistered meanwhile: the rest is dropped.
                    let Some(r) = table
                        .slots
                        .get(&handle)
                        .and_then(|s| s.registration)
                        .filter(|r| r.id == id)
                    else {
                        break;
                    };
                    claim(n, handle);
                    drop(table);
                    call(n, r, note);
                }
            }
        }
    }
}

/// Marks `handle`'s callback as running. Called with the table locked, so
/// that an unregister either sees the registration gone before this or
/// waits for the call to end.
fn claim(n: &Notifier, handle: u64) {
    *n.busy.lock().unwrap() = Some(handle);
}

fn call(n: &Notifier, r: Registration, note: &Note) {
    let data: Option<Vec<u16>> = note.data.as_deref().map(|d| {
        d.encode_utf16()
            .take_while(|&u| u != 0)
            .chain([0])
            .collect()
    });
    let ptr = data.as_ref().map_or(std::ptr::null(), |d| d.as_ptr());
    // SAFETY: the caller registered the callback with this signature and
    // the context to pass back; `data` is NUL-terminated and lives through
    // the call.
    unsafe { (r.callback)(note.kind, r.context as *mut c_void, note.status, ptr) };
    *n.busy.lock().unwrap() = None;
    n.idle.notify_all();
}

/// A new handle: notifications for it are kept from now on.
pub fn open(handle: u64) {
    notifier()
        .table
        .lock()
        .unwrap()
        .slots
        .insert(handle, Slot::default());
}

/// A closed handle: its queue and registration go, later notifications are
/// dropped.
pub fn forget(handle: u64) {
    let mut table = notifier().table.lock().unwrap();
    if let Some(slot) = table.slots.remove(&handle) {
        if let Some(r) = slot.registration {
            table.registrations.remove(&r.id);
        }
    }
}

/// Sends a notification for `handle` (from any thread, never blocking).
pub fn send(handle: u64, note: Note) {
    let _ = notifier().tx.send(Message::Note(handle, note));
}

/// Registers `callback` for `handle`; the queued notifications follow. One
/// callback per handle.
pub fn register(
    handle: u64,
    callback: NotificationCallback,
    context: usize,
) -> Result<u64, Failure> {
    let n = notifier();
    let mut table = n.table.lock().unwrap();
    table.next += 1;
    let id = 0x7000_0000 + table.next;
    let Some(slot) = table.slots.get_mut(&handle) else {
        return Err(Failure::invalid_handle("register callback"));
    };
    if slot.registration.is_some() {
        return Err(Failure::new(
            ErrorCode::INVALID_STATE,
            "(a callback is already registered for this handle)",
        ));
    }
    slot.registration = Some(Registration {
        id,
        callback,
        context,
    });
    slot.active = false;
    table.registrations.insert(id, handle);
    drop(table);
    let _ = n.tx.send(Message::Activate(handle, id));
    Ok(id)
}

/// Unregisters; when this returns, the callback is not running (unless
/// this is called from the callback itself) and will not be called again.
pub fn unregister(id: u64) -> Result<(), Failure> {
    let n = notifier();
    let handle = {
        let mut table = n.table.lock().unwrap();
        let Some(handle) = table.registrations.remove(&id) else {
            return Err(Failure::invalid_handle("unregister callback"));
        };
        if let Some(slot) = table.slots.get_mut(&handle) {
            slot.registration = None;
            slot.active = false;
        }
        handle
    };
    if thread::current().id() != n.thread {
        let mut busy = n.busy.lock().unwrap();
        while *busy == Some(handle) {
            busy = n.idle.wait(busy).unwrap();
        }
    }
    Ok(())
}
