//! The runtime client end to end on a real compute service: creating
//! containers and processes, their stdio, events, signals, pause and
//! resize. Each test runs once per backend (`mod linux`, ...). Tests that
//! run systems need root: `cargo test -- --include-ignored`. Supervision,
//! restore and the rest are in client_supervision.rs.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hcs_testkit::{
    client::{capture, exec, spec, spec_with, Attached, Harness},
    ServiceKind,
};
use hcsrun::{
    client::{ClientErrorKind, State, INIT_PROCESS},
    translate::CreateOptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

hcs_testkit::for_each_backend!(
    needs_root: [
        init_exit_code_is_reported_after_start,
        exec_exit_code_is_reported,
        missing_command_fails_create_and_leaves_nothing,
        stdin_reaches_cat_and_closing_it_ends_the_process,
        a_writer_ends_once_the_embedder_stops_reading,
        cwd_env_and_hostname_reach_the_process,
        summary_lists_exec_processes_and_stats_grow,
        pause_only_for_hyperv,
        signal_15_and_signal_9,
        signal_process_ends_only_that_exec,
        resize_reaches_the_console,
        unknown_containers_and_processes,
        attach_failure_kills_the_process,
    ],
    anyone: [],
);

async fn init_exit_code_is_reported_after_start(kind: ServiceKind) {
    let h = Harness::new("exit72", kind);
    let attached = h.run("exit72", "echo out; echo err >&2; exit 72").await;
    let exit = h.events.wait("exit72", State::Exit, "").await;
    assert_eq!(exit.exit_code, 72);
    assert_eq!(exit.process_id, INIT_PROCESS);
    assert_eq!(exit.shutdown_error, None);
    let events = h.events.of("exit72");
    let states: Vec<State> = events.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [State::Start, State::Exit],
        "one start, then one exit"
    );
    assert_eq!(events[0].pid, exit.pid);
    assert_eq!(Harness::stdout(&attached).await, "out\n");
    assert_eq!(Harness::stderr(&attached).await, "err\n");
    // The container is gone once it exited.
    let err = h.client.stats("exit72").await.unwrap_err();
    assert_eq!(err.to_string(), "stats: invalid container: exit72");
}

async fn exec_exit_code_is_reported(kind: ServiceKind) {
    let h = Harness::new("exec23", kind);
    h.run("exec23", "sleep 60").await;
    let attached = Arc::new(Mutex::new(Attached::default()));
    let pid = h
        .client
        .add_process(
            "exec23",
            "e1",
            &exec(&["sh", "-c", "echo exec-out; exit 23"]),
            capture(&attached),
        )
        .await
        .unwrap();
    let exit = h.events.wait("exec23", State::ExitProcess, "e1").await;
    assert_eq!((exit.exit_code, exit.pid), (23, pid));
    assert_eq!(Harness::stdout(&attached).await, "exec-out\n");
    // The same name is free again once the process exited.
    let again = h
        .client
        .add_process("exec23", "e1", &exec(&["true"]), |_| Ok(()))
        .await;
    assert!(again.is_ok(), "{again:?}");
    let dup = h
        .client
        .add_process("exec23", "init", &exec(&["true"]), |_| Ok(()))
        .await
        .unwrap_err();
    assert!(
        matches!(dup.kind(), ClientErrorKind::ProcessExists(_)),
        "{dup}"
    );
    h.client.signal("exec23", 9).await.unwrap();
    h.events.wait("exec23", State::Exit, "").await;
}

