//! A fake compute service behind the vmcompute ABI, in Rust, to drive the
//! backend through its FFI layer. What it does is chosen by the system id
//! (`start-never-…` never completes a start, and so on); notifications go
//! out from threads of its own and wait in a queue until a callback is
//! registered, as HCS's do; every call is logged under its system id, and
//! any call on a closed or unknown handle, string not freed, or string
//! freed twice is recorded as misuse. The exports are in exports.rs.

mod exports;

use std::{
    collections::HashMap,
    ffi::c_void,
    os::unix::net::UnixStream,
    sync::{Mutex, MutexGuard, OnceLock},
    thread,
    time::Duration,
};

use hcs::ErrorCode;

use self::exports::*;
use crate::{
    abi::{self, notification as n, Handle, Hresult, Pcwstr, Pwstr},
    library::{Exports, Library},
    wide,
};

#[derive(Clone)]
struct Note {
    kind: u32,
    status: Hresult,
    data: Option<String>,
}

struct Entry {
    id: String,
    open: bool,
    callback: Option<(abi::NotificationCallback, usize)>,
    queue: Vec<Note>,
    exited: bool,
    /// The fake's end of a process's stdin.
    stdin: Option<UnixStream>,
    /// The caller's ends of a process's stdin and stdout, kept as HCS keeps
    /// them: `HcsGetProcessInfo` hands out duplicates.
    caller: [Option<UnixStream>; 2],
}

#[derive(Default)]
struct Fake {
    next: usize,
    handles: HashMap<usize, Entry>,
    registrations: HashMap<usize, usize>,
    /// Strings handed out, not yet freed: pointer → (id, buffer).
    strings: HashMap<usize, (String, Box<[u16]>)>,
    log: Vec<(String, String)>,
}

fn fake() -> MutexGuard<'static, Fake> {
    static FAKE: OnceLock<Mutex<Fake>> = OnceLock::new();
    FAKE.get_or_init(Default::default).lock().unwrap()
}

fn hr(code: ErrorCode) -> Hresult {
    code.to_hresult()
}

fn log(id: &str, what: impl Into<String>) {
    fake().log.push((id.to_owned(), what.into()));
}

/// What was logged for `id`, in order.
pub fn log_of(id: &str) -> Vec<String> {
    let f = fake();
    f.log
        .iter()
        .filter(|(i, _)| i == id)
        .map(|(_, w)| w.clone())
        .collect()
}

/// Misuse recorded for `id`: calls on closed handles, strings not freed,
/// handles left open.
pub fn misuse_of(id: &str) -> Vec<String> {
    let f = fake();
    let mut found: Vec<String> = f
        .log
        .iter()
        .filter(|(i, w)| (i == id || i == "?") && w.starts_with("MISUSE"))
        .map(|(_, w)| w.clone())
        .collect();
    found.extend(f.strings.values().filter(|(i, _)| i == id).map(|(_, s)| {
        format!(
            "MISUSE string not freed: {}",
            wide::from_wide_lossy(&s[..s.len() - 1])
        )
    }));
    found.extend(
        f.handles
            .values()
            .filter(|e| e.id == id && e.open)
            .map(|_| "MISUSE handle left open".to_owned()),
    );
    found
}

/// Reads a string argument.
fn text(p: Pcwstr) -> String {
    // SAFETY: the backend passes NUL-terminated strings (or NULL).
    unsafe { wide::from_ptr_lossy(p) }.unwrap_or_else(|| "<NULL>".into())
}

/// Hands out `s` for the caller to free with CoTaskMemFree.
fn out(slot: *mut Pwstr, id: &str, s: &str) {
    let mut buf: Box<[u16]> = wide::to_wide(s).unwrap().into_boxed_slice();
    let ptr = buf.as_mut_ptr();
    fake().strings.insert(ptr as usize, (id.to_owned(), buf));
    // SAFETY: the backend passes a writable pointer.
    unsafe { *slot = ptr };
}

fn new_handle(id: &str) -> Handle {
    let mut f = fake();
    f.next += 4;
    let h = 0x1000 + f.next;
    f.handles.insert(
        h,
        Entry {
            id: id.to_owned(),
            open: true,
            callback: None,
            queue: Vec::new(),
            exited: false,
            stdin: None,
            caller: [None, None],
        },
    );
    h as Handle
}

/// The id of open handle `h`, or `None` after recording misuse.
fn id_of(h: Handle, export: &str) -> Option<String> {
    let mut f = fake();
    match f.handles.get(&(h as usize)) {
        Some(e) if e.open => Some(e.id.clone()),
        Some(e) => {
            let id = e.id.clone();
            f.log
                .push((id, format!("MISUSE {export} on a closed handle")));
            None
        }
        None => {
            f.log
                .push(("?".into(), format!("MISUSE {export} on an unknown handle")));
            None
        }
    }
}

fn call(callback: (abi::NotificationCallback, usize), note: &Note) {
    let data = note.data.as_deref().map(|d| wide::to_wide(d).unwrap());
    let ptr = data.as_ref().map_or(std::ptr::null(), |d| d.as_ptr());
    // SAFETY: the callback was registered through the ABI; `data` lives
    // through the call.
    unsafe { (callback.0)(note.kind, callback.1 as *mut c_void, note.status, ptr) };
}

/// Delivers `note` now (on a thread of the fake's) if a callback is
/// registered, else queues it until one is.
fn fire(h: Handle, note: Note) {
    let mut f = fake();
    let Some(entry) = f.handles.get_mut(&(h as usize)) else {
        return;
    };
    match entry.callback {
        Some(callback) => {
            drop(f);
            thread::spawn(move || call(callback, &note));
        }
        None => entry.queue.push(note),
    }
}

/// Delivers `note` after `delay`, from a thread of the fake's.
fn fire_later(h: Handle, delay: Duration, note: Note) {
    let h = h as usize;
    thread::spawn(move || {
        thread::sleep(delay);
        let callback = {
            let mut f = fake();
            let Some(entry) = f.handles.get_mut(&h) else {
                return;
            };
            if entry.callback.is_none() {
                entry.queue.push(note.clone());
            }
            entry.callback
        };
        if let Some(callback) = callback {
            call(callback, &note);
        }
    });
}

fn note(kind: u32, status: Hresult, data: Option<&str>) -> Note {
    Note {
        kind,
        status,
        data: data.map(str::to_owned),
    }
}

/// The fake as a loaded library.
pub fn library() -> &'static Library {
    static LIB: OnceLock<&'static Library> = OnceLock::new();
    LIB.get_or_init(|| {
        Library::from_exports(
            "fake".into(),
            Exports {
                enumerate,
                create_system,
                open_system,
                close_system: close,
                start,
                shutdown,
                terminate,
                pause,
                resume,
                system_properties,
                modify_system,
                register_system_callback: register,
                unregister_system_callback: unregister,
                create_process,
                open_process,
                close_process: close,
                terminate_process,
                process_info,
                process_properties,
                modify_process,
                register_process_callback: register,
                unregister_process_callback: unregister,
                service_properties,
                name_to_guid,
                co_task_mem_free,
            },
        )
    })
}

/// What the backend wrote to the stdin of the process of system `id`.
pub fn stdin_of(id: &str) -> Option<UnixStream> {
    let mut f = fake();
    f.handles
        .values_mut()
        .find(|e| e.id == id && e.stdin.is_some())
        .and_then(|e| e.stdin.take())
}
