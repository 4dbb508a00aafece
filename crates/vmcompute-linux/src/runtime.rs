//! The library's own tokio runtime, and the Linux compute service it
//! serves, configured from the environment or by `HcsrunConfigure`.

use std::{
    env,
    future::Future,
    path::PathBuf,
    sync::{mpsc, Mutex, OnceLock},
};

use hcs::{ErrorCode, HcsError};
use hcs_linux::LinuxComputeService;
use serde::Deserialize;
use tokio::runtime::Runtime;

use crate::ffi::Failure;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("vmcompute-linux")
            .enable_all()
            .build()
            .expect("libvmcompute: starting its runtime")
    })
}

/// Runs `future` on the library's runtime and waits for it on this thread,
/// which may belong to another runtime: the wait is a plain channel, never
/// `block_on`. A panic in the future is a panic here (which the export's
/// guard turns into an HRESULT).
pub fn block<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .expect("libvmcompute: an operation failed inside its runtime")
}

/// Starts `future` on the library's runtime and returns.
pub fn spawn<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    drop(runtime().spawn(future));
}

/// How the Linux service is set up (`HcsrunConfigure`'s document; each
/// field defaults to its environment variable).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Settings {
    pub runtime_dir: Option<PathBuf>,
    pub shim: Option<PathBuf>,
    pub cgroup_parent: Option<String>,
    pub shim_log: Option<PathBuf>,
}

impl Settings {
    fn from_env() -> Self {
        let var = |name: &str| env::var_os(name).filter(|v| !v.is_empty());
        Self {
            runtime_dir: var("HCSRUN_RUNTIME_DIR").map(PathBuf::from),
            shim: var("HCSRUN_SHIM").map(PathBuf::from),
            cgroup_parent: var("HCSRUN_CGROUP_PARENT").map(|v| v.to_string_lossy().into_owned()),
            shim_log: var("HCSRUN_SHIM_LOG").map(PathBuf::from),
        }
    }

    /// `self`, with `other`'s fields where it has them.
    fn overridden_by(self, other: Settings) -> Self {
        Self {
            runtime_dir: other.runtime_dir.or(self.runtime_dir),
            shim: other.shim.or(self.shim),
            cgroup_parent: other.cgroup_parent.or(self.cgroup_parent),
            shim_log: other.shim_log.or(self.shim_log),
        }
    }
}

#[derive(Default)]
struct State {
    configured: Option<Settings>,
    service: Option<LinuxComputeService>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Default::default)
}

/// Sets up the service before its first use; refused after.
pub fn configure(document: &str) -> Result<(), Failure> {
    let settings: Settings = crate::ffi::parse("HcsrunConfigure", "settings", document)?;
    let mut state = state().lock().unwrap();
    if state.service.is_some() {
        return Err(Failure::new(
            ErrorCode::INVALID_STATE,
            "(HcsrunConfigure: the service is already in use; configure it before any other call)",
        ));
    }
    state.configured = Some(settings);
    Ok(())
}

/// The Linux compute service, set up on first use. A failure to set it up
/// (no holder binary, say) is returned each time until it succeeds.
pub fn service() -> Result<LinuxComputeService, HcsError> {
    let mut state = state().lock().unwrap();
    if let Some(service) = &state.service {
        return Ok(service.clone());
    }
    let settings = Settings::from_env().overridden_by(state.configured.clone().unwrap_or_default());
    let mut builder = LinuxComputeService::builder();
    if let Some(dir) = settings.runtime_dir {
        builder = builder.runtime_dir(dir);
    }
    if let Some(shim) = settings.shim {
        builder = builder.shim(shim);
    }
    if let Some(parent) = settings.cgroup_parent {
        builder = builder.cgroup_parent(parent);
    }
    if let Some(log) = settings.shim_log {
        builder = builder.shim_log(log);
    }
    let service = builder.build()?;
    state.service = Some(service.clone());
    Ok(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_overrides_the_environment_field_by_field() {
        let env = Settings {
            runtime_dir: Some("/run/a".into()),
            shim: Some("/bin/shim".into()),
            ..Default::default()
        };
        let doc: Settings =
            hcs_schema::from_str(r#"{"runtimedir":"/run/b","CgroupParent":"p"}"#).unwrap();
        let s = env.overridden_by(doc);
        assert_eq!(s.runtime_dir, Some("/run/b".into()));
        assert_eq!(s.shim, Some("/bin/shim".into()));
        assert_eq!(s.cgroup_parent.as_deref(), Some("p"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn block_works_from_inside_another_runtime() {
        // A current-thread runtime would deadlock on `block_on`; the channel
        // wait does not.
        let answer = block(async {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            42
        });
        assert_eq!(answer, 42);
    }
}
