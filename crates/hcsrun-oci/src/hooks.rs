//! The spec's hooks, run at the runtime spec's times with the state JSON
//! on stdin and their `timeout` honoured: `prestart` and `createRuntime`
//! once pid 1 exists (its namespaces made, its root built, parked) and
//! before `create` returns; `poststart` after `start` released pid 1;
//! `poststop` at `delete`. A failing hook fails the operation (a
//! `poststop` one only warns), as with runc. `createContainer` and
//! `startContainer` run inside the container's namespaces, which
//! hcsrun-oci does not do yet: a spec with them is refused, naming them.

use std::{
    io::Write,
    os::unix::process::CommandExt,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context as _, Result};
use hcsrun_linux_spec::LinuxSpec;
use oci_spec::runtime::Hook;
use serde_json::json;

use crate::{log, state::Record};

/// Refuses the hooks hcsrun-oci cannot run at their time.
pub fn refuse_unsupported(spec: &LinuxSpec) -> Result<()> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    for (name, list) in [
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
    ] {
        if list.as_ref().is_some_and(|l| !l.is_empty()) {
            bail!("hooks.{name}: not supported by hcsrun-oci (hooks run in the container's namespaces)");
        }
    }
    Ok(())
}

fn state(record: &Record, status: &str) -> String {
    json!({
        "ociVersion": "1.0.2",
        "id": record.id,
        "pid": record.pid,
        "status": status,
        "bundle": record.bundle,
        "annotations": record.annotations,
    })
    .to_string()
}

/// Runs one hook; an error names it.
fn run(kind: &str, hook: &Hook, state: &str) -> Result<()> {
    let path = hook.path();
    let what = || format!("hooks.{kind} {}", path.display());
    let mut command = Command::new(path);
    if let Some(args) = hook.args() {
        if let Some((arg0, rest)) = args.split_first() {
            command.arg0(arg0).args(rest);
        }
    }
    command.env_clear();
    for entry in hook.env().iter().flatten() {
        if let Some((k, v)) = entry.split_once('=') {
            command.env(k, v);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(what)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not a failure.
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        if let Some(status) = child.try_wait().with_context(what)? {
            break status;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{}: timed out after {} s",
                what(),
                hook.timeout().unwrap_or(0)
            );
        }
        thread::sleep(Duration::from_millis(2));
    };
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        return Err(anyhow!("{}: {status}: {}", what(), stderr.trim()));
    }
    Ok(())
}

fn run_all(kind: &str, list: &Option<Vec<Hook>>, state: &str) -> Result<()> {
    for hook in list.iter().flatten() {
        run(kind, hook, state)?;
    }
    Ok(())
}

/// `prestart` (deprecated, still run by runc) and `createRuntime`.
pub fn run_create(spec: &LinuxSpec, record: &Record) -> Result<()> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    let state = state(record, "created");
    #[allow(deprecated)]
    run_all("prestart", hooks.prestart(), &state)?;
    run_all("createRuntime", hooks.create_runtime(), &state)
}

/// `poststart`.
pub fn run_poststart(spec: &LinuxSpec, record: &Record) -> Result<()> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    run_all("poststart", hooks.poststart(), &state(record, "running"))
}

/// `poststop`: failures are warnings.
pub fn run_poststop(spec: &LinuxSpec, record: &Record) {
    let Some(hooks) = spec.hooks() else {
        return;
    };
    let state = state(record, "stopped");
    for hook in hooks.poststop().iter().flatten() {
        if let Err(e) = run("poststop", hook, &state) {
            log::warn(&format!("container {}: {e:#}", record.id));
        }
    }
}
