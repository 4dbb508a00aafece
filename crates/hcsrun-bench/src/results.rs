//! What hcsrun's own measurements write (JSON files in the results
//! directory, beside the general tools' series) and the report reads back.

use bench_tools::{series::Timings, stats::Summary};
use serde::{Deserialize, Serialize};

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
