//! The fake's exports: one function per export of the ABI, each logging
//! its call and doing what the system's id asks for.

use std::{ffi::c_void, io::Write, os::fd::IntoRawFd, time::Duration};

use hcs::{ErrorCode, Guid};

use super::*;

const FAILURE: &str = r#"{"Error":-1070137595,"ErrorMessage":"The requested virtual machine or container operation is not valid in the current state.","ErrorEvents":[{"Message":"(the fake refused)","Source":"fake"}]}"#;

pub(super) unsafe extern "system" fn enumerate(
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

pub(super) unsafe extern "system" fn create_system(
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

pub(super) unsafe extern "system" fn open_system(
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

pub(super) unsafe extern "system" fn close(h: Handle) -> Hresult {
    let Some(id) = id_of(h, "close") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    let mut f = fake();
    let entry = f.handles.get_mut(&(h as usize)).unwrap();
    entry.open = false;
    entry.caller = [None, None];
    let registered = entry.callback.is_some();
    f.log.push((id.clone(), "close".into()));
    if registered {
        f.log
            .push((id, "MISUSE closed with a callback registered".into()));
    }
    abi::S_OK
}

pub(super) unsafe extern "system" fn start(
    h: Handle,
    options: Pcwstr,
    result: *mut Pwstr,
) -> Hresult {
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

pub(super) unsafe extern "system" fn shutdown(
    h: Handle,
    _options: Pcwstr,
    _result: *mut Pwstr,
) -> Hresult {
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

pub(super) unsafe extern "system" fn terminate(
    h: Handle,
    _options: Pcwstr,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "terminate") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "terminate");
    // Sent before terminate even returns.
    fire(h, note(n::SYSTEM_EXITED, 0, None));
    thread::sleep(Duration::from_millis(20));
    abi::OPERATION_PENDING
}

pub(super) unsafe extern "system" fn pause(
    h: Handle,
    _options: Pcwstr,
    _result: *mut Pwstr,
) -> Hresult {
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

pub(super) unsafe extern "system" fn resume(
    h: Handle,
    _options: Pcwstr,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "resume") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "resume");
    fire(h, note(n::SYSTEM_RESUME_COMPLETED, 0, None));
    abi::OPERATION_PENDING
}

pub(super) unsafe extern "system" fn system_properties(
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

pub(super) unsafe extern "system" fn modify_system(
    h: Handle,
    config: Pcwstr,
    result: *mut Pwstr,
) -> Hresult {
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

pub(super) unsafe extern "system" fn register(
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

pub(super) unsafe extern "system" fn unregister(registration: Handle) -> Hresult {
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

pub(super) unsafe extern "system" fn create_process(
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
    {
        let mut f = fake();
        let entry = f.handles.get_mut(&(p as usize)).unwrap();
        entry.stdin = Some(stdin_ours);
        entry.caller = [
            Some(stdin_theirs.try_clone().unwrap()),
            Some(stdout_theirs.try_clone().unwrap()),
        ];
    }
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

pub(super) unsafe extern "system" fn open_process(
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

pub(super) unsafe extern "system" fn terminate_process(h: Handle, _result: *mut Pwstr) -> Hresult {
    let Some(id) = id_of(h, "kill") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "kill");
    fake().handles.get_mut(&(h as usize)).unwrap().exited = true;
    fire(h, note(n::PROCESS_EXITED, 0, None));
    abi::S_OK
}

pub(super) unsafe extern "system" fn process_info(
    h: Handle,
    info: *mut abi::ProcessInformation,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "process info") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    log(&id, "process info");
    // New descriptors for the ends kept, on every call.
    let give = |end: &Option<UnixStream>| -> Handle {
        end.as_ref().map_or(std::ptr::null_mut(), |s| {
            s.try_clone().unwrap().into_raw_fd() as usize as Handle
        })
    };
    let f = fake();
    let [stdin, stdout] = &f.handles[&(h as usize)].caller;
    // SAFETY: the backend passes a writable pointer; the descriptors become
    // the caller's.
    unsafe {
        *info = abi::ProcessInformation {
            process_id: 77,
            reserved: 0,
            std_input: give(stdin),
            std_output: give(stdout),
            std_error: std::ptr::null_mut(),
        }
    };
    abi::S_OK
}

pub(super) unsafe extern "system" fn process_properties(
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

pub(super) unsafe extern "system" fn modify_process(
    h: Handle,
    settings: Pcwstr,
    _result: *mut Pwstr,
) -> Hresult {
    let Some(id) = id_of(h, "modify process") else {
        return hr(ErrorCode::INVALID_HANDLE);
    };
    let settings = text(settings);
    log(&id, format!("modify process {settings}"));
    let closes = |handle: &str| settings.contains(&format!(r#""Handle":"{handle}""#));
    let mut f = fake();
    let caller = &mut f.handles.get_mut(&(h as usize)).unwrap().caller;
    if closes("StdIn") {
        caller[0] = None;
    }
    if closes("StdOut") {
        caller[1] = None;
    }
    abi::S_OK
}

pub(super) unsafe extern "system" fn service_properties(
    query: Pcwstr,
    properties: *mut Pwstr,
    _result: *mut Pwstr,
) -> Hresult {
    out(properties, "*", &format!("{{\"Query\":{}}}", text(query)));
    abi::S_OK
}

pub(super) unsafe extern "system" fn name_to_guid(name: Pcwstr, guid: *mut Guid) -> Hresult {
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

pub(super) unsafe extern "system" fn co_task_mem_free(ptr: *mut c_void) {
    if fake().strings.remove(&(ptr as usize)).is_none() {
        log(
            "?",
            "MISUSE CoTaskMemFree of a pointer the fake did not hand out",
        );
    }
}
