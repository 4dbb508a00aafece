//! The translation section, from criterion's samples
//! (`target/criterion/translate/NAME/new/sample.json`).

use std::{fmt::Write, fs, path::Path};

use anyhow::{bail, Context};
use serde::Deserialize;

use super::format::Table;
use bench_tools::stats::Summary;

/// Criterion's record of one benchmark's samples: each sample ran `iters`
/// iterations in `times` nanoseconds.
#[derive(Deserialize)]
struct Samples {
    iters: Vec<f64>,
    times: Vec<f64>,
}

pub fn render(criterion: &Path) -> anyhow::Result<String> {
    let group = criterion.join("translate");
    let mut names: Vec<String> = fs::read_dir(&group)
        .with_context(|| format!("reading {} (run cargo bench -p hcsrun)", group.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("new/sample.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() {
        bail!("no criterion samples under {}", group.display());
    }
    names.sort();
    let mut t = Table::new(&[
        "benchmark",
        "specs per second (median)",
        "p10–p90",
        "time per spec (median)",
        "samples",
    ]);
    for name in &names {
        let path = group.join(name).join("new/sample.json");
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let samples: Samples =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let per_iter: Vec<f64> = samples
            .times
            .iter()
            .zip(&samples.iters)
            .map(|(t, i)| t / i)
            .collect();
        let s = Summary::of(&per_iter).with_context(|| format!("{} is empty", path.display()))?;
        t.row([
            format!("`translate/{name}`"),
            format!("**{}**", per_second(s.median)),
            format!("{} – {}", per_second(s.p90), per_second(s.p10)),
            format!("{:.1} µs", s.median / 1e3),
            s.n.to_string(),
        ]);
    }
    let mut out = String::new();
    writeln!(
        out,
        "`cargo bench -p hcsrun --bench translate` \
         (`crates/hcsrun/benches/translate.rs`): `translate::container_config` \
         and `translate::init_process_config` of a realistic Windows spec. \
         The spread is over criterion's samples (each the mean of many \
         iterations).\n"
    )?;
    out += &t.finish();
    Ok(out)
}

/// Iterations per second at `ns` nanoseconds each, grouped by thousands.
fn per_second(ns: f64) -> String {
    let n = (1e9 / ns).round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_group_thousands() {
        assert_eq!(per_second(1e3), "1,000,000");
        assert_eq!(per_second(4e6), "250");
        assert_eq!(per_second(1e5), "10,000");
    }
}