async fn missing_command_fails_create_and_leaves_nothing(kind: ServiceKind) {
    let h = Harness::new("missing", kind);
    let options = h.options("missing");
    let err = h
        .client
        .create(
            "missing",
            &spec(&["no-such-command-anywhere"]),
            &options,
            |_| Ok(()),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no-such-command-anywhere"), "{text}");
    assert!(text.contains("container missing"), "{text}");
    assert!(h.client.container_ids().is_empty());
    assert!(
        h.service
            .enumerate(&Default::default())
            .await
            .unwrap()
            .is_empty(),
        "the system was left"
    );
    assert!(
        h.events.of("missing").is_empty(),
        "no events for a container that never started"
    );
}

async fn stdin_reaches_cat_and_closing_it_ends_the_process(kind: ServiceKind) {
    let h = Harness::new("stdin", kind);
    let attached = h.run("stdin", "cat; echo after-eof").await;
    let mut stdin = attached.lock().unwrap().stdin.take().unwrap();
    stdin.write_all(b"echoed through cat\n").await.unwrap();
    stdin.shutdown().await.unwrap();
    let exit = h.events.wait("stdin", State::Exit, "").await;
    assert_eq!(exit.exit_code, 0);
    assert_eq!(
        Harness::stdout(&attached).await,
        "echoed through cat\nafter-eof\n"
    );
}

/// An attach callback that reads the first two bytes of the process's
/// stdout (or stderr), sends them on, and then drops the reader.
fn read_two_then_stop(
    stderr: bool,
) -> (
    impl FnOnce(hcsrun::client::IoPipe) -> Result<(), hcsrun::client::AttachError> + Send,
    tokio::sync::oneshot::Receiver<[u8; 2]>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let attach = move |pipes: hcsrun::client::IoPipe| {
        let mut reader = if stderr { pipes.stderr } else { pipes.stdout }.unwrap();
        tokio::spawn(async move {
            let mut first = [0u8; 2];
            reader.read_exact(&mut first).await.unwrap();
            let _ = tx.send(first);
        });
        Ok(())
    };
    (attach, rx)
}

/// The service keeps no reader of its own once the client took the
/// streams: a process writing to a stream the embedder stopped reading
/// ends by SIGPIPE (128 + 13), init and exec alike, rather than blocking.
/// (`yes` runs under a shell: as the container's pid 1 it would be immune
/// to a SIGPIPE it does not handle, and exit 1 on EPIPE instead.)
async fn a_writer_ends_once_the_embedder_stops_reading(kind: ServiceKind) {
    let h = Harness::new("epipe", kind);
    let (attach, first) = read_two_then_stop(false);
    h.client
        .create(
            "epipe",
            &spec(&["sh", "-c", "yes; exit $?"]),
            &h.options("epipe"),
            attach,
        )
        .await
        .unwrap();
    assert_eq!(&first.await.unwrap(), b"y\n");
    let exit = h.events.wait("epipe", State::Exit, "").await;
    assert_eq!(exit.exit_code, 128 + 13);

    h.run("epipe2", "sleep 60").await;
    let (attach, first) = read_two_then_stop(true);
    h.client
        .add_process("epipe2", "e1", &exec(&["sh", "-c", "exec yes >&2"]), attach)
        .await
        .unwrap();
    assert_eq!(&first.await.unwrap(), b"y\n");
    let exit = h.events.wait("epipe2", State::ExitProcess, "e1").await;
    assert_eq!(exit.exit_code, 128 + 13);
    h.client.signal("epipe2", 9).await.unwrap();
    h.events.wait("epipe2", State::Exit, "").await;
}

async fn cwd_env_and_hostname_reach_the_process(kind: ServiceKind) {
    let h = Harness::new("env", kind);
    let spec = spec_with(
        &["sh", "-c", r#"echo "$(pwd) $GREETING $(hostname)""#],
        serde_json::json!({"cwd": "/tmp", "env": ["GREETING=a=b=c", "PATH=/usr/bin:/bin"]}),
    );
    let attached = h.run_spec("env", &spec, &h.options("env")).await;
    assert_eq!(Harness::stdout(&attached).await, "/tmp a=b=c clienthost\n");
    assert_eq!(h.events.wait("env", State::Exit, "").await.exit_code, 0);
}

async fn summary_lists_exec_processes_and_stats_grow(kind: ServiceKind) {
    let h = Harness::new("summary", kind);
    h.run("summary", "sleep 60").await;
    let before = h.client.stats("summary").await.unwrap();
    h.client
        .add_process(
            "summary",
            "worker",
            &exec(&[
                "sh",
                "-c",
                "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 60",
            ]),
            |_| Ok(()),
        )
        .await
        .unwrap();
    let pid = h
        .client
        .add_process("summary", "sleeper", &exec(&["sleep", "61"]), |_| Ok(()))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let stats = h.client.stats("summary").await.unwrap();
        if stats.processor.total_runtime_100ns > before.processor.total_runtime_100ns + 50_000
            || Instant::now() > deadline
        {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        after.processor.total_runtime_100ns > before.processor.total_runtime_100ns,
        "{before:?} {after:?}"
    );
    assert!(after.memory.usage_commit_bytes > 0);
    let summary = h.client.summary("summary").await.unwrap();
    assert!(
        summary
            .iter()
            .any(|p| p.process_id == pid && p.image_name == "sleep"),
        "{summary:?}"
    );
    let pids = h.client.get_pids_for_container("summary").await.unwrap();
    assert!(pids.contains(&pid));
    h.client.signal("summary", 9).await.unwrap();
    h.events.wait("summary", State::Exit, "").await;
}

async fn pause_only_for_hyperv(kind: ServiceKind) {
    let h = Harness::new("pause", kind);
    h.run("pause-p", "sleep 60").await;
    let err = h.client.pause("pause-p").await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("cannot pause Windows Server Containers"),
        "{err}"
    );
    let err = h.client.resume("pause-p").await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("cannot resume Windows Server Containers"),
        "{err}"
    );

    // Hyper-V: an explicit utility VM image, as moby's specs carry it.
    let uvm = h.sandbox.scratch_root().join("uvm");
    std::fs::create_dir_all(&uvm).unwrap();
    let mut options: CreateOptions = h.options("pause-h");
    options.hyperv = Some(hcsrun::translate::HypervOption { is_hyperv: true });
    let json = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sleep", "60"], "cwd": "/"},
        "root": {"path": ""},
        "windows": {"hyperv": {"utilityVMPath": uvm}},
    });
    let spec = hcsrun::translate::Spec::from_json(&json.to_string()).unwrap();
    h.run_spec("pause-h", &spec, &options).await;
    h.client.pause("pause-h").await.unwrap();
    h.events.wait("pause-h", State::Pause, "").await;
    h.client.resume("pause-h").await.unwrap();
    h.events.wait("pause-h", State::Resume, "").await;
    for id in ["pause-p", "pause-h"] {
        h.client.signal(id, 9).await.unwrap();
        h.events.wait(id, State::Exit, "").await;
    }
}

