//! The compute-system exports, on the Linux service.

use std::{
    os::fd::{AsRawFd, IntoRawFd, OwnedFd},
    sync::Arc,
};

use hcs::{ComputeService, ComputeSystem, ErrorCode, Process, Stdio};
use hcs_schema::{
    ContainerConfig, ContainerProperties, ProcessConfig, PropertyQuery, PropertyType,
    ResourceModificationRequestResponse,
};
use vmcompute_abi::{self as abi, notification as n, Handle, Hresult, ProcessInformation};

use crate::{
    ffi::{parse, Failure},
    handles::{self, as_raw, Object, ProcessHandle, SystemHandle},
    notifier::{self, Note},
    runtime::{self, block},
};

/// `HcsCreateComputeSystem`: pending; `SystemCreateCompleted` follows.
pub fn create(id: String, configuration: &str, out: *mut Handle) -> Result<Hresult, Failure> {
    let config: ContainerConfig = parse("HcsCreateComputeSystem", "configuration", configuration)?;
    let service = runtime::service()?;
    let entry = Arc::new(SystemHandle::creating(id.clone(), config.clone()));
    handles::insert(Object::System(entry.clone()));
    // SAFETY: checked non-NULL by the export.
    unsafe { *out = as_raw(entry.handle) };
    runtime::spawn(async move {
        let created = service
            .create_system(&id, &config)
            .await
            .map(Arc::from)
            .map_err(Failure::from);
        let note = completion(n::SYSTEM_CREATE_COMPLETED, created.as_ref().err());
        entry.set_created(created);
        notifier::send(entry.handle, note);
    });
    Ok(abi::OPERATION_PENDING)
}

/// The completion notification of an operation that failed or not.
fn completion(kind: u32, failure: Option<&Failure>) -> Note {
    Note {
        kind,
        status: failure.map_or(0, |f| f.hr),
        data: failure.map(|f| f.result.clone()),
    }
}

/// `HcsOpenComputeSystem`.
pub fn open(id: String, out: *mut Handle) -> Result<Hresult, Failure> {
    let service = runtime::service()?;
    let system: Arc<dyn ComputeSystem> =
        block(async move { service.open_system(&id).await.map(Arc::from) })?;
    let entry = Arc::new(SystemHandle::ready(system.id().to_owned(), system.clone()));
    handles::insert(Object::System(entry.clone()));
    // SAFETY: checked non-NULL by the export.
    unsafe { *out = as_raw(entry.handle) };
    // A running system's end is watched; one not started yet is watched
    // once started through this handle.
    let probe = system.clone();
    let running = block(async move { probe.statistics().await });
    let not_running = running
        .as_ref()
        .err()
        .is_some_and(|e| e.is_already_stopped() || e.code() == Some(ErrorCode::INVALID_STATE));
    if !not_running {
        entry.watch_exit(system);
    }
    Ok(abi::S_OK)
}

/// `HcsCloseComputeSystem`: the system keeps running.
pub fn close(raw: Handle) -> Result<Hresult, Failure> {
    let entry = handles::remove_system(raw, "HcsCloseComputeSystem")?;
    let handle = entry.handle;
    let closed = block(async move {
        match entry.system().await {
            Ok(system) => system.close().await,
            Err(_) => Ok(()),
        }
    });
    notifier::forget(handle);
    closed?;
    Ok(abi::S_OK)
}

/// Start, pause and resume: pending; their completion follows.
pub fn run_async(raw: Handle, export: &'static str, kind: u32) -> Result<Hresult, Failure> {
    let entry = handles::system(raw, export)?;
    runtime::spawn(async move {
        let outcome = match entry.system().await {
            Err(failure) => Err(failure),
            Ok(system) => {
                let done = match kind {
                    n::SYSTEM_START_COMPLETED => system.start().await,
                    n::SYSTEM_PAUSE_COMPLETED => system.pause().await,
                    _ => system.resume().await,
                };
                done.map(|()| system).map_err(Failure::from)
            }
        };
        notifier::send(entry.handle, completion(kind, outcome.as_ref().err()));
        if let (Ok(system), n::SYSTEM_START_COMPLETED) = (outcome, kind) {
            entry.watch_exit(system);
        }
    });
    Ok(abi::OPERATION_PENDING)
}

/// Shutdown and terminate: pending while the system stops.
pub fn stop(raw: Handle, export: &'static str, terminate: bool) -> Result<Hresult, Failure> {
    let entry = handles::system(raw, export)?;
    let stopped = block(async move {
        let system = entry.system().await?;
        let stopped = match terminate {
            true => system.terminate().await,
            false => system.shutdown().await,
        };
        Ok::<_, Failure>(stopped)
    })?;
    match stopped {
        Ok(()) => Ok(abi::S_OK),
        Err(e) if e.is_pending() => Ok(abi::OPERATION_PENDING),
        Err(e) => Err(e.into()),
    }
}

