//! The subcommands, one module each.

mod layer_id;
mod translate;

use anyhow::Context;

use crate::service;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    Translate(translate::Args),
    LayerId(layer_id::Args),
}

impl Command {
    /// Runs the command; its errors are prefixed with its name.
    pub fn run(self) -> anyhow::Result<()> {
        let service = service::selected();
        match self {
            Command::Translate(args) => translate::run(args, &service).context("translate"),
            Command::LayerId(args) => layer_id::run(args, &service).context("layer-id"),
        }
    }
}
