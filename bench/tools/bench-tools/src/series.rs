//! Series of samples and the files they are kept in: what each measurement
//! writes (JSON in the results directory) and the report reads back.

use std::{fs, io, path::Path};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::stats::Summary;

/// Repeated measurements of one thing, in milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Series {
    /// What the series is called in the report.
    pub name: String,
    /// What was measured (a command line, or a description).
    #[serde(default)]
    pub what: String,
    /// The samples, in milliseconds.
    pub samples_ms: Vec<f64>,
    /// Their summary.
    pub summary: Option<Summary>,
}

/// A series without samples was asked for its summary.
#[derive(Debug, thiserror::Error)]
#[error("series {0:?} has no samples")]
pub struct EmptySeries(String);

/// A series of that name is not among the measurements.
#[derive(Debug, thiserror::Error)]
#[error("no series {0:?} among the measurements")]
pub struct MissingSeries(String);

/// A results file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing the file failed.
    #[error("{what} {path}")]
    Io {
        /// `"reading"` or `"writing"`.
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not the JSON expected.
    #[error("parsing {path}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl Series {
    /// The series `name` of `samples_ms`, summarized.
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
    pub fn summary(&self) -> Result<Summary, EmptySeries> {
        self.summary.ok_or_else(|| EmptySeries(self.name.clone()))
    }
}

/// Several series measured side by side (interleaved).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timings {
    /// The series, in the order they were measured.
    pub series: Vec<Series>,
}

impl Timings {
    /// The series `name`.
    pub fn get(&self, name: &str) -> Result<&Series, MissingSeries> {
        self.series
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| MissingSeries(name.to_owned()))
    }
}

/// The cost of moving a process into a cgroup: writes to `cgroup.procs`
/// after the machine's cgroups were left alone for a while, and right
/// after another one (`bench-tools cgroup-writes`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CgroupWrites {
    /// The `cgroup.procs` written (its hierarchy's mount).
    pub hierarchy: String,
    /// How long the writer was idle before each "idle" write.
    pub idle_ms: u64,
    /// The series [`CgroupWrites::IDLE`] and [`CgroupWrites::HOT`].
    pub timings: Timings,
    /// Kernel stacks of the writer seen during idle writes, most frequent
    /// first: (samples, stack).
    pub stacks: Vec<(usize, String)>,
}

impl CgroupWrites {
    /// The series of writes after the cgroups were left alone.
    pub const IDLE: &str = "idle";
    /// The series of writes right after another.
    pub const HOT: &str = "hot";
}

/// Writes `value` as JSON to `path`.
pub fn write(path: &Path, value: &impl Serialize) -> Result<(), FileError> {
    let text = serde_json::to_string_pretty(value).expect("measurements encode as JSON");
    fs::write(path, text + "\n").map_err(|source| FileError::Io {
        what: "writing",
        path: path.display().to_string(),
        source,
    })
}

/// Reads the JSON at `path`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let text = fs::read_to_string(path).map_err(|source| FileError::Io {
        what: "reading",
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| FileError::Parse {
        path: path.display().to_string(),
        source,
    })
}
