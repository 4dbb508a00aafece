//! `hcsrun run -d`, `hcsrun create` and `hcsrun start`: containers that
//! outlive the command. Create records the container (hcsrun's record, then
//! the service's `create_system`); start starts its system and first
//! process and hands the process's output to a log relay; nothing of
//! hcsrun waits for it after.

use std::sync::Arc;

use anyhow::Context;
use hcs::{ComputeService, ComputeSystem};
use hcs_schema::{ContainerConfig, ProcessConfig};
use hcsrun::{
    service::ServiceChoice,
    translate::{self, HostFacts},
};

use super::{args::Args, exit, spec, Failure};
use crate::{
    cmd::log_relay,
    containers::{self, now_rfc3339, store, store::Documents, Record, Status},
};

/// Translates and records container `id` and creates its system; returns
/// its record and the system's handle (which must not be closed: a system
/// that has not started is gone once its handle is). On failure nothing is
/// left but the scratch folder, which the caller made and removes.
pub async fn create(
    id: &str,
    args: &Args,
    plan: &spec::Plan,
    service: &dyn ComputeService,
    choice: &ServiceChoice,
) -> Result<(Record, Arc<dyn ComputeSystem>), Failure> {
    if store::dir(id).exists() {
        return Err(anyhow::anyhow!(
            "container {id} already exists: choose another --name, or remove it with `hcsrun rm {id}`"
        )
        .into());
    }
    let (record, documents, config) = record(id, args, plan, service, choice)?;
    documents.persist(id).await?;
    record.persist().await?;
    match service.create_system(id, &config).await {
        Ok(system) => Ok((record, system.into())),
        Err(e) => {
            let _ = store::remove_async(id).await;
            Err(e.into())
        }
    }
}

/// What hcsrun records of container `id` and the documents it keeps (not
/// yet saved), and the configuration to create its system with.
pub fn record(
    id: &str,
    args: &Args,
    plan: &spec::Plan,
    service: &dyn ComputeService,
    choice: &ServiceChoice,
) -> Result<(Record, Documents, ContainerConfig), Failure> {
    let host = HostFacts::of_service(service);
    let name_to_guid = |name: &str| service.name_to_guid(name);
    let (config, init, linux_spec) = match &plan.container {
        spec::Container::Windows(spec) => (
            translate::container_config(id, spec, &plan.options, &host, &name_to_guid)?,
            translate::init_process_config(id, spec, &plan.options)?,
            None,
        ),
        spec::Container::Linux(spec) => (
            translate::linux::container_config(id, spec, &plan.options, &host, &name_to_guid)?,
            translate::linux::init_process_config(id, spec, &plan.options)?,
            Some(serde_json::from_str(&spec.to_json()).context("the Linux spec")?),
        ),
    };
    let record = Record {
        id: id.to_owned(),
        service: choice.to_string(),
        command: args.command.clone(),
        created: now_rfc3339(),
        isolation: args.isolation.clone(),
        layers: plan
            .options
            .layers
            .as_ref()
            .map(|l| l.layer_paths.clone())
            .unwrap_or_default(),
        scratch: plan.scratch.clone(),
        scratch_is_ours: plan.scratch_is_ours,
        auto_remove: args.rm,
        tty: init.emulate_console,
        interactive: args.interactive,
        stop_timeout: args.stop_timeout,
        ..Record::default()
    };
    let documents = Documents {
        config: document(&redacted(&config))?,
        init: document(&init)?,
        linux_spec,
    };
    Ok((record, documents, config))
}

/// Where a started container's output goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// To its log, through a log relay; the start returns at once.
    Log,
    /// To this process (`start -a`, with stdin too for `-i`), which waits
    /// for the container's exit. Nothing is logged then.
    Attach {
        /// Copy this process's stdin to the container's.
        interactive: bool,
    },
}

