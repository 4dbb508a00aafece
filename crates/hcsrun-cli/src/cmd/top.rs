//! `hcsrun top ID`: the container's processes, the seed's Summary
//! (process list): pid inside the container, processor time, memory,
//! command.

use std::process::ExitCode;

use hcsrun::service::ServiceChoice;

use super::{
    common::{block_on, running, target},
    stats::bytes,
};

/// Show a running container's processes.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun top web1")]
pub struct Args {
    /// The container: an id or a unique prefix.
    #[arg(value_name = "CONTAINER")]
    container: String,
}

/// Prints the process list as a table.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    block_on(async {
        let (service, found) = target(choice, &args.container).await?;
        let system = running(&*service, &found).await?;
        let mut processes = system.process_list().await?;
        processes.sort_by_key(|p| p.process_id);
        let mut rows = vec![[
            "PID".to_owned(),
            "TIME".to_owned(),
            "PRIVATE WORKING SET".to_owned(),
            "COMMIT".to_owned(),
            "COMMAND".to_owned(),
        ]];
        for p in &processes {
            let seconds = (p.user_time_100ns + p.kernel_time_100ns) / 10_000_000;
            rows.push([
                p.process_id.to_string(),
                format!(
                    "{:02}:{:02}:{:02}",
                    seconds / 3600,
                    seconds / 60 % 60,
                    seconds % 60
                ),
                bytes(p.memory_working_set_private_bytes),
                bytes(p.memory_commit_bytes),
                p.image_name.clone(),
            ]);
        }
        crate::output::print(&table(&rows))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Rows as columns padded to their widest cell, three spaces apart.
pub fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(line.join("   ").trim_end());
        text.push('\n');
    }
    text
}
