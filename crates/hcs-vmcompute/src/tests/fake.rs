//! A fake compute service behind the vmcompute ABI, in Rust, to drive the
//! backend through its FFI layer. What it does is chosen by the system id
//! (`start-never-…` never completes a start, and so on); notifications go
//! out from threads of its own and wait in a queue until a callback is
//! registered, as HCS's do; every call is logged under its system id, and
//! any call on a closed or unknown handle, string not freed, or string
//! freed twice is recorded as misuse.

use std::{
    collections::HashMap,
    ffi::c_void,
    io::Write,
    os::{fd::IntoRawFd, unix::net::UnixStream},
    sync::{Mutex, MutexGuard, OnceLock},
    thread,
    time::Duration,
};

use hcs::{ErrorCode, Guid};

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

const FAILURE: &str = r#"{"Error":-1070137595,"ErrorMessage":"The requested virtual machine or container operation is not valid in the current state.","ErrorEvents":[{"Message":"(the fake refused)","Source":"fake"}]}"#;

unsafe extern "system" fn enumerate(
    query: Pcwstr,
    systems: *mut Pwstr,
    _result: *mut Pwstr,
) -> Hresult {
    log("*", format!("enumerate {}", text(query)));
    out(
        systems,
        "*",
        r#"[{"Id":"a","Owner":"o","Stopped":true},{"id":"b"}]"#,
    );
    abi::S_OK
}

unsafe extern "system" fn create_system(
    id: Pcwstr,
    config: Pcwstr,
    identity: Handle,
    system: *mut Handle,
    result: *mut Pwstr,
) -> Hresult {
    let id = text(id);
    log(
        &id,
        format!("create identity={} {}", identity as usize, text(config)),
    );
    if id.starts_with("create-sync-fail") {
        out(result, &id, FAILURE);
        return hr(ErrorCode::FILE_NOT_FOUND);
    }
    let h = new_handle(&id);
    // SAFETY: the backend passes a writable pointer.
    unsafe { *system = h };
    if id.starts_with("create-pending") {
        // Sent before the backend can have registered: queued.
        fire(h, note(n::SYSTEM_CREATE_COMPLETED, 0, None));
    } else if id.starts_with("create-late") {
        fire_later(
            h,
            Duration::from_millis(50),
            note(n::SYSTEM_CREATE_COMPLETED, 0, None),
        );
    } else if id.starts_with("create-fail") {
        let status = hr(ErrorCode::INVALID_STATE);
        fire(h, note(n::SYSTEM_CREATE_COMPLETED, status, Some(FAILURE)));
    } else if !id.starts_with("create-timeout") {
        return abi::S_OK;
    }
    abi::OPERATION_PENDING
}

unsafe extern "system" fn open_system(
    id: Pcwstr,
    system: *mut Handle,
    result: *mut Pwstr,
) -> Hresult {
    let id = text(id);
    log(&id, "open");
    if id.starts_with("open-missing") {
        out(result, &id, r#"{"Error":-1070137586}"#);
        return hr(ErrorCode::COMPUTE_SYSTEM_DOES_NOT_EXIST);
    }
    // SAFETY: the backend passes a writable pointer.
    unsafe { *system = new_handle(&id) };
    abi::S_OK
}

unsafe extern "system" fn close(h: Handle) -> Hresult {
    let Some(id) = id_of(h, "close") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    let mut f = fake();
    let entry = f.handles.get_mut(&(h as usize)).unwrap();
    entry.open = false;
    let registered = entry.callback.is_some();
    f.log.push((id.clone(), "close".into()));
    if registered {
        f.log
            .push((id, "MISUSE closed with a callback registered".into()));
    }
    abi::S_OK
}

unsafe extern "system" fn start(h: Handle, options: Pcwstr, result: *mut Pwstr) -> Hresult {
    let Some(id) = id_of(h, "start") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    if options.is_null() || !text(options).is_empty() {
        log(&id, "MISUSE options must be \"\"");
    }
    log(&id, "start");
    let later = |kind| fire_later(h, Duration::from_millis(20), note(kind, 0, None));
    if id.starts_with("start-never") {
    } else if id.starts_with("start-exit") {
        later(n::SYSTEM_EXITED);
    } else if id.starts_with("start-disconnect") {
        later(n::SERVICE_DISCONNECT);
    } else if id.starts_with("start-sync-fail") {
        out(result, &id, FAILURE);
        return hr(ErrorCode::SYSTEM_ALREADY_STOPPED);
    } else {
        later(n::SYSTEM_START_COMPLETED);
    }
    abi::OPERATION_PENDING
}

unsafe extern "system" fn shutdown(h: Handle, _options: Pcwstr, _result: *mut Pwstr) -> Hresult {
    let Some(id) = id_of(h, "shutdown") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "shutdown");
    fire_later(
        h,
        Duration::from_millis(30),
        note(n::SYSTEM_EXITED, 0, None),
    );
    abi::OPERATION_PENDING
}

