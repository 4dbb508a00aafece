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
    /// The compute service: `linux` (the default on Linux), `vmcompute`
    /// (Windows' vmcompute.dll, the default on Windows), or `vmcompute=PATH`
    /// (a library with vmcompute.dll's ABI, such as hcsrun's libvmcompute.so).
    #[arg(long, global = true, value_name = "SERVICE", default_value_t = service::Choice::default())]
    service: service::Choice,
    #[command(subcommand)]
    command: Option<cmd::Command>,
}

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    service::select(cli.service);
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
