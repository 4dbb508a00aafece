//! `hcsrun inspect ID…`: a container as JSON — its state (from the
//! compute service's records), the configuration sent to the service, its
//! mounts and limits.

use std::process::ExitCode;

use hcsrun::service::ServiceChoice;
use serde_json::{json, Value};

use super::common::{block_on, target};
use crate::containers::{store::Documents, Found, Status};

/// Show containers' state and configuration, as JSON.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun inspect web1")]
pub struct Args {
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// Prints a JSON array with one object per container.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    block_on(async {
        let mut all = Vec::new();
        for query in &args.containers {
            let (service, found) = target(choice, query).await?;
            let mut pid = None;
            if found.status.is_running() {
                if let Ok(system) = service.open_system(&found.id).await {
                    if let Ok(init) = system.open_process(1).await {
                        pid = init.host_pid();
                    }
                }
            }
            let documents = match &found.record {
                Some(record) => record.load_documents().await.ok(),
                None => None,
            };
            all.push(describe(&found, documents.as_ref(), pid));
        }
        crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&all)?))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The container as `inspect` shows it.
fn describe(found: &Found, documents: Option<&Documents>, pid: Option<u32>) -> Value {
    let record = found.record.as_ref();
    let config = documents.map(|d| d.config.clone()).unwrap_or(Value::Null);
    let exit = match &found.status {
        Status::Exited(e) => Some(e),
        _ => None,
    };
    json!({
        "Id": found.id,
        "Created": record.map(|r| r.created.clone()),
        "Path": record.and_then(|r| r.command.first().cloned()),
        "Args": record.map(|r| r.command.iter().skip(1).cloned().collect::<Vec<_>>()),
        "State": {
            "Status": found.status.word(),
            "Running": found.status.is_running(),
            "Paused": found.status == Status::Paused,
            "Pid": pid.unwrap_or(0),
            "ExitCode": exit.map_or(0, |e| e.exit_code),
            "StartedAt": record.and_then(|r| r.started.clone()),
            "FinishedAt": exit.and_then(|e| e.finished.clone()),
            "OOMKilled": exit.is_some_and(|e| e.oom_killed),
            "ExitType": exit.map(|e| e.how.clone()),
        },
        "Service": record.map(|r| r.service.clone()),
        "Isolation": record.map(|r| r.isolation.clone()),
        "Layers": record.map(|r| r.layers.clone()),
        "Scratch": record.and_then(|r| r.scratch.clone()),
        "Mounts": config.get("MappedDirectories").cloned().unwrap_or(json!([])),
        "Limits": {
            "MemoryMaximumInMB": config.get("MemoryMaximumInMB"),
            "ProcessorCount": config.get("ProcessorCount"),
            "ProcessorWeight": config.get("ProcessorWeight"),
            "ProcessorMaximum": config.get("ProcessorMaximum"),
            "Linux": documents
                .and_then(|d| d.linux_spec.as_ref())
                .and_then(|s| s.pointer("/linux/resources").cloned()),
        },
        "LogPath": record.filter(|r| r.logged).map(|r| r.log_path()),
        "Config": config,
    })
}
