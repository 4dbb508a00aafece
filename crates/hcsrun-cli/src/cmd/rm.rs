//! `hcsrun rm [-f] ID…`: a container and everything of it gone — its
//! system's record, scratch folder (if hcsrun made it), cgroups, log and
//! hcsrun's record.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use hcs::ComputeService;
use hcsrun::service::ServiceChoice;

use super::common::{block_on, for_each};
use crate::containers::{store, Found};

/// Where `hcsrun run` makes a container's scratch folder.
const SCRATCH_ROOT: &str = "/var/lib/hcsrun/scratch";

/// Remove one or more containers.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun rm -f web1")]
pub struct Args {
    /// Kill a running container first.
    #[arg(short, long)]
    force: bool,
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// Removes each container named.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    let force = args.force;
    block_on(async {
        Ok(for_each(
            "rm",
            choice,
            &args.containers,
            |service, found| async move { remove(&*service, &found, force).await },
        )
        .await)
    })
}

/// Removes `found`; a running one only with `force` (killed first).
pub async fn remove(
    service: &dyn ComputeService,
    found: &Found,
    force: bool,
) -> anyhow::Result<()> {
    let id = &found.id;
    if found.status.is_running() {
        if !force {
            anyhow::bail!(
                "you cannot remove a running container {id}: stop the container before \
                 attempting removal or force remove (-f)"
            );
        }
        let system = service.open_system(id).await?;
        match system.terminate().await {
            Err(e) if !e.is_pending() && !e.is_already_stopped() => return Err(e.into()),
            _ => {}
        }
        system.wait_timeout(Duration::from_secs(30)).await?;
        // Closing the handle of a stopped system removes its record.
        system.close().await?;
    } else if found.system.is_some() {
        match service.open_system(id).await {
            Ok(system) => system.close().await?,
            Err(e) if e.is_not_exist() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let scratch = match &found.record {
        Some(record) => record.scratch.clone().filter(|_| record.scratch_is_ours),
        // A container of a foreground `hcsrun run` that was killed: its
        // scratch folder, if run made it, has its id under hcsrun's folder.
        None => Some(PathBuf::from(SCRATCH_ROOT).join(id)),
    };
    if let Some(scratch) = scratch {
        let removed = {
            let scratch = scratch.clone();
            tokio::task::spawn_blocking(move || std::fs::remove_dir_all(scratch)).await?
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::anyhow!(
                    "container {id}: removing its scratch folder {}: {e}",
                    scratch.display()
                ))
            }
            _ => {}
        }
    }
    store::remove_async(id).await
}
