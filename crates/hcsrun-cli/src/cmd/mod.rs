//! The subcommands, one module each.

#[cfg(target_os = "linux")]
mod image;
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
    #[cfg(target_os = "linux")]
    Pull(image::PullArgs),
    #[cfg(target_os = "linux")]
    Load(image::LoadArgs),
    #[cfg(target_os = "linux")]
    Images(image::ImagesArgs),
    #[cfg(target_os = "linux")]
    Rmi(image::RmiArgs),
    #[cfg(target_os = "linux")]
    Tag(image::TagArgs),
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
            #[cfg(target_os = "linux")]
            Command::Pull(args) => image::pull(args).context("pull"),
            #[cfg(target_os = "linux")]
            Command::Load(args) => image::load(args).context("load"),
            #[cfg(target_os = "linux")]
            Command::Images(args) => image::images(args).context("images"),
            #[cfg(target_os = "linux")]
            Command::Rmi(args) => image::rmi(args),
            #[cfg(target_os = "linux")]
            Command::Tag(args) => image::tag(args).context("tag"),
        }
    }
}
