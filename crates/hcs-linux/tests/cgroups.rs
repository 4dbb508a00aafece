//! The Linux compute service's cgroups: limits, pause, statistics, who is
//! in them, and their removal off the runtime's threads. Tests
//! that run systems need root: `cargo test -- --include-ignored`.

use std::{fs, time::Duration};

use hcs::ErrorCode;
use hcs_schema::MappedDir;
use hcs_testkit::{host::*, process::*, require_root, Fixture, ServiceKind};

#[tokio::test]
#[ignore = "needs root"]
async fn memory_limit_stops_a_process_that_allocates_past_it() {
    require_root();
    let fx = Fixture::new("memory", ServiceKind::Linux);
    let mut config = fx.config("memory");
    config.memory_maximum_in_mb = 64;
    let system = fx.start("memory", &config).await;
    let hog = sh("perl -e '$x = q(a) x (256 * 1024 * 1024); print qq(survived\\n)'");
    let (code, out, _) = run(&*system, &hog).await;
    assert_eq!(code, 137, "the OOM killer's SIGKILL");
    assert_eq!(out, "");
    // The system (and its holder) survives.
    let (code, out, _) = run(
        &*system,
        &sh("perl -e '$x = q(a) x (8 * 1024 * 1024); print qq(small ok\\n)'"),
    )
    .await;
    assert_eq!((code, out.as_str()), (0, "small ok\n"));
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn processor_count_limits_the_cpus_seen() {
    require_root();
    // On a machine with one CPU both halves see 1; the limit shows with
    // more.
    let host_cpus = std::thread::available_parallelism().unwrap().get();
    let fx = Fixture::new("cpus", ServiceKind::Linux);
    let mut config = fx.config("cpus");
    config.processor_count = 1;
    let system = fx.start("cpus", &config).await;
    assert_eq!(run(&*system, &sh("nproc")).await.1, "1\n");
    fx.remove(system).await;

    let unlimited = fx.start_default("cpus2").await;
    assert_eq!(
        run(&*unlimited, &sh("nproc")).await.1,
        format!("{host_cpus}\n")
    );
    fx.remove(unlimited).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn pause_stops_a_counter_and_resume_restarts_it() {
    require_root();
    let fx = Fixture::new("pause", ServiceKind::Linux);
    let shared = fx.sandbox.scratch_root().join("count");
    fs::create_dir_all(&shared).unwrap();
    let mut config = fx.config("pause");
    config.hv_partition = true;
    config.mapped_directories = vec![MappedDir {
        host_path: shared.to_string_lossy().into(),
        container_path: "/count".into(),
        ..Default::default()
    }];
    let system = fx.start("pause", &config).await;
    let counter = system
        .create_process(&sh("i=0; while :; do i=$((i+1)); echo $i > /count/n.tmp; mv /count/n.tmp /count/n; sleep 0.01; done"))
        .await
        .unwrap();
    let file = shared.join("n");
    assert!(eventually(Duration::from_secs(10), || read_number(&file) > 3).await);

    system.pause().await.unwrap();
    let frozen_at = read_number(&file);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        read_number(&file),
        frozen_at,
        "the counter advanced while paused"
    );
    // A process started now would be frozen before it ran: refused.
    let err = system.create_process(&sh("true")).await.err().unwrap();
    assert_eq!(err.code(), Some(ErrorCode::INVALID_STATE), "{err}");
    // The holder is outside the frozen cgroups: it answers the rest.
    system.statistics().await.unwrap();
    assert!(!system.process_list().await.unwrap().is_empty());
    let other = system.open_process(counter.pid()).await.unwrap();
    other.close().await.unwrap();

    system.resume().await.unwrap();
    assert!(
        eventually(Duration::from_secs(10), || read_number(&file)
            > frozen_at + 3)
        .await
    );
    counter.kill().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn statistics_grow_with_work_and_list_processes() {
    require_root();
    let fx = Fixture::new("stats", ServiceKind::Linux);
    let system = fx.start_default("stats").await;
    let before = system.statistics().await.unwrap();
    let sleeper = system.create_process(&sh("exec sleep 30")).await.unwrap();
    let (code, ..) = run(
        &*system,
        &sh("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"),
    )
    .await;
    assert_eq!(code, 0);
    let after = system.statistics().await.unwrap();
    assert!(
        after.processor.total_runtime_100ns > before.processor.total_runtime_100ns + 100_000,
        "{before:?} -> {after:?}"
    );
    assert!(after.memory.usage_commit_bytes > 0);
    assert!(after.uptime_100ns > before.uptime_100ns);
    assert!(after.timestamp > after.container_start_time);
    assert!(
        after.network.iter().any(|n| n.endpoint_id == "lo"),
        "{:?}",
        after.network
    );

    let list = system.process_list().await.unwrap();
    let sleep = list
        .iter()
        .find(|p| p.image_name == "sleep")
        .expect("sleep listed");
    assert_eq!(sleep.process_id, sleeper.pid(), "pids are the container's");
    assert!(list.iter().all(|p| p.process_id > 0));
    sleeper.kill().await.unwrap();
    sleeper.wait().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn every_process_is_in_the_cgroups_and_the_holder_is_not() {
    require_root();
    let fx = Fixture::new("inside", ServiceKind::Linux);
    let system = fx.start_default("inside").await;
    // A process, and the one it forks at once: both born inside.
    let starter = system
        .create_process(&sh("sleep 30 & exec sleep 31"))
        .await
        .unwrap();
    let mut list = Vec::new();
    for _ in 0..200 {
        list = system.process_list().await.unwrap();
        if list.iter().filter(|p| p.image_name == "sleep").count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sleeps = list.iter().filter(|p| p.image_name == "sleep").count();
    assert_eq!(
        sleeps, 2,
        "both sleeps are in the system's cgroups: {list:?}"
    );
    assert!(
        list.iter().any(|p| p.process_id == 1),
        "pid 1 is listed: {list:?}"
    );
    assert!(
        !list.iter().any(|p| p.image_name.starts_with("hcsrun")),
        "the holder is not the container's: {list:?}"
    );
    // In every hierarchy: pid 1 and both sleeps, never the holder.
    let cgroups = fx.sandbox.cgroups_of("inside");
    assert!(!cgroups.is_empty());
    for dir in cgroups {
        let pids = cgroup_pids(&dir);
        assert_eq!(
            pids.len(),
            3,
            "pid 1 and both sleeps in {}: {pids:?}",
            dir.display()
        );
        for pid in pids {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            assert!(!comm.starts_with("hcsrun"), "{comm} in {}", dir.display());
        }
    }
    starter.kill().await.unwrap();
    fx.remove(system).await;
}

/// The service's blocking work (here the removal of a system's cgroups,
/// retrying for seconds while a process stays in them) runs off the
/// runtime's threads: on a current-thread runtime, as `hcsrun run` uses,
/// another system starts and answers meanwhile.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs root"]
async fn a_slow_cgroup_cleanup_does_not_hold_up_another_system() {
    require_root();
    let fx = Fixture::new("slowclean", ServiceKind::Linux);
    let first = fx.start_default("first").await;
    // With a process running, terminate returns at once (pending), and the
    // holder's end, reaping and cleanup follow.
    let sleeper = first.create_process(&sh("exec sleep 60")).await.unwrap();
    // A process of the host in the first system's cgroups: it is not in the
    // system's pid namespace, so it outlives the system, and removing the
    // cgroups fails with EBUSY, retried for a few seconds, while it stays.
    let mut squatter = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let cgroups = fx.sandbox.cgroups_of("first");
    assert!(!cgroups.is_empty(), "the first system has cgroups");
    for cgroup in &cgroups {
        fs::write(cgroup.join("cgroup.procs"), squatter.id().to_string()).unwrap();
    }
    let err = first.terminate().await.unwrap_err();
    assert!(err.is_pending(), "{err}");
    // The holder is gone once only the squatter is left in the cgroups:
    // the removal is retrying from then on.
    let only_squatter = || {
        cgroups
            .iter()
            .all(|c| cgroup_pids(c) == [squatter.id() as i32])
    };
    assert!(eventually(Duration::from_secs(10), only_squatter).await);
    tokio::time::sleep(Duration::from_millis(50)).await;

    let second = fx.start_default("second").await;
    let (code, out, _) = run(&*second, &sh("echo answering")).await;
    assert_eq!((code, out.as_str()), (0, "answering\n"));
    assert!(
        tokio::time::timeout(Duration::ZERO, first.wait())
            .await
            .is_err(),
        "the second system answered only after the first's cleanup ended"
    );

    squatter.kill().unwrap();
    squatter.wait().unwrap();
    first.wait_timeout(Duration::from_secs(30)).await.unwrap();
    sleeper.close().await.unwrap();
    first.close().await.unwrap();
    assert!(
        fx.sandbox.cgroups_of("first").is_empty(),
        "the cleanup finished once the squatter left"
    );
    fx.remove(second).await;
}