async fn signal_15_and_signal_9(kind: ServiceKind) {
    let h = Harness::new("signals", kind);
    // The command is the container's pid 1: SIGTERM reaches it only
    // through a handler.
    h.run("polite", "trap 'exit 143' TERM; sleep 60 & wait")
        .await;
    h.run("stubborn", "trap '' TERM; while :; do sleep 1; done")
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.client.signal("polite", 15).await.unwrap();
    let exit = h.events.wait("polite", State::Exit, "").await;
    assert_eq!(exit.exit_code, 128 + 15);

    h.client.signal("stubborn", 15).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        h.events
            .of("stubborn")
            .iter()
            .all(|e| e.state != State::Exit),
        "SIGTERM was ignored"
    );
    h.client.signal("stubborn", 9).await.unwrap();
    let exit = h.events.wait("stubborn", State::Exit, "").await;
    assert_eq!(exit.exit_code, 128 + 9);
}

async fn signal_process_ends_only_that_exec(kind: ServiceKind) {
    let h = Harness::new("sigproc", kind);
    h.run("sigproc", "exec sleep 60").await;
    h.client
        .add_process("sigproc", "a", &exec(&["sleep", "60"]), |_| Ok(()))
        .await
        .unwrap();
    h.client
        .add_process("sigproc", "b", &exec(&["sleep", "60"]), |_| Ok(()))
        .await
        .unwrap();
    h.client.signal_process("sigproc", "a", 15).await.unwrap();
    let exit = h.events.wait("sigproc", State::ExitProcess, "a").await;
    assert_eq!(exit.exit_code, 137);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ended: Vec<String> = h
        .events
        .of("sigproc")
        .into_iter()
        .filter(|e| e.state != State::Start)
        .map(|e| e.process_id)
        .collect();
    assert_eq!(ended, ["a"], "only that process ended");
    let err = h
        .client
        .signal_process("sigproc", "nope", 9)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("SignalProcess could not find process nope in sigproc"),
        "{err}"
    );
    h.client.signal("sigproc", 9).await.unwrap();
    h.events.wait("sigproc", State::Exit, "").await;
}

