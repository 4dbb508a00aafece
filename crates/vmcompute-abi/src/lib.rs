//! The v1 C ABI of `vmcompute.dll` (hcs-v1-reference §1): the types,
//! constants and signatures that both sides of the boundary use (the
//! `hcs-vmcompute` backend calls them; `vmcompute-linux` implements them),
//! so that the two cannot disagree. [`wide`] converts the strings.
//!
//! Every call returns an HRESULT. Strings are NUL-terminated UTF-16.
//! Handles are pointer-sized. Strings the service hands out (`*mut Pwstr`
//! outputs) are freed by the caller with `CoTaskMemFree`. Options are passed
//! as `""`, never NULL; `identity` is 0.

#![warn(missing_docs)]

pub mod wide;

use std::ffi::c_void;

use hcs::Guid;

/// A Windows `HRESULT`: negative is failure.
pub type Hresult = i32;
/// A handle to a compute system, process or callback registration.
pub type Handle = *mut c_void;
/// A NUL-terminated UTF-16 string the callee only reads.
pub type Pcwstr = *const u16;
/// A NUL-terminated UTF-16 string allocated by the service.
pub type Pwstr = *mut u16;

/// Success.
pub const S_OK: Hresult = 0;
/// `ERROR_VMCOMPUTE_OPERATION_PENDING`: the call completes later, by
/// notification.
pub const OPERATION_PENDING: Hresult = 0xC037_0103_u32 as Hresult;

/// What `HcsCreateProcess` and `HcsGetProcessInfo` fill in: the process id
/// and the caller's ends of the pipes asked for (0 for the others). The
/// caller owns the handles. On Linux the handle fields hold file
/// descriptors.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ProcessInformation {
    /// The process id, in the system.
    pub process_id: u32,
    /// Unused; 0.
    pub reserved: u32,
    /// The write end of its stdin pipe, or none.
    pub std_input: Handle,
    /// The read end of its stdout pipe, or none.
    pub std_output: Handle,
    /// The read end of its stderr pipe, or none.
    pub std_error: Handle,
}

impl Default for ProcessInformation {
    fn default() -> Self {
        Self {
            process_id: 0,
            reserved: 0,
            std_input: std::ptr::null_mut(),
            std_output: std::ptr::null_mut(),
            std_error: std::ptr::null_mut(),
        }
    }
}

/// The notification types a callback receives.
pub mod notification {
    /// The system stopped.
    pub const SYSTEM_EXITED: u32 = 0x0000_0001;
    /// An `HcsCreateComputeSystem` that returned pending completed.
    pub const SYSTEM_CREATE_COMPLETED: u32 = 0x0000_0002;
    /// An `HcsStartComputeSystem` that returned pending completed.
    pub const SYSTEM_START_COMPLETED: u32 = 0x0000_0003;
    /// An `HcsPauseComputeSystem` that returned pending completed.
    pub const SYSTEM_PAUSE_COMPLETED: u32 = 0x0000_0004;
    /// An `HcsResumeComputeSystem` that returned pending completed.
    pub const SYSTEM_RESUME_COMPLETED: u32 = 0x0000_0005;
    /// The process exited.
    pub const PROCESS_EXITED: u32 = 0x0001_0000;
    /// The service went away: nothing more will come.
    pub const SERVICE_DISCONNECT: u32 = 0x0100_0000;
}

/// `void cb(u32 notificationType, void *context, HRESULT status, PCWSTR
/// data)`. A negative status is an error for the operation being waited
/// for; `data` (may be NULL) is valid only during the call.
pub type NotificationCallback = unsafe extern "system" fn(
    notification_type: u32,
    context: *mut c_void,
    status: Hresult,
    data: Pcwstr,
);

