//! The spec's hooks at the runtime spec's times, with the state JSON on
//! stdin and their `timeout` honoured (`hcsrun_shim::hooks` runs each):
//! `prestart` and `createRuntime` once pid 1 exists (its namespaces made,
//! its root built, parked) and before `create` returns; `poststart` after
//! `start` released pid 1; `poststop` at `delete`. `createContainer` and
//! `startContainer` are run by pid 1 itself ([`container_hooks`]). A
//! failing hook fails the operation (a `poststop` one only warns), as with
//! runc.

use anyhow::Result;
use hcsrun_linux_spec::{Hook, LinuxSpec};
use hcsrun_shim::hooks::{self, ContainerHooks, HookState};

use crate::{log, state::Record};

fn hook_state(record: &Record) -> HookState {
    HookState {
        id: record.id.clone(),
        bundle: record.bundle.to_string_lossy().into_owned(),
        annotations: record.annotations.clone(),
    }
}

fn list(hooks: &Option<Vec<Hook>>) -> &[Hook] {
    hooks.as_deref().unwrap_or_default()
}

/// The hooks pid 1 runs, with the state it gives them.
pub fn container_hooks(spec: &LinuxSpec, id: &str, bundle: &str) -> ContainerHooks {
    let Some(h) = spec.hooks() else {
        return ContainerHooks::default();
    };
    ContainerHooks {
        create: list(h.create_container()).to_vec(),
        start: list(h.start_container()).to_vec(),
        state: HookState {
            id: id.to_owned(),
            bundle: bundle.to_owned(),
            annotations: spec.annotations().clone(),
        },
    }
}

/// `prestart` (deprecated, still run by runc) and `createRuntime`.
pub fn run_create(spec: &LinuxSpec, record: &Record) -> Result<()> {
    let Some(h) = spec.hooks() else {
        return Ok(());
    };
    let state = hook_state(record).json("created", record.pid);
    #[allow(deprecated)]
    hooks::run_all("prestart", list(h.prestart()), &state, None)?;
    hooks::run_all("createRuntime", list(h.create_runtime()), &state, None)?;
    Ok(())
}

/// `poststart`.
pub fn run_poststart(spec: &LinuxSpec, record: &Record) -> Result<()> {
    let Some(h) = spec.hooks() else {
        return Ok(());
    };
    let state = hook_state(record).json("running", record.pid);
    hooks::run_all("poststart", list(h.poststart()), &state, None)?;
    Ok(())
}

/// `poststop`: failures are warnings, and every hook runs.
pub fn run_poststop(spec: &LinuxSpec, record: &Record) {
    let Some(h) = spec.hooks() else {
        return;
    };
    let state = hook_state(record).json("stopped", record.pid);
    for hook in list(h.poststop()) {
        if let Err(e) = hooks::run("poststop", hook, &state, None) {
            log::warn(&format!("container {}: {e}", record.id));
        }
    }
}
