//! `hcsrun-bench`: the measurements `bench/run.sh` makes, each writing a
//! JSON file, and the report that turns them into `bench/RESULTS.md`.
//! Linux only; the client measurements need root.

mod cgroup_writes;
mod client;
mod commands;
mod exec;
mod ftrace;
mod machine;
mod memory;
mod report;
mod results;
mod runc_spec;
mod scale;
mod stats;
mod stdio;
mod timeline;

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{client::Bench, commands::Timed};

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
    /// Wall time of whole commands, run in turn.
    Time {
        /// NAME=PROGRAM ARG... (split on spaces; `{id}` is a fresh id per run).
        #[arg(long = "cmd", required = true)]
        commands: Vec<Timed>,
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Idle this long before each run (ms).
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
        #[arg(long)]
        out: PathBuf,
    },
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
    /// cgroup.procs writes after idle and right after another.
    CgroupWrites {
        #[arg(long, default_value_t = 30)]
        runs: usize,
        #[arg(long, default_value_t = 100)]
        idle_ms: u64,
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
    /// A readable timeline of an `strace -f -tt -T -y` log.
    Timeline {
        strace: PathBuf,
        /// Cut calls to this many characters.
        #[arg(long, default_value_t = 110)]
        width: usize,
    },
    /// A command's timeline from kernel tracepoints (tracefs).
    Ftrace {
        /// Where the timeline goes.
        #[arg(long)]
        out: PathBuf,
        /// Also keep the raw trace here.
        #[arg(long)]
        raw: Option<PathBuf>,
        #[arg(last = true, required = true)]
        argv: Vec<String>,
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
        Cmd::Time {
            commands,
            warmup,
            runs,
            pause_ms,
            out,
        } => {
            let pause = Duration::from_millis(pause_ms);
            results::write(&out, &commands::time(&commands, warmup, runs, pause)?)
        }
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
            results::write(&out, &timings)
        }
        Cmd::Stdio {
            commands,
            bytes,
            warmup,
            runs,
            out,
        } => results::write(&out, &stdio::measure(&commands, bytes, warmup, runs)?),
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
            results::write(&out, &scale)
        }
        Cmd::CgroupWrites { runs, idle_ms, out } => results::write(
            &out,
            &cgroup_writes::measure(runs, Duration::from_millis(idle_ms))?,
        ),
        Cmd::RuncSpec {
            bundle,
            rootfs,
            args,
        } => runc_spec::edit(&bundle, &rootfs, &args),
        Cmd::Timeline { strace, width } => {
            print!("{}", timeline::render(&strace, width)?);
            Ok(())
        }
        Cmd::Ftrace { out, raw, argv } => {
            let trace = ftrace::record(&argv)?;
            if let Some(raw) = raw {
                std::fs::write(&raw, &trace)
                    .with_context(|| format!("writing {}", raw.display()))?;
            }
            let text = format!(
                "{}\n\n{}",
                argv.join(" "),
                ftrace::render(&trace, std::process::id())?
            );
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))
        }
        Cmd::Machine { out } => results::write(&out, &machine::Machine::read()?),
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
