//! Loading `vmcompute.dll` (or a library with its ABI) and the typed table
//! of its exports.

use std::{ffi::c_void, path::Path};

use hcs::{ErrorKind, HcsError, Result};

use crate::abi;

/// Windows' Host Compute Service library.
pub const VMCOMPUTE_DLL: &str = "vmcompute.dll";

/// Every export the backend calls, resolved once at load.
#[derive(Clone, Copy)]
pub(crate) struct Exports {
    pub enumerate: abi::HcsEnumerateComputeSystems,
    pub create_system: abi::HcsCreateComputeSystem,
    pub open_system: abi::HcsOpenComputeSystem,
    pub close_system: abi::HcsCloseComputeSystem,
    pub start: abi::HcsSystemOperation,
    pub shutdown: abi::HcsSystemOperation,
    pub terminate: abi::HcsSystemOperation,
    pub pause: abi::HcsSystemOperation,
    pub resume: abi::HcsSystemOperation,
    pub system_properties: abi::HcsGetComputeSystemProperties,
    pub modify_system: abi::HcsModifyComputeSystem,
    pub register_system_callback: abi::HcsRegisterCallback,
    pub unregister_system_callback: abi::HcsUnregisterCallback,
    pub create_process: abi::HcsCreateProcess,
    pub open_process: abi::HcsOpenProcess,
    pub close_process: abi::HcsCloseProcess,
    pub terminate_process: abi::HcsTerminateProcess,
    pub process_info: abi::HcsGetProcessInfo,
    pub process_properties: abi::HcsGetProcessProperties,
    pub modify_process: abi::HcsModifyProcess,
    pub register_process_callback: abi::HcsRegisterCallback,
    pub unregister_process_callback: abi::HcsUnregisterCallback,
    pub service_properties: abi::HcsGetServiceProperties,
    pub name_to_guid: abi::NameToGuid,
    pub co_task_mem_free: abi::CoTaskMemFree,
}

/// A loaded library and its exports. Libraries are never unloaded: a
/// service may call back into us from its own threads at any time, and the
/// library may run threads of its own.
pub(crate) struct Library {
    pub name: String,
    pub exports: Exports,
}

fn unavailable(detail: String) -> HcsError {
    HcsError::service(
        "Load",
        ErrorKind::Unavailable(format!("HCS is not available on this host: {detail}")),
    )
}

/// Resolves `name` in `lib` as a `T`.
///
/// # Safety
/// `T` must be the export's true type.
unsafe fn symbol<T: Copy>(lib: &libloading::Library, what: &str, name: &str) -> Result<T> {
    // SAFETY: the caller promises the type.
    let sym = unsafe { lib.get::<T>(name.as_bytes()) }
        .map_err(|e| unavailable(format!("{what} does not export {name} ({e})")))?;
    Ok(*sym)
}