unsafe extern "system" fn terminate(h: Handle, _options: Pcwstr, _result: *mut Pwstr) -> Hresult {
    let Some(id) = id_of(h, "terminate") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "terminate");
    // Sent before terminate even returns.
    fire(h, note(n::SYSTEM_EXITED, 0, None));
    thread::sleep(Duration::from_millis(20));
    abi::OPERATION_PENDING
}

unsafe extern "system" fn pause(h: Handle, _options: Pcwstr, _result: *mut Pwstr) -> Hresult {
    let Some(id) = id_of(h, "pause") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "pause");
    fire_later(
        h,
        Duration::from_millis(10),
        note(n::SYSTEM_PAUSE_COMPLETED, 0, None),
    );
    abi::OPERATION_PENDING
}

unsafe extern "system" fn resume(h: Handle, _options: Pcwstr, _result: *mut Pwstr) -> Hresult {
    let Some(id) = id_of(h, "resume") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "resume");
    fire(h, note(n::SYSTEM_RESUME_COMPLETED, 0, None));
    abi::OPERATION_PENDING
}

unsafe extern "system" fn system_properties(
    h: Handle,
    query: Pcwstr,
    properties: *mut Pwstr,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "properties") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, format!("properties {}", text(query)));
    let doc = r#"{"Id":"x","AreUpdatesPending":true,
        "Statistics":{"Memory":{"MemoryUsageCommitBytes":4096},"Processor":{"TotalRuntime100ns":7}},
        "ProcessList":[{"ProcessId":4,"ImageName":"init"}],
        "MappedVirtualDiskControllers":{"0":{"MappedVirtualDisks":{"1":{"ContainerPath":"/d"}}}}}"#;
    out(properties, &id, doc);
    abi::S_OK
}

unsafe extern "system" fn modify_system(h: Handle, config: Pcwstr, result: *mut Pwstr) -> Hresult {
    let Some(id) = id_of(h, "modify") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, format!("modify {}", text(config)));
    out(
        result,
        &id,
        r#"{"ErrorEvents":[{"Message":"(networks cannot change here)"}]}"#,
    );
    hr(ErrorCode::NOT_SUPPORTED)
}

unsafe extern "system" fn register(
    h: Handle,
    callback: abi::NotificationCallback,
    context: usize,
    registration: *mut Handle,
) -> Hresult {
    let Some(id) = id_of(h, "register") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    let mut f = fake();
    f.next += 4;
    let reg = 0x9000 + f.next;
    f.registrations.insert(reg, h as usize);
    let entry = f.handles.get_mut(&(h as usize)).unwrap();
    entry.callback = Some((callback, context));
    let queued = std::mem::take(&mut entry.queue);
    f.log.push((id, "register".into()));
    drop(f);
    // SAFETY: the backend passes a writable pointer.
    unsafe { *registration = reg as Handle };
    if !queued.is_empty() {
        thread::spawn(move || queued.iter().for_each(|n| call((callback, context), n)));
    }
    abi::S_OK
}

