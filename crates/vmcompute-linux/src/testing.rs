//! Loading the built `libvmcompute.so` as a [`VmComputeService`], for tests
//! (this crate's, and other crates' that depend on it, which also makes
//! cargo build the library before them).
//!
//! ```no_run
//! # fn main() -> hcs::Result<()> {
//! use vmcompute::testing::{service, Settings};
//! let settings = Settings {
//!     runtime_dir: Some("/run/my-tests".into()),
//!     shim: Some("target/debug/hcsrun-shim".into()),
//!     ..Settings::default()
//! };
//! let vmcompute = service(&settings)?; // hcs_vmcompute::VmComputeService
//! # Ok(()) }
//! ```
//!
//! The library keeps one Linux service for the process it is loaded in, so
//! each distinct [`Settings`] gets its own instance: a copy of the file,
//! loaded, configured with `HcsrunConfigure`, then unlinked. The same
//! settings get the same instance back.

use std::{
    collections::HashMap,
    env,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, OnceLock,
    },
};

use hcs::{ErrorKind, HcsError};
use hcs_vmcompute::VmComputeService;

/// The library's file name.
pub const LIBRARY_FILE: &str = "libvmcompute.so";
/// Names the library to load, overriding the search next to the executable.
pub const LIBRARY_ENV: &str = "HCSRUN_VMCOMPUTE_LIB";

/// How the library's Linux service is set up; `None` leaves a setting to
/// its environment variable or default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Settings {
    /// `HCSRUN_RUNTIME_DIR`: where systems are recorded.
    pub runtime_dir: Option<PathBuf>,
    /// `HCSRUN_SHIM`: the `hcsrun-shim` holder.
    pub shim: Option<PathBuf>,
    /// `HCSRUN_CGROUP_PARENT`.
    pub cgroup_parent: Option<String>,
}

impl Settings {
    /// `HcsrunConfigure`'s document.
    fn document(&self) -> String {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Document<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            runtime_dir: Option<&'a Path>,
            #[serde(skip_serializing_if = "Option::is_none")]
            shim: Option<&'a Path>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cgroup_parent: Option<&'a str>,
        }
        hcs_schema::to_string(&Document {
            runtime_dir: self.runtime_dir.as_deref(),
            shim: self.shim.as_deref(),
            cgroup_parent: self.cgroup_parent.as_deref(),
        })
        .expect("settings paths are UTF-8")
    }
}

/// The built library: `$HCSRUN_VMCOMPUTE_LIB`, else `libvmcompute.so` next
/// to the running executable or one directory up (cargo puts test
/// executables in `target/<profile>/deps`, and the library in `deps` when
/// it is a dependency, in `target/<profile>` when built itself).
pub fn built_library() -> Option<PathBuf> {
    if let Some(path) = env::var_os(LIBRARY_ENV) {
        return Some(path.into());
    }
    let exe = env::current_exe().ok()?;
    let dir = exe.parent()?;
    let found = [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join(LIBRARY_FILE))
        .find(|p| p.is_file());
    found
}

fn unavailable(detail: String) -> HcsError {
    HcsError::service("Load", ErrorKind::Unavailable(detail))
}

/// A service backed by the built library, set up with `settings`.
pub fn service(settings: &Settings) -> hcs::Result<VmComputeService> {
    let library = built_library().ok_or_else(|| {
        unavailable(format!(
            "{LIBRARY_FILE} was not found next to {} (build it: cargo build -p vmcompute-linux; \
             or set {LIBRARY_ENV})",
            env::current_exe().map_or_else(|_| "this program".into(), |p| p.display().to_string())
        ))
    })?;
    load(&library, settings)
}

/// A service backed by a private instance of the library at `library`, set
/// up with `settings` (the same settings give the same instance).
pub fn load(library: &Path, settings: &Settings) -> hcs::Result<VmComputeService> {
    static LOADED: OnceLock<Mutex<HashMap<(PathBuf, Settings), VmComputeService>>> =
        OnceLock::new();
    let mut loaded = LOADED.get_or_init(Default::default).lock().unwrap();
    let key = (library.to_owned(), settings.clone());
    if let Some(service) = loaded.get(&key) {
        return Ok(service.clone());
    }
    let service = load_copy(library, settings)?;
    loaded.insert(key, service.clone());
    Ok(service)
}

fn load_copy(library: &Path, settings: &Settings) -> hcs::Result<VmComputeService> {
    static COPIES: AtomicUsize = AtomicUsize::new(0);
    // Beside the original, where loading code is surely allowed.
    let copy = library.with_file_name(format!(
        ".libvmcompute-{}-{}.so",
        std::process::id(),
        COPIES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::copy(library, &copy).map_err(|e| {
        unavailable(format!(
            "copying {} to {}: {e}",
            library.display(),
            copy.display()
        ))
    })?;
    let loaded = configure_copy(&copy, settings);
    let _ = std::fs::remove_file(&copy);
    loaded
}

fn configure_copy(copy: &Path, settings: &Settings) -> hcs::Result<VmComputeService> {
    // Loaded (and kept loaded for good) by the backend first.
    let service = VmComputeService::load(copy)?;
    // SAFETY: the same file, already loaded: this only adds a reference.
    let lib = unsafe { libloading::Library::new(copy) }
        .map_err(|e| unavailable(format!("{}: {e}", copy.display())))?;
    // SAFETY: `HcsrunConfigure` has this type (`exports.rs` checks it).
    let configure = unsafe { lib.get::<vmcompute_abi::HcsrunConfigure>(b"HcsrunConfigure") }
        .map_err(|e| unavailable(format!("{}: {e}", copy.display())))?;
    let document: Vec<u16> = settings.document().encode_utf16().chain([0]).collect();
    // SAFETY: the document is NUL-terminated and outlives the call.
    let hr = unsafe { configure(document.as_ptr()) };
    if hr < 0 {
        return Err(HcsError::service(
            "Configure",
            ErrorKind::Code(hcs::ErrorCode::from_hresult(hr)),
        )
        .with_extra(format!(
            "(configuring {} with {})",
            copy.display(),
            settings.document()
        )));
    }
    Ok(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_documents() {
        assert_eq!(Settings::default().document(), "{}");
        let s = Settings {
            runtime_dir: Some("/run/a \"b\"\\c".into()),
            shim: None,
            cgroup_parent: Some("p".into()),
        };
        assert_eq!(
            s.document(),
            r#"{"RuntimeDir":"/run/a \"b\"\\c","CgroupParent":"p"}"#
        );
        let parsed: crate::runtime::Settings = hcs_schema::from_str(&s.document()).unwrap();
        assert_eq!(parsed.runtime_dir, s.runtime_dir);
    }
}
