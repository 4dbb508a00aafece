//! The Linux compute service running real systems: processes, stdio,
//! consoles, mounts, pipes, ids, enumeration and stopping (cgroups are in
//! cgroups.rs).
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use std::{
    fs,
    io::{BufRead, BufReader, Read, Write},
    os::unix::net::UnixListener,
    time::Duration,
};

use hcs::ErrorCode;
use hcs_schema::{ComputeSystemQuery, MappedDir, MappedPipe, ProcessConfig};
use hcs_testkit::{process::*, require_root, Fixture, ServiceKind};

#[tokio::test]
#[ignore = "needs root"]
async fn exit_codes_and_separate_streams() {
    require_root();
    let fx = Fixture::new("exit", ServiceKind::Linux);
    let system = fx.start_default("exit").await;
    let (code, out, err) = run(&*system, &sh("echo to-out; echo to-err >&2; exit 72")).await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (72, "to-out\n", "to-err\n")
    );
    let (code, ..) = run(&*system, &sh("kill -9 $$")).await;
    assert_eq!(code, 128 + 9, "killed by a signal: 128 + signal");
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn only_the_pipes_asked_for() {
    require_root();
    let fx = Fixture::new("pipes", ServiceKind::Linux);
    let system = fx.start_default("pipes").await;
    let config = ProcessConfig {
        create_std_err_pipe: false,
        ..sh("echo out; echo err >&2")
    };
    let process = system.create_process(&config).await.unwrap();
    let stdio = process.take_stdio().unwrap();
    assert!(stdio.stdin.is_none() && stdio.stderr.is_none());
    assert_eq!(read_all(stdio.stdout).await, "out\n");
    process.wait().await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), 0);
    // Handed over once.
    assert!(process.take_stdio().unwrap().stdout.is_none());
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn stdin_reaches_the_process_and_closes() {
    require_root();
    let fx = Fixture::new("stdin", ServiceKind::Linux);
    let system = fx.start_default("stdin").await;
    let config = ProcessConfig {
        create_std_in_pipe: true,
        ..sh("cat; echo done")
    };
    let process = system.create_process(&config).await.unwrap();
    let stdio = process.take_stdio().unwrap();
    let mut stdin = fs::File::from(stdio.stdin.unwrap());
    stdin.write_all(b"hello through stdin\n").unwrap();
    drop(stdin);
    process.close_stdin().await.unwrap();
    assert_eq!(read_all(stdio.stdout).await, "hello through stdin\ndone\n");
    process.wait().await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), 0);
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn close_stdin_ends_input_the_handle_still_holds() {
    require_root();
    let fx = Fixture::new("closein", ServiceKind::Linux);
    let system = fx.start_default("closein").await;
    let config = ProcessConfig {
        create_std_in_pipe: true,
        ..sh("cat; echo eof")
    };
    // The pipes stay with the handle; close_stdin closes its write end.
    let process = system.create_process(&config).await.unwrap();
    let err = process
        .wait_timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "cat should still be reading: {err}");
    process.close_stdin().await.unwrap();
    process.wait_timeout(Duration::from_secs(10)).await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), 0);
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn stdio_is_handed_out_on_every_request() {
    require_root();
    let fx = Fixture::new("stdio", ServiceKind::Linux);
    let system = fx.start_default("stdio").await;
    hcs_testkit::stdio::every_request_gets_working_pipes(&*system).await;
    hcs_testkit::stdio::take_after_requests_still_ends_stdin(&*system).await;
    hcs_testkit::stdio::console_requests_and_close_stdin(&*system).await;
    hcs_testkit::stdio::closing_output_lets_a_writer_without_readers_end(&*system).await;
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn console_size_and_resize() {
    require_root();
    let fx = Fixture::new("console", ServiceKind::Linux);
    let system = fx.start_default("console").await;
    let config = ProcessConfig {
        emulate_console: true,
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        create_std_err_pipe: false,
        console_size: [24, 80],
        ..sh("stty size; read line; stty size; tty")
    };
    let process = system.create_process(&config).await.unwrap();
    let stdio = process.take_stdio().unwrap();
    assert!(stdio.stderr.is_none(), "a console has no separate stderr");
    let mut output = BufReader::new(fs::File::from(stdio.stdout.unwrap()));
    let mut line = String::new();
    output.read_line(&mut line).unwrap();
    assert_eq!(line.trim_end(), "24 80", "rows then columns");
    // Width 100, height 30: not swapped.
    process.resize_console(100, 30).await.unwrap();
    fs::File::from(stdio.stdin.unwrap())
        .write_all(b"\n")
        .unwrap();
    let mut rest = String::new();
    let _ = output.read_to_string(&mut rest);
    let lines: Vec<&str> = rest
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines[0], "30 100", "{rest:?}");
    assert!(
        lines[1].starts_with("/dev/pts/"),
        "a real terminal: {rest:?}"
    );
    process.wait().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn host_name_user_environment_and_working_directory() {
    require_root();
    let fx = Fixture::new("ident", ServiceKind::Linux);
    let system = fx.start_default("ident").await;
    let config = ProcessConfig {
        user: "daemon".into(),
        working_directory: r"C:\tmp".into(),
        environment: [("GREETING".to_owned(), "hi there".to_owned())].into(),
        ..sh(r#"echo "$(hostname) $(id -u) $(pwd) $GREETING""#)
    };
    let (code, out, err) = run(&*system, &config).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "h-ident 1 /tmp hi there\n"),
        "{err}"
    );
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn clear_errors_for_bad_processes() {
    require_root();
    let fx = Fixture::new("badproc", ServiceKind::Linux);
    let system = fx.start_default("badproc").await;
    let missing = ProcessConfig {
        command_line: "no-such-command-here".into(),
        ..Default::default()
    };
    let err = system.create_process(&missing).await.err().unwrap();
    assert_eq!(err.code(), Some(ErrorCode::FILE_NOT_FOUND), "{err}");
    assert!(err.to_string().contains("no-such-command-here"), "{err}");
    let bad_dir = ProcessConfig {
        working_directory: "/no/such/dir".into(),
        ..sh("true")
    };
    let err = system.create_process(&bad_dir).await.err().unwrap();
    assert_eq!(err.code(), Some(ErrorCode::DIRECTORY), "{err}");
    let bad_user = ProcessConfig {
        user: "nobody-of-that-name".into(),
        ..sh("true")
    };
    let err = system.create_process(&bad_user).await.err().unwrap();
    assert_eq!(err.code(), Some(ErrorCode::NONE_MAPPED), "{err}");
    // The system still works.
    assert_eq!(run(&*system, &sh("exit 0")).await.0, 0);
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn mapped_directories_enforce_read_only() {
    require_root();
    let fx = Fixture::new("mapped", ServiceKind::Linux);
    let (ro, rw) = (
        fx.sandbox.scratch_root().join("ro"),
        fx.sandbox.scratch_root().join("rw"),
    );
    fs::create_dir_all(&ro).unwrap();
    fs::create_dir_all(&rw).unwrap();
    fs::write(ro.join("seen"), "from host").unwrap();
    let mut config = fx.config("mapped");
    config.mapped_directories = vec![
        MappedDir {
            host_path: ro.to_string_lossy().into(),
            container_path: r"C:\ro".into(),
            read_only: true,
            ..Default::default()
        },
        MappedDir {
            host_path: rw.to_string_lossy().into(),
            container_path: "/data/rw".into(),
            ..Default::default()
        },
    ];
    let system = fx.start("mapped", &config).await;
    let (code, out, _) = run(
        &*system,
        &sh("cat /ro/seen; echo; if echo x > /ro/new 2>/dev/null; then echo ro-writable; fi; echo landed > /data/rw/new"),
    )
    .await;
    assert_eq!((code, out.as_str()), (0, "from host\n"));
    assert!(!ro.join("new").exists(), "a read-only mapping took a write");
    assert_eq!(fs::read_to_string(rw.join("new")).unwrap(), "landed\n");
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn mapped_pipe_carries_bytes_both_ways() {
    require_root();
    let fx = Fixture::new("pipe", ServiceKind::Linux);
    let socket = fx.sandbox.scratch_root().join("host.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(conn.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        conn.write_all(format!("host got {line}").as_bytes())
            .unwrap();
    });
    let mut config = fx.config("pipe");
    config.mapped_pipes = vec![MappedPipe {
        host_path: socket.to_string_lossy().into(),
        container_pipe_name: "docker_engine".into(),
    }];
    let system = fx.start("pipe", &config).await;
    let script = "perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => \"/run/pipe/docker_engine\") or die $!; print $s \"ping\\n\"; print scalar <$s>'";
    let (code, out, err) = run(&*system, &sh(script)).await;
    server.join().unwrap();
    assert_eq!((code, out.as_str()), (0, "host got ping\n"), "{err}");
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn shutdown_is_graceful_and_terminate_is_not() {
    require_root();
    let fx = Fixture::new("stop", ServiceKind::Linux);
    // Nothing running yet: the parked pid 1 ends on SIGTERM.
    let idle = fx.start_parked("idle", &fx.config("idle")).await;
    let err = idle.shutdown().await.err().unwrap();
    assert!(err.is_pending(), "{err}");
    idle.wait_timeout(Duration::from_secs(5)).await.unwrap();
    let err = idle.shutdown().await.err().unwrap();
    assert!(err.is_already_stopped(), "{err}");
    idle.close().await.unwrap();

    // A pid 1 that honours SIGTERM: pending, then done through wait; the
    // kernel ends the rest of its pid namespace with it.
    let polite = fx.start_default("polite").await;
    let sleeper = polite.create_process(&sh("exec sleep 60")).await.unwrap();
    let err = polite.shutdown().await.err().unwrap();
    assert!(err.is_pending(), "{err}");
    polite.wait_timeout(Duration::from_secs(10)).await.unwrap();
    sleeper.wait().await.unwrap();
    assert_eq!(sleeper.exit_code().await.unwrap(), 128 + 9);
    polite.close().await.unwrap();

    // One that ignores it: shutdown cannot finish, terminate can.
    let stubborn = fx.start_parked("stubborn", &fx.config("stubborn")).await;
    let ignorer = stubborn
        .create_process(&sh("trap '' TERM; sleep 60"))
        .await
        .unwrap();
    assert_eq!(ignorer.pid(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(stubborn.shutdown().await.err().unwrap().is_pending());
    let err = stubborn
        .wait_timeout(Duration::from_millis(500))
        .await
        .err()
        .unwrap();
    assert!(err.is_timeout(), "{err}");
    match stubborn.terminate().await {
        Ok(()) => {}
        Err(e) if e.is_pending() => stubborn
            .wait_timeout(Duration::from_secs(10))
            .await
            .unwrap(),
        Err(e) => panic!("{e}"),
    }
    ignorer.wait().await.unwrap();
    assert_eq!(ignorer.exit_code().await.unwrap(), 128 + 9);
    stubborn.close().await.unwrap();
    assert!(fx.sandbox.cgroups_of("stubborn").is_empty());
}

#[tokio::test]
#[ignore = "needs root"]
async fn exit_code_before_exit_is_an_invalid_state() {
    require_root();
    let fx = Fixture::new("early", ServiceKind::Linux);
    let system = fx.start_default("early").await;
    let process = system.create_process(&sh("sleep 30")).await.unwrap();
    let err = process.exit_code().await.unwrap_err();
    assert!(
        matches!(err.kind(), hcs::ErrorKind::InvalidProcessState),
        "{err}"
    );
    let err = process
        .wait_timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // A second handle to the same process sees its exit.
    let other = system.open_process(process.pid()).await.unwrap();
    process.kill().await.unwrap();
    other.wait().await.unwrap();
    assert_eq!(other.exit_code().await.unwrap(), 137);
    process.close().await.unwrap();
    assert!(process.wait().await.unwrap_err().is_already_closed());
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn handles_after_close() {
    require_root();
    let fx = Fixture::new("closed", ServiceKind::Linux);
    let system = fx.start_default("closed").await;
    let waiter = {
        let never = fx.service.open_system("closed").await.unwrap();
        let handle = tokio::spawn(async move {
            let result = never.wait().await;
            (never, result)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        handle
    };
    // Closing another handle does not wake this one.
    system.close().await.unwrap();
    assert!(system.start().await.unwrap_err().is_already_closed());
    assert!(system.close().await.unwrap_err().is_already_closed());
    let reopened = fx.service.open_system("closed").await.unwrap();
    reopened.terminate().await.ok();
    let (never, result) = waiter.await.unwrap();
    result.unwrap();
    never.close().await.unwrap();
    reopened.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs root"]
async fn ids_are_validated_and_duplicates_refused() {
    require_root();
    let fx = Fixture::new("ids", ServiceKind::Linux);
    let config = fx.config("ids");
    for bad in ["../x", "a/b", "", ".."] {
        let err = fx.service.create_system(bad, &config).await.err().unwrap();
        assert_eq!(
            err.code(),
            Some(ErrorCode::INVALID_PARAMETER),
            "{bad:?}: {err}"
        );
        let err = fx.service.open_system(bad).await.err().unwrap();
        assert_eq!(err.code(), Some(ErrorCode::INVALID_PARAMETER));
    }
    assert!(
        !fx.sandbox.runtime_dir().join("x").exists() && !std::path::Path::new("/run/x").exists()
    );

    let system = fx.service.create_system("ids", &config).await.unwrap();
    let err = fx
        .service
        .create_system("ids", &config)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), Some(ErrorCode::SYSTEM_ALREADY_EXISTS), "{err}");
    let err = fx.service.open_system("nope").await.err().unwrap();
    assert!(err.is_not_exist(), "{err}");
    // Created, never started: closing removes it.
    system.close().await.unwrap();
    assert!(fx
        .service
        .open_system("ids")
        .await
        .err()
        .unwrap()
        .is_not_exist());
}

#[tokio::test]
#[ignore = "needs root"]
async fn enumerate_filters_by_owner_and_reports_stopped() {
    require_root();
    let fx = Fixture::new("enum", ServiceKind::Linux);
    let running = fx.start_default("enum-a").await;
    let mut other = fx.config("enum-b");
    other.owner = "someone-else".into();
    let created = fx.service.create_system("enum-b", &other).await.unwrap();
    let all = fx
        .service
        .enumerate(&ComputeSystemQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let mine = fx
        .service
        .enumerate(&ComputeSystemQuery::owned_by(fx.owner()))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].id.as_str(), mine[0].stopped), ("enum-a", false));
    let b = all.iter().find(|s| s.id == "enum-b").unwrap();
    assert!(b.stopped, "never started");
    created.close().await.unwrap();
    fx.remove(running).await;
    assert!(fx
        .service
        .enumerate(&ComputeSystemQuery::default())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
#[ignore = "needs root"]
async fn shared_network_namespace() {
    require_root();
    let fx = Fixture::new("net", ServiceKind::Linux);
    let first = fx.start_default("net-a").await;
    let server = first
        .create_process(&sh("exec perl -MIO::Socket::INET -e '$l = IO::Socket::INET->new(LocalAddr => q(127.0.0.1:7777), Listen => 1, ReuseAddr => 1) or die; $c = $l->accept; print $c qq(hello neighbour\\n)'"))
        .await
        .unwrap();
    let mut config = fx.config("net-b");
    config.network_shared_container_name = "net-a".into();
    let second = fx.start("net-b", &config).await;
    let client = sh("for i in 1 2 3 4 5 6 7 8 9 10; do perl -MIO::Socket::INET -e '$c = IO::Socket::INET->new(q(127.0.0.1:7777)) or exit 1; print scalar <$c>' && exit 0; sleep 0.2; done; exit 1");
    let (code, out, _) = run(&*second, &client).await;
    assert_eq!((code, out.as_str()), (0, "hello neighbour\n"));
    server.wait().await.unwrap();
    // A fresh namespace does not see it.
    let alone = fx.start_default("net-c").await;
    let (code, ..) = run(
        &*alone,
        &sh("perl -MIO::Socket::INET -e 'IO::Socket::INET->new(q(127.0.0.1:7777)) or exit 3'"),
    )
    .await;
    assert_eq!(code, 3);
    for s in [second, first, alone] {
        fx.remove(s).await;
    }
}

#[tokio::test]
async fn configurations_are_refused_with_reasons() {
    // Refused before anything is made: no root needed.
    let fx = Fixture::new("refuse", ServiceKind::Linux);
    let mut config = fx.config("refuse");
    config.mapped_directories = vec![MappedDir {
        host_path: "/no/such/source".into(),
        container_path: "/x".into(),
        ..Default::default()
    }];
    let err = fx
        .service
        .create_system("refuse", &config)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("/no/such/source"), "{err}");
    assert!(
        !std::path::Path::new("/no/such/source").exists(),
        "never created as root"
    );
    let mut config = fx.config("refuse");
    config.endpoint_list = vec!["e1bb1e61-d56f-405e-b75d-fd520cefa0cb".into()];
    let err = fx
        .service
        .create_system("refuse", &config)
        .await
        .err()
        .unwrap();
    assert!(err.is_not_supported(), "{err}");
}
