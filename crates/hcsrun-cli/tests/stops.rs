//! Stopping `hcsrun run` with signals.

mod common;

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use common::command;
use hcs_testkit::require_root;

#[test]
#[ignore = "needs root"]
fn ctrl_c_stops_a_sleeping_container_promptly() {
    require_root();
    let child = command()
        .args(["run", "--", "sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGINT,
    )
    .unwrap();
    let status = child.wait_with_output().unwrap().status;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "sleep ended by the shutdown's SIGTERM"
    );
}

#[test]
#[ignore = "needs root"]
fn a_second_signal_terminates() {
    require_root();
    let child = command()
        .args(["run", "--", "sh", "-c", "trap '' TERM; sleep 60"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM).unwrap();
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(128 + 9));
}
