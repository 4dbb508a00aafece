//! What the tests of `hcsrun run` share: the binary, run as a user runs
//! it, and checks of what it leaves behind.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, ChildStdout, Command, Output, Stdio},
    time::{Duration, Instant},
};

use hcs_testkit::artifacts;

pub const HCSRUN: &str = env!("CARGO_BIN_EXE_hcsrun");

/// `hcsrun`, with the holder it starts built beside it (`hcsrun run` looks
/// there first).
pub fn command() -> Command {
    let shim = artifacts::shim();
    assert_eq!(
        shim.parent(),
        Path::new(HCSRUN).parent(),
        "the holder is not beside hcsrun"
    );
    Command::new(HCSRUN)
}

pub fn hcsrun(args: &[&str]) -> Output {
    command().args(args).stdin(Stdio::null()).output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The stdout of `hcsrun ARGS`, which must succeed.
pub fn output(args: &[&str]) -> String {
    let out = hcsrun(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "hcsrun {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Nothing of container `id` is left: no system record, no scratch
/// folder, no cgroup in any hierarchy.
pub fn assert_no_state(id: &str) {
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let cgroup = hierarchy.path().join("hcsrun").join(id);
        assert!(!cgroup.exists(), "cgroup {} left", cgroup.display());
    }
    assert!(
        !Path::new("/run/hcsrun").join(id).exists(),
        "system record of {id} left"
    );
    assert!(
        !Path::new("/var/lib/hcsrun/scratch").join(id).exists(),
        "scratch folder of {id} left"
    );
}

/// Waits at most `limit` for `child`; kills it and fails if it takes longer.
pub fn wait_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("hcsrun did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `hcsrun ARGS` with stdout piped, and waits (at most 20 s) for
/// the container to print `marker` on a line of its own: then it is
/// running, with its signal handling in place.
pub fn started(args: &[&str], marker: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut line = String::new();
    while line.trim_end() != marker {
        assert!(Instant::now() < deadline, "never saw {marker:?}");
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!(
                "hcsrun {args:?} ended before {marker:?}: {:?}",
                child.wait()
            );
        }
    }
    (child, out)
}

/// Sends `signal` to process `child`.
pub fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
}
