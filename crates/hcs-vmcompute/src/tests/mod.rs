//! The backend driven through its FFI layer against a fake service
//! (`fake.rs`): completions by notification, notifications that come
//! before anyone waits, timeouts, unexpected exits, a lost service, close
//! semantics, stdio handles, and freeing every string the service hands
//! out.

mod fake;

use std::{
    fs::File,
    io::{Read, Write},
    time::{Duration, Instant},
};

use hcs::{ComputeService, ComputeSystem, ErrorCode, ErrorKind, HcsError};
use hcs_schema::{
    ComputeSystemQuery, ContainerConfig, ProcessConfig, ResourceModificationRequestResponse,
};

use crate::VmComputeService;

fn service(timeout: Duration) -> VmComputeService {
    VmComputeService::from_library(fake::library(), timeout)
}

fn config(id: &str) -> ContainerConfig {
    ContainerConfig {
        system_type: "Container".into(),
        name: id.into(),
        ..Default::default()
    }
}

async fn create(id: &str) -> Box<dyn ComputeSystem> {
    service(Duration::from_secs(30))
        .create_system(id, &config(id))
        .await
        .unwrap()
}

/// Nothing misused for `id`: no call on a closed handle, every string
/// freed, every handle closed.
fn assert_clean(id: &str) {
    let misuse = fake::misuse_of(id);
    assert!(misuse.is_empty(), "{id}: {misuse:?}");
}

fn assert_kind(e: &HcsError, check: fn(&ErrorKind) -> bool, what: &str) {
    assert!(check(e.kind()), "expected {what}, got {e}");
}

#[tokio::test]
async fn create_completes_by_a_notification_sent_before_registration() {
    let id = "create-pending-1";
    let system = create(id).await;
    system.close().await.unwrap();
    let log = fake::log_of(id);
    assert!(
        log[0].starts_with(
            "create identity=0 {\"SystemType\":\"Container\",\"Name\":\"create-pending-1\""
        ),
        "{log:?}"
    );
    assert_eq!(&log[1..], ["register", "unregister", "close"]);
    assert_clean(id);
}

#[tokio::test]
async fn create_completes_by_a_later_notification() {
    let id = "create-late-1";
    let system = create(id).await;
    assert_eq!(system.id(), id);
    system.close().await.unwrap();
    assert_clean(id);
}

#[tokio::test]
async fn a_failed_create_names_the_system_and_the_services_detail() {
    let id = "create-fail-1";
    let err = service(Duration::from_secs(30))
        .create_system(id, &config(id))
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::INVALID_STATE));
    assert_eq!(
        err.to_string(),
        "container create-fail-1 encountered an error during Create: failure in a Windows system call: \
         The requested virtual machine or container operation is not valid in the current state. (0xc0370105) \
         (the fake refused)"
    );
    // The handle was released.
    assert_eq!(fake::log_of(id).last().unwrap(), "close");
    assert_clean(id);

    let id = "create-sync-fail-1";
    let err = service(Duration::from_secs(30))
        .create_system(id, &config(id))
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::FILE_NOT_FOUND));
    assert!(
        err.to_string().ends_with("(0x2) (the fake refused)"),
        "{err}"
    );
    assert_clean(id);
}

#[tokio::test]
async fn a_create_that_never_completes_times_out_and_is_ended() {
    let id = "create-timeout-1";
    let started = Instant::now();
    let err = service(Duration::from_millis(100))
        .create_system(id, &config(id))
        .await
        .map(drop)
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(
        err.to_string(),
        "container create-timeout-1 encountered an error during Create: hcsshim: timeout waiting for notification"
    );
    let log = fake::log_of(id);
    assert_eq!(&log[1..], ["register", "terminate", "unregister", "close"]);
    assert_clean(id);
}

#[tokio::test]
async fn start_pause_resume_wait_for_their_completions() {
    let id = "lifecycle-1";
    let system = create(id).await;
    system.start().await.unwrap();
    system.pause().await.unwrap();
    // Resume's completion is sent before resume returns.
    system.resume().await.unwrap();
    system.pause().await.unwrap();
    system.resume().await.unwrap();
    system.close().await.unwrap();
    let log = fake::log_of(id);
    assert_eq!(
        &log[2..7],
        ["start", "pause", "resume", "pause", "resume"],
        "{log:?}"
    );
    assert_clean(id);
}

#[tokio::test]
async fn a_start_that_never_completes_times_out() {
    let id = "start-never-1";
    let system = service(Duration::from_millis(100))
        .create_system(id, &config(id))
        .await
        .unwrap();
    let started = Instant::now();
    let err = system.start().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(started.elapsed() < Duration::from_secs(10));
    system.close().await.unwrap();
    assert_clean(id);
}

