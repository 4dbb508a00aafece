//! Stopping `hcsrun run` as `docker stop` stops a container: the first
//! Ctrl-C, SIGTERM or SIGHUP sends the container SIGTERM, SIGKILL follows
//! after --stop-timeout (10 s by default) or at the next signal, and hcsrun
//! returns within the timeout and a second (a second signal's kill is in
//! `faults.rs`). Written to hold whether the
//! compute service signals every process of the container or only its
//! first (PID 1, which ignores signals it has no handler for): each
//! container here handles or ignores SIGTERM explicitly.

mod common;

use std::{
    io::Read,
    time::{Duration, Instant},
};

use common::{assert_no_state, started, wait_within};
use hcs_testkit::require_root;
use nix::sys::signal::Signal::{self, SIGHUP, SIGINT, SIGTERM};

/// A container that exits 3 on SIGTERM, once it has said "ready".
const HANDLES_TERM: &str =
    "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.1; done";

/// A container that ignores SIGTERM, once it has said "ready".
const IGNORES_TERM: &str = "trap '' TERM; echo ready; sleep 60";

fn name(what: &str) -> String {
    format!("{what}-{}", std::process::id())
}

#[test]
#[ignore = "needs root"]
fn the_first_signal_sends_sigterm() {
    require_root();
    for (signal, what) in [(SIGINT, "int"), (SIGTERM, "term"), (SIGHUP, "hup")] {
        let id = name(&format!("stop{what}"));
        let (mut child, mut out) = started(
            &["run", "--name", &id, "--", "sh", "-c", HANDLES_TERM],
            "ready",
        );
        let asked = Instant::now();
        common::signal(&child, signal);
        let status = wait_within(&mut child, Duration::from_secs(20));
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        assert_eq!(status.code(), Some(3), "{signal}: {status:?}");
        assert_eq!(rest, "got TERM\n", "{signal}");
        // Long before the stop timeout: the container stopped by itself.
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "{signal}: {:?}",
            asked.elapsed()
        );
        assert_no_state(&id);
    }
}

/// SIGKILL after --stop-timeout; `timeout` is what hcsrun is given.
fn killed_after(timeout: Option<u64>, signal: Signal) {
    let id = name(&format!("stoptimeout{}", timeout.unwrap_or(10)));
    let timeout_arg = timeout.map(|t| t.to_string());
    let mut args = vec!["run", "--name", &id];
    if let Some(t) = &timeout_arg {
        args.extend(["--stop-timeout", t]);
    }
    args.extend(["--", "sh", "-c", IGNORES_TERM]);
    let (mut child, _out) = started(&args, "ready");
    let asked = Instant::now();
    common::signal(&child, signal);
    let expected = Duration::from_secs(timeout.unwrap_or(10));
    let status = wait_within(&mut child, expected + Duration::from_secs(5));
    let took = asked.elapsed();
    assert_eq!(status.code(), Some(128 + 9), "{status:?}");
    assert!(
        took >= expected.saturating_sub(Duration::from_millis(100))
            && took <= expected + Duration::from_secs(1),
        "stopped after {took:?}, not within {expected:?} and a second"
    );
    assert_no_state(&id);
}

#[test]
#[ignore = "needs root"]
fn sigkill_follows_after_the_stop_timeout() {
    require_root();
    killed_after(Some(2), SIGINT);
    killed_after(Some(0), SIGTERM);
}

#[test]
#[ignore = "needs root"]
fn the_default_stop_timeout_is_dockers_ten_seconds() {
    require_root();
    killed_after(None, SIGINT);
}

#[test]
#[ignore = "needs root"]
fn what_outlives_the_first_process_gets_the_stop_timeout_not_five_minutes() {
    require_root();
    // The first process exits 7, leaving one that ignores SIGTERM.
    let id = name("leftover");
    let (mut child, _out) = started(
        &[
            "run",
            "--name",
            &id,
            "--stop-timeout",
            "2",
            "--",
            "sh",
            "-c",
            "(trap '' TERM; exec sleep 400) & echo ready; exit 7",
        ],
        "ready",
    );
    let status = wait_within(&mut child, Duration::from_secs(3));
    assert_eq!(status.code(), Some(7));
    assert_no_state(&id);
}
