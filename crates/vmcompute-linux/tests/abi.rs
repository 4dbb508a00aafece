//! libvmcompute.so at the C ABI itself, below the backend: what Windows'
//! vmcompute.dll promises and the backend relies on (pending results,
//! notifications from another thread, queued until a callback is
//! registered, none after unregistering), and its answers to bad calls.

#![cfg(target_os = "linux")]

use std::{
    ffi::c_void,
    fs::File,
    os::fd::{FromRawFd, OwnedFd},
    ptr,
    sync::{mpsc, Mutex, OnceLock},
    thread::{self, ThreadId},
    time::Duration,
};

use hcs::{ErrorCode, Guid, Stdio};
use hcs_schema::{HcsResult, ProcessStatus};
use hcs_testkit::{
    artifacts, host, require_root,
    stdio::{read_line, read_rest, readable, Ends},
    vmcompute::{self, Settings},
    Sandbox, ServiceKind,
};
use vmcompute_abi::{self as abi, notification as n, wide, Handle, Hresult, Pwstr};

/// The library's exports, typed.
struct Abi {
    _lib: libloading::Library,
    create: abi::HcsCreateComputeSystem,
    start: abi::HcsSystemOperation,
    terminate: abi::HcsSystemOperation,
    close: abi::HcsCloseComputeSystem,
    register: abi::HcsRegisterCallback,
    unregister: abi::HcsUnregisterCallback,
    create_process: abi::HcsCreateProcess,
    close_process: abi::HcsCloseProcess,
    process_info: abi::HcsGetProcessInfo,
    modify_process: abi::HcsModifyProcess,
    process_properties: abi::HcsGetProcessProperties,
    register_process: abi::HcsRegisterCallback,
    properties: abi::HcsGetComputeSystemProperties,
    name_to_guid: abi::NameToGuid,
    free: abi::CoTaskMemFree,
}

impl Abi {
    /// The exports of a private instance of the built library, set up for
    /// `sandbox`.
    fn load(sandbox: &Sandbox) -> Abi {
        let lib = vmcompute::load(&Settings {
            runtime_dir: Some(sandbox.runtime_dir().to_owned()),
            shim: Some(artifacts::shim()),
            ..Settings::default()
        });
        // SAFETY (each `get`): the types are the ABI's, which exports.rs
        // holds the library to.
        unsafe {
            Abi {
                create: *lib.get(b"HcsCreateComputeSystem").unwrap(),
                start: *lib.get(b"HcsStartComputeSystem").unwrap(),
                terminate: *lib.get(b"HcsTerminateComputeSystem").unwrap(),
                close: *lib.get(b"HcsCloseComputeSystem").unwrap(),
                register: *lib.get(b"HcsRegisterComputeSystemCallback").unwrap(),
                unregister: *lib.get(b"HcsUnregisterComputeSystemCallback").unwrap(),
                create_process: *lib.get(b"HcsCreateProcess").unwrap(),
                close_process: *lib.get(b"HcsCloseProcess").unwrap(),
                process_info: *lib.get(b"HcsGetProcessInfo").unwrap(),
                modify_process: *lib.get(b"HcsModifyProcess").unwrap(),
                process_properties: *lib.get(b"HcsGetProcessProperties").unwrap(),
                register_process: *lib.get(b"HcsRegisterProcessCallback").unwrap(),
                properties: *lib.get(b"HcsGetComputeSystemProperties").unwrap(),
                name_to_guid: *lib.get(b"NameToGuid").unwrap(),
                free: *lib.get(b"CoTaskMemFree").unwrap(),
                _lib: lib,
            }
        }
    }

    /// Reads and frees a string the library handed out.
    fn take(&self, p: Pwstr) -> Option<String> {
        // SAFETY: NULL or a NUL-terminated string from the library.
        let text = unsafe { wide::from_ptr_lossy(p) };
        // SAFETY: handed out by the library for us to free once.
        unsafe { (self.free)(p.cast()) };
        text
    }
}

/// The exports as methods. Every call passes what the ABI asks for
/// (NUL-terminated strings that outlive the call, writable out-pointers)
/// except the handle or argument a test feeds on purpose, which the library
/// checks and must refuse.
impl Abi {
    fn create(
        &self,
        id: abi::Pcwstr,
        config: &str,
        system: &mut Handle,
        result: &mut Pwstr,
    ) -> Hresult {
        let config = w(config);
        // SAFETY: as the impl says; `id` is the caller's NUL-terminated units.
        unsafe { (self.create)(id, config.as_ptr(), ptr::null_mut(), system, result) }
    }

