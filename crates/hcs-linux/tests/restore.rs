//! Systems outlive the process that made them: another process can open,
//! enumerate, stop and clean them up, even after the first was killed.
//!
//! The tests run a copy of this test binary as that other process, chosen
//! by the `HCS_TEST_ROLE` environment variable.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use hcs_schema::ComputeSystemQuery;
use hcs_testkit::{host::*, process::*, require_root, Fixture, ServiceKind};

const ROLE: &str = "HCS_TEST_ROLE";
/// The first process's pid, whose sandbox the other one works in.
const PARENT: &str = "HCS_TEST_PARENT";

/// Runs this test binary's `test` with `role` set, as another process
/// working in this one's sandbox.
fn other_process(test: &str, role: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        test,
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE, role)
    .env(PARENT, std::process::id().to_string())
    .stdout(Stdio::piped());
    cmd
}

/// The sandbox's owner, in the other process.
fn parent() -> u32 {
    std::env::var(PARENT).unwrap().parse().unwrap()
}

#[tokio::test]
#[ignore = "needs root"]
async fn open_system_from_a_second_process() {
    require_root();
    if std::env::var(ROLE).as_deref() == Ok("opener") {
        // The second process: open the system and run something in it.
        let fx = Fixture::shared("second", ServiceKind::Linux, parent());
        let system = fx.service.open_system("second").await.unwrap();
        let (code, out, _) = run(&*system, &sh("hostname")).await;
        assert_eq!(code, 0);
        println!("CHILD SAYS {}", out.trim());
        system.close().await.unwrap();
        return;
    }
    let fx = Fixture::new("second", ServiceKind::Linux);
    let system = fx.start_default("second").await;
    let output = other_process("open_system_from_a_second_process", "opener")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("CHILD SAYS h-second"), "{stdout}");
    // Its handle closing left the system running.
    assert_eq!(run(&*system, &sh("echo still")).await.1, "still\n");
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_killed_supervisor_leaves_what_a_restore_can_clean() {
    require_root();
    if std::env::var(ROLE).as_deref() == Ok("creator") {
        let fx = Fixture::shared("crash", ServiceKind::Linux, parent());
        let system = fx.start_default("crash").await;
        let _sleeper = system.create_process(&sh("exec sleep 600")).await.unwrap();
        println!("READY");
        tokio::time::sleep(Duration::from_secs(600)).await;
        return;
    }
    // Orphaned holders come to this process, which reaps them, rather than
    // to a pid 1 that may not.
    hcs_testkit::host::become_subreaper();
    let fx = Fixture::new("crash", ServiceKind::Linux);
    let mut creator = other_process(
        "a_killed_supervisor_leaves_what_a_restore_can_clean",
        "creator",
    )
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(creator.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.unwrap().contains("READY")),
        "the creator did not start its system"
    );
    creator.kill().unwrap();
    creator.wait().unwrap();

    // A restoring client finds what its owner left, stops and removes it.
    let found = fx
        .service
        .enumerate(&ComputeSystemQuery::owned_by(fx.owner()))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(!found[0].stopped);
    let system = fx.service.open_system(&found[0].id).await.unwrap();
    match system.terminate().await {
        Ok(()) => {}
        Err(e) if e.is_pending() => system.wait_timeout(Duration::from_secs(30)).await.unwrap(),
        Err(e) => panic!("{e}"),
    }
    system.close().await.unwrap();
    // The orphaned holder, reaped here.
    assert!(
        eventually(Duration::from_secs(10), || {
            while nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
                .is_ok_and(|s| s.pid().is_some())
            {}
            children().is_empty()
        })
        .await
    );
    assert!(fx
        .service
        .enumerate(&ComputeSystemQuery::default())
        .await
        .unwrap()
        .is_empty());
    assert!(
        fx.sandbox.cgroups_of("crash").is_empty(),
        "cgroups left: {:?}",
        fx.sandbox.cgroups_of("crash")
    );
}
