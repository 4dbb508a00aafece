//! The exported functions: vmcompute.dll's v1 ABI, each a thin shell that
//! checks its pointers and hands over to the module that does the work.
//! The `const _` lines make the compiler hold each export to the signature
//! the backend calls it with (`vmcompute_abi`).

#![allow(non_snake_case)]

use std::ffi::c_void;

use hcs::Guid;
use vmcompute_abi::{self as abi, Handle, Hresult, NotificationCallback, Pcwstr, Pwstr};

use crate::{
    ffi::{arg, free, give, guard, non_null, Failure},
    handles::as_raw,
    notifier, process, runtime, service, system,
};

/// Hands a computed document out through `slot`.
fn output(
    export: &str,
    slot: *mut Pwstr,
    text: Result<String, Failure>,
) -> Result<Hresult, Failure> {
    let slot = non_null(export, "the output pointer", slot)?;
    // SAFETY: checked non-NULL; the caller passes a writable pointer.
    unsafe { give(slot, &text?) };
    Ok(abi::S_OK)
}

const _: abi::HcsEnumerateComputeSystems = HcsEnumerateComputeSystems;
#[no_mangle]
pub unsafe extern "system" fn HcsEnumerateComputeSystems(
    query: Pcwstr,
    systems: *mut Pwstr,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsEnumerateComputeSystems";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let query = unsafe { arg(e, "query", query) };
    guard(e, result, || {
        output(e, systems, service::enumerate(&query?))
    })
}

const _: abi::HcsCreateComputeSystem = HcsCreateComputeSystem;
#[no_mangle]
pub unsafe extern "system" fn HcsCreateComputeSystem(
    id: Pcwstr,
    configuration: Pcwstr,
    _identity: Handle,
    compute_system: *mut Handle,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsCreateComputeSystem";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let (id, configuration) = unsafe { (arg(e, "id", id), arg(e, "configuration", configuration)) };
    guard(e, result, || {
        let out = non_null(e, "computeSystem", compute_system)?;
        system::create(id?, &configuration?, out)
    })
}

const _: abi::HcsOpenComputeSystem = HcsOpenComputeSystem;
#[no_mangle]
pub unsafe extern "system" fn HcsOpenComputeSystem(
    id: Pcwstr,
    compute_system: *mut Handle,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsOpenComputeSystem";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let id = unsafe { arg(e, "id", id) };
    guard(e, result, || {
        system::open(id?, non_null(e, "computeSystem", compute_system)?)
    })
}

const _: abi::HcsCloseComputeSystem = HcsCloseComputeSystem;
#[no_mangle]
pub unsafe extern "system" fn HcsCloseComputeSystem(compute_system: Handle) -> Hresult {
    guard("HcsCloseComputeSystem", std::ptr::null_mut(), || {
        system::close(compute_system)
    })
}