    fn operation(
        &self,
        f: abi::HcsSystemOperation,
        h: Handle,
        options: abi::Pcwstr,
        result: &mut Pwstr,
    ) -> Hresult {
        // SAFETY: as the impl says.
        unsafe { f(h, options, result) }
    }

    fn register(
        &self,
        f: abi::HcsRegisterCallback,
        h: Handle,
        context: usize,
        out: &mut Handle,
    ) -> Hresult {
        // SAFETY: as the impl says; `record` has the callback's signature.
        unsafe { f(h, record, context, out) }
    }

    fn release(&self, f: unsafe extern "system" fn(Handle) -> Hresult, h: Handle) -> Hresult {
        // SAFETY: as the impl says (unregister and close take one handle).
        unsafe { f(h) }
    }

    fn create_process(
        &self,
        h: Handle,
        params: &str,
        info: &mut abi::ProcessInformation,
        process: &mut Handle,
        result: &mut Pwstr,
    ) -> Hresult {
        let params = w(params);
        // SAFETY: as the impl says.
        unsafe { (self.create_process)(h, params.as_ptr(), info, process, result) }
    }

    fn process_info(&self, h: Handle, info: &mut abi::ProcessInformation) -> Hresult {
        let mut result: Pwstr = ptr::null_mut();
        // SAFETY: as the impl says.
        let hr = unsafe { (self.process_info)(h, info, &mut result) };
        assert!(self.take(result).is_none() || hr < 0);
        hr
    }

    fn modify_process(&self, h: Handle, settings: &str) -> Hresult {
        let settings = w(settings);
        let mut result: Pwstr = ptr::null_mut();
        // SAFETY: as the impl says.
        let hr = unsafe { (self.modify_process)(h, settings.as_ptr(), &mut result) };
        if let Some(text) = self.take(result) {
            assert!(hr < 0, "a result document with success: {text}");
        }
        hr
    }

    /// `HcsGetProcessProperties`, which must succeed.
    fn process_status(&self, h: Handle) -> ProcessStatus {
        let (mut props, mut result): (Pwstr, Pwstr) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: as the impl says.
        let hr = unsafe { (self.process_properties)(h, &mut props, &mut result) };
        assert_eq!(hr, 0, "{:?}", self.take(result));
        hcs_schema::from_str(&self.take(props).unwrap()).unwrap()
    }

    fn properties(&self, h: Handle, query: &str, props: &mut Pwstr, result: &mut Pwstr) -> Hresult {
        let query = w(query);
        // SAFETY: as the impl says.
        unsafe { (self.properties)(h, query.as_ptr(), props, result) }
    }

    fn name_to_guid(&self, name: abi::Pcwstr, guid: &mut Guid) -> Hresult {
        // SAFETY: as the impl says; a GUID is the 16 bytes it writes.
        unsafe { (self.name_to_guid)(name, guid) }
    }
}

/// Creates and starts system `id` through the exports: the handle, its
/// callback registration and what the callback receives.
fn start_system(a: &Abi, sandbox: &Sandbox, id: &str) -> (Handle, Handle, mpsc::Receiver<Seen>) {
    let config = format!(
        r#"{{"SystemType":"Container","Name":"{id}","Owner":"abi","LayerFolderPath":{:?},"Layers":[{{"ID":"{}","Path":"/"}}],"HvPartition":false}}"#,
        sandbox.scratch(id),
        hcs_linux::name_to_guid("host")
    );
    let (mut system, mut result): (Handle, Pwstr) = (ptr::null_mut(), ptr::null_mut());
    let hr = a.create(w(id).as_ptr(), &config, &mut system, &mut result);
    assert_eq!(hr, abi::OPERATION_PENDING, "{:?}", a.take(result));
    let (context, rx) = inbox();
    let mut registration: Handle = ptr::null_mut();
    assert_eq!(
        a.register(a.register, system, context, &mut registration),
        0
    );
    assert_eq!(next(&rx).1, 0, "created");
    let hr = a.operation(a.start, system, w("").as_ptr(), &mut result);
    assert_eq!(hr, abi::OPERATION_PENDING, "{:?}", a.take(result));
    assert_eq!(next(&rx).1, 0, "started");
    (system, registration, rx)
}

