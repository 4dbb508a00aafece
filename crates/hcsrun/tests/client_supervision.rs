//! The runtime client end to end on a real compute service: supervision
//! after init exits, many containers, servicing containers, restore, and
//! what Windows containers cannot do. Each test runs once per backend
//! (`mod linux`, ...). Tests that run systems need root: `cargo test --
//! --include-ignored`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hcs_testkit::{
    client::{exec, spec, Harness, Recorder},
    ServiceKind,
};
use hcsrun::{
    client::{Resources, State, Timeouts},
    translate::parse_process,
};

hcs_testkit::for_each_backend!(
    needs_root: [
        the_container_ends_with_its_init,
        a_hundred_containers_at_once,
        servicing_containers_run_to_completion,
        restore_terminates_a_system_left_running,
        a_fifo_for_etc_passwd_does_not_hang_the_holder,
    ],
    anyone: [checkpoints_updates_and_version],
);

async fn the_container_ends_with_its_init(kind: ServiceKind) {
    // Seed 000 shut the system down after init exited, waiting up to five
    // minutes for what was left; here init is the container's pid 1, and
    // the kernel ends the rest with it.
    let timeouts = Timeouts {
        shutdown: Duration::from_secs(60),
        ..Timeouts::default()
    };
    let h = Harness::with_timeouts("initends", kind, timeouts);
    h.run("other", "sleep 60").await;
    let started = Instant::now();
    // Init exits, leaving a process that ignores SIGTERM behind.
    h.run("ends", "trap '' TERM; sleep 600 & exit 5").await;
    let exit = h.events.wait("ends", State::Exit, "").await;
    assert_eq!(exit.exit_code, 5);
    assert_eq!(exit.shutdown_error, None, "nothing was left to shut down");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    // Another container goes on answering.
    h.client.stats("other").await.unwrap();
    h.client.signal("other", 9).await.unwrap();
    h.events.wait("other", State::Exit, "").await;
    assert!(h
        .service
        .enumerate(&Default::default())
        .await
        .unwrap()
        .is_empty());
}

async fn a_hundred_containers_at_once(kind: ServiceKind) {
    let h = Arc::new(Harness::new("hundred", kind));
    let creates = (0..100).map(|i| {
        let h = h.clone();
        tokio::spawn(async move {
            let id = format!("c{i}");
            h.run(&id, &format!("exit {}", i % 50)).await;
        })
    });
    for create in creates {
        create.await.unwrap();
    }
    for i in 0..100 {
        let id = format!("c{i}");
        let exit = h.events.wait(&id, State::Exit, "").await;
        assert_eq!(exit.exit_code, i % 50, "{id}");
        assert_eq!(
            h.events.of(&id).len(),
            2,
            "{id}: exactly one start and one exit"
        );
    }
}

async fn servicing_containers_run_to_completion(kind: ServiceKind) {
    let h = Harness::new("servicing", kind);
    let mut options = h.options("svc-ok");
    options.servicing = Some(true);
    h.client
        .create("svc-ok", &spec(&["sh", "-c", "exit 0"]), &options, |_| {
            panic!("no stdio for servicing")
        })
        .await
        .unwrap();
    let mut options = h.options("svc-bad");
    options.servicing = Some(true);
    let err = h
        .client
        .create("svc-bad", &spec(&["sh", "-c", "exit 3"]), &options, |_| {
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("libcontainerd: servicing container svc-bad returned non-zero exit code 3"),
        "{err}"
    );
    assert!(h.events.of("svc-ok").is_empty() && h.events.of("svc-bad").is_empty());
    assert!(h
        .service
        .enumerate(&Default::default())
        .await
        .unwrap()
        .is_empty());
}

async fn restore_terminates_a_system_left_running(kind: ServiceKind) {
    let h = Harness::new("restore", kind);
    // A system this client does not know: as if a previous client made it.
    let other = hcsrun::client::Client::with(
        h.service.clone(),
        Arc::new(Recorder::default()),
        hcsrun::translate::HostFacts {
            owner: h.owner().to_owned(),
            ..hcsrun::translate::HostFacts::of_service(&*h.service)
        },
        Timeouts::default(),
    );
    other
        .create("left", &spec(&["sleep", "600"]), &h.options("left"), |_| {
            Ok(())
        })
        .await
        .unwrap();
    // Its own client supervises it: restoring there would report a second
    // exit.
    let err = other.restore("left").await.unwrap_err();
    assert!(err.to_string().contains("running in this client"), "{err}");
    let restored = h.client.restore_all().await.unwrap();
    assert_eq!(restored, ["left"]);
    let exit = h.events.wait("left", State::Exit, "").await;
    assert_eq!(exit.exit_code, 2147483648);
    assert!(h
        .service
        .enumerate(&Default::default())
        .await
        .unwrap()
        .is_empty());
    // Restoring an id with no system just reports it.
    h.client.restore("never-was").await.unwrap();
    assert_eq!(
        h.events.wait("never-was", State::Exit, "").await.exit_code,
        1 << 31
    );
}

async fn checkpoints_updates_and_version(kind: ServiceKind) {
    let h = Harness::new("misc", kind);
    let err = h
        .client
        .create_checkpoint("x", "cp", "/tmp", false)
        .unwrap_err();
    assert!(err
        .to_string()
        .ends_with("Windows: Containers do not support checkpoints"));
    assert!(h.client.delete_checkpoint("x", "cp", "/tmp").is_err());
    assert!(h.client.list_checkpoints("x", "/tmp").is_err());
    h.client
        .update_resources("x", &Resources::default())
        .await
        .unwrap();
    assert_eq!(h.client.server_version(), Default::default());
}

async fn a_fifo_for_etc_passwd_does_not_hang_the_holder(kind: ServiceKind) {
    let h = Harness::new("fifo", kind);
    h.run(
        "fifo",
        "rm -f /etc/passwd && mkfifo /etc/passwd && echo ready && sleep 60",
    )
    .await;
    // The container's own processes see the FIFO once it is there.
    for i in 0.. {
        assert!(i < 100, "the container never made its FIFO");
        let name = format!("check{i}");
        h.client
            .add_process("fifo", &name, &exec(&["test", "-p", "/etc/passwd"]), |_| {
                Ok(())
            })
            .await
            .unwrap();
        if h.events
            .wait("fifo", State::ExitProcess, &name)
            .await
            .exit_code
            == 0
        {
            break;
        }
    }
    let by_name = parse_process(
        &serde_json::json!({
            "terminal": false,
            "user": {"uid": 0, "gid": 0, "username": "app"},
            "args": ["true"],
            "cwd": "",
        })
        .to_string(),
    )
    .unwrap();
    let err = h
        .client
        .add_process("fifo", "as-app", &by_name, |_| Ok(()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    // The holder still answers.
    h.client.signal("fifo", 9).await.unwrap();
    h.events.wait("fifo", State::Exit, "").await;
}
