//! `hcsrun rm`: containers removed in the order named, and the scratch
//! folder a foreground `run --keep` left (which no record names) removed
//! too, but never one a starting container holds.

mod common;

use std::{fs::File, path::Path};

use common::{hcsrun, output as ok, text};
use hcs_testkit::require_root;
use nix::fcntl::{Flock, FlockArg};

/// Where `hcsrun run` makes its scratch folders.
const SCRATCH: &str = "/var/lib/hcsrun/scratch";

#[test]
#[ignore = "needs root"]
fn kept_folders_and_containers_go_in_the_order_named() {
    require_root();
    let pid = std::process::id();
    let (kept, detached) = (format!("rm-kept-{pid}"), format!("rm-d-{pid}"));
    let _ = hcsrun(&["rm", "-f", &detached]);
    ok(&["run", "--keep", "--name", &kept, "--", "true"]);
    ok(&["run", "-d", "--name", &detached, "--", "sleep", "30"]);
    assert!(Path::new(SCRATCH).join(&kept).is_dir());

    let out = hcsrun(&["rm", "-f", &detached, &kept]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{detached}\n{kept}\n"));
    assert!(!Path::new(SCRATCH).join(&kept).exists());
    common::assert_no_state(&detached);
    let out = hcsrun(&["rm", &kept]);
    assert_eq!(
        text(&out.stderr).trim(),
        format!("hcsrun: rm: no such container: {kept}")
    );
}

#[test]
#[ignore = "needs root"]
fn a_folder_a_run_holds_is_not_taken() {
    require_root();
    // What a run holds from making its folder until it exits: the moment
    // before its records exist looks like a kept folder but for the lock.
    let id = format!("rm-claimed-{}", std::process::id());
    let folder = Path::new(SCRATCH).join(&id);
    std::fs::create_dir_all(&folder).unwrap();
    let claim = Flock::lock(
        File::open(&folder).unwrap(),
        FlockArg::LockExclusiveNonblock,
    )
    .map_err(|(_, e)| e)
    .unwrap();
    let out = hcsrun(&["rm", &id]);
    let still_there = folder.is_dir();
    drop(claim);
    assert!(!out.status.success(), "rm took a folder a run holds");
    assert!(still_there, "rm removed a folder a run holds");
    // Let go of, it is a kept folder like any other.
    assert_eq!(ok(&["rm", &id]).trim(), id);
    assert!(!folder.exists());
}
