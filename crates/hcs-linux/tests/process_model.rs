//! The process model: the first process is the container's pid 1, the
//! holder stays outside the container (its pid namespace, its cgroups, its
//! descriptors), the system ends with its pid 1, and a dead holder takes
//! its container with it. Tests that run systems need root:
//! `cargo test -- --include-ignored`.

use std::{
    fs,
    os::fd::{AsRawFd, OwnedFd},
    path::Path,
    time::{Duration, Instant},
};

use hcs_schema::ProcessConfig;
use hcs_testkit::{host::*, process::*, require_root, Fixture, ServiceKind};

fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// An inheritable descriptor (no close-on-exec) of `dir`, numbered 7 or
/// the first free one above, as a shell's `exec 7</dir` leaves one.
fn inheritable_fd_7(dir: &Path) -> OwnedFd {
    let fd: OwnedFd = fs::File::open(dir).unwrap().into();
    // SAFETY: F_DUPFD returns a new descriptor, without close-on-exec,
    // which nothing else owns.
    let raw = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD, 7) };
    assert!(raw >= 7);
    // SAFETY: as above.
    unsafe { std::os::fd::FromRawFd::from_raw_fd(raw) }
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_callers_descriptors_reach_neither_the_container_nor_the_holder() {
    require_root();
    for kind in [ServiceKind::Linux, ServiceKind::VmCompute] {
        let fx = Fixture::new("fd7", kind);
        let secret = fx.sandbox.scratch("secret");
        let fd7 = inheritable_fd_7(&secret);
        let system = fx.start_default("fd7").await;
        let (code, out, err) = run(&*system, &sh("ls /proc/self/fd")).await;
        assert_eq!((code, out.as_str()), (0, "0\n1\n2\n3\n"), "{kind:?}: {err}");
        // The holder: pid 1's parent, outside the container.
        let list = system.process_list().await.unwrap();
        assert!(list.iter().any(|p| p.process_id == 1), "{list:?}");
        let init = namespace_init(&fx.sandbox.cgroups_of("fd7")[0]).unwrap();
        let holder = parent_of(init).unwrap();
        assert_eq!(comm(holder), "hcsrun-shim", "{kind:?}");
        for entry in fs::read_dir(format!("/proc/{holder}/fd"))
            .unwrap()
            .flatten()
        {
            let target = fs::read_link(entry.path()).unwrap_or_default();
            assert!(
                !target.starts_with(&secret),
                "{kind:?}: the holder has {} -> {}",
                entry.path().display(),
                target.display()
            );
        }
        drop(fd7);
        fx.remove(system).await;
    }
}

