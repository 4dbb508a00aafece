//! What containerd expects of a shim when things go wrong: a containerd
//! restart, a killed shim, and many containers in a row without leaks.

mod common;

use std::{thread, time::Duration, time::Instant};

use common::{stderr, Containerd};

#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn containerd_restarts_and_finds_its_running_shims() {
    let mut ctd = Containerd::start();
    ctd.run_detached("keep", &["sleep", "1000"]);
    let (pid, _) = ctd.task("keep").unwrap();
    ctd.restart();
    assert_eq!(ctd.task("keep"), Some((pid, "RUNNING".into())));
    let out = ctd.ctr_ok(&["task", "exec", "--exec-id", "x", "keep", "echo", "again"]);
    assert_eq!(out, "again\n");
    ctd.ctr_ok(&["task", "kill", "-s", "9", "keep"]);
    ctd.wait_status("keep", "STOPPED");
    ctd.ctr_ok(&["task", "rm", "keep"]);
    ctd.ctr_ok(&["container", "rm", "keep"]);
}

#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn a_killed_shim_leaves_nothing_that_delete_cannot_clean() {
    let ctd = Containerd::start();
    ctd.run_detached("lost", &["sleep", "1000"]);
    let (pid, _) = ctd.task("lost").unwrap();
    let bundle = ctd
        .state()
        .join("io.containerd.runtime.v2.task")
        .join(&ctd.ns)
        .join("lost");
    let address = std::fs::read_to_string(bundle.join("address")).unwrap();
    let socket = std::path::PathBuf::from(address.trim().trim_start_matches("unix://"));
    assert!(socket.exists(), "{}", socket.display());
    let shim = ctd
        .leftover_processes()
        .into_iter()
        .find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains("containerd-shim-hcsrun-v1"))
                .unwrap_or(false)
        })
        .expect("the shim");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // containerd runs `shim delete`, which terminates the container.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "the container outlived its shim's delete"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let _ = ctd.ctr(&["task", "rm", "lost"]);
    ctd.ctr_ok(&["container", "rm", "lost"]);
    assert!(ctd.task("lost").is_none());
    thread::sleep(Duration::from_millis(300));
    assert_eq!(ctd.leftover_mounts(), Vec::<String>::new());
    assert_eq!(ctd.leftover_cgroups(), Vec::<std::path::PathBuf>::new());
    assert!(!bundle.exists(), "containerd removed the bundle");
    assert!(!socket.exists(), "the dead shim's socket is removed");
    let zombies_or_live: Vec<u32> = ctd.leftover_processes();
    assert!(zombies_or_live.is_empty(), "{zombies_or_live:?}");
    assert!(
        std::fs::read_dir(ctd.state().join("hcsrun").join(&ctd.ns))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "the system's record is gone"
    );
}

#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn a_hundred_runs_leak_nothing() {
    let ctd = Containerd::start();
    // One run first: containerd's own lazily opened descriptors.
    assert!(ctd.run("warm", &["true"]).status.success());
    thread::sleep(Duration::from_millis(300));
    let fds = ctd.containerd_fds();
    let sockets = std::fs::read_dir("/run/containerd/s")
        .map(|d| d.count())
        .unwrap_or(0);
    let started = Instant::now();
    for i in 0..100 {
        let out = ctd.run(&format!("cycle{i}"), &["true"]);
        assert!(out.status.success(), "run {i}: {}", stderr(&out));
    }
    let took = started.elapsed();
    eprintln!("100 `ctr run --rm` in {took:?} ({:?} each)", took / 100);
    thread::sleep(Duration::from_millis(500));
    assert!(
        ctd.leftover_processes().is_empty(),
        "{:?}",
        ctd.leftover_processes()
    );
    assert_eq!(ctd.leftover_mounts(), Vec::<String>::new());
    assert_eq!(ctd.leftover_cgroups(), Vec::<std::path::PathBuf>::new());
    let bundles = std::fs::read_dir(
        ctd.state()
            .join("io.containerd.runtime.v2.task")
            .join(&ctd.ns),
    )
    .map(|d| d.count())
    .unwrap_or(0);
    assert_eq!(bundles, 0);
    let records = std::fs::read_dir(ctd.state().join("hcsrun").join(&ctd.ns))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(records, 0);
    assert!(
        ctd.containerd_fds() <= fds + 2,
        "{} fds, {fds} before",
        ctd.containerd_fds()
    );
    let after = std::fs::read_dir("/run/containerd/s")
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(after <= sockets, "shim sockets: {after}, {sockets} before");
}
