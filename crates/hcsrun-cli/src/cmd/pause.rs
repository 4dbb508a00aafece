//! `hcsrun pause ID…` and `hcsrun unpause ID…`: the seed's Pause and
//! Resume. The seed refuses to pause a process-isolated Windows-schema
//! container (Windows cannot freeze one); Hyper-V isolated ones, LCOW and
//! Linux containers the host runs natively freeze for real.

use std::process::ExitCode;

use hcsrun::service::ServiceChoice;

use super::common::{block_on, for_each, running};
use crate::containers::Found;

/// Freeze every process of containers.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun pause web1")]
pub struct Args {
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// Thaw paused containers.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun unpause web1")]
pub struct UnpauseArgs {
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// Pauses (`freeze`) or resumes each container named.
pub fn run(
    containers: Vec<String>,
    choice: &ServiceChoice,
    freeze: bool,
) -> anyhow::Result<ExitCode> {
    let verb = if freeze { "pause" } else { "unpause" };
    block_on(async {
        Ok(
            for_each(verb, choice, &containers, |service, found| async move {
                if freeze {
                    refuse_windows_process_isolation(&found).await?;
                }
                let system = running(&*service, &found).await?;
                if freeze {
                    system.pause().await?;
                } else {
                    system.resume().await?;
                }
                if let Some(mut record) = found.record {
                    record.paused = freeze;
                    record.persist().await?;
                }
                Ok(())
            })
            .await,
        )
    })
}

/// The seed's rule: only a Hyper-V isolated or Linux container can pause.
async fn refuse_windows_process_isolation(found: &Found) -> anyhow::Result<()> {
    let Some(record) = &found.record else {
        return Ok(());
    };
    let config = record.load_documents().await?.container_config()?;
    if config.container_type.eq_ignore_ascii_case("linux") || config.hv_partition {
        return Ok(());
    }
    anyhow::bail!(
        "cannot pause container {}: a process-isolated Windows container cannot be paused; \
         run it with --isolation hyperv to pause it",
        found.id
    )
}