/// Terminates and closes what [`start_system`] started. A system whose
/// first process (its pid 1) has exited has stopped by itself: terminate
/// then answers "already stopped" (0xc0370110), as HCS does.
fn stop_system(a: &Abi, (system, registration, rx): (Handle, Handle, mpsc::Receiver<Seen>)) {
    let mut result: Pwstr = ptr::null_mut();
    let hr = a.operation(a.terminate, system, w("").as_ptr(), &mut result);
    let already_stopped = ErrorCode::from_hresult(hr) == ErrorCode::SYSTEM_ALREADY_STOPPED;
    assert!(
        hr == 0 || hr == abi::OPERATION_PENDING || already_stopped,
        "{hr:#x}"
    );
    assert_eq!(next(&rx).0, n::SYSTEM_EXITED);
    assert_eq!(a.release(a.unregister, registration), 0);
    assert_eq!(a.release(a.close, system), 0);
}

/// Owns the descriptors in `info` (0 is none).
fn owned(info: &abi::ProcessInformation) -> Stdio {
    let own = |h: Handle| {
        let fd = h as usize as i32;
        // SAFETY: handed to us by the library, to own and close once.
        (fd != 0).then(|| unsafe { <OwnedFd as FromRawFd>::from_raw_fd(fd) })
    };
    Stdio {
        stdin: own(info.std_input),
        stdout: own(info.std_output),
        stderr: own(info.std_error),
    }
}

fn w(s: &str) -> Vec<u16> {
    wide::to_wide(s).unwrap()
}

type Seen = (u32, Hresult, Option<String>, ThreadId);

/// Where the callback sends what it receives, by context.
fn inboxes() -> &'static Mutex<Vec<mpsc::Sender<Seen>>> {
    static INBOXES: OnceLock<Mutex<Vec<mpsc::Sender<Seen>>>> = OnceLock::new();
    INBOXES.get_or_init(Default::default)
}

unsafe extern "system" fn record(
    kind: u32,
    context: *mut c_void,
    status: Hresult,
    data: abi::Pcwstr,
) {
    // SAFETY: the ABI: NULL or a string valid during the call.
    let data = unsafe { wide::from_ptr_lossy(data) };
    let tx = inboxes().lock().unwrap()[context as usize].clone();
    let _ = tx.send((kind, status, data, thread::current().id()));
}

fn inbox() -> (usize, mpsc::Receiver<Seen>) {
    let (tx, rx) = mpsc::channel();
    let mut boxes = inboxes().lock().unwrap();
    boxes.push(tx);
    (boxes.len() - 1, rx)
}

fn next(rx: &mpsc::Receiver<Seen>) -> Seen {
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a notification")
}

#[test]
#[ignore = "needs root"]
fn pending_operations_complete_by_notification_from_another_thread() {
    require_root();
    let sandbox = Sandbox::new("abi", ServiceKind::VmCompute);
    let a = Abi::load(&sandbox);
    let config = format!(
        r#"{{"SystemType":"Container","Name":"abi1","Owner":"abi","LayerFolderPath":{:?},"Layers":[{{"ID":"{}","Path":"/"}}],"HvPartition":false}}"#,
        sandbox.scratch("abi1"),
        hcs_linux::name_to_guid("host")
    );
    let (mut system, mut result): (Handle, Pwstr) = (ptr::null_mut(), ptr::null_mut());
    let hr = a.create(w("abi1").as_ptr(), &config, &mut system, &mut result);
    assert_eq!(hr, abi::OPERATION_PENDING);
    assert!(a.take(result).is_none());
    assert!(!system.is_null());
    // Registered late on purpose: the completion waited in the queue.
    thread::sleep(Duration::from_millis(300));
    let (context, rx) = inbox();
    let mut registration: Handle = ptr::null_mut();
    assert_eq!(
        a.register(a.register, system, context, &mut registration),
        0
    );
    let (kind, status, _, thread) = next(&rx);
    assert_eq!((kind, status), (n::SYSTEM_CREATE_COMPLETED, 0));
    assert_ne!(thread, thread::current().id());

    let hr = a.operation(a.start, system, w("").as_ptr(), &mut result);
    assert_eq!(hr, abi::OPERATION_PENDING);
    let (kind, status, data, _) = next(&rx);
    assert_eq!((kind, status, data), (n::SYSTEM_START_COMPLETED, 0, None));

    // A process: pipes as descriptors above 2, and its exit notified.
    let mut info = abi::ProcessInformation::default();
    let mut process: Handle = ptr::null_mut();
    let params = r#"{"CommandLine":"sh -c \"exit 3\"","CreateStdOutPipe":true}"#;
    let hr = a.create_process(system, params, &mut info, &mut process, &mut result);
    assert_eq!(hr, 0, "{:?}", a.take(result));
    assert!(info.std_input.is_null() && info.std_error.is_null());
    assert!(info.std_output as usize > 2);
    // SAFETY: the descriptor was handed to us, to own and close.
    drop(unsafe { <OwnedFd as FromRawFd>::from_raw_fd(info.std_output as usize as i32) });
    let (pcontext, prx) = inbox();
    let mut preg: Handle = ptr::null_mut();
    assert_eq!(
        a.register(a.register_process, process, pcontext, &mut preg),
        0
    );
    assert_eq!(next(&prx).0, n::PROCESS_EXITED);
    assert_eq!(a.release(a.unregister, preg), 0);
    assert_eq!(a.release(a.close_process, process), 0);

    // It was the system's first process, its pid 1: the system ended with
    // it, and a terminate finds it stopped.
    assert_eq!(next(&rx).0, n::SYSTEM_EXITED);
    let hr = a.operation(a.terminate, system, w("").as_ptr(), &mut result);
    assert_eq!(hr as u32, 0xC037_0110, "already stopped: {hr:#x}");
    a.take(result);
    assert_eq!(a.release(a.unregister, registration), 0);
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "nothing after unregistering"
    );
    assert_eq!(a.release(a.close, system), 0);
}

