//! A killed holder takes its container along (and with it the container's
//! mounts and loop devices), and says so. Its own test
//! binary: this process becomes a subreaper and reaps what comes to it, so
//! no other test's processes may be its children. Tests that run systems
//! need root: `cargo test -- --include-ignored`.

use std::{fs, path::Path, time::Duration};

use hcs_linux::ExitHow;
use hcs_schema::Layer;
use hcs_testkit::{host::*, process::*, require_root, vhd::vhd_layer, Fixture, ServiceKind};

fn reap_children() {
    while nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
        .is_ok_and(|s| s.pid().is_some())
    {}
}

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
async fn a_killed_holder_takes_its_container_along_and_says_so() {
    require_root();
    become_subreaper();
    let fx = Fixture::new("holderkill", ServiceKind::Linux);
    // An image layer: a loop device the container's mount holds.
    let vhd = vhd_layer(&fx.sandbox.scratch("vhd"), &[("marker", "x\n")]);
    let mut config = fx.config("holderkill");
    config.layers.insert(
        0,
        Layer {
            id: "vhd".into(),
            path: vhd.to_string_lossy().into(),
        },
    );
    let system = fx.start("holderkill", &config).await;
    assert_eq!(loop_devices_under(fx.sandbox.scratch_root()).len(), 1);
    let sleeper = system.create_process(&sh("exec sleep 600")).await.unwrap();
    let sleeper_host = sleeper.host_pid().unwrap();
    let init_host = system.open_process(1).await.unwrap().host_pid().unwrap();
    let holder = {
        let stat = fs::read_to_string(format!("/proc/{init_host}/stat")).unwrap();
        let (_, rest) = stat.rsplit_once(") ").unwrap();
        rest.split(' ').nth(1).unwrap().parse::<i32>().unwrap()
    };
    // SAFETY: kill with the pid of this test's own holder.
    unsafe { libc::kill(holder, libc::SIGKILL) };
    assert!(
        eventually(Duration::from_secs(1), || gone(sleeper_host)
            && gone(init_host))
        .await,
        "the container outlived its holder: {:?} {:?}",
        fs::read_to_string(format!("/proc/{init_host}/stat")),
        fs::read_to_string(format!("/proc/{sleeper_host}/stat"))
    );
    let err = system
        .wait_timeout(Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(err.is_system_lost(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("holderkill") && text.contains("killed by signal 9"),
        "{text}"
    );
    let err = sleeper.wait().await.unwrap_err();
    assert!(err.is_system_lost(), "{err}");
    // The service removed the cgroups; the kernel detached the loop device
    // and the mounts with the container's mount namespace; the record says
    // the system was lost.
    assert!(fx.sandbox.cgroups_of("holderkill").is_empty());
    assert!(
        eventually(Duration::from_secs(2), || loop_devices_under(
            fx.sandbox.scratch_root()
        )
        .is_empty())
        .await,
        "{:?}",
        loop_devices_under(fx.sandbox.scratch_root())
    );
    let sandbox = [fx.sandbox.runtime_dir(), fx.sandbox.scratch_root()];
    assert!(
        mounts_under(&sandbox).is_empty(),
        "{:?}",
        mounts_under(&sandbox)
    );
    let record = fx
        .sandbox
        .linux_service()
        .exit_record("holderkill")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((record.exit_code, record.how), (1 << 31, ExitHow::Lost));
    let found = fx.service.enumerate(&Default::default()).await.unwrap();
    assert!(found.len() == 1 && found[0].stopped, "{found:?}");
    sleeper.close().await.unwrap();
    system.close().await.unwrap();
    assert!(!Path::new(&fx.sandbox.runtime_dir().join("holderkill")).exists());
    // Its pid 1 and the rest came to this process, which reaped them.
    reap_children();
    let left = children_left().await;
    assert!(left.is_empty(), "{left:?}");
}
