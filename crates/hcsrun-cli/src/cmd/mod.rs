//! The subcommands, one module each.

mod layer_id;
#[cfg(unix)]
mod run;
mod translate;

use std::process::ExitCode;

use anyhow::Context;
use hcsrun::service::{self, ServiceChoice};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    #[cfg(unix)]
    Run(Box<run::Args>),
    Translate(translate::Args),
    LayerId(layer_id::Args),
}

impl Command {
    /// Runs the command on the compute service `choice` names; its errors
    /// are prefixed with its name.
    pub fn run(self, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
        match self {
            #[cfg(unix)]
            Command::Run(args) => Ok(run::main(*args, choice)),
            Command::Translate(args) => translate::run(args, &service::facts(choice))
                .context("translate")
                .map(|()| ExitCode::SUCCESS),
            Command::LayerId(args) => layer_id::run(args, &service::facts(choice))
                .context("layer-id")
                .map(|()| ExitCode::SUCCESS),
        }
    }
}