/// Seed 004's `Stdio()` over the C ABI, as hcsshim calls it: the pipes of
/// `HcsCreateProcess` and of every `HcsGetProcessInfo` work, each set its
/// own descriptors; closing one set closes no other; the library keeps its
/// ends, as vmcompute.dll does, until `CloseHandle StdIn` (stdin) or
/// `HcsCloseProcess`, and none is left after.
#[test]
#[ignore = "needs root"]
fn stdio_on_every_call() {
    require_root();
    let sandbox = Sandbox::new("abistdio", ServiceKind::VmCompute);
    let a = Abi::load(&sandbox);
    let started = start_system(&a, &sandbox, "abistdio1");
    let params = r#"{"CommandLine":"sh -c \"cat; echo eof\"","CreateStdInPipe":true,"CreateStdOutPipe":true,"CreateStdErrPipe":true}"#;
    let (mut info, mut process, mut result) = (
        abi::ProcessInformation::default(),
        ptr::null_mut(),
        ptr::null_mut(),
    );
    let hr = a.create_process(started.0, params, &mut info, &mut process, &mut result);
    assert_eq!(hr, 0, "{:?}", a.take(result));
    let mut infos = vec![info];
    for _ in 0..2 {
        let mut more = abi::ProcessInformation::default();
        assert_eq!(a.process_info(process, &mut more), 0);
        assert_eq!(more.process_id, info.process_id);
        infos.push(more);
    }
    let fds: Vec<usize> = infos
        .iter()
        .flat_map(|i| [i.std_input, i.std_output, i.std_error])
        .map(|h| h as usize)
        .collect();
    assert!(fds.iter().all(|&fd| fd > 2), "{fds:?}");
    let mut distinct = fds.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 9, "every call hands out its own: {fds:?}");
    let sets: Vec<Stdio> = infos.iter().map(owned).collect();
    let pipes = [&sets[0].stdin, &sets[0].stdout, &sets[0].stderr]
        .map(|end| host::file_of(end.as_ref().unwrap()));
    let mut sets: Vec<Ends> = sets.into_iter().map(Ends::of).collect();

    // The second and third call's pipes work, and the create's.
    sets[1].echo("second");
    sets[2].echo("third");
    sets[0].echo("from the create");
    drop(sets.remove(1));
    sets[1].echo("third, after the second closed");
    sets[0].echo("create's, after the second closed");

    // Every stdin the caller holds closed: the library's end keeps it
    // open, as vmcompute.dll's does, until CloseHandle StdIn.
    for set in &mut sets {
        drop(set.stdin.take());
    }
    assert!(
        !readable(&sets[1].stdout, Duration::from_millis(300)),
        "no end of file while the library keeps stdin"
    );
    let close_stdin = r#"{"Operation":"CloseHandle","CloseHandle":{"Handle":"StdIn"}}"#;
    assert_eq!(a.modify_process(process, close_stdin), 0);
    assert_eq!(read_rest(&sets[1].stdout), "eof\n");
    let mut after = abi::ProcessInformation::default();
    assert_eq!(a.process_info(process, &mut after), 0);
    let after = owned(&after);
    assert!(after.stdin.is_none() && after.stdout.is_some() && after.stderr.is_some());
    drop(after);

    let (pcontext, prx) = inbox();
    let mut preg: Handle = ptr::null_mut();
    assert_eq!(
        a.register(a.register_process, process, pcontext, &mut preg),
        0
    );
    let (kind, status, _, _) = next(&prx);
    assert_eq!((kind, status), (n::PROCESS_EXITED, 0));
    assert_eq!(a.release(a.unregister, preg), 0);
    // The library's ends go with the handle.
    assert!(!host::fds_of(&pipes).is_empty());
    assert_eq!(a.release(a.close_process, process), 0);
    drop(sets);
    assert_eq!(host::fds_of(&pipes), Vec::<i32>::new(), "descriptors left");
    stop_system(&a, started);
}

