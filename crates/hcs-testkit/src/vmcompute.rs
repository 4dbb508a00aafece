//! Loading the built `libvmcompute.so` as a [`VmComputeService`] whose
//! Linux service is set up for a test.
//!
//! ```no_run
//! use hcs_testkit::vmcompute::{service, Settings};
//! let settings = Settings {
//!     runtime_dir: Some("/run/my-tests".into()),
//!     shim: Some(hcs_testkit::artifacts::shim()),
//!     ..Settings::default()
//! };
//! let vmcompute = service(&settings); // hcs_vmcompute::VmComputeService
//! ```
//!
//! The library keeps one Linux service for the process it is loaded in, so
//! each distinct [`Settings`] gets its own instance: a copy of the file,
//! loaded, configured with `HcsrunConfigure`, then unlinked. [`service`]
//! gives the same settings the same instance back; [`load`] makes a new one
//! to call the exports directly.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, OnceLock,
    },
};

use hcs_vmcompute::VmComputeService;

use crate::artifacts;

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
    pub fn document(&self) -> String {
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

    /// Configures the library `lib` (loaded, not yet used) with these
    /// settings through its `HcsrunConfigure`.
    pub fn configure(&self, lib: &libloading::Library) {
        // SAFETY: `HcsrunConfigure` has this type (the library's exports
        // are held to vmcompute_abi's types).
        let configure = unsafe { lib.get::<vmcompute_abi::HcsrunConfigure>(b"HcsrunConfigure") }
            .expect("the library exports HcsrunConfigure");
        let document = vmcompute_abi::wide::to_wide(&self.document()).unwrap();
        // SAFETY: the document is NUL-terminated and outlives the call.
        let hr = unsafe { configure(document.as_ptr()) };
        assert!(
            hr >= 0,
            "HcsrunConfigure({}) failed: {}",
            self.document(),
            hcs::ErrorCode::from_hresult(hr)
        );
    }
}

/// A service backed by a private instance of the built library, set up with
/// `settings` (the same settings give the same instance).
pub fn service(settings: &Settings) -> VmComputeService {
    static LOADED: OnceLock<Mutex<HashMap<(PathBuf, Settings), VmComputeService>>> =
        OnceLock::new();
    let library = artifacts::vmcompute_library();
    let mut loaded = LOADED.get_or_init(Default::default).lock().unwrap();
    let key = (library.clone(), settings.clone());
    loaded
        .entry(key)
        .or_insert_with(|| {
            let copy = private_copy(&library);
            // Loaded (and kept loaded for good) by the backend first, then
            // configured through a second reference to the same instance.
            let service = VmComputeService::load(&copy.0)
                .unwrap_or_else(|e| panic!("loading {}: {e}", copy.0.display()));
            settings.configure(&open(&copy.0));
            service
        })
        .clone()
}

/// A new private instance of the built library, set up with `settings`,
/// for calling its exports directly.
pub fn load(settings: &Settings) -> libloading::Library {
    let copy = private_copy(&artifacts::vmcompute_library());
    let lib = open(&copy.0);
    settings.configure(&lib);
    lib
}

fn open(path: &Path) -> libloading::Library {
    // SAFETY: hcsrun's own library, whose initialisers are Rust's (loading
    // it again only adds a reference).
    unsafe { libloading::Library::new(path) }.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A copy of `library` with a name of its own, so that loading it makes a
/// new instance; unlinked when dropped (once loaded).
fn private_copy(library: &Path) -> Unlink {
    static COPIES: AtomicUsize = AtomicUsize::new(0);
    // Beside the original, where loading code is surely allowed.
    let copy = Unlink(library.with_file_name(format!(
        ".libvmcompute-{}-{}.so",
        std::process::id(),
        COPIES.fetch_add(1, Ordering::Relaxed)
    )));
    std::fs::copy(library, &copy.0)
        .unwrap_or_else(|e| panic!("copying {} to {}: {e}", library.display(), copy.0.display()));
    copy
}

/// A file removed when dropped.
struct Unlink(PathBuf);

impl Drop for Unlink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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
    }
}