#[tokio::test]
#[ignore = "needs root"]
async fn the_first_process_is_pid_1_and_nothing_of_hcsrun_is_inside() {
    require_root();
    let fx = Fixture::new("pid1", ServiceKind::Linux);
    let system = fx.start_parked("pid1", &fx.config("pid1")).await;
    // The parked pid 1 holds its socket to the holder, the holder's pidfd
    // and its stdio, and nothing of the host's: no runtime directory, no
    // cgroup file, no handle.
    let parked = cgroup_pids(&fx.sandbox.cgroups_of("pid1")[0]);
    assert_eq!(parked.len(), 1, "{parked:?}");
    let fds: Vec<_> = fs::read_dir(format!("/proc/{}/fd", parked[0]))
        .unwrap()
        .flatten()
        .map(|e| fs::read_link(e.path()).unwrap_or_default())
        .collect();
    assert!(fds.len() <= 5, "{fds:?}");
    assert!(
        fds.iter()
            .all(|l| !l.starts_with(fx.sandbox.runtime_dir()) && !l.starts_with("/sys/fs/cgroup")),
        "{fds:?}"
    );
    let first = ProcessConfig {
        create_std_out_pipe: true,
        ..sh("echo $$; exec perl -e '$SIG{TERM} = sub { exit 0 }; sleep'")
    };
    let init = system.create_process(&first).await.unwrap();
    assert_eq!(init.pid(), 1);
    let host = init.host_pid().expect("the Linux service knows host pids");
    assert_ne!(host, 1);
    assert_eq!(comm(parent_of(host).unwrap()), "hcsrun-shim");
    let mut line = String::new();
    let stdout = init.take_stdio().unwrap().stdout.unwrap();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(fs::File::from(stdout)),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "1\n");
    // An exec'd process sees itself as 2 or more, pid 1 as the first
    // process, and only the container's processes.
    let script = "echo $$; cat /proc/1/comm; for p in /proc/[0-9]*; do cat $p/comm; done";
    let (code, out, _) = run(&*system, &sh(script)).await;
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    let me: u32 = lines[0].parse().unwrap();
    assert!(me >= 2, "{out}");
    assert_eq!(lines[1], "perl", "{out}");
    assert!(
        !lines[2..].iter().any(|c| c.contains("hcsrun")),
        "hcsrun is visible inside: {out}"
    );
    // Nor does the process list show it.
    let list = system.process_list().await.unwrap();
    assert!(
        list.iter().all(|p| !p.image_name.contains("hcsrun")),
        "{list:?}"
    );
    init.close().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn the_system_ends_with_its_pid_1() {
    require_root();
    let fx = Fixture::new("ends", ServiceKind::Linux);
    let system = fx.start_parked("ends", &fx.config("ends")).await;
    let started = Instant::now();
    let init = system
        .create_process(&sh(r#"(trap "" TERM; exec sleep 400) & exit 7"#))
        .await
        .unwrap();
    // A hang detector, not a timing assertion.
    init.wait_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(init.exit_code().await.unwrap(), 7);
    system.wait_timeout(Duration::from_secs(5)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        fx.sandbox.cgroups_of("ends").is_empty(),
        "the holder removed them"
    );
    // Kill after exit: HCS's answer.
    let err = init.kill().await.unwrap_err();
    assert!(err.is_already_stopped(), "{err}");
    let err = system.create_process(&sh("true")).await.err().unwrap();
    assert!(err.is_already_stopped(), "{err}");
    system.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs root"]
async fn kill_after_exit_is_process_already_stopped() {
    require_root();
    for kind in [ServiceKind::Linux, ServiceKind::VmCompute] {
        let fx = Fixture::new("killexit", kind);
        let system = fx.start_default("killexit").await;
        let process = system.create_process(&sh("exit 3")).await.unwrap();
        process.wait_timeout(Duration::from_secs(10)).await.unwrap();
        let err = process.kill().await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(hcs::ErrorCode::PROCESS_ALREADY_STOPPED),
            "{kind:?}: {err}"
        );
        assert!(err.is_already_stopped(), "{kind:?}: {err}");
        process.close().await.unwrap();
        fx.remove(system).await;
    }
}

/// No size limit below the kernel's: a configuration and a process document
/// far past a socket's buffer (which failed with EMSGSIZE): a 300 KB
/// configuration, and 220 arguments of 1,000 bytes with 1.4 MB of
/// environment, run; a single
/// 2 MB environment value reaches `execve`, whose own limit (128 KiB a
/// string) refuses it.
#[tokio::test]
#[ignore = "needs root"]
async fn big_configurations_and_process_documents_run() {
    require_root();
    let fx = Fixture::new("big", ServiceKind::Linux);
    let mut config = fx.config("big");
    config.owner = "o".repeat(300_000);
    let system = fx.start("big", &config).await;
    let mut args = vec!["sh".to_owned(), "-c".to_owned()];
    args.push(r#"echo $#; echo ${#1}; echo ${#V0} ${#V11}"#.to_owned());
    args.extend((0..220).map(|i| format!("{i:04}{}", "a".repeat(996))));
    let big = ProcessConfig {
        command_args: args,
        environment: (0..12)
            .map(|i| (format!("V{i}"), "e".repeat(120_000)))
            .collect(),
        create_std_out_pipe: true,
        create_std_err_pipe: true,
        ..Default::default()
    };
    let (code, out, err) = run(&*system, &big).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "219\n1000\n120000 120000\n"),
        "{err}"
    );
    let too_big = ProcessConfig {
        environment: [("HUGE".to_owned(), "h".repeat(2 << 20))].into(),
        ..sh("true")
    };
    let err = system.create_process(&too_big).await.err().unwrap();
    assert!(
        err.to_string().contains("Argument list too long"),
        "the kernel's limit, not the socket's: {err}"
    );
    fx.remove(system).await;
}

/// SIGTERM to a holder stops its system cleanly: pid 1 killed, the end
/// recorded, the cgroups removed, the handles told.
#[tokio::test]
#[ignore = "needs root"]
async fn sigterm_to_the_holder_terminates_its_system() {
    require_root();
    let fx = Fixture::new("holderterm", ServiceKind::Linux);
    let system = fx.start_default("holderterm").await;
    let init = system.open_process(1).await.unwrap();
    let holder = {
        let stat = fs::read_to_string(format!("/proc/{}/stat", init.host_pid().unwrap())).unwrap();
        let (_, rest) = stat.rsplit_once(") ").unwrap();
        rest.split(' ').nth(1).unwrap().parse::<i32>().unwrap()
    };
    // SAFETY: kill with the pid of this test's own holder.
    unsafe { libc::kill(holder, libc::SIGTERM) };
    system.wait_timeout(Duration::from_secs(10)).await.unwrap();
    init.wait().await.unwrap();
    assert_eq!(init.exit_code().await.unwrap(), 128 + 9);
    let record = fx
        .sandbox
        .linux_service()
        .exit_record("holderterm")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.exit_code, record.how),
        (137, hcs_linux::ExitHow::Terminate)
    );
    assert!(fx.sandbox.cgroups_of("holderterm").is_empty());
    init.close().await.unwrap();
    system.close().await.unwrap();
    assert!(!fx.sandbox.runtime_dir().join("holderterm").exists());
}
