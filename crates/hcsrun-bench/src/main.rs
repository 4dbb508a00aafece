//! `hcsrun-bench`: the measurements of hcsrun that `bench/run.sh` makes
//! (exec, stdio, scale and memory through the runtime client), each writing
//! a JSON file, and the report that turns them, and those of the general
//! tools (`bench-tools`), into `bench/RESULTS.md`. Linux only; the client
//! measurements need root.

mod client;
mod exec;
mod machine;
mod memory;
mod report;
mod results;
mod runc_spec;
mod scale;
mod stdio;

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};

use bench_tools::{series, timed::Timed};

use crate::client::Bench;

#[derive(Parser)]
#[command(
    name = "hcsrun-bench",
    about = "hcsrun's benchmarks (run by bench/run.sh)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// Where client measurements put their containers.
#[derive(clap::Args)]
struct Containers {
    /// The read-only layer (a root file system directory).
    #[arg(long)]
    layer: PathBuf,
    /// Where scratch folders are made (and removed).
    #[arg(long)]
    scratch: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// Exec of `true` through the client, in turn with `runc exec`.
    Exec {
        #[command(flatten)]
        containers: Containers,
        /// A running runc container to `runc exec` into, in turn.
        #[arg(long)]
        runc: Option<String>,
        #[arg(long, default_value_t = 5)]
        warmup: usize,
        #[arg(long, default_value_t = 100)]
        runs: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Commands' stdout read to the end by this process.
    Stdio {
        /// NAME=PROGRAM ARG..., as for `time`.
        #[arg(long = "cmd", required = true)]
        commands: Vec<Timed>,
        /// The bytes each command must write.
        #[arg(long)]
        bytes: u64,
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        #[arg(long, default_value_t = 7)]
        runs: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Containers started at once through the client, then terminated.
    Scale {
        #[command(flatten)]
        containers: Containers,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// How long the containers idle before their memory is read.
        #[arg(long, default_value_t = 1000)]
        settle_ms: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Points a bundle made by `runc spec` at a root and a command.
    RuncSpec {
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long)]
        rootfs: PathBuf,
        #[arg(last = true, required = true)]
        args: Vec<String>,
    },
    /// The machine and software measured, and the load before.
    Machine {
        #[arg(long)]
        out: PathBuf,
    },
    /// bench/RESULTS.md from the measurements in a results directory.
    Report {
        /// The directory the measurements wrote to.
        #[arg(long)]
        results: PathBuf,
        /// Criterion's output directory (target/criterion).
        #[arg(long)]
        criterion: PathBuf,
        /// Hand-written analysis to append, if any.
        #[arg(long)]
        analysis: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hcsrun-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Cmd) -> anyhow::Result<()> {
    match command {
        Cmd::Exec {
            containers,
            runc,
            warmup,
            runs,
            out,
        } => {
            let timings = runtime()?.block_on(async {
                let bench = Bench::new(&containers.layer, &containers.scratch)?;
                exec::measure(&bench, runc.as_deref(), warmup, runs).await
            })?;
            Ok(series::write(&out, &timings)?)
        }
        Cmd::Stdio {
            commands,
            bytes,
            warmup,
            runs,
            out,
        } => Ok(series::write(
            &out,
            &stdio::measure(&commands, bytes, warmup, runs)?,
        )?),
        Cmd::Scale {
            containers,
            count,
            rounds,
            settle_ms,
            out,
        } => {
            raise_nofile()?;
            let scale = runtime()?.block_on(async {
                let bench = Arc::new(Bench::new(&containers.layer, &containers.scratch)?);
                let mut scale = results::Scale::default();
                for round in 0..rounds {
                    let settle = Duration::from_millis(settle_ms);
                    scale
                        .rounds
                        .push(scale::round(bench.clone(), round, count, settle).await?);
                }
                anyhow::Ok(scale)
            })?;
            Ok(series::write(&out, &scale)?)
        }
        Cmd::RuncSpec {
            bundle,
            rootfs,
            args,
        } => runc_spec::edit(&bundle, &rootfs, &args),
        Cmd::Machine { out } => Ok(series::write(&out, &machine::Machine::read()?)?),
        Cmd::Report {
            results,
            criterion,
            analysis,
            out,
        } => {
            let text = report::render(&results, &criterion, analysis.as_deref())?;
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

/// Hundreds of containers hold several descriptors each: the soft limit
/// goes up to the hard one.
fn raise_nofile() -> anyhow::Result<()> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("reading RLIMIT_NOFILE")?;
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).context("raising RLIMIT_NOFILE")
}
