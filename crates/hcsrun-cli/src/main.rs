//! `hcsrun`: the Windows container runtime of the Docker engine, in Rust,
//! running for real on Linux too.

mod cmd;
#[cfg(unix)]
mod containers;
mod logging;
mod output;
mod usage;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use hcsrun::service::ServiceChoice;

/// Run containers through a Host Compute Service: Windows' own, or the Linux
/// compute service.
#[derive(Debug, Parser)]
#[command(name = "hcsrun", version, about)]
struct Cli {
    /// The compute service: `linux` (the default on Linux), `vmcompute`
    /// (Windows' vmcompute.dll, the default on Windows), or `vmcompute=PATH`
    /// (a library with vmcompute.dll's ABI, such as hcsrun's libvmcompute.so).
    #[arg(long, global = true, value_name = "SERVICE", default_value_t = ServiceChoice::default())]
    service: ServiceChoice,
    /// Write debug diagnostics to stderr (as HCSRUN_LOG=debug).
    #[arg(long, global = true)]
    debug: bool,
    /// Diagnostics as text or as JSON lines.
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Option<cmd::Command>,
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => return usage::report::<Cli>(&error, &args),
    };
    logging::init(cli.debug, cli.log_format == "json");
    let result = match cli.command {
        Some(command) => command.run(&cli.service),
        None => output::print(&Cli::command().render_help().to_string())
            .map(|()| ExitCode::SUCCESS)
            .map_err(Into::into),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line: the command, then each cause.
            output::error_line(&format!("hcsrun: {e:#}"));
            ExitCode::FAILURE
        }
    }
}