#[tokio::test]
async fn an_exit_while_starting_is_unexpected_and_stays_seen() {
    let id = "start-exit-1";
    let system = create(id).await;
    let err = system.start().await.unwrap_err();
    assert_kind(
        &err,
        |k| matches!(k, ErrorKind::UnexpectedContainerExit),
        "unexpected exit",
    );
    assert_eq!(
        err.to_string(),
        "container start-exit-1 encountered an error during Start: unexpected container exit"
    );
    // The exit is latched: waiting for it now succeeds at once.
    system.wait_timeout(Duration::from_secs(5)).await.unwrap();
    system.wait().await.unwrap();
    system.close().await.unwrap();
    assert_clean(id);
}

#[tokio::test]
async fn a_lost_service_ends_waits() {
    let id = "start-disconnect-1";
    let system = create(id).await;
    let err = system.start().await.unwrap_err();
    assert_kind(
        &err,
        |k| matches!(k, ErrorKind::ServiceDisconnect),
        "service disconnect",
    );
    let err = system.wait().await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("during Wait: lost communication with compute service"),
        "{err}"
    );
    system.close().await.unwrap();
    assert_clean(id);
}

#[tokio::test]
async fn a_synchronous_failure_carries_the_result_document() {
    let id = "start-sync-fail-1";
    let system = create(id).await;
    let err = system.start().await.unwrap_err();
    assert!(err.is_already_stopped(), "{err}");
    assert!(
        err.to_string().ends_with("(0xc0370110) (the fake refused)"),
        "{err}"
    );
    system.close().await.unwrap();
    assert_clean(id);
}

