//! `hcsrun ps [-a] [-q] [--format json]`: the containers, as docker lists
//! them.

use std::process::ExitCode;

use hcsrun::service::ServiceChoice;
use serde_json::json;

use super::common::block_on;
use crate::containers::{self, human_duration, since, Found, Status};

/// List containers (running ones; -a for all).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  hcsrun ps\n  hcsrun ps -a --format json")]
pub struct Args {
    /// Show every container, not only running ones.
    #[arg(short, long)]
    all: bool,
    /// Print only the ids.
    #[arg(short, long)]
    quiet: bool,
    /// `table` (the default) or `json` (one object per line, as docker's).
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = ["table", "json"])]
    format: String,
}

/// Lists the containers.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    block_on(async {
        let service = containers::open_service(choice)?;
        let found: Vec<Found> = containers::all(&*service, choice)
            .await?
            .into_iter()
            .filter(|f| args.all || f.status.is_running())
            .collect();
        let text = if args.quiet {
            found.iter().map(|f| format!("{}\n", f.id)).collect()
        } else if args.format == "json" {
            found.iter().map(|f| format!("{}\n", row_json(f))).collect()
        } else {
            table(&found)
        };
        crate::output::print(&text)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The row's cells: id, command, created, status, isolation, layers.
fn cells(found: &Found) -> [String; 6] {
    let record = found.record.as_ref();
    let command = record.map(|r| quoted(&r.command)).unwrap_or_default();
    let created = record
        .map(|r| format!("{} ago", human_duration(since(&r.created))))
        .unwrap_or_default();
    let isolation = record.map(|r| r.isolation.clone()).unwrap_or_default();
    let layers = record.map(|r| r.layers.join(",")).unwrap_or_default();
    [
        found.id.clone(),
        command,
        created,
        status_text(found),
        isolation,
        layers,
    ]
}

/// docker's status words: `Up 3 seconds`, `Up 3 seconds (Paused)`,
/// `Exited (3) 2 seconds ago`, `Created`.
pub fn status_text(found: &Found) -> String {
    let started = found.record.as_ref().and_then(|r| r.started.as_deref());
    let up = || {
        format!(
            "Up {}",
            human_duration(started.map(since).unwrap_or_default())
        )
    };
    match &found.status {
        Status::Created => "Created".to_owned(),
        Status::Running => up(),
        Status::Paused => format!("{} (Paused)", up()),
        Status::Exited(exit) => match &exit.finished {
            Some(when) => format!(
                "Exited ({}) {} ago",
                exit.exit_code,
                human_duration(since(when))
            ),
            None => format!("Exited ({})", exit.exit_code),
        },
    }
}

/// The command as docker's `ps` shows it: quoted, at most 20 characters.
fn quoted(command: &[String]) -> String {
    let text = command.join(" ");
    let short: String = if text.chars().count() > 20 {
        text.chars().take(19).chain(['…']).collect()
    } else {
        text
    };
    format!("\"{short}\"")
}

fn table(found: &[Found]) -> String {
    let header = [
        "CONTAINER ID",
        "COMMAND",
        "CREATED",
        "STATUS",
        "ISOLATION",
        "LAYERS",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 6]> = std::iter::once(header)
        .chain(found.iter().map(cells))
        .collect();
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A row as docker's `--format json` writes it.
fn row_json(found: &Found) -> serde_json::Value {
    let record = found.record.as_ref();
    json!({
        "ID": found.id,
        "Command": record.map(|r| r.command.join(" ")).unwrap_or_default(),
        "CreatedAt": record.map(|r| r.created.clone()).unwrap_or_default(),
        "State": found.status.word(),
        "Status": status_text(found),
        "ExitCode": match &found.status { Status::Exited(e) => Some(e.exit_code), _ => None },
        "Isolation": record.map(|r| r.isolation.clone()).unwrap_or_default(),
        "Layers": record.map(|r| r.layers.clone()).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_are_cut_as_docker_cuts_them() {
        assert_eq!(quoted(&["sleep".into(), "60".into()]), "\"sleep 60\"");
        assert_eq!(
            quoted(&["sh".into(), "-c".into(), "while true; do date; done".into()]),
            "\"sh -c while true; d…\""
        );
    }
}
