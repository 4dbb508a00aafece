//! Restore after the supervising process was killed with SIGKILL: a new
//! client finds the system its owner left, terminates it and reports the
//! exit with code 2147483648. The supervisor is a copy of this test binary
//! (`HCS_TEST_ROLE=supervisor`).

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use hcs_testkit::{client::Harness, require_root, ServiceKind};
use hcsrun::client::{State, Timeouts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn restore_after_the_supervisor_is_killed() {
    restore_after_kill("restore_after_the_supervisor_is_killed", ServiceKind::Linux).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn restore_after_the_supervisor_is_killed_through_vmcompute() {
    restore_after_kill(
        "restore_after_the_supervisor_is_killed_through_vmcompute",
        ServiceKind::VmCompute,
    )
    .await;
}

async fn restore_after_kill(test: &str, kind: ServiceKind) {
    require_root();
    if std::env::var("HCS_TEST_ROLE").as_deref() == Ok("supervisor") {
        let pid = std::env::var("HCS_PARENT").unwrap().parse().unwrap();
        let h = Harness::shared("killed", kind, pid, Timeouts::default());
        h.run("orphan", "sleep 600").await;
        println!("STARTED");
        tokio::time::sleep(Duration::from_secs(600)).await;
        return;
    }
    // Orphaned holders come here (and are reaped) rather than to a pid 1
    // that may not reap them.
    hcs_testkit::host::become_subreaper();
    let h = Harness::new("killed", kind);
    let mut supervisor = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--include-ignored", "--nocapture"])
        .env("HCS_TEST_ROLE", "supervisor")
        .env("HCS_PARENT", std::process::id().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(supervisor.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.unwrap().contains("STARTED")),
        "the supervisor did not start its container"
    );
    supervisor.kill().unwrap();
    supervisor.wait().unwrap();

    let restored = h.client.restore_all().await.unwrap();
    assert_eq!(restored, ["orphan"]);
    let exit = h.events.wait("orphan", State::Exit, "").await;
    assert_eq!(exit.exit_code, 2147483648);
    assert!(
        h.service
            .enumerate(&Default::default())
            .await
            .unwrap()
            .is_empty(),
        "the system is gone"
    );
    // Reap the orphaned holder.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
}
