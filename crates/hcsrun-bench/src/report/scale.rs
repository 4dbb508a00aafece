//! The scale section: one table of rounds per container count.

use std::{fmt::Write, fs, path::Path};

use anyhow::{bail, Context};

use super::{
    format::{kib, ms, Table},
    Target,
};
use bench_tools::{series, stats::Summary};

use crate::results::{Scale, ScaleRound};

/// The count the "no failure" target is about.
const TARGET_COUNT: usize = 500;
/// hcsrun's memory per idle container, at most.
const MEMORY_TARGET_KIB: f64 = 1024.0;

pub fn render(dir: &Path, targets: &mut Vec<Target>) -> anyhow::Result<String> {
    let mut scales = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("scale-") && name.ends_with(".json") {
            let scale: Scale = series::read(&path)?;
            let count = scale.rounds.first().map_or(0, |r| r.count);
            scales.push((count, scale));
        }
    }
    if scales.is_empty() {
        bail!("no scale-*.json in {}", dir.display());
    }
    scales.sort_by_key(|(count, _)| *count);
    let mut out = String::from(
        "Each round creates the containers concurrently through `Client::create` \
         (each runs `sleep`, with its own scratch folder, as `hcsrun run` makes \
         them), lets them idle for a second, reads the memory of hcsrun's own \
         processes (the bench process, which is the client, and every \
         `hcsrun-shim` holder; the containers' `sleep` is not counted), then \
         sends `signal(9)` to each at once and waits for every exit event.\n\n",
    );
    for (count, scale) in &scales {
        out += &table(*count, scale)?;
        let per_container = Summary::of(
            &scale
                .rounds
                .iter()
                .map(pss_per_container)
                .collect::<Vec<_>>(),
        )
        .context("no rounds")?;
        targets.push(Target {
            what: "at most 1 MiB of hcsrun memory per idle container",
            figure: format!(
                "{count} containers: {} PSS per container (median of {} rounds)",
                kib(per_container.median),
                per_container.n
            ),
            met: per_container.median <= MEMORY_TARGET_KIB,
        });
        if *count == TARGET_COUNT {
            let failures: usize = scale.rounds.iter().map(failures).sum();
            targets.push(Target {
                what: "500 concurrent containers start with no failure",
                figure: format!(
                    "{failures} failures in {} rounds of {count}",
                    scale.rounds.len()
                ),
                met: failures == 0,
            });
        }
    }
    if !scales.iter().any(|(c, _)| *c == TARGET_COUNT) {
        targets.push(Target {
            what: "500 concurrent containers start with no failure",
            figure: "not measured".into(),
            met: false,
        });
    }
    Ok(out)
}

/// hcsrun's PSS (client and holders) per container, in KiB.
fn pss_per_container(r: &ScaleRound) -> f64 {
    let m = &r.memory;
    (m.client.pss_kib + m.holders.pss_kib) as f64 / r.count as f64
}

/// Failures, counting containers that did not get a holder.
fn failures(r: &ScaleRound) -> usize {
    r.failures
        .len()
        .max(r.count.saturating_sub(r.memory.holder_count))
}

fn table(count: usize, scale: &Scale) -> anyhow::Result<String> {
    let mut out = format!("### {count} containers\n\n");
    let mut t = Table::new(&[
        "round",
        "all started",
        "one create: median (p90)",
        "hcsrun PSS per container",
        "RSS per container",
        "holder PSS each (anon)",
        "client PSS before → with containers",
        "all terminated",
        "failures",
    ]);
    for (i, r) in scale.rounds.iter().enumerate() {
        let m = &r.memory;
        let holders = m.holder_count.max(1) as f64;
        let create = r.create_ms.map_or("—".into(), |s| {
            format!("{} ({})", ms(s.median), ms(s.p90))
        });
        t.row([
            (i + 1).to_string(),
            ms(r.start_all_ms),
            create,
            format!("**{}**", kib(pss_per_container(r))),
            kib((m.client.rss_kib + m.holders.rss_kib) as f64 / r.count as f64),
            format!(
                "{} ({})",
                kib(m.holders.pss_kib as f64 / holders),
                kib(m.holders.pss_anon_kib as f64 / holders)
            ),
            format!(
                "{} → {}",
                kib(m.client_before.pss_kib as f64),
                kib(m.client.pss_kib as f64)
            ),
            ms(r.terminate_all_ms),
            format!("{} ({} holders found)", failures(r), m.holder_count),
        ]);
    }
    out += &t.finish();
    let column =
        |f: fn(&ScaleRound) -> f64| Summary::of(&scale.rounds.iter().map(f).collect::<Vec<_>>());
    if let (Some(start), Some(stop)) = (column(|r| r.start_all_ms), column(|r| r.terminate_all_ms))
    {
        writeln!(
            out,
            "Median of the rounds: all {count} started in **{}** (range {} – {}), \
             terminated in **{}** (range {} – {}); {} failures in all.\n",
            ms(start.median),
            ms(start.min),
            ms(start.max),
            ms(stop.median),
            ms(stop.min),
            ms(stop.max),
            scale.rounds.iter().map(failures).sum::<usize>()
        )?;
    }
    for (i, r) in scale.rounds.iter().enumerate() {
        for failure in r.failures.iter().take(5) {
            writeln!(out, "- round {}: {failure}", i + 1)?;
        }
        if r.failures.len() > 5 {
            writeln!(out, "- round {}: and {} more", i + 1, r.failures.len() - 5)?;
        }
    }
    Ok(out)
}