macro_rules! system_operation {
    ($name:ident, $body:expr) => {
        const _: abi::HcsSystemOperation = $name;
        #[no_mangle]
        pub unsafe extern "system" fn $name(
            compute_system: Handle,
            opts: Pcwstr,
            result: *mut Pwstr,
        ) -> Hresult {
            let e = stringify!($name);
            // SAFETY: NULL or a NUL-terminated string valid during the call
            // (the ABI).
            let opts = unsafe { arg(e, "options", opts) };
            guard(e, result, || {
                opts?;
                let run: fn(Handle, &'static str) -> Result<Hresult, Failure> = $body;
                run(compute_system, e)
            })
        }
    };
}

system_operation!(HcsStartComputeSystem, |h, e| system::run_async(
    h,
    e,
    abi::notification::SYSTEM_START_COMPLETED
));
system_operation!(HcsPauseComputeSystem, |h, e| system::run_async(
    h,
    e,
    abi::notification::SYSTEM_PAUSE_COMPLETED
));
system_operation!(HcsResumeComputeSystem, |h, e| system::run_async(
    h,
    e,
    abi::notification::SYSTEM_RESUME_COMPLETED
));
system_operation!(HcsShutdownComputeSystem, |h, e| system::stop(h, e, false));
system_operation!(HcsTerminateComputeSystem, |h, e| system::stop(h, e, true));

const _: abi::HcsGetComputeSystemProperties = HcsGetComputeSystemProperties;
#[no_mangle]
pub unsafe extern "system" fn HcsGetComputeSystemProperties(
    compute_system: Handle,
    query: Pcwstr,
    properties: *mut Pwstr,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsGetComputeSystemProperties";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let query = unsafe { arg(e, "propertyQuery", query) };
    guard(e, result, || {
        output(e, properties, system::properties(compute_system, &query?))
    })
}

const _: abi::HcsModifyComputeSystem = HcsModifyComputeSystem;
#[no_mangle]
pub unsafe extern "system" fn HcsModifyComputeSystem(
    compute_system: Handle,
    configuration: Pcwstr,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsModifyComputeSystem";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let configuration = unsafe { arg(e, "configuration", configuration) };
    guard(e, result, || {
        system::modify(compute_system, &configuration?)
    })
}

/// Registers for a system's or a process's handle, which `lookup` checks.
fn register(
    e: &str,
    handle: Handle,
    check: fn(Handle, &str) -> Result<u64, Failure>,
    callback: Option<NotificationCallback>,
    context: usize,
    out: *mut Handle,
) -> Hresult {
    guard(e, std::ptr::null_mut(), || {
        let out = non_null(e, "callbackHandle", out)?;
        let callback = callback.ok_or_else(|| Failure::invalid_argument(e, "callback is NULL"))?;
        let registration = notifier::register(check(handle, e)?, callback, context)?;
        // SAFETY: checked non-NULL; writable (the ABI).
        unsafe { *out = as_raw(registration) };
        Ok(abi::S_OK)
    })
}

fn unregister(e: &str, registration: Handle) -> Hresult {
    guard(e, std::ptr::null_mut(), || {
        notifier::unregister(registration as usize as u64)?;
        Ok(abi::S_OK)
    })
}

fn system_handle(h: Handle, e: &str) -> Result<u64, Failure> {
    crate::handles::system(h, e).map(|s| s.handle)
}

fn process_handle(h: Handle, e: &str) -> Result<u64, Failure> {
    crate::handles::process(h, e).map(|p| p.handle)
}

#[no_mangle]
pub unsafe extern "system" fn HcsRegisterComputeSystemCallback(
    compute_system: Handle,
    callback: Option<NotificationCallback>,
    context: usize,
    callback_handle: *mut Handle,
) -> Hresult {
    register(
        "HcsRegisterComputeSystemCallback",
        compute_system,
        system_handle,
        callback,
        context,
        callback_handle,
    )
}

const _: abi::HcsUnregisterCallback = HcsUnregisterComputeSystemCallback;
#[no_mangle]
pub unsafe extern "system" fn HcsUnregisterComputeSystemCallback(
    callback_handle: Handle,
) -> Hresult {
    unregister("HcsUnregisterComputeSystemCallback", callback_handle)
}

const _: abi::HcsCreateProcess = HcsCreateProcess;
#[no_mangle]
pub unsafe extern "system" fn HcsCreateProcess(
    compute_system: Handle,
    parameters: Pcwstr,
    information: *mut abi::ProcessInformation,
    process: *mut Handle,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsCreateProcess";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let parameters = unsafe { arg(e, "processParameters", parameters) };
    guard(e, result, || {
        let info = non_null(e, "processInformation", information)?;
        let out = non_null(e, "process", process)?;
        system::create_process(compute_system, &parameters?, info, out)
    })
}

const _: abi::HcsOpenProcess = HcsOpenProcess;
#[no_mangle]
pub unsafe extern "system" fn HcsOpenProcess(
    compute_system: Handle,
    pid: u32,
    process: *mut Handle,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsOpenProcess";
    guard(e, result, || {
        system::open_process(compute_system, pid, non_null(e, "process", process)?)
    })
}

const _: abi::HcsCloseProcess = HcsCloseProcess;
#[no_mangle]
pub unsafe extern "system" fn HcsCloseProcess(process: Handle) -> Hresult {
    guard("HcsCloseProcess", std::ptr::null_mut(), || {
        process::close(process)
    })
}

const _: abi::HcsTerminateProcess = HcsTerminateProcess;
#[no_mangle]
pub unsafe extern "system" fn HcsTerminateProcess(process: Handle, result: *mut Pwstr) -> Hresult {
    guard("HcsTerminateProcess", result, || {
        process::terminate(process)
    })
}

const _: abi::HcsGetProcessInfo = HcsGetProcessInfo;
#[no_mangle]
pub unsafe extern "system" fn HcsGetProcessInfo(
    process: Handle,
    information: *mut abi::ProcessInformation,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsGetProcessInfo";
    guard(e, result, || {
        process::info(process, non_null(e, "processInformation", information)?)
    })
}

const _: abi::HcsGetProcessProperties = HcsGetProcessProperties;
#[no_mangle]
pub unsafe extern "system" fn HcsGetProcessProperties(
    process: Handle,
    properties: *mut Pwstr,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsGetProcessProperties";
    guard(e, result, || {
        output(e, properties, process::properties(process))
    })
}

const _: abi::HcsModifyProcess = HcsModifyProcess;
#[no_mangle]
pub unsafe extern "system" fn HcsModifyProcess(
    process: Handle,
    settings: Pcwstr,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsModifyProcess";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let settings = unsafe { arg(e, "settings", settings) };
    guard(e, result, || process::modify(process, &settings?))
}

#[no_mangle]
pub unsafe extern "system" fn HcsRegisterProcessCallback(
    process: Handle,
    callback: Option<NotificationCallback>,
    context: usize,
    callback_handle: *mut Handle,
) -> Hresult {
    register(
        "HcsRegisterProcessCallback",
        process,
        process_handle,
        callback,
        context,
        callback_handle,
    )
}

const _: abi::HcsUnregisterCallback = HcsUnregisterProcessCallback;
#[no_mangle]
pub unsafe extern "system" fn HcsUnregisterProcessCallback(callback_handle: Handle) -> Hresult {
    unregister("HcsUnregisterProcessCallback", callback_handle)
}

const _: abi::HcsGetServiceProperties = HcsGetServiceProperties;
#[no_mangle]
pub unsafe extern "system" fn HcsGetServiceProperties(
    query: Pcwstr,
    properties: *mut Pwstr,
    result: *mut Pwstr,
) -> Hresult {
    let e = "HcsGetServiceProperties";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let query = unsafe { arg(e, "propertyQuery", query) };
    guard(e, result, || {
        output(e, properties, service::properties(&query?))
    })
}

const _: abi::NameToGuid = NameToGuid;
#[no_mangle]
pub unsafe extern "system" fn NameToGuid(name: Pcwstr, guid: *mut Guid) -> Hresult {
    let e = "NameToGuid";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let name = unsafe { arg(e, "name", name) };
    guard(e, std::ptr::null_mut(), || {
        let out = non_null(e, "guid", guid)?;
        let guid = service::name_to_guid(&name?);
        // SAFETY: checked non-NULL; 16 writable bytes (the ABI).
        unsafe { *out = guid };
        Ok(abi::S_OK)
    })
}

const _: abi::CoTaskMemFree = CoTaskMemFree;
/// Frees a string this library handed out.
#[no_mangle]
pub unsafe extern "system" fn CoTaskMemFree(ptr: *mut c_void) {
    // SAFETY: the ABI: NULL or a string this library handed out, once.
    unsafe { free(ptr) }
}

const _: abi::HcsrunConfigure = HcsrunConfigure;
/// hcsrun's extension, not vmcompute's: sets up the Linux service before
/// its first use, from a JSON document (`RuntimeDir`, `Shim`,
/// `CgroupParent`, `ShimLog`).
#[no_mangle]
pub unsafe extern "system" fn HcsrunConfigure(settings: Pcwstr) -> Hresult {
    let e = "HcsrunConfigure";
    // SAFETY: NULL or NUL-terminated strings valid during the call (the ABI).
    let settings = unsafe { arg(e, "settings", settings) };
    guard(e, std::ptr::null_mut(), || {
        runtime::configure(&settings?)?;
        Ok(abi::S_OK)
    })
}
