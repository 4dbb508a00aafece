//! `bench-tools`: general measuring tools that `bench/run.sh` and
//! `bench/profile.sh` use, which know nothing of hcsrun. Each measurement
//! writes a JSON file of series (`bench_tools::series`); each timeline is
//! text. Linux only; the kernel tracing and cgroup measurements need root.

mod cgroup_writes;
mod ftrace;
mod timeline;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context;
use bench_tools::{series, timed::Timed};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bench-tools",
    about = "General measuring tools (used by bench/run.sh)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
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
    /// cgroup.procs writes after idle and right after another.
    CgroupWrites {
        #[arg(long, default_value_t = 30)]
        runs: usize,
        #[arg(long, default_value_t = 100)]
        idle_ms: u64,
        #[arg(long)]
        out: PathBuf,
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
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-tools: {e:#}");
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
            let timings = bench_tools::timed::time(&commands, warmup, runs, pause)?;
            Ok(series::write(&out, &timings)?)
        }
        Cmd::CgroupWrites { runs, idle_ms, out } => Ok(series::write(
            &out,
            &cgroup_writes::measure(runs, Duration::from_millis(idle_ms))?,
        )?),
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
    }
}
