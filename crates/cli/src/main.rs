//! `hcsrun`: the Windows container runtime of the Docker engine, in Rust,
//! running for real on Linux too.

mod cmd;
mod logging;
mod service;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

/// Run containers through a Host Compute Service: Windows' own, or the Linux
/// compute service.
#[derive(Debug, Parser)]
#[command(name = "hcsrun", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<cmd::Command>,
}

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(command) => command.run(),
        None => Cli::command().print_help().map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the command, then each cause.
            eprintln!("hcsrun: {e:#}");
            ExitCode::FAILURE
        }
    }
}