unsafe extern "system" fn unregister(registration: Handle) -> Hresult {
    let mut f = fake();
    let Some(h) = f.registrations.remove(&(registration as usize)) else {
        f.log.push((
            "?".into(),
            "MISUSE unregister of an unknown registration".into(),
        ));
        return hr(ErrorCode::INVALID_HANDLE);
    };
    let entry = f.handles.get_mut(&h).unwrap();
    entry.callback = None;
    let id = entry.id.clone();
    f.log.push((id, "unregister".into()));
    abi::S_OK
}

unsafe extern "system" fn create_process(
    h: Handle,
    parameters: Pcwstr,
    info: *mut abi::ProcessInformation,
    process: *mut Handle,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "create process") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, format!("create process {}", text(parameters)));
    let (stdin_ours, stdin_theirs) = UnixStream::pair().unwrap();
    let (mut stdout_ours, stdout_theirs) = UnixStream::pair().unwrap();
    stdout_ours.write_all(b"hello from the fake\n").unwrap();
    drop(stdout_ours);
    let p = new_handle(&id);
    fake().handles.get_mut(&(p as usize)).unwrap().stdin = Some(stdin_ours);
    // SAFETY: the backend passes writable pointers; the descriptors become
    // the caller's.
    unsafe {
        *process = p;
        *info = abi::ProcessInformation {
            process_id: 77,
            reserved: 0,
            std_input: stdin_theirs.into_raw_fd() as usize as Handle,
            std_output: stdout_theirs.into_raw_fd() as usize as Handle,
            std_error: std::ptr::null_mut(),
        };
    }
    abi::S_OK
}

unsafe extern "system" fn open_process(
    h: Handle,
    pid: u32,
    process: *mut Handle,
    result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "open process") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, format!("open process {pid}"));
    if pid == 404 {
        out(result, &id, r#"{"ErrorMessage":"Element not found."}"#);
        return hr(ErrorCode::ELEMENT_NOT_FOUND);
    }
    // SAFETY: the backend passes a writable pointer.
    unsafe { *process = new_handle(&id) };
    abi::S_OK
}

unsafe extern "system" fn terminate_process(h: Handle, _result: *mut Pwstr) -> Hresult {
    let Some(id) = id_of(h, "kill") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "kill");
    fake().handles.get_mut(&(h as usize)).unwrap().exited = true;
    fire(h, note(n::PROCESS_EXITED, 0, None));
    abi::S_OK
}

unsafe extern "system" fn process_info(
    h: Handle,
    info: *mut abi::ProcessInformation,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "process info") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "process info");
    // SAFETY: the backend passes a writable pointer.
    unsafe { *info = abi::ProcessInformation::default() };
    abi::S_OK
}

unsafe extern "system" fn process_properties(
    h: Handle,
    properties: *mut Pwstr,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "process properties") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    let exited = fake().handles[&(h as usize)].exited;
    let doc = format!(r#"{{"ProcessId":77,"Exited":{exited},"ExitCode":137,"LastWaitResult":0}}"#);
    out(properties, &id, &doc);
    abi::S_OK
}

unsafe extern "system" fn modify_process(
    h: Handle,
    settings: Pcwstr,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "modify process") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, format!("modify process {}", text(settings)));
    abi::S_OK
}

unsafe extern "system" fn service_properties(
    query: Pcwstr,
    properties: *mut Pwstr,
    _result: *mut Pwstr,
) -> Hresult {
    out(properties, "*", &format!("{{\"Query\":{}}}", text(query)));
    abi::S_OK
}

unsafe extern "system" fn name_to_guid(name: Pcwstr, guid: *mut Guid) -> Hresult {
    let name = text(name);
    if name == "refused" {
        return hr(ErrorCode::INVALID_PARAMETER);
    }
    let mut bytes = [0x11u8; 16];
    bytes[0] = name.chars().count() as u8;
    // SAFETY: the backend passes a 16-byte GUID.
    unsafe { *guid = Guid::from_windows_bytes(bytes) };
    abi::S_OK
}

unsafe extern "system" fn co_task_mem_free(ptr: *mut c_void) {
    if fake().strings.remove(&(ptr as usize)).is_none() {
        log(
            "?",
            "MISUSE CoTaskMemFree of a pointer the fake did not hand out",
        );
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
