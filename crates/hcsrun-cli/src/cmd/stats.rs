//! `hcsrun stats [--no-stream] [ID…]`: the seed's Statistics as a live
//! table, refreshing every second as docker's does: CPU % from two
//! samples, memory usage / limit, block I/O, pids.

use std::{collections::HashMap, process::ExitCode, time::Duration};

use hcs::ComputeService;
use hcs_schema::Statistics;
use hcsrun::service::ServiceChoice;

use super::{common::block_on, top::table};
use crate::containers::{self, store::Documents, Found};

/// Show running containers' resource use.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  hcsrun stats\n  hcsrun stats --no-stream web1")]
pub struct Args {
    /// Print one table and exit.
    #[arg(long)]
    no_stream: bool,
    /// Containers: ids or unique prefixes [default: every running one].
    #[arg(value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// Prints the table, once or every second.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    block_on(async {
        let service = containers::open_service(choice)?;
        let all = containers::all(&*service, choice).await?;
        let mut chosen: Vec<Found> = Vec::new();
        if args.containers.is_empty() {
            chosen.extend(all.into_iter().filter(|f| f.status.is_running()));
        } else {
            for query in &args.containers {
                chosen.push(containers::find(&*service, choice, query).await?);
            }
        }
        let mut limits = HashMap::new();
        for found in &chosen {
            let documents = match &found.record {
                Some(record) => record.load_documents().await.ok(),
                None => None,
            };
            limits.insert(found.id.clone(), memory_limit(documents.as_ref()));
        }
        let mut last = sample(&*service, &chosen).await;
        loop {
            tokio::time::sleep(Duration::from_millis(if args.no_stream {
                500
            } else {
                1000
            }))
            .await;
            let now = sample(&*service, &chosen).await;
            let mut rows = vec![[
                "CONTAINER ID",
                "CPU %",
                "MEM USAGE / LIMIT",
                "MEM %",
                "BLOCK I/O",
                "PIDS",
            ]
            .map(str::to_owned)];
            for found in &chosen {
                let Some((stats, pids)) = now.get(&found.id) else {
                    continue;
                };
                let cpu = last
                    .get(&found.id)
                    .map_or(0.0, |(before, _)| cpu_percent(before, stats));
                let limit = limits[&found.id];
                let usage = stats.memory.usage_private_working_set_bytes;
                rows.push([
                    found.id.clone(),
                    format!("{cpu:.2}%"),
                    format!("{} / {}", bytes(usage), bytes(limit)),
                    format!("{:.2}%", usage as f64 * 100.0 / limit.max(1) as f64),
                    format!(
                        "{} / {}",
                        bytes(stats.storage.read_size_bytes),
                        bytes(stats.storage.write_size_bytes)
                    ),
                    pids.to_string(),
                ]);
            }
            let text = table(&rows);
            if args.no_stream {
                crate::output::print(&text)?;
                return Ok(ExitCode::SUCCESS);
            }
            // Clear the screen and draw the table again, as docker does.
            crate::output::print(&format!("\x1b[2J\x1b[H{text}"))?;
            last = now;
        }
    })
}

/// Each running container's statistics and process count.
async fn sample(
    service: &dyn ComputeService,
    chosen: &[Found],
) -> HashMap<String, (Statistics, usize)> {
    let mut samples = HashMap::new();
    for found in chosen {
        let Ok(system) = service.open_system(&found.id).await else {
            continue;
        };
        if let (Ok(stats), Ok(list)) = (system.statistics().await, system.process_list().await) {
            samples.insert(found.id.clone(), (stats, list.len()));
        }
    }
    samples
}

/// Processor use between two samples, as a percentage of one CPU (docker's:
/// 200% is two CPUs busy).
fn cpu_percent(before: &Statistics, now: &Statistics) -> f64 {
    let used = now
        .processor
        .total_runtime_100ns
        .saturating_sub(before.processor.total_runtime_100ns);
    let elapsed = (now.timestamp.0 - before.timestamp.0)
        .num_nanoseconds()
        .unwrap_or(0)
        .max(1) as f64
        / 100.0;
    used as f64 * 100.0 / elapsed
}

/// The container's memory limit, else the host's memory.
fn memory_limit(documents: Option<&Documents>) -> u64 {
    let spec_limit = documents
        .and_then(|d| d.linux_spec.as_ref())
        .and_then(|s| s.pointer("/linux/resources/memory/limit"))
        .and_then(serde_json::Value::as_u64);
    let config_limit = documents
        .and_then(|d| d.config.get("MemoryMaximumInMB"))
        .and_then(serde_json::Value::as_u64)
        .filter(|&mb| mb > 0)
        .map(|mb| mb << 20);
    spec_limit.or(config_limit).unwrap_or_else(host_memory)
}

/// The host's memory, from /proc/meminfo.
fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Bytes as docker shows sizes: `1.5MiB`, `12kB`… (binary units).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else {
        format!("{value:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
            + UNITS[unit]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_docker_writes_them() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5KiB");
        assert_eq!(bytes(256 << 20), "256MiB");
    }
}