/// `HcsGetComputeSystemProperties`.
pub fn properties(raw: Handle, query: &str) -> Result<String, Failure> {
    let export = "HcsGetComputeSystemProperties";
    let query: PropertyQuery = parse(export, "property query", query)?;
    let entry = handles::system(raw, export)?;
    block(async move {
        let system = entry.system().await?;
        let mut p = ContainerProperties {
            id: entry.id.clone(),
            name: entry.id.clone(),
            ..Default::default()
        };
        if let Some(config) = &entry.config {
            p.name = config.name.clone();
            p.system_type = config.system_type.clone();
            p.owner = config.owner.clone();
        }
        if query.wants(PropertyType::Statistics) {
            p.statistics = system.statistics().await?;
        }
        if query.wants(PropertyType::ProcessList) {
            p.process_list = system.process_list().await?;
        }
        if query.wants(PropertyType::PendingUpdates) {
            p.are_updates_pending = system.has_pending_updates().await?;
        }
        if query.wants(PropertyType::MappedVirtualDisk) {
            p.mapped_virtual_disk_controllers = system.mapped_virtual_disks().await?;
        }
        Ok(hcs_schema::to_string(&p).expect("properties always encode"))
    })
}

/// `HcsModifyComputeSystem`.
pub fn modify(raw: Handle, configuration: &str) -> Result<Hresult, Failure> {
    let export = "HcsModifyComputeSystem";
    let request: ResourceModificationRequestResponse = parse(export, "request", configuration)?;
    let entry = handles::system(raw, export)?;
    block(async move {
        let system = entry.system().await?;
        system.modify(&request).await.map_err(Failure::from)
    })?;
    Ok(abi::S_OK)
}

/// `HcsCreateProcess`: the process handle, and the pipes as descriptors.
pub fn create_process(
    raw: Handle,
    parameters: &str,
    info: *mut ProcessInformation,
    out: *mut Handle,
) -> Result<Hresult, Failure> {
    let export = "HcsCreateProcess";
    let config: ProcessConfig = parse(export, "process parameters", parameters)?;
    let entry = handles::system(raw, export)?;
    let (process, stdio) = block(async move {
        let system = entry.system().await?;
        let process: Arc<dyn Process> = Arc::from(system.create_process(&config).await?);
        // The process handle keeps its ends; the caller gets duplicates,
        // here and from every HcsGetProcessInfo.
        match process.stdio().await {
            Ok(stdio) => Ok::<_, Failure>((process, stdio)),
            Err(e) => {
                // No handle to it will exist: do not leave it running.
                let _ = process.kill().await;
                let _ = process.close().await;
                Err(e.into())
            }
        }
    })?;
    let process = ProcessHandle::new(process);
    // SAFETY: both checked non-NULL by the export.
    unsafe {
        *info = information(process.process.pid(), stdio);
        *out = as_raw(process.handle);
    }
    Ok(abi::S_OK)
}

/// `HcsOpenProcess`.
pub fn open_process(raw: Handle, pid: u32, out: *mut Handle) -> Result<Hresult, Failure> {
    let entry = handles::system(raw, "HcsOpenProcess")?;
    let process: Arc<dyn Process> = block(async move {
        let system = entry.system().await?;
        let process = system.open_process(pid).await?;
        Ok::<_, Failure>(Arc::from(process))
    })?;
    let process = ProcessHandle::new(process);
    // SAFETY: checked non-NULL by the export.
    unsafe { *out = as_raw(process.handle) };
    Ok(abi::S_OK)
}

/// A `ProcessInformation` handing over the pipes as descriptors (none is
/// 0, so each is moved above the standard three first).
pub fn information(pid: u32, stdio: Stdio) -> ProcessInformation {
    let give = |fd: Option<OwnedFd>| -> Handle {
        fd.map_or(std::ptr::null_mut(), |fd| {
            above_stdio(fd).into_raw_fd() as usize as Handle
        })
    };
    ProcessInformation {
        process_id: pid,
        reserved: 0,
        std_input: give(stdio.stdin),
        std_output: give(stdio.stdout),
        std_error: give(stdio.stderr),
    }
}

/// `fd`, or a duplicate numbered 3 or more: 0 means "no handle" in a
/// `ProcessInformation`.
fn above_stdio(fd: OwnedFd) -> OwnedFd {
    if fd.as_raw_fd() > 2 {
        return fd;
    }
    // SAFETY: F_DUPFD_CLOEXEC on an open descriptor; the result, if any, is
    // a new descriptor we own.
    let dup = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if dup < 0 {
        return fd;
    }
    // SAFETY: `dup` was just opened and is owned by nothing else.
    unsafe { std::os::fd::FromRawFd::from_raw_fd(dup) }
}
