//! The subcommands, one module each.

#[cfg(unix)]
mod attach;
#[cfg(unix)]
mod common;
#[cfg(unix)]
mod exec;
#[cfg(target_os = "linux")]
mod image;
#[cfg(unix)]
mod inspect;
mod layer_id;
#[cfg(unix)]
mod log_relay;
#[cfg(unix)]
mod logs;
#[cfg(unix)]
mod pause;
#[cfg(unix)]
mod ps;
#[cfg(unix)]
pub mod rm;
#[cfg(unix)]
mod run;
#[cfg(unix)]
mod start;
#[cfg(unix)]
mod stats;
#[cfg(unix)]
mod stop;
#[cfg(unix)]
mod top;
mod translate;
#[cfg(unix)]
mod update;
#[cfg(unix)]
mod wait;

use std::process::ExitCode;

use anyhow::Context;
use hcsrun::service::{self, ServiceChoice};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    #[cfg(unix)]
    Run(Box<run::Args>),
    #[cfg(unix)]
    Create(Box<start::CreateArgs>),
    #[cfg(unix)]
    Start(start::StartArgs),
    #[cfg(unix)]
    Ps(ps::Args),
    #[cfg(unix)]
    Exec(exec::Args),
    #[cfg(unix)]
    Logs(logs::Args),
    #[cfg(unix)]
    Inspect(inspect::Args),
    #[cfg(unix)]
    Top(top::Args),
    #[cfg(unix)]
    Stats(stats::Args),
    #[cfg(unix)]
    Stop(stop::StopArgs),
    #[cfg(unix)]
    Kill(stop::KillArgs),
    #[cfg(unix)]
    Rm(rm::Args),
    #[cfg(unix)]
    Update(update::Args),
    #[cfg(unix)]
    Wait(wait::Args),
    #[cfg(unix)]
    Pause(pause::Args),
    #[cfg(unix)]
    Unpause(pause::UnpauseArgs),
    Translate(translate::Args),
    LayerId(layer_id::Args),
    /// (hcsrun's own: the log relay of a detached container.)
    #[cfg(unix)]
    #[command(hide = true)]
    LogRelay(log_relay::Args),
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
            #[cfg(unix)]
            Command::Create(args) => Ok(start::create(*args, choice)),
            #[cfg(unix)]
            Command::Start(args) => start::start(args, choice),
            #[cfg(unix)]
            Command::Ps(args) => ps::run(args, choice).context("ps"),
            #[cfg(unix)]
            Command::Exec(args) => Ok(exec::main(args, choice)),
            #[cfg(unix)]
            Command::Logs(args) => logs::run(args, choice).context("logs"),
            #[cfg(unix)]
            Command::Inspect(args) => inspect::run(args, choice).context("inspect"),
            #[cfg(unix)]
            Command::Top(args) => top::run(args, choice).context("top"),
            #[cfg(unix)]
            Command::Stats(args) => stats::run(args, choice).context("stats"),
            #[cfg(unix)]
            Command::Stop(args) => stop::stop(args, choice),
            #[cfg(unix)]
            Command::Kill(args) => stop::kill(args, choice),
            #[cfg(unix)]
            Command::Rm(args) => rm::run(args, choice),
            #[cfg(unix)]
            Command::Update(args) => update::run(args, choice),
            #[cfg(unix)]
            Command::Wait(args) => wait::run(args, choice).context("wait"),
            #[cfg(unix)]
            Command::Pause(args) => pause::run(args.containers, choice, true),
            #[cfg(unix)]
            Command::Unpause(args) => pause::run(args.containers, choice, false),
            Command::Translate(args) => translate::run(args, &service::facts(choice))
                .context("translate")
                .map(|()| ExitCode::SUCCESS),
            Command::LayerId(args) => layer_id::run(args, &service::facts(choice))
                .context("layer-id")
                .map(|()| ExitCode::SUCCESS),
            #[cfg(unix)]
            Command::LogRelay(args) => Ok(log_relay::main(args)),
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
