//! A spare holder (`prelaunch_holder`): the next start takes it and it
//! names its system; one never used ends and is reaped; one that died is
//! reaped and replaced. Its own test binary: each test finds the spare
//! among this process's children, so they run one at a time. Tests that
//! run systems need root: `cargo test -- --include-ignored`.

use std::{fs, sync::Arc, time::Duration};

use hcs::ComputeService;
use hcs_linux::LinuxComputeService;
use hcs_testkit::{host::*, process::*, require_root, Fixture, Sandbox, ServiceKind};
use tokio::sync::Mutex;

/// One test at a time: they tell spares apart by being this process's
/// only children.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Whether `pid` is gone: no process, not even a zombie.
fn gone(pid: i32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A service on sandbox `name` with a spare launched, and the spare's pid
/// once it has exec'd (its command line names no system yet).
async fn with_spare(name: &str) -> (Sandbox, Arc<LinuxComputeService>, i32) {
    let sandbox = Sandbox::new(name, ServiceKind::Linux);
    let service = Arc::new(sandbox.linux_service());
    service.prelaunch_holder();
    let mut spare = None;
    let found = eventually(Duration::from_secs(5), || {
        spare = children()
            .into_iter()
            .find(|&pid| cmdline(pid).starts_with("hcsrun-shim (spare)"));
        spare.is_some()
    })
    .await;
    assert!(found, "no spare holder among {:?}", children());
    (sandbox, service, spare.unwrap())
}

#[tokio::test]
#[ignore = "needs root"]
async fn the_next_start_takes_the_spare_which_names_its_system() {
    require_root();
    let _one = ONE_AT_A_TIME.lock().await;
    let (sandbox, service, spare) = with_spare("spare-taken").await;
    let fx = Fixture {
        sandbox,
        service: service.clone() as Arc<dyn ComputeService>,
    };
    let system = fx.start_default("spare-taken").await;
    let (code, out, err) = run(&*system, &sh("echo started")).await;
    assert_eq!((code, out.as_str()), (0, "started\n"), "{err}");
    let list = system.process_list().await.unwrap();
    assert!(list.iter().any(|p| p.process_id == 1), "{list:?}");
    let init = namespace_init(&fx.sandbox.cgroups_of("spare-taken")[0]).unwrap();
    assert_eq!(
        parent_of(init),
        Some(spare as u32),
        "pid 1's holder is the spare"
    );
    assert_eq!(cmdline(spare), "hcsrun-shim spare-taken ");
    fx.remove(system).await;
    drop(fx);
    assert_eq!(children_left().await, Vec::<i32>::new());
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_spare_never_used_ends_and_is_reaped_with_its_service() {
    require_root();
    let _one = ONE_AT_A_TIME.lock().await;
    let (sandbox, service, spare) = with_spare("spare-unused").await;
    // Dropping it blocks while the spare exits: not on this task's thread.
    tokio::task::spawn_blocking(move || drop(service))
        .await
        .unwrap();
    assert!(
        gone(spare),
        "the unused spare {spare} outlived its service: {}",
        cmdline(spare)
    );
    assert_eq!(children_left().await, Vec::<i32>::new());
    drop(sandbox);
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_start_whose_spare_died_launches_its_own_holder() {
    require_root();
    let _one = ONE_AT_A_TIME.lock().await;
    let (sandbox, service, spare) = with_spare("spare-dead").await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(spare),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // A zombie until the start finds it dead.
    let zombie = eventually(Duration::from_secs(5), || {
        fs::read_to_string(format!("/proc/{spare}/stat"))
            .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
    })
    .await;
    assert!(zombie, "the spare {spare} did not die");
    let fx = Fixture {
        sandbox,
        service: service.clone() as Arc<dyn ComputeService>,
    };
    let system = fx.start_default("spare-dead").await;
    let (code, out, err) = run(&*system, &sh("echo started")).await;
    assert_eq!((code, out.as_str()), (0, "started\n"), "{err}");
    assert!(gone(spare), "the dead spare was not reaped");
    let holders: Vec<String> = children().into_iter().map(cmdline).collect();
    assert_eq!(holders, ["hcsrun-shim spare-dead "], "{holders:?}");
    fx.remove(system).await;
    drop(fx);
    assert_eq!(children_left().await, Vec::<i32>::new());
}
