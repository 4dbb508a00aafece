//! `hcsrun run` launches its container's holder first thing (a spare):
//! whether the run succeeds or fails before its start, hcsrun exits having
//! ended and reaped what it launched, leaving no orphan. Its own test
//! binary: this process becomes a subreaper, so that an orphaned holder
//! would come to it and be seen. Running containers needs root:
//! `cargo test -- --include-ignored`.

use std::{process::Command, thread, time::Duration};

use hcs_testkit::{
    artifacts,
    host::{become_subreaper, children, cmdline},
    require_root,
};

const HCSRUN: &str = env!("CARGO_BIN_EXE_hcsrun");

fn hcsrun(args: &[&str]) -> std::process::Output {
    assert_eq!(
        artifacts::shim().parent(),
        std::path::Path::new(HCSRUN).parent()
    );
    Command::new(HCSRUN).args(args).output().unwrap()
}

/// This process's children a moment after a command ended: anything
/// hcsrun left running (or unreaped) has come here by then.
fn left_behind() -> Vec<String> {
    thread::sleep(Duration::from_millis(300));
    children()
        .into_iter()
        .map(|pid| format!("{pid}: {}", cmdline(pid)))
        .collect()
}

#[test]
#[ignore = "needs root"]
fn a_run_ends_and_reaps_its_spare_holder_whether_it_fails_or_not() {
    require_root();
    become_subreaper();

    // Refused after the spare was launched: by the spec's planning.
    let refused = hcsrun(&["run", "--rm", "--network", "bogus", "--", "true"]);
    assert_eq!(refused.status.code(), Some(125), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--network \"bogus\""), "{stderr}");
    assert_eq!(left_behind(), Vec::<String>::new());

    // A container that runs: the spare became its holder, reaped by hcsrun.
    let ran = hcsrun(&["run", "--rm", "--", "sh", "-c", "echo $$"]);
    assert_eq!(ran.status.code(), Some(0), "{ran:?}");
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "1\n");
    assert_eq!(left_behind(), Vec::<String>::new());
}