#[tokio::test]
async fn shutdown_and_terminate_are_pending_and_wait_completes_them() {
    let id = "stop-1";
    let system = create(id).await;
    system.start().await.unwrap();
    let err = system.shutdown().await.unwrap_err();
    assert!(err.is_pending(), "{err}");
    system.wait_timeout(Duration::from_secs(5)).await.unwrap();
    system.close().await.unwrap();

    // Terminate's exit arrives before terminate returns, long before the
    // wait: it is latched, not lost.
    let id = "stop-2";
    let system = create(id).await;
    let err = system.terminate().await.unwrap_err();
    assert!(err.is_pending(), "{err}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    system.wait_timeout(Duration::from_secs(5)).await.unwrap();
    system.close().await.unwrap();
    assert_clean("stop-1");
    assert_clean(id);
}

#[tokio::test]
async fn wait_timeout_times_out() {
    let id = "wait-timeout-1";
    let system = create(id).await;
    let err = system
        .wait_timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(err.to_string().contains("during WaitTimeout"), "{err}");
    system.close().await.unwrap();
    assert_clean(id);
}

#[tokio::test]
async fn close_wakes_waiters_then_calls_fail_and_a_second_close_too() {
    let id = "close-1";
    let system: std::sync::Arc<dyn ComputeSystem> = create(id).await.into();
    let waiter = tokio::spawn({
        let system = system.clone();
        async move { system.wait().await }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    system.close().await.unwrap();
    let err = waiter.await.unwrap().unwrap_err();
    assert!(err.is_handle_closed(), "{err}");
    assert_eq!(
        err.to_string(),
        "container close-1 encountered an error during Wait: hcsshim: the handle generating this notification has been closed"
    );
    for err in [
        system.start().await.unwrap_err(),
        system.statistics().await.unwrap_err(),
        system.wait().await.unwrap_err(),
        system
            .create_process(&ProcessConfig::default())
            .await
            .map(drop)
            .unwrap_err(),
        system.close().await.unwrap_err(),
    ] {
        assert!(err.is_already_closed(), "{err}");
    }
    assert_eq!(
        fake::log_of(id)
            .iter()
            .filter(|w| *w == "close" || *w == "unregister")
            .count(),
        2,
        "unregistered and closed once"
    );
    assert_clean(id);
}

#[tokio::test]
async fn close_wakes_a_start_waiting_for_its_completion() {
    let id = "start-never-2";
    let system: std::sync::Arc<dyn ComputeSystem> = create(id).await.into();
    let starting = tokio::spawn({
        let system = system.clone();
        async move { system.start().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    system.close().await.unwrap();
    let err = starting.await.unwrap().unwrap_err();
    assert!(err.is_handle_closed(), "{err}");
    assert_clean(id);
}

#[tokio::test]
async fn dropping_a_handle_releases_it() {
    let id = "drop-1";
    drop(create(id).await);
    for _ in 0..100 {
        if fake::log_of(id).last().map(String::as_str) == Some("close") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(&fake::log_of(id)[1..], ["register", "unregister", "close"]);
    assert_clean(id);
}

#[tokio::test]
async fn properties_and_modify() {
    let id = "properties-1";
    let system = create(id).await;
    assert!(system.has_pending_updates().await.unwrap());
    let stats = system.statistics().await.unwrap();
    assert_eq!(stats.memory.usage_commit_bytes, 4096);
    assert_eq!(stats.processor.total_runtime_100ns, 7);
    let list = system.process_list().await.unwrap();
    assert_eq!(
        (list[0].process_id, list[0].image_name.as_str()),
        (4, "init")
    );
    let disks = system.mapped_virtual_disks().await.unwrap();
    assert_eq!(disks[&0].mapped_virtual_disks[&1].container_path, "/d");
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
            .ends_with("(0x32) (networks cannot change here)"),
        "{err}"
    );
    system.close().await.unwrap();
    let log = fake::log_of(id);
    assert!(
        log.contains(&r#"properties {"PropertyTypes":["Statistics"]}"#.to_owned()),
        "{log:?}"
    );
    assert!(log.contains(
        &r#"modify {"ResourceType":"Network","Settings":null,"RequestType":"Add"}"#.to_owned()
    ));
    assert_clean(id);
}

#[tokio::test]
async fn processes_stdio_exit_and_close() {
    let id = "process-1";
    let system = create(id).await;
    let config = ProcessConfig {
        command_line: "cmd /c echo hi".into(),
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        ..Default::default()
    };
    let process = system.create_process(&config).await.unwrap();
    assert_eq!((process.pid(), process.system_id()), (77, id));
    let stdio = process.take_stdio().unwrap();
    assert!(stdio.stderr.is_none());
    let mut out = String::new();
    File::from(stdio.stdout.unwrap())
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "hello from the fake\n");
    File::from(stdio.stdin.unwrap())
        .write_all(b"to the fake")
        .unwrap();
    let mut seen = [0u8; 11];
    fake::stdin_of(id).unwrap().read_exact(&mut seen).unwrap();
    assert_eq!(&seen, b"to the fake");
    assert!(
        process.take_stdio().unwrap().stdout.is_none(),
        "handed over once"
    );

    let err = process.exit_code().await.unwrap_err();
    assert_kind(
        &err,
        |k| matches!(k, ErrorKind::InvalidProcessState),
        "invalid state",
    );
    assert_eq!(
        err.to_string(),
        "process 77 in container process-1 encountered an error during ExitCode: \
         the process is in an invalid state for the attempted operation"
    );
    process.resize_console(80, 25).await.unwrap();
    process.close_stdin().await.unwrap();
    process.kill().await.unwrap();
    process.wait_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), 137);
    process.close().await.unwrap();
    assert!(process.close().await.unwrap_err().is_already_closed());
    assert!(process.wait().await.unwrap_err().is_already_closed());
    assert!(process.take_stdio().unwrap_err().is_already_closed());

    let opened = system.open_process(77).await.unwrap();
    assert!(opened.take_stdio().unwrap().stdin.is_none());
    opened.close().await.unwrap();
    let err = system.open_process(404).await.map(drop).unwrap_err();
    assert!(err.is_not_exist(), "{err}");
    assert!(
        err.to_string().starts_with(
            "process 404 in container process-1 encountered an error during OpenProcess"
        ),
        "{err}"
    );
    system.close().await.unwrap();

    let log = fake::log_of(id);
    assert!(log.contains(&r#"create process {"CommandLine":"cmd /c echo hi","CreateStdInPipe":true,"CreateStdOutPipe":true,"ConsoleSize":[0,0]}"#.to_owned()), "{log:?}");
    assert!(
        log.contains(
            &r#"modify process {"Operation":"ConsoleSize","ConsoleSize":{"Height":25,"Width":80}}"#
                .to_owned()
        ),
        "{log:?}"
    );
    assert!(
        log.contains(
            &r#"modify process {"Operation":"CloseHandle","CloseHandle":{"Handle":"StdIn"}}"#
                .to_owned()
        ),
        "{log:?}"
    );
    assert_clean(id);
}

#[tokio::test]
async fn stdio_asks_the_service_for_new_handles_on_every_call() {
    use std::os::fd::AsRawFd;

    let id = "process-stdio-1";
    let system = create(id).await;
    let config = ProcessConfig {
        command_line: "cmd /c more".into(),
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        ..Default::default()
    };
    let process = system.create_process(&config).await.unwrap();
    // The create's handles, then two more sets from HcsGetProcessInfo.
    let created = process.take_stdio().unwrap();
    let second = process.stdio().await.unwrap();
    let third = process.stdio().await.unwrap();
    assert!(second.stderr.is_none() && third.stderr.is_none());
    let fds: Vec<i32> = [&created, &second, &third]
        .iter()
        .flat_map(|s| [s.stdin.as_ref().unwrap(), s.stdout.as_ref().unwrap()])
        .map(|fd| fd.as_raw_fd())
        .collect();
    let mut distinct = fds.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), fds.len(), "each set is new: {fds:?}");

    // Each set works, and closing one closes no other.
    let mut seen = fake::stdin_of(id).unwrap();
    let mut second_in = File::from(second.stdin.unwrap());
    second_in.write_all(b"2").unwrap();
    drop(second_in);
    File::from(third.stdin.unwrap()).write_all(b"3").unwrap();
    File::from(created.stdin.unwrap()).write_all(b"c").unwrap();
    let mut got = [0u8; 3];
    seen.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"23c");
    drop(second.stdout);
    let mut out = String::new();
    File::from(third.stdout.unwrap())
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "hello from the fake\n");

    // Once stdin is closed the service hands out no stdin, still stdout.
    process.close_stdin().await.unwrap();
    let after = process.stdio().await.unwrap();
    assert!(after.stdin.is_none() && after.stdout.is_some());
    process.close().await.unwrap();
    assert!(process.stdio().await.unwrap_err().is_already_closed());
    system.close().await.unwrap();
    let infos = fake::log_of(id)
        .iter()
        .filter(|l| *l == "process info")
        .count();
    assert_eq!(infos, 3, "one HcsGetProcessInfo per stdio() call");
    assert_clean(id);
}

#[tokio::test]
async fn close_stdout_and_stderr_release_ours_and_ask_the_service() {
    let id = "process-close-output-1";
    let system = create(id).await;
    let config = ProcessConfig {
        command_line: "cmd /c more".into(),
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        ..Default::default()
    };
    let process = system.create_process(&config).await.unwrap();
    // Before: the service hands out stdout.
    assert!(process.stdio().await.unwrap().stdout.is_some());
    process.close_stdout().await.unwrap();
    process.close_stderr().await.unwrap();
    // The handle's own end is gone (hcsshim's CloseStdout closes its
    // cached pipe), stdin is not; the service hands out no stdout either.
    let kept = process.take_stdio().unwrap();
    assert!(kept.stdout.is_none() && kept.stdin.is_some());
    let later = process.stdio().await.unwrap();
    assert!(later.stdout.is_none() && later.stdin.is_some());
    process.close().await.unwrap();
    assert!(process
        .close_stdout()
        .await
        .unwrap_err()
        .is_already_closed());
    system.close().await.unwrap();
    let log = fake::log_of(id);
    for handle in ["StdOut", "StdErr"] {
        let request = format!(
            r#"modify process {{"Operation":"CloseHandle","CloseHandle":{{"Handle":"{handle}"}}}}"#
        );
        assert!(log.contains(&request), "{log:?}");
    }
    assert_clean(id);
}

#[tokio::test]
async fn open_enumerate_and_service_calls() {
    let svc = service(Duration::from_secs(30));
    let err = svc
        .open_system("open-missing-1")
        .await
        .map(drop)
        .unwrap_err();
    assert!(err.is_not_exist(), "{err}");
    assert_clean("open-missing-1");
    let system = svc.open_system("open-1").await.unwrap();
    system.close().await.unwrap();
    assert_clean("open-1");

    let systems = svc
        .enumerate(&ComputeSystemQuery::owned_by("o"))
        .await
        .unwrap();
    let ids: Vec<&str> = systems.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(systems[0].stopped);
    assert!(fake::log_of("*").contains(&r#"enumerate {"Owners":["o"]}"#.to_owned()));

    assert_eq!(
        svc.service_properties(r#"{"PropertyTypes":["Basic"]}"#)
            .await
            .unwrap(),
        r#"{"Query":{"PropertyTypes":["Basic"]}}"#
    );
    let guid = svc.name_to_guid("𝄞ab").unwrap();
    assert_eq!(guid.to_windows_bytes()[0], 3, "the name crossed as UTF-16");
    let err = svc.name_to_guid("refused").unwrap_err();
    assert!(
        err.to_string().ends_with("(0x57) (layer name \"refused\")"),
        "{err}"
    );
    let err = svc.name_to_guid("a\0b").unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::INVALID_PARAMETER));
    assert_clean("*");
}

#[tokio::test]
async fn a_missing_library_is_unavailable() {
    let err = VmComputeService::load("/nonexistent/libvmcompute.so").unwrap_err();
    assert_kind(
        &err,
        |k| matches!(k, ErrorKind::Unavailable(_)),
        "unavailable",
    );
    assert_eq!(
        err.to_string(),
        "compute service encountered an error during Load: HCS is not available on this host: \
         /nonexistent/libvmcompute.so does not exist"
    );
    let err = VmComputeService::new().unwrap_err();
    assert!(
        err.to_string()
            .contains("HCS is not available on this host"),
        "{err}"
    );
    // A library without the exports.
    let libc = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists());
    if let Some(libc) = libc {
        let err = VmComputeService::load(libc).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not export HcsEnumerateComputeSystems"),
            "{err}"
        );
    }
}
