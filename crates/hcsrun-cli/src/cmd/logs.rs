//! `hcsrun logs [-f] [--tail N] [-t] ID`: what a detached container wrote,
//! from the json-file log its relay keeps (see `log_relay`).

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use hcsrun::service::ServiceChoice;
use nix::fcntl::{Flock, FlockArg};
use serde::Deserialize;

use super::{
    common::{block_on, target},
    log_relay::{self, MAX_FILES},
};
use crate::{containers::store, output::Stderr};

/// Show a detached container's output.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  hcsrun logs web1\n  hcsrun logs -f --tail 10 web1")]
pub struct Args {
    /// Keep printing what it writes until it stops.
    #[arg(short, long)]
    follow: bool,
    /// Only the last N lines (`all` for every one).
    #[arg(short = 'n', long, value_name = "N", default_value = "all")]
    tail: String,
    /// Begin each line with the time it was written (RFC 3339).
    #[arg(short, long)]
    timestamps: bool,
    /// The container: an id or a unique prefix.
    #[arg(value_name = "CONTAINER")]
    container: String,
}

/// One json-file line.
#[derive(Deserialize)]
struct Entry {
    log: String,
    stream: String,
    time: String,
}

/// Prints the container's log.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    let tail = match args.tail.as_str() {
        "all" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| anyhow::anyhow!("--tail {n:?}: give a number of lines or all"))?,
        ),
    };
    let found = block_on(async { Ok(target(choice, &args.container).await?.1) })?;
    let id = found.id.clone();
    if !found.record.as_ref().is_some_and(|r| r.logged) {
        anyhow::bail!(
            "container {id} has no log: only a detached container's output (run -d, start) is kept"
        );
    }
    let path = store::log_path(&id);
    if !found.status.is_running() {
        // Everything it wrote reaches the log before the relay exits.
        log_relay::settle(&path, Duration::from_secs(2));
    }
    let mut lines = Vec::new();
    let mut offset = 0;
    for file in files(&path) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if file == path {
            // Only whole lines: following goes on from the end of the last.
            let whole = text.rfind('\n').map_or(0, |end| end + 1);
            offset = whole as u64;
            lines.extend(text[..whole].lines().map(str::to_owned));
        } else {
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    let skip = tail.map_or(0, |n| lines.len().saturating_sub(n));
    for line in &lines[skip..] {
        show(line, args.timestamps);
    }
    if args.follow {
        follow(&path, offset, args.timestamps)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The log's files, oldest first.
fn files(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..MAX_FILES)
        .rev()
        .map(|n| log_relay::rotated(path, n))
        .collect();
    files.push(path.to_owned());
    files
}

/// Prints what is added to the log after `offset` until its relay has
/// exited.
fn follow(path: &Path, mut offset: u64, timestamps: bool) -> anyhow::Result<()> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut pending = String::new();
    loop {
        let relay_done = File::open(path)
            .ok()
            .is_some_and(|f| Flock::lock(f, FlockArg::LockSharedNonblock).is_ok());
        // A rotation leaves this file renamed: go on in the new one.
        if std::fs::metadata(path).is_ok_and(|m| m.len() < offset) {
            file = File::open(path)?;
            offset = 0;
        }
        let mut added = String::new();
        file.read_to_string(&mut added)?;
        offset += added.len() as u64;
        pending.push_str(&added);
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            show(line.trim_end_matches('\n'), timestamps);
        }
        if relay_done {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Prints one entry on the stream it came from.
fn show(line: &str, timestamps: bool) {
    let Ok(entry) = serde_json::from_str::<Entry>(line) else {
        return;
    };
    let text = if timestamps {
        format!("{} {}", entry.time, entry.log)
    } else {
        entry.log
    };
    if entry.stream == "stderr" {
        let _ = Stderr.write_all(text.as_bytes());
    } else {
        let _ = crate::output::print(&text);
    }
}
