//! `hcsrun wait ID…`: blocks until each container stops and prints its
//! exit code.

use std::process::ExitCode;

use hcsrun::service::{self, ServiceChoice};

use super::{
    common::{block_on, target},
    log_relay,
};
use crate::containers::{self, Status};

/// Block until containers stop, then print their exit codes.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun wait web1")]
pub struct Args {
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// Waits for each container named in turn.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    block_on(async {
        for query in &args.containers {
            let (service, found) = target(choice, query).await?;
            let code = match &found.status {
                Status::Exited(exit) => exit.exit_code,
                Status::Created => anyhow::bail!("container {} has not started", found.id),
                Status::Running | Status::Paused => {
                    let system = service.open_system(&found.id).await?;
                    // A system whose holder died ends the wait with an
                    // error: its record then says lost.
                    let _ = system.wait().await;
                    let own = containers::service_of(found.record.as_ref(), choice);
                    service::exit_record(&own, &found.id)
                        .await?
                        .map_or(containers::LOST_EXIT_CODE, |e| e.exit_code)
                }
            };
            // What it wrote is all in its log before its code is told.
            if found.record.as_ref().is_some_and(|r| r.logged) {
                let path = containers::store::log_path(&found.id);
                tokio::task::spawn_blocking(move || {
                    log_relay::settle(&path, std::time::Duration::from_secs(2))
                })
                .await?;
            }
            crate::output::print(&format!("{code}\n"))?;
        }
        Ok(ExitCode::SUCCESS)
    })
}
