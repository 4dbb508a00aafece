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

/// Start created or stopped containers, in the background (with -a, in
/// the foreground).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  hcsrun start web1\n  hcsrun start -ai web1")]
pub struct StartArgs {
    /// Attach: stream the container's output here and exit with its code
    /// (its output is then not logged).
    #[arg(short, long)]
    attach: bool,
    /// With -a, copy this process's stdin to the container's.
    #[arg(short, long, requires = "attach")]
    interactive: bool,
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
    if args.attach {
        let [query] = args.containers.as_slice() else {
            anyhow::bail!("start: you cannot start and attach multiple containers at once");
        };
        let output = run::detach::Output::Attach {
            interactive: args.interactive,
        };
        return block_on(async {
            let (service, found) = super::common::target(choice, query).await?;
            match run::detach::start(&*service, &found, None, output).await {
                Ok(code) => Ok(ExitCode::from(code.unwrap_or(0))),
                Err(failure) => {
                    crate::output::error_line(&format!("hcsrun: start: {:#}", failure.error));
                    Ok(ExitCode::from(failure.code))
                }
            }
        });
    }
    block_on(async {
        Ok(for_each(
            "start",
            choice,
            &args.containers,
            |service, found| async move {
                run::detach::start(&*service, &found, None, run::detach::Output::Log)
                    .await
                    .map(drop)
                    .map_err(|failure| failure.error)
            },
        )
        .await)
    })
}
