//! The OOM killer under a memory limit: what a stopped system leaves is
//! checked on the host (processes, mounts, cgroups, loop devices, records).
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use std::{fs, time::Duration};

use hcs_linux::ExitHow;
use hcs_schema::{Layer, ProcessConfig};
use hcs_testkit::{host::*, require_root, vhd::vhd_layer, Fixture, ServiceKind};

/// Exited. The container's processes come to this process once their
/// holder is dead: each is reaped here by its pid (never the holder, whose
/// launcher in this process reaps it). A dying pid 1 waits until every
/// other process of its namespace is reaped.
fn gone(pid: u32) -> bool {
    let _ = nix::sys::wait::waitpid(
        nix::unistd::Pid::from_raw(pid as i32),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    );
    fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'))
    })
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_memory_and_fork_bomb_kills_the_container_never_the_holder() {
    require_root();
    let fx = Fixture::new("bomb", ServiceKind::Linux);
    let vhd = vhd_layer(&fx.sandbox.scratch("vhd"), &[("marker", "x\n")]);
    let mut config = fx.config("bomb");
    config.memory_maximum_in_mb = 64;
    config.layers.insert(
        0,
        Layer {
            id: "vhd".into(),
            path: vhd.to_string_lossy().into(),
        },
    );
    let system = fx.start_parked("bomb", &config).await;
    // Sixteen processes, each allocating four times the limit.
    let bomb = ProcessConfig {
        command_args: vec![
            "perl".into(),
            "-e".into(),
            "fork for 1..4; $x = q(a) x (256 << 20); sleep 100".into(),
        ],
        ..Default::default()
    };
    let init = system.create_process(&bomb).await.unwrap();
    let host = init.host_pid().unwrap();
    init.wait_timeout(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        init.exit_code().await.unwrap(),
        128 + 9,
        "the OOM killer's SIGKILL"
    );
    system.wait_timeout(Duration::from_secs(30)).await.unwrap();
    assert!(gone(host));
    // Only the exit record is left, and it says what happened.
    let record = fx
        .sandbox
        .linux_service()
        .exit_record("bomb")
        .await
        .unwrap()
        .expect("an exit record");
    assert!(record.oom_killed, "{record:?}");
    assert_eq!((record.exit_code, record.how), (137, ExitHow::Exited));
    assert!(fx.sandbox.cgroups_of("bomb").is_empty());
    let sandbox = [fx.sandbox.runtime_dir(), fx.sandbox.scratch_root()];
    assert!(
        mounts_under(&sandbox).is_empty(),
        "{:?}",
        mounts_under(&sandbox)
    );
    assert!(loop_devices_under(fx.sandbox.scratch_root()).is_empty());
    let left = children_left().await;
    assert!(left.is_empty(), "{left:?}");
    let left: Vec<_> = fs::read_dir(fx.sandbox.runtime_dir().join("bomb"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "state.json and exit.json: {left:?}");
    // Closed, the stopped system is gone.
    init.close().await.unwrap();
    system.close().await.unwrap();
    assert!(!fx.sandbox.runtime_dir().join("bomb").exists());
}
