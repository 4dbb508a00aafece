//! `hcsrun`: the Windows container runtime of the Docker engine, in Rust,
//! running for real on Linux too.

use clap::Parser;

/// Run containers through a Host Compute Service: Windows' own, or the Linux
/// compute service.
#[derive(Debug, Parser)]
#[command(name = "hcsrun", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(())
        }
    }
}
