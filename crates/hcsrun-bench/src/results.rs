//! What each measurement writes (JSON files in the results directory) and
//! the report reads back.

use std::{fs, path::Path};

use anyhow::Context;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::stats::Summary;

/// Repeated measurements of one thing, in milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    /// What was measured (a command line, or a description).
    #[serde(default)]
    pub what: String,
    pub samples_ms: Vec<f64>,
    pub summary: Option<Summary>,
}

impl Series {
    pub fn new(name: impl Into<String>, samples_ms: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            what: String::new(),
            summary: Summary::of(&samples_ms),
            samples_ms,
        }
    }

    /// The series, saying what was measured.
    pub fn of(mut self, what: impl Into<String>) -> Self {
        self.what = what.into();
        self
    }

    /// The summary, or an error naming the empty series.
    pub fn summary(&self) -> anyhow::Result<Summary> {
        self.summary
            .with_context(|| format!("series {:?} has no samples", self.name))
    }
}

/// Several series measured side by side (interleaved).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timings {
    pub series: Vec<Series>,
}

impl Timings {
    /// The series `name`, or an error naming it and the file's kind.
    pub fn get(&self, name: &str) -> anyhow::Result<&Series> {
        self.series
            .iter()
            .find(|s| s.name == name)
            .with_context(|| format!("no series {name:?} among the measurements"))
    }
}

/// The stdio measurement: wall times of whole commands, and the time from
/// the first byte read to the last.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stdio {
    pub bytes: u64,
    pub timings: Timings,
}

/// One round of the scale measurement.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ScaleRound {
    pub count: usize,
    /// From the first create call to the last create returning.
    pub start_all_ms: f64,
    /// Each create call's own latency.
    pub create_ms: Option<Summary>,
    pub memory: Memory,
    /// From the first signal(9) to the last exit event.
    pub terminate_all_ms: f64,
    /// What failed, one line each (create, signal or exit).
    pub failures: Vec<String>,
}

/// Memory of hcsrun's own processes, in KiB, while the containers idle.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Memory {
    /// The bench process (the client) before any container was created.
    pub client_before: Usage,
    pub client: Usage,
    pub holders: Usage,
    /// How many holders were found.
    pub holder_count: usize,
}

/// PSS, RSS and the anonymous part of PSS (heaps, stacks), in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub pss_kib: u64,
    pub rss_kib: u64,
    pub pss_anon_kib: u64,
}

impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        Usage {
            pss_kib: self.pss_kib + other.pss_kib,
            rss_kib: self.rss_kib + other.rss_kib,
            pss_anon_kib: self.pss_anon_kib + other.pss_anon_kib,
        }
    }
}

/// Every round of the scale measurement at one count.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Scale {
    pub rounds: Vec<ScaleRound>,
}

/// Writes `value` as JSON to `path`.
pub fn write(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// Reads the JSON at `path`.
pub fn read<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The cost of moving a process into a cgroup: writes to `cgroup.procs`
/// after the machine's cgroups were left alone for a while, and right
/// after another one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CgroupWrites {
    /// The `cgroup.procs` written (its hierarchy's mount).
    pub hierarchy: String,
    /// How long the writer was idle before each "idle" write.
    pub idle_ms: u64,
    pub timings: Timings,
    /// Kernel stacks of the writer seen during idle writes, most frequent
    /// first: (samples, stack).
    pub stacks: Vec<(usize, String)>,
}