/// Starts the created (or exited) container `found`: its system (`created`,
/// the handle of a system this process just created, if so), its first
/// process with its output to a log relay. Returns once both run, or with
/// [`Output::Attach`], once it has exited, with hcsrun's exit code.
pub async fn start(
    service: &dyn ComputeService,
    found: &containers::Found,
    created: Option<Arc<dyn ComputeSystem>>,
    output: Output,
) -> Result<Option<u8>, Failure> {
    let id = &found.id;
    let Some(record) = &found.record else {
        return Err(anyhow::anyhow!(
            "container {id} was not created by hcsrun create or run -d: it cannot be started"
        )
        .into());
    };
    let mut record = record.clone();
    let system: Arc<dyn ComputeSystem> = match (&found.status, created) {
        (_, Some(system)) => system,
        (Status::Running | Status::Paused, None) if output == Output::Log => return Ok(None),
        (Status::Running | Status::Paused, None) => {
            return Err(anyhow::anyhow!(
            "container {id} is running already: its output goes to its log (hcsrun logs -f {id})"
        )
            .into())
        }
        // An exited system is gone once its handle is closed: then made anew
        // from the recorded configuration (its scratch, and so its files, are
        // kept, as docker keeps a restarted container's).
        (Status::Exited(_), None) => {
            if let Ok(old) = service.open_system(id).await {
                let _ = old.close().await;
            }
            recreate(service, &record).await?
        }
        (Status::Created, None) if found.system.is_none() => recreate(service, &record).await?,
        (Status::Created, None) => service.open_system(id).await?.into(),
    };
    system.start().await?;
    let documents = record.load_documents().await?;
    let init: ProcessConfig = documents.init_config()?;
    let process = match system.create_process(&init).await {
        Ok(process) => process,
        Err(e) => {
            let _ = system.terminate().await;
            let _ = system
                .wait_timeout(std::time::Duration::from_secs(10))
                .await;
            return Err(Failure {
                code: exit::for_hcs_error(&e),
                error: e.into(),
            });
        }
    };
    let stdio = process.take_stdio()?;
    if let Output::Attach { interactive } = output {
        record.started = Some(now_rfc3339());
        record.paused = false;
        record.logged = false;
        record.persist().await?;
        let code =
            crate::cmd::attach::attach(&*process, stdio, interactive, init.emulate_console).await?;
        return Ok(Some(code));
    }
    // Without -i the input ends at once, as `docker run -d`'s does; with it
    // the relay holds it open. A console's input stays open either way.
    let stdin = if record.interactive || init.emulate_console {
        stdio.stdin
    } else {
        drop(stdio.stdin);
        let _ = process.close_stdin().await;
        None
    };
    finish(
        id,
        &mut record,
        &*process,
        stdio.stdout,
        stdio.stderr,
        stdin,
    )
    .await
    .map(|()| None)
}

/// Hands the streams to the relay, releases the ones the service keeps and
/// records the start.
async fn finish(
    id: &str,
    record: &mut Record,
    process: &dyn hcs::Process,
    stdout: Option<hcs::StdioHandle>,
    stderr: Option<hcs::StdioHandle>,
    stdin: Option<hcs::StdioHandle>,
) -> Result<(), Failure> {
    let (has_out, has_err) = (stdout.is_some(), stderr.is_some());
    // Recorded before the relay starts: a relay of a `--rm` container that
    // has already exited removes the record at once.
    record.started = Some(now_rfc3339());
    record.paused = false;
    record.logged = true;
    record.persist().await?;
    log_relay::spawn(id, stdout, stderr, stdin)?;
    if !record.tty {
        if has_out {
            let _ = process.close_stdout().await;
        }
        if has_err {
            let _ = process.close_stderr().await;
        }
    }
    Ok(())
}

/// The recorded container's system, created again.
async fn recreate(
    service: &dyn ComputeService,
    record: &Record,
) -> Result<Arc<dyn ComputeSystem>, Failure> {
    let config: ContainerConfig = record.load_documents().await?.container_config()?;
    Ok(service.create_system(&record.id, &config).await?.into())
}

/// A configuration without its credentials, for the record.
fn redacted(config: &ContainerConfig) -> ContainerConfig {
    let mut shown = config.clone();
    if !shown.credentials.is_empty() {
        shown.credentials = "[redacted]".to_owned();
    }
    shown
}

/// A document in HCS's own encoding, as JSON.
fn document<T: serde::Serialize>(value: &T) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::from_str(&hcs_schema::to_string(value)?)?)
}
