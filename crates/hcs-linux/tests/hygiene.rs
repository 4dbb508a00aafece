//! Nothing outlives a system: after create, start, terminate and close,
//! no process, mount, loop device, cgroup, record or descriptor of it is
//! left. Its own test binary, so that no other test's systems interfere.

mod common;

use std::time::Duration;

use common::*;
use hcs::ComputeService;
use hcs_schema::Layer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_cycles_leave_nothing_behind() {
    require_root!();
    let fx = Fixture::new("hygiene");
    let Some(vhd) = vhd_layer(&fx.scratch_root, &[("from-vhd", "layer file\n")]) else {
        return;
    };
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
            let system = fx.service.create_system(&id, &config).await.unwrap();
            system.start().await.unwrap();
            let (code, out, _) = run(&*system, &sh("cat /from-vhd")).await;
            assert_eq!((code, out.as_str()), (0, "layer file\n"));
            let sleeper = system.create_process(&sh("exec sleep 60")).await.unwrap();
            match system.terminate().await {
                Ok(()) => {}
                Err(e) if e.is_pending() => {
                    system.wait_timeout(Duration::from_secs(30)).await.unwrap()
                }
                Err(e) => panic!("{e}"),
            }
            sleeper.wait().await.unwrap();
            sleeper.close().await.unwrap();
            system.close().await.unwrap();
            std::fs::remove_dir_all(fx.scratch_root.join(&id)).unwrap();
        }
    };
    // A first cycle lets the runtime set up what it keeps (its own
    // descriptors, cached cgroup layout).
    cycle(0).await;
    let (fds, mounts, loops) = (open_fds(), host_mounts(), attached_loop_devices());
    for i in 1..=200 {
        cycle(i).await;
    }
    assert_eq!(open_fds(), fds, "descriptors leaked");
    assert_eq!(host_mounts(), mounts, "mounts leaked into the host");
    assert_eq!(attached_loop_devices(), loops, "loop devices left attached");
    assert!(children().is_empty(), "processes left: {:?}", children());
    for mount in cgroup_mounts() {
        let parent = mount.join(&fx.cgroup_parent);
        let left: Vec<_> = std::fs::read_dir(&parent)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "cgroups left in {}: {left:?}",
            parent.display()
        );
    }
    let records: Vec<_> = std::fs::read_dir(&fx.runtime_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(records.is_empty(), "records left: {records:?}");
}
