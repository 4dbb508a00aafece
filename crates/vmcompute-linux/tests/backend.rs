//! Real systems through the whole FFI path: the `hcs-vmcompute` backend
//! calling libvmcompute.so, which runs them on the Linux compute service.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

#![cfg(target_os = "linux")]

use std::{
    fs,
    io::{BufRead, BufReader, Read, Write},
    time::Duration,
};

use hcs::{ComputeService, ErrorCode, ErrorKind};
use hcs_schema::{ComputeSystemQuery, ProcessConfig, ResourceModificationRequestResponse};
use hcs_testkit::{
    artifacts,
    process::{read_all, run, sh},
    require_root, Fixture, ServiceKind,
};

#[tokio::test]
#[ignore = "needs root"]
async fn processes_stdio_and_exit_codes() {
    require_root();
    let fx = Fixture::new("run", ServiceKind::VmCompute);
    let system = fx.start_default("run").await;
    let (code, out, err) = run(&*system, &sh("echo to-out; echo to-err >&2; exit 72")).await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (72, "to-out\n", "to-err\n")
    );

    // stdin through a pipe, closed through HcsModifyProcess.
    let config = ProcessConfig {
        create_std_in_pipe: true,
        ..sh("cat; echo done")
    };
    let process = system.create_process(&config).await.unwrap();
    let stdio = process.take_stdio().unwrap();
    assert!(stdio.stderr.is_some());
    fs::File::from(stdio.stdin.unwrap())
        .write_all(b"through the ABI\n")
        .unwrap();
    process.close_stdin().await.unwrap();
    assert_eq!(read_all(stdio.stdout).await, "through the ABI\ndone\n");
    process.wait_timeout(Duration::from_secs(30)).await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), 0);
    process.close().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn stdio_is_handed_out_on_every_request() {
    require_root();
    let fx = Fixture::new("stdio", ServiceKind::VmCompute);
    let system = fx.start_default("stdio").await;
    hcs_testkit::stdio::every_request_gets_working_pipes(&*system).await;
    hcs_testkit::stdio::take_after_requests_still_ends_stdin(&*system).await;
    hcs_testkit::stdio::console_requests_and_close_stdin(&*system).await;
    hcs_testkit::stdio::closing_output_lets_a_writer_without_readers_end(&*system).await;
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn exit_code_kill_and_a_second_handle() {
    require_root();
    let fx = Fixture::new("kill", ServiceKind::VmCompute);
    let system = fx.start_default("kill").await;
    let process = system.create_process(&sh("exec sleep 60")).await.unwrap();
    let err = process.exit_code().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidProcessState),
        "{err}"
    );
    assert!(process
        .wait_timeout(Duration::from_millis(50))
        .await
        .unwrap_err()
        .is_timeout());
    // Opened from the FFI side: it sees the same exit.
    let other = system.open_process(process.pid()).await.unwrap();
    assert!(
        other.take_stdio().unwrap().stdout.is_none(),
        "the pipes went to the creator"
    );
    assert!(other.stdio().await.unwrap().stdout.is_none());
    process.kill().await.unwrap();
    other.wait_timeout(Duration::from_secs(30)).await.unwrap();
    assert_eq!(other.exit_code().await.unwrap(), 128 + 9);
    process.wait().await.unwrap();
    process.close().await.unwrap();
    assert!(process.close().await.unwrap_err().is_already_closed());
    other.close().await.unwrap();
    let err = system.open_process(999_999).await.map(drop).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "process 999999 in container kill encountered an error during OpenProcess"
        ),
        "{err}"
    );
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn console_size_and_resize() {
    require_root();
    let fx = Fixture::new("console", ServiceKind::VmCompute);
    let system = fx.start_default("console").await;
    let config = ProcessConfig {
        emulate_console: true,
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        create_std_err_pipe: false,
        console_size: [24, 80],
        ..sh("stty size; read line; stty size")
    };
    let process = system.create_process(&config).await.unwrap();
    let stdio = process.take_stdio().unwrap();
    let mut output = BufReader::new(fs::File::from(stdio.stdout.unwrap()));
    let mut line = String::new();
    output.read_line(&mut line).unwrap();
    assert_eq!(line.trim_end(), "24 80");
    process.resize_console(100, 30).await.unwrap();
    fs::File::from(stdio.stdin.unwrap())
        .write_all(b"\n")
        .unwrap();
    let mut rest = String::new();
    let _ = output.read_to_string(&mut rest);
    assert!(
        rest.lines().any(|l| l.trim_end() == "30 100"),
        "width and height kept apart: {rest:?}"
    );
    process.wait_timeout(Duration::from_secs(30)).await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn shutdown_is_pending_and_wait_completes_it() {
    require_root();
    let fx = Fixture::new("stop", ServiceKind::VmCompute);
    // Nothing running yet: the parked pid 1 ends at once, and SystemExited
    // follows.
    let idle = fx.start_parked("idle", &fx.config("idle")).await;
    assert!(idle.shutdown().await.unwrap_err().is_pending());
    idle.wait_timeout(Duration::from_secs(10)).await.unwrap();
    assert!(idle.shutdown().await.unwrap_err().is_already_stopped());
    idle.close().await.unwrap();

    let polite = fx.start_default("polite").await;
    let sleeper = polite.create_process(&sh("exec sleep 60")).await.unwrap();
    let err = polite.shutdown().await.unwrap_err();
    assert!(err.is_pending(), "{err}");
    polite.wait_timeout(Duration::from_secs(30)).await.unwrap();
    sleeper.wait_timeout(Duration::from_secs(10)).await.unwrap();
    // Pid 1 honoured SIGTERM; the kernel ended the rest with it.
    assert_eq!(sleeper.exit_code().await.unwrap(), 128 + 9);
    sleeper.close().await.unwrap();
    polite.close().await.unwrap();

    // A pid 1 that ignores SIGTERM: only terminate ends it.
    let stubborn = fx.start_parked("stubborn", &fx.config("stubborn")).await;
    let ignorer = stubborn
        .create_process(&sh("trap '' TERM; sleep 60"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(stubborn.shutdown().await.unwrap_err().is_pending());
    assert!(stubborn
        .wait_timeout(Duration::from_millis(300))
        .await
        .unwrap_err()
        .is_timeout());
    match stubborn.terminate().await {
        Ok(()) => {}
        Err(e) if e.is_pending() => stubborn
            .wait_timeout(Duration::from_secs(30))
            .await
            .unwrap(),
        Err(e) => panic!("{e}"),
    }
    ignorer.wait_timeout(Duration::from_secs(10)).await.unwrap();
    assert_eq!(ignorer.exit_code().await.unwrap(), 128 + 9);
    ignorer.close().await.unwrap();
    stubborn.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs root"]
async fn pause_and_resume_complete_by_notification() {
    require_root();
    let fx = Fixture::new("pause", ServiceKind::VmCompute);
    let mut config = fx.config("pause");
    config.hv_partition = true;
    let system = fx.start("pause", &config).await;
    let counter = system.create_process(&sh("exec sleep 60")).await.unwrap();
    system.pause().await.unwrap();
    let err = system
        .create_process(&sh("true"))
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::INVALID_STATE), "{err}");
    assert!(
        err.to_string().contains("(the system is paused)"),
        "the Linux detail crossed: {err}"
    );
    system.statistics().await.unwrap();
    system.resume().await.unwrap();
    system.pause().await.unwrap();
    system.resume().await.unwrap();
    let (code, out, _) = run(&*system, &sh("echo alive")).await;
    assert_eq!((code, out.as_str()), (0, "alive\n"));
    counter.kill().await.unwrap();
    counter.close().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn statistics_process_list_and_properties() {
    require_root();
    let fx = Fixture::new("stats", ServiceKind::VmCompute);
    let system = fx.start_default("stats").await;
    let sleeper = system.create_process(&sh("exec sleep 30")).await.unwrap();
    let (code, ..) = run(
        &*system,
        &sh("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"),
    )
    .await;
    assert_eq!(code, 0);
    let stats = system.statistics().await.unwrap();
    assert!(stats.processor.total_runtime_100ns > 0, "{stats:?}");
    assert!(stats.memory.usage_commit_bytes > 0);
    let list = system.process_list().await.unwrap();
    let sleep = list
        .iter()
        .find(|p| p.image_name == "sleep")
        .expect("sleep listed");
    assert_eq!(sleep.process_id, sleeper.pid());
    assert!(!system.has_pending_updates().await.unwrap());
    assert!(system.mapped_virtual_disks().await.unwrap().is_empty());
    let err = system
        .modify(&ResourceModificationRequestResponse {
            resource: "Network".into(),
            request: "Add".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.is_not_supported(), "{err}");
    assert!(
        err.to_string()
            .contains("not supported by the Linux compute service"),
        "{err}"
    );
    sleeper.kill().await.unwrap();
    sleeper.close().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn enumerate_open_and_the_direct_service_agree() {
    require_root();
    let fx = Fixture::new("enum", ServiceKind::VmCompute);
    // The same service called directly, on the same runtime directory.
    let direct_service = fx.sandbox.linux_service();
    let system = fx.start_default("enum-a").await;
    let query = ComputeSystemQuery::owned_by(fx.owner());
    let through_ffi = fx.service.enumerate(&query).await.unwrap();
    let direct = direct_service.enumerate(&query).await.unwrap();
    assert_eq!(through_ffi, direct);
    assert_eq!(through_ffi.len(), 1);
    assert_eq!(
        (through_ffi[0].id.as_str(), through_ffi[0].stopped),
        ("enum-a", false)
    );
    assert!(fx
        .service
        .enumerate(&ComputeSystemQuery::owned_by("nobody"))
        .await
        .unwrap()
        .is_empty());

    // A system opened from the FFI side sees the exit of one terminated
    // through another handle.
    let opened = fx.service.open_system("enum-a").await.unwrap();
    let (code, out, _) = run(&*opened, &sh("hostname")).await;
    assert_eq!((code, out.as_str()), (0, "h-enum-a\n"));
    let direct = direct_service.open_system("enum-a").await.unwrap();
    let _ = direct.terminate().await;
    opened.wait_timeout(Duration::from_secs(30)).await.unwrap();
    system.wait_timeout(Duration::from_secs(30)).await.unwrap();
    direct.close().await.unwrap();
    opened.close().await.unwrap();
    system.close().await.unwrap();

    let err = fx
        .service
        .open_system("enum-missing")
        .await
        .map(drop)
        .unwrap_err();
    assert!(err.is_not_exist(), "{err}");
    assert_eq!(
        err.to_string(),
        "container enum-missing encountered an error during Open: failure in a Windows system call: \
         A virtual machine or container with the specified identifier does not exist. (0xc037010e)"
    );
}

#[tokio::test]
#[ignore = "needs root"]
async fn create_errors_cross_with_their_detail() {
    require_root();
    let fx = Fixture::new("errors", ServiceKind::VmCompute);
    let mut config = fx.config("bad");
    config.layers[0].path = "/no/such/layer".into();
    let err = fx
        .service
        .create_system("bad", &config)
        .await
        .map(drop)
        .unwrap_err();
    let direct = fx
        .sandbox
        .linux_service()
        .create_system("bad", &config)
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), direct.code());
    assert_eq!(
        err.to_string(),
        direct.to_string(),
        "the same message through the ABI"
    );

    let good = fx
        .service
        .create_system("twice", &fx.config("twice"))
        .await
        .unwrap();
    let err = fx
        .service
        .create_system("twice", &fx.config("twice"))
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::SYSTEM_ALREADY_EXISTS), "{err}");
    // Never started: stopping it is "already stopped", and close cleans up.
    assert!(good.terminate().await.unwrap_err().is_already_stopped());
    good.close().await.unwrap();
    assert!(fx
        .sandbox
        .linux_service()
        .open_system("twice")
        .await
        .map(drop)
        .unwrap_err()
        .is_not_exist());
}

#[tokio::test]
#[ignore = "needs root"]
async fn handles_after_close_and_waiters() {
    require_root();
    let fx = Fixture::new("closed", ServiceKind::VmCompute);
    let system: std::sync::Arc<dyn hcs::ComputeSystem> = fx.start_default("closed").await.into();
    let waiter = tokio::spawn({
        let system = system.clone();
        async move { system.wait().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    system.close().await.unwrap();
    assert!(waiter.await.unwrap().unwrap_err().is_handle_closed());
    assert!(system.start().await.unwrap_err().is_already_closed());
    assert!(system.close().await.unwrap_err().is_already_closed());
    // The system runs on: closing a handle does not stop it.
    let reopened = fx.service.open_system("closed").await.unwrap();
    let (code, ..) = run(&*reopened, &sh("true")).await;
    assert_eq!(code, 0);
    fx.remove(reopened).await;
}

#[tokio::test]
async fn name_to_guid_is_the_linux_services() {
    // No root needed: NameToGuid does not touch the service.
    let service = hcs_vmcompute::VmComputeService::load(artifacts::vmcompute_library()).unwrap();
    for name in [
        "4",
        "65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c",
        "ünï 🐳",
    ] {
        assert_eq!(
            service.name_to_guid(name).unwrap(),
            hcs_linux::name_to_guid(name)
        );
    }
    assert_eq!(
        service.name_to_guid("4").unwrap().to_string(),
        "1b35a1c7-20ac-5fdf-ba5d-0f513df5585f"
    );
}

#[test]
#[ignore = "needs root"]
fn calls_from_a_plain_thread_and_a_current_thread_runtime() {
    require_root();
    let fx = Fixture::new("rt", ServiceKind::VmCompute);
    // A current-thread runtime: the library must not block on it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let system = fx.start_default("rt").await;
        let (code, out, _) = run(&*system, &sh("echo current-thread")).await;
        assert_eq!((code, out.as_str()), (0, "current-thread\n"));
        fx.remove(system).await;
    });
}