async fn resize_reaches_the_console(kind: ServiceKind) {
    let h = Harness::new("resize", kind);
    let spec = spec_with(
        &["sh", "-c", "stty size; read x; stty size"],
        serde_json::json!({"terminal": true, "consoleSize": {"height": 24, "width": 80}}),
    );
    let attached = h.run_spec("resize", &spec, &h.options("resize")).await;
    assert!(
        attached.lock().unwrap().stderr.is_none(),
        "a console merges stderr"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.client
        .resize("resize", INIT_PROCESS, 100, 30)
        .await
        .unwrap();
    let mut stdin = attached.lock().unwrap().stdin.take().unwrap();
    stdin.write_all(b"\n").await.unwrap();
    h.events.wait("resize", State::Exit, "").await;
    let out = Harness::stdout(&attached).await;
    let sizes: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(' '))
        .collect();
    assert_eq!(sizes, ["24 80", "30 100"], "{out:?}");
    let err = h
        .client
        .resize("resize", INIT_PROCESS, 1, 1)
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ClientErrorKind::InvalidContainer));
}

async fn unknown_containers_and_processes(kind: ServiceKind) {
    let h = Harness::new("unknown", kind);
    assert_eq!(
        h.client.signal("ghost", 15).await.unwrap_err().to_string(),
        "signal: invalid container: ghost"
    );
    assert_eq!(
        h.client.pause("ghost").await.unwrap_err().to_string(),
        "pause: invalid container: ghost"
    );
    assert!(h.client.summary("ghost").await.is_err());
    h.run("known", "sleep 60").await;
    let err = h.client.resize("known", "nope", 80, 24).await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("Resize could not find containerID known to resize"),
        "{err}"
    );
    let err = h
        .client
        .create("known", &spec(&["true"]), &h.options("known2"), |_| Ok(()))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ClientErrorKind::AlreadyExists),
        "{err}"
    );
    h.client.signal("known", 9).await.unwrap();
    h.events.wait("known", State::Exit, "").await;
}

async fn attach_failure_kills_the_process(kind: ServiceKind) {
    let h = Harness::new("attachfail", kind);
    // Init: create fails, nothing is left, no events.
    let err = h
        .client
        .create("af", &spec(&["sleep", "60"]), &h.options("af"), |_| {
            Err("no terminal here".into())
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no terminal here"), "{err}");
    assert!(h
        .service
        .enumerate(&Default::default())
        .await
        .unwrap()
        .is_empty());
    assert!(h.events.of("af").is_empty());
    // Exec: the process is killed, not leaked.
    h.run("af2", "sleep 60").await;
    let err = h
        .client
        .add_process("af2", "x", &exec(&["sleep", "61"]), |_| {
            Err("refused".into())
        })
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ClientErrorKind::Attach(_)), "{err}");
    // The init process's sleep may still be starting (its shell forks it,
    // and the fork is listed as `sh` until it execs): wait for it. The
    // refused process was killed and reaped before add_process returned.
    let mut summary = Vec::new();
    for _ in 0..200 {
        summary = h.client.summary("af2").await.unwrap();
        if summary.iter().any(|p| p.image_name == "sleep") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        summary.iter().filter(|p| p.image_name == "sleep").count(),
        1,
        "{summary:?}"
    );
    h.client.signal("af2", 9).await.unwrap();
    h.events.wait("af2", State::Exit, "").await;
}
