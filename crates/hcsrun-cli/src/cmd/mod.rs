//! The subcommands, one module each.

mod layer_id;
#[cfg(unix)]
mod run;
mod translate;

use std::process::ExitCode;

use anyhow::Context;

use crate::service;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    #[cfg(unix)]
    Run(Box<run::Args>),
    Translate(translate::Args),
    LayerId(layer_id::Args),
}

impl Command {
    /// Runs the command; its errors are prefixed with its name.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let service = service::selected();
        match self {
            #[cfg(unix)]
            Command::Run(args) => Ok(run::main(*args, service::compute_service())),
            Command::Translate(args) => translate::run(args, &service)
                .context("translate")
                .map(|()| ExitCode::SUCCESS),
            Command::LayerId(args) => layer_id::run(args, &service)
                .context("layer-id")
                .map(|()| ExitCode::SUCCESS),
        }
    }
}