/// What `CloseHandle StdOut` and `StdErr` are for: the library keeps a read
/// end of each output pipe for `HcsGetProcessInfo`, so a process writing to
/// a stream whose handles the caller has all closed blocks once the pipe is
/// full, rather than failing with `EPIPE`; closing the library's end too
/// lets it end (`SIGPIPE`: 128 + 13), and later calls hand out none of that
/// stream. Every set handed out before works until then. `All` closes all
/// three; another name is refused.
#[test]
#[ignore = "needs root"]
fn close_handle_stdout_and_stderr_let_a_writer_without_readers_end() {
    require_root();
    let sandbox = Sandbox::new("abiclose", ServiceKind::VmCompute);
    let a = Abi::load(&sandbox);
    let started = start_system(&a, &sandbox, "abiclose1");
    // The system's first process is its pid 1 and the system ends with it:
    // a sleeper holds it open while the processes under test come and go
    // (as processes added to it, none of them pid 1, which would be immune
    // to a SIGPIPE it does not handle).
    let (mut info, mut sleeper, mut result) = (
        abi::ProcessInformation::default(),
        ptr::null_mut(),
        ptr::null_mut(),
    );
    let hr = a.create_process(
        started.0,
        r#"{"CommandLine":"sleep 600"}"#,
        &mut info,
        &mut sleeper,
        &mut result,
    );
    assert_eq!(hr, 0, "{:?}", a.take(result));
    let pipes = r#""CreateStdOutPipe":true,"CreateStdErrPipe":true"#;
    for (handle, command, line) in [
        ("StdOut", r#"yes"#, "y\n"),
        ("StdErr", r#"sh -c \"exec yes err >&2\""#, "err\n"),
    ] {
        let params = format!(r#"{{"CommandLine":"{command}",{pipes}}}"#);
        let (mut info, mut process, mut result) = (
            abi::ProcessInformation::default(),
            ptr::null_mut(),
            ptr::null_mut(),
        );
        let hr = a.create_process(started.0, &params, &mut info, &mut process, &mut result);
        assert_eq!(hr, 0, "{:?}", a.take(result));
        let mut more = abi::ProcessInformation::default();
        assert_eq!(a.process_info(process, &mut more), 0);
        let (first, second) = (owned(&info), owned(&more));
        let stream = |s: Stdio| {
            let (out, err) = (s.stdout.unwrap(), s.stderr.unwrap());
            match handle {
                "StdOut" => (File::from(out), err),
                _ => (File::from(err), out),
            }
        };
        let ((first, first_other), (second, second_other)) = (stream(first), stream(second));
        // Both sets work before the close.
        assert_eq!(read_line(&first), line);
        assert_eq!(read_line(&second), line);
        drop((first, second));

        let (pcontext, prx) = inbox();
        let mut preg: Handle = ptr::null_mut();
        assert_eq!(
            a.register(a.register_process, process, pcontext, &mut preg),
            0
        );
        assert!(
            prx.recv_timeout(Duration::from_millis(500)).is_err(),
            "{handle}: the library's end keeps the writer blocked"
        );
        let close =
            format!(r#"{{"Operation":"CloseHandle","CloseHandle":{{"Handle":"{handle}"}}}}"#);
        assert_eq!(a.modify_process(process, &close), 0);
        let (kind, status, _, _) = next(&prx);
        assert_eq!((kind, status), (n::PROCESS_EXITED, 0), "{handle}");
        let exit = a.process_status(process);
        assert!(exit.exited);
        assert_eq!(exit.exit_code, 128 + 13, "{handle}: killed by SIGPIPE");
        let mut after = abi::ProcessInformation::default();
        assert_eq!(a.process_info(process, &mut after), 0);
        let after = owned(&after);
        match handle {
            "StdOut" => assert!(after.stdout.is_none() && after.stderr.is_some()),
            _ => assert!(after.stderr.is_none() && after.stdout.is_some()),
        }
        drop((after, first_other, second_other));
        assert_eq!(a.release(a.unregister, preg), 0);
        assert_eq!(a.release(a.close_process, process), 0);
    }

    // All: stdin ends (once the caller's is closed), and nothing is handed
    // out after; the caller's output handles still read to the end.
    let params =
        format!(r#"{{"CommandLine":"sh -c \"cat; echo done\"","CreateStdInPipe":true,{pipes}}}"#);
    let (mut info, mut process, mut result) = (
        abi::ProcessInformation::default(),
        ptr::null_mut(),
        ptr::null_mut(),
    );
    let hr = a.create_process(started.0, &params, &mut info, &mut process, &mut result);
    assert_eq!(hr, 0, "{:?}", a.take(result));
    let set = Ends::of(owned(&info));
    drop(set.stdin);
    let bogus = r#"{"Operation":"CloseHandle","CloseHandle":{"Handle":"StdFoo"}}"#;
    assert_eq!(
        ErrorCode::from_hresult(a.modify_process(process, bogus)),
        ErrorCode::NOT_SUPPORTED
    );
    let all = r#"{"Operation":"CloseHandle","CloseHandle":{"Handle":"All"}}"#;
    assert_eq!(a.modify_process(process, all), 0);
    assert_eq!(read_rest(&set.stdout), "done\n");
    let mut after = abi::ProcessInformation::default();
    assert_eq!(a.process_info(process, &mut after), 0);
    assert!(
        after.std_input.is_null() && after.std_output.is_null() && after.std_error.is_null(),
        "nothing handed out after All"
    );
    assert_eq!(a.release(a.close_process, process), 0);
    assert_eq!(a.release(a.close_process, sleeper), 0);
    stop_system(&a, started);
}

#[test]
fn bad_calls_get_hresults_and_result_documents() {
    let sandbox = Sandbox::new("badcalls", ServiceKind::VmCompute);
    let a = Abi::load(&sandbox);
    let bogus = 0x4242 as Handle;
    let mut result: Pwstr = ptr::null_mut();
    let mut props: Pwstr = ptr::null_mut();
    let hr = a.operation(a.start, bogus, w("").as_ptr(), &mut result);
    assert_eq!(ErrorCode::from_hresult(hr), ErrorCode::INVALID_HANDLE);
    let doc: HcsResult = hcs_schema::from_str(&a.take(result).unwrap()).unwrap();
    assert_eq!(doc.error, hr);
    assert!(
        doc.error_events[0]
            .message
            .contains("HcsStartComputeSystem: no such handle"),
        "{doc:?}"
    );
    for release in [a.close, a.unregister] {
        assert_eq!(
            ErrorCode::from_hresult(a.release(release, bogus)),
            ErrorCode::INVALID_HANDLE
        );
    }

    // Options must be "", never NULL.
    let hr = a.operation(a.start, bogus, ptr::null(), &mut result);
    assert_eq!(ErrorCode::from_hresult(hr), ErrorCode::INVALID_PARAMETER);
    assert!(a.take(result).unwrap().contains("options is NULL"));

    let hr = a.properties(bogus, "{not json", &mut props, &mut result);
    assert_eq!(ErrorCode::from_hresult(hr), ErrorCode::INVALID_JSON);
    assert!(props.is_null());
    assert!(a
        .take(result)
        .unwrap()
        .contains("the property query does not parse"));

    // An unpaired surrogate is not a string.
    let odd = [0x61u16, 0xD800, 0];
    let mut system: Handle = ptr::null_mut();
    let hr = a.create(odd.as_ptr(), "{}", &mut system, &mut result);
    assert_eq!(ErrorCode::from_hresult(hr), ErrorCode::INVALID_PARAMETER);
    assert!(system.is_null());
    assert!(a.take(result).unwrap().contains("unpaired surrogate"));

    let mut guid = Guid::default();
    assert_eq!(a.name_to_guid(w("4").as_ptr(), &mut guid), 0);
    assert_eq!(guid, hcs_linux::name_to_guid("4"));
    assert_eq!(
        ErrorCode::from_hresult(a.name_to_guid(ptr::null(), &mut guid)),
        ErrorCode::INVALID_PARAMETER
    );
}