/// `HcsEnumerateComputeSystems`: the systems matching a query, as a JSON
/// list of their properties.
pub type HcsEnumerateComputeSystems = unsafe extern "system" fn(
    query: Pcwstr,
    compute_systems: *mut Pwstr,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsCreateComputeSystem`: a system from its configuration; pending,
/// completed by `SYSTEM_CREATE_COMPLETED`.
pub type HcsCreateComputeSystem = unsafe extern "system" fn(
    id: Pcwstr,
    configuration: Pcwstr,
    identity: Handle,
    compute_system: *mut Handle,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsOpenComputeSystem`: a handle to an existing system.
pub type HcsOpenComputeSystem = unsafe extern "system" fn(
    id: Pcwstr,
    compute_system: *mut Handle,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsCloseComputeSystem`: releases a system handle.
pub type HcsCloseComputeSystem = unsafe extern "system" fn(compute_system: Handle) -> Hresult;
/// Start, shutdown, terminate, pause and resume.
pub type HcsSystemOperation = unsafe extern "system" fn(
    compute_system: Handle,
    options: Pcwstr,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsGetComputeSystemProperties`: the properties a query asks for.
pub type HcsGetComputeSystemProperties = unsafe extern "system" fn(
    compute_system: Handle,
    property_query: Pcwstr,
    properties: *mut Pwstr,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsModifyComputeSystem`: changes a running system.
pub type HcsModifyComputeSystem = unsafe extern "system" fn(
    compute_system: Handle,
    configuration: Pcwstr,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsRegisterComputeSystemCallback` and `HcsRegisterProcessCallback`.
pub type HcsRegisterCallback = unsafe extern "system" fn(
    handle: Handle,
    callback: NotificationCallback,
    context: usize,
    callback_handle: *mut Handle,
) -> Hresult;
/// `HcsUnregisterComputeSystemCallback` and `HcsUnregisterProcessCallback`.
pub type HcsUnregisterCallback = unsafe extern "system" fn(callback_handle: Handle) -> Hresult;
/// `HcsCreateProcess`: starts a process in a system, with the pipes asked
/// for.
pub type HcsCreateProcess = unsafe extern "system" fn(
    compute_system: Handle,
    process_parameters: Pcwstr,
    process_information: *mut ProcessInformation,
    process: *mut Handle,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsOpenProcess`: a handle to a process of a system, by pid.
pub type HcsOpenProcess = unsafe extern "system" fn(
    compute_system: Handle,
    pid: u32,
    process: *mut Handle,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsCloseProcess`: releases a process handle.
pub type HcsCloseProcess = unsafe extern "system" fn(process: Handle) -> Hresult;
/// `HcsTerminateProcess`: ends a process.
pub type HcsTerminateProcess =
    unsafe extern "system" fn(process: Handle, result: *mut Pwstr) -> Hresult;
/// `HcsGetProcessInfo`: a process's pid and new handles for its pipes
/// (each call hands out its own).
pub type HcsGetProcessInfo = unsafe extern "system" fn(
    process: Handle,
    process_information: *mut ProcessInformation,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsGetProcessProperties`: a process's status.
pub type HcsGetProcessProperties = unsafe extern "system" fn(
    process: Handle,
    process_properties: *mut Pwstr,
    result: *mut Pwstr,
) -> Hresult;
/// `HcsModifyProcess`: resizes a process's console or closes one of its
/// standard handles.
pub type HcsModifyProcess =
    unsafe extern "system" fn(process: Handle, settings: Pcwstr, result: *mut Pwstr) -> Hresult;
/// `HcsGetServiceProperties`: the service's own properties.
pub type HcsGetServiceProperties = unsafe extern "system" fn(
    property_query: Pcwstr,
    properties: *mut Pwstr,
    result: *mut Pwstr,
) -> Hresult;
/// `NameToGuid`: `guid` is 16 bytes in Windows memory order, which is
/// [`Guid`]'s `repr(C)` layout.
pub type NameToGuid = unsafe extern "system" fn(name: Pcwstr, guid: *mut Guid) -> Hresult;
/// `ole32!CoTaskMemFree`.
pub type CoTaskMemFree = unsafe extern "system" fn(ptr: *mut c_void);

/// `HcsrunConfigure`, hcsrun's one export beyond vmcompute's (in
/// `libvmcompute.so` only): sets up the Linux compute service behind the
/// library from a JSON document (`RuntimeDir`, `Shim`, `CgroupParent`,
/// `ShimLog`) before its first use.
pub type HcsrunConfigure = unsafe extern "system" fn(settings: Pcwstr) -> Hresult;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_information_is_32_bytes_on_64_bit() {
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::size_of::<ProcessInformation>(), 32);
            assert_eq!(std::mem::offset_of!(ProcessInformation, std_input), 8);
        }
        assert_eq!(std::mem::size_of::<Guid>(), 16);
    }

    #[test]
    fn pending_is_the_vmcompute_code() {
        assert_eq!(
            hcs::ErrorCode::from_hresult(OPERATION_PENDING),
            hcs::ErrorCode::OPERATION_PENDING
        );
    }
}
