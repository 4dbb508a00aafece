//! `hcsrun create …` (run's options; the container recorded and its system
//! created, nothing started) and `hcsrun start ID…`.

use std::process::ExitCode;

use hcsrun::service::ServiceChoice;

use super::{
    common::{block_on, for_each},
    run,
};

/// Create a container without starting it: run's options. Prints its id.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun create --name web1 -- sleep 600\n  hcsrun start web1")]
pub struct CreateArgs {
    #[command(flatten)]
    run: run::Args,
}

/// Start created or stopped containers, in the background.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun start web1")]
pub struct StartArgs {
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// Creates the container.
pub fn create(args: CreateArgs, choice: &ServiceChoice) -> ExitCode {
    if args.run.detach {
        crate::output::error_line("hcsrun: create: unknown flag: --detach (create never starts)");
        return ExitCode::from(crate::usage::USAGE);
    }
    run::main_as(args.run, choice, run::Mode::Create, "create")
}

/// Starts each container named.
pub fn start(args: StartArgs, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    block_on(async {
        Ok(for_each(
            "start",
            choice,
            &args.containers,
            |service, found| async move {
                run::detach::start(&*service, &found, None)
                    .await
                    .map_err(|failure| failure.error)
            },
        )
        .await)
    })
}