impl Library {
    /// Loads Windows' own service: `vmcompute.dll` from System32, and
    /// `CoTaskMemFree` from `ole32.dll`.
    pub fn load_system() -> Result<&'static Library> {
        #[cfg(windows)]
        {
            use libloading::os::windows::{Library as WinLibrary, LOAD_LIBRARY_SEARCH_SYSTEM32};
            // SAFETY: loading a system DLL from System32 runs only its own
            // initialisation, which Windows vouches for.
            let vmcompute =
                unsafe { WinLibrary::load_with_flags(VMCOMPUTE_DLL, LOAD_LIBRARY_SEARCH_SYSTEM32) }
                    .map_err(|e| {
                        unavailable(format!("{VMCOMPUTE_DLL} could not be loaded ({e})"))
                    })?;
            let free = Self::load_ole32()?;
            Self::from_library(VMCOMPUTE_DLL.to_owned(), vmcompute.into(), Some(free))
        }
        #[cfg(not(windows))]
        {
            Err(unavailable(format!(
                "{VMCOMPUTE_DLL} exists only on Windows (load a library with the same ABI, \
                 such as hcsrun's libvmcompute.so, by its path)"
            )))
        }
    }

    /// Loads the library at `path`, which must export the vmcompute ABI.
    /// On Windows `CoTaskMemFree` comes from `ole32.dll`; elsewhere from the
    /// library itself.
    pub fn load(path: &Path) -> Result<&'static Library> {
        let name = path.display().to_string();
        if !path.exists() {
            return Err(unavailable(format!("{name} does not exist")));
        }
        // SAFETY: loading runs the library's initialisers; the caller chose
        // a library that implements the vmcompute ABI.
        let lib = unsafe { libloading::Library::new(path) }
            .map_err(|e| unavailable(format!("{name} could not be loaded ({e})")))?;
        let free = if cfg!(windows) {
            Some(Self::load_ole32()?)
        } else {
            None
        };
        Self::from_library(name, lib, free)
    }

    /// `CoTaskMemFree` from `ole32.dll` (from System32).
    #[cfg(windows)]
    fn load_ole32() -> Result<abi::CoTaskMemFree> {
        use libloading::os::windows::{Library as WinLibrary, LOAD_LIBRARY_SEARCH_SYSTEM32};
        // SAFETY: as for vmcompute.dll: a system DLL from System32.
        let ole32 =
            unsafe { WinLibrary::load_with_flags("ole32.dll", LOAD_LIBRARY_SEARCH_SYSTEM32) }
                .map(libloading::Library::from)
                .map_err(|e| unavailable(format!("ole32.dll could not be loaded ({e})")))?;
        // SAFETY: `CoTaskMemFree` has this type in every ole32.dll.
        let free = unsafe { symbol::<abi::CoTaskMemFree>(&ole32, "ole32.dll", "CoTaskMemFree") }?;
        std::mem::forget(ole32);
        Ok(free)
    }

    #[cfg(not(windows))]
    fn load_ole32() -> Result<abi::CoTaskMemFree> {
        Err(unavailable("ole32.dll exists only on Windows".into()))
    }

    fn from_library(
        name: String,
        lib: libloading::Library,
        free: Option<abi::CoTaskMemFree>,
    ) -> Result<&'static Library> {
        let n = name.as_str();
        // SAFETY (each `symbol` call): the types are those of the vmcompute
        // v1 ABI (hcs-v1-reference §1), which the library implements.
        let exports = unsafe {
            Exports {
                enumerate: symbol(&lib, n, "HcsEnumerateComputeSystems")?,
                create_system: symbol(&lib, n, "HcsCreateComputeSystem")?,
                open_system: symbol(&lib, n, "HcsOpenComputeSystem")?,
                close_system: symbol(&lib, n, "HcsCloseComputeSystem")?,
                start: symbol(&lib, n, "HcsStartComputeSystem")?,
                shutdown: symbol(&lib, n, "HcsShutdownComputeSystem")?,
                terminate: symbol(&lib, n, "HcsTerminateComputeSystem")?,
                pause: symbol(&lib, n, "HcsPauseComputeSystem")?,
                resume: symbol(&lib, n, "HcsResumeComputeSystem")?,
                system_properties: symbol(&lib, n, "HcsGetComputeSystemProperties")?,
                modify_system: symbol(&lib, n, "HcsModifyComputeSystem")?,
                register_system_callback: symbol(&lib, n, "HcsRegisterComputeSystemCallback")?,
                unregister_system_callback: symbol(&lib, n, "HcsUnregisterComputeSystemCallback")?,
                create_process: symbol(&lib, n, "HcsCreateProcess")?,
                open_process: symbol(&lib, n, "HcsOpenProcess")?,
                close_process: symbol(&lib, n, "HcsCloseProcess")?,
                terminate_process: symbol(&lib, n, "HcsTerminateProcess")?,
                process_info: symbol(&lib, n, "HcsGetProcessInfo")?,
                process_properties: symbol(&lib, n, "HcsGetProcessProperties")?,
                modify_process: symbol(&lib, n, "HcsModifyProcess")?,
                register_process_callback: symbol(&lib, n, "HcsRegisterProcessCallback")?,
                unregister_process_callback: symbol(&lib, n, "HcsUnregisterProcessCallback")?,
                service_properties: symbol(&lib, n, "HcsGetServiceProperties")?,
                name_to_guid: symbol(&lib, n, "NameToGuid")?,
                co_task_mem_free: match free {
                    Some(free) => free,
                    None => symbol(&lib, n, "CoTaskMemFree")?,
                },
            }
        };
        // Never unloaded (see `Library`): the exports stay valid for good.
        std::mem::forget(lib);
        Ok(Self::from_exports(name, exports))
    }

    /// A library made of `exports` (the tests' fake service).
    pub fn from_exports(name: String, exports: Exports) -> &'static Library {
        Box::leak(Box::new(Library { name, exports }))
    }

    /// Reads a string the service allocated and frees it.
    ///
    /// # Safety
    /// `ptr` is NULL or a NUL-terminated string the service handed out for
    /// the caller to free with `CoTaskMemFree`, not yet freed.
    pub unsafe fn take_string(&self, ptr: abi::Pwstr) -> Option<String> {
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the caller promises a live NUL-terminated string.
        let text = unsafe { crate::wide::from_ptr_lossy(ptr) };
        // SAFETY: the service allocated it for us to free, once.
        unsafe { (self.exports.co_task_mem_free)(ptr.cast::<c_void>()) };
        text
    }
}
