//! Facts about the Windows host the backend runs on.

use hcs::{HypervIsolation, ServiceFeatures};

/// The Windows build from which named pipes can be mapped into containers.
const NAMED_PIPE_MIN_BUILD: u32 = 16210;

/// What Windows' compute service supports on this host. Off Windows (a
/// library with the same ABI) no build is known, and the library is
/// assumed to support what Windows' compute service does
/// ([`Builder::features`](crate::Builder::features) says otherwise).
pub(crate) fn features() -> ServiceFeatures {
    let os_build = windows_build();
    ServiceFeatures {
        service: "vmcompute",
        os_build,
        named_pipe_mounts: os_build.is_none_or(|b| b >= NAMED_PIPE_MIN_BUILD),
        // A system service runs the systems; the caller needs no powers of
        // its own.
        needs_root: false,
        hyperv: HypervIsolation::Hypervisor,
        native_linux: false,
    }
}

/// The Windows build number (`ntdll!RtlGetVersion`, which, unlike
/// `GetVersionEx`, is not shimmed to an older version).
#[cfg(windows)]
fn windows_build() -> Option<u32> {
    #[repr(C)]
    struct OsVersionInfoW {
        size: u32,
        major: u32,
        minor: u32,
        build: u32,
        platform: u32,
        csd_version: [u16; 128],
    }
    type RtlGetVersion = unsafe extern "system" fn(*mut OsVersionInfoW) -> i32;
    // SAFETY: ntdll.dll is in every Windows process; loading it again only
    // adds a reference.
    let ntdll = unsafe { libloading::Library::new("ntdll.dll") }.ok()?;
    // SAFETY: RtlGetVersion has this signature.
    let get = unsafe { ntdll.get::<RtlGetVersion>(b"RtlGetVersion") }.ok()?;
    let mut info = OsVersionInfoW {
        size: std::mem::size_of::<OsVersionInfoW>() as u32,
        major: 0,
        minor: 0,
        build: 0,
        platform: 0,
        csd_version: [0; 128],
    };
    // SAFETY: `info` is an OSVERSIONINFOW with its size set.
    let status = unsafe { get(&mut info) };
    (status == 0).then_some(info.build)
}

#[cfg(not(windows))]
fn windows_build() -> Option<u32> {
    None
}
