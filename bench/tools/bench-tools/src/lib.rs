//! General measuring tools for `bench/run.sh`, which know nothing of
//! hcsrun, and the format their results share with hcsrun's own
//! measurements (`hcsrun-bench`) and its report:
//!
//! - [`stats`]: order statistics of repeated measurements;
//! - [`series`]: series of samples, as JSON files;
//! - [`timed`]: commands timed whole, in turn, as hyperfine does but
//!   interleaved (A, B, C, A, C, B, ...) so that whatever else the machine
//!   does weighs on each alike.
//!
//! The `bench-tools` program adds the cgroup-write measurement and the
//! ftrace and strace timelines.

#![warn(missing_docs)]

pub mod series;
pub mod stats;
pub mod timed;
