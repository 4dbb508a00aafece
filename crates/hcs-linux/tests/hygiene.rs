//! Nothing outlives a system: after create, start, stdio requests,
//! terminate and close, no process, mount, loop device, cgroup, record or
//! descriptor of it is left. Its own test binary, so that no other test's systems interfere;
//! and only what this test made is counted, so that it holds while
//! anything else on the machine mounts or attaches loop devices.

use std::time::Duration;

use hcs_schema::Layer;
use hcs_testkit::{host::*, process::*, require_root, vhd::vhd_layer, Fixture, ServiceKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn two_hundred_cycles_leave_nothing_behind() {
    require_root();
    let fx = Fixture::new("hygiene", ServiceKind::Linux);
    let vhd = vhd_layer(&fx.sandbox.scratch("vhd"), &[("from-vhd", "layer file\n")]);
    let cycle = |i: usize| {
        let fx = &fx;
        let vhd = vhd.clone();
        async move {
            let id = format!("cycle-{i}");
            let mut config = fx.config(&id);
            // An image layer over the host's root: a loop device each time.
            config.layers.insert(
                0,
                Layer {
                    id: "vhd".into(),
                    path: vhd.to_string_lossy().into(),
                },
            );
            let system = fx.start(&id, &config).await;
            let (code, out, _) = run(&*system, &sh("cat /from-vhd")).await;
            assert_eq!((code, out.as_str()), (0, "layer file\n"));
            let sleeper = system.create_process(&sh("exec sleep 60")).await.unwrap();
            // Stdio requests: new descriptors each time, one set still held
            // when the handle closes; the handle's own ends close with it.
            drop(sleeper.stdio().await.unwrap());
            let held = sleeper.stdio().await.unwrap();
            match system.terminate().await {
                Ok(()) => {}
                Err(e) if e.is_pending() => {
                    system.wait_timeout(Duration::from_secs(30)).await.unwrap()
                }
                Err(e) => panic!("{e}"),
            }
            sleeper.wait().await.unwrap();
            sleeper.close().await.unwrap();
            drop(held);
            system.close().await.unwrap();
            std::fs::remove_dir_all(fx.sandbox.scratch_root().join(&id)).unwrap();
        }
    };
    // The test's own: mounts of its runtime directory and scratch folders,
    // loop devices of its image, its children.
    let sandbox = [fx.sandbox.runtime_dir(), fx.sandbox.scratch_root()];
    let own_mounts = || mounts_under(&sandbox);
    let own_loops = || loop_devices_under(fx.sandbox.scratch_root());
    // A first cycle lets the runtime set up what it keeps (its own
    // descriptors, cached cgroup layout).
    cycle(0).await;
    let fds = open_fds();
    assert!(
        own_mounts().is_empty(),
        "mounts in the host: {:?}",
        own_mounts()
    );
    assert!(own_loops().is_empty(), "loop devices: {:?}", own_loops());
    for i in 1..=200 {
        cycle(i).await;
    }
    // The last holders may still be exiting (their pidfds held until the
    // service has reaped them).
    eventually(Duration::from_secs(5), || open_fds() == fds).await;
    assert_eq!(open_fds(), fds, "descriptors leaked");
    assert!(
        own_mounts().is_empty(),
        "mounts leaked into the host: {:?}",
        own_mounts()
    );
    assert!(
        own_loops().is_empty(),
        "loop devices left attached: {:?}",
        own_loops()
    );
    let left = children_left().await;
    assert!(left.is_empty(), "processes left: {left:?}");
    let cgroups = fx.sandbox.cgroups();
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    // `.seccomp` is the service's cache of compiled filters, kept on
    // purpose (and bounded); it belongs to no system.
    let records: Vec<_> = std::fs::read_dir(fx.sandbox.runtime_dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name())
                .filter(|n| n != ".seccomp")
                .collect()
        })
        .unwrap_or_default();
    assert!(records.is_empty(), "records left: {records:?}");
}
