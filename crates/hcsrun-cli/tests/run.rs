//! `hcsrun run` end to end through the binary, as a user runs it. Running
//! containers needs root (the Linux compute service): those tests are
//! ignored unless asked for (`cargo test -- --include-ignored`); checking
//! the arguments does not.

use std::{
    fs,
    io::{Read, Write},
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::process::CommandExt,
    },
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use hcs_testkit::{artifacts, require_root};

const HCSRUN: &str = env!("CARGO_BIN_EXE_hcsrun");

/// `hcsrun`, with the holder it starts built beside it (`hcsrun run` looks
/// there first).
fn command() -> Command {
    let shim = artifacts::shim();
    assert_eq!(
        shim.parent(),
        Path::new(HCSRUN).parent(),
        "the holder is not beside hcsrun"
    );
    Command::new(HCSRUN)
}

fn hcsrun(args: &[&str]) -> Output {
    command().args(args).stdin(Stdio::null()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
#[ignore = "needs root"]
fn exit_codes_propagate() {
    require_root();
    assert_eq!(hcsrun(&["run", "--", "true"]).status.code(), Some(0));
    assert_eq!(
        hcsrun(&["run", "--", "sh", "-c", "exit 72"]).status.code(),
        Some(72)
    );
    assert_eq!(
        hcsrun(&["run", "--", "sh", "-c", "kill -9 $$"])
            .status
            .code(),
        Some(137)
    );
}

#[test]
#[ignore = "needs root"]
fn stdout_and_stderr_are_kept_apart() {
    require_root();
    let out = hcsrun(&[
        "run",
        "--",
        "sh",
        "-c",
        "echo to-out; echo to-err >&2; echo more-out",
    ]);
    assert_eq!(text(&out.stdout), "to-out\nmore-out\n");
    assert_eq!(text(&out.stderr), "to-err\n");
}

#[test]
#[ignore = "needs root"]
fn interactive_stdin_from_a_pipe() {
    require_root();
    let mut child = command()
        .args(["run", "-i", "--", "sh", "-c", "tr a-z A-Z; echo done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"shout this\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "SHOUT THIS\ndone\n");
    assert!(out.status.success());
    // Without -i, stdin is closed at once: cat ends.
    let out = hcsrun(&["run", "--", "cat"]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "")
    );
}

/// Runs hcsrun on a new pty of `rows`x`cols` as its controlling terminal;
/// returns the child and the pty's master side.
fn on_a_pty(args: &[&str], rows: u16, cols: u16) -> (std::process::Child, fs::File) {
    let size = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).unwrap();
    let slave: OwnedFd = pty.slave;
    // SAFETY: the pre_exec closure only makes async-signal-safe system
    // calls (setsid, ioctl) in the forked child.
    let child = unsafe {
        command()
            .args(args)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .pre_exec(|| {
                // A session of its own with the pty as its terminal, so that
                // resizing the pty signals it.
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            })
            .spawn()
            .unwrap()
    };
    (child, fs::File::from(pty.master))
}

/// Reads from a pty master until `needle` appears (or 20 s pass).
fn read_until(master: &mut fs::File, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(
            Instant::now() < deadline,
            "never saw {needle:?} in {seen:?}"
        );
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&text(&buf[..n])),
        }
    }
}

#[test]
#[ignore = "needs root"]
fn tty_sees_the_terminal_size_and_its_changes() {
    require_root();
    let (mut child, mut master) = on_a_pty(
        &[
            "run",
            "-it",
            "--",
            "sh",
            "-c",
            "stty size; read x; stty size",
        ],
        33,
        111,
    );
    let mut seen = String::new();
    read_until(&mut master, &mut seen, "33 111");
    // Resize the outer terminal: hcsrun gets SIGWINCH and passes it on.
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize, which `size` is, on a pty master
    // we own.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    std::thread::sleep(Duration::from_millis(300));
    master.write_all(b"\r").unwrap();
    read_until(&mut master, &mut seen, "40 120");
    assert!(child.wait().unwrap().success());
}

#[test]
#[ignore = "needs root"]
fn read_only_volumes_are_enforced() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let (ro, rw) = (dir.path().join("ro"), dir.path().join("rw"));
    fs::create_dir_all(&ro).unwrap();
    fs::create_dir_all(&rw).unwrap();
    let out = hcsrun(&[
        "run",
        "-v",
        &format!("{}:/ro:ro", ro.display()),
        "-v",
        &format!("{}:/rw", rw.display()),
        "--",
        "sh",
        "-c",
        "touch /ro/x 2>/dev/null && echo ro-writable; touch /rw/y && echo rw-ok",
    ]);
    assert_eq!(text(&out.stdout), "rw-ok\n");
    assert!(!ro.join("x").exists() && rw.join("y").exists());
}

#[test]
#[ignore = "needs root"]
fn memory_limit_is_enforced() {
    require_root();
    let out = hcsrun(&[
        "run",
        "--memory",
        "64m",
        "--",
        "perl",
        "-e",
        "$x = q(a) x (256 * 1024 * 1024); print qq(survived\\n)",
    ]);
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let out = hcsrun(&[
        "run",
        "--memory",
        "64m",
        "--",
        "perl",
        "-e",
        "$x = q(a) x (8 * 1024 * 1024); print qq(fine\\n)",
    ]);
    assert_eq!(text(&out.stdout), "fine\n");
}

#[test]
#[ignore = "needs root"]
fn rm_leaves_nothing_behind() {
    require_root();
    let id = format!("rmtest{}", std::process::id());
    let out = hcsrun(&[
        "run",
        "--name",
        &id,
        "--",
        "sh",
        "-c",
        "echo x > /tmp/written; sleep 0.2 & echo started",
    ]);
    assert_eq!(text(&out.stdout), "started\n");
    assert!(
        !Path::new("/var/lib/hcsrun/scratch").join(&id).exists(),
        "scratch left"
    );
    assert!(
        !Path::new("/run/hcsrun").join(&id).exists(),
        "system record left"
    );
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(&id), "mounts left");
    for hierarchy in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        assert!(
            !hierarchy.path().join("hcsrun").join(&id).exists(),
            "cgroup left in {}",
            hierarchy.path().display()
        );
    }
    let procs = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok());
    assert!(
        !procs.into_iter().any(|c| text(&c).contains(&id)),
        "processes left"
    );

    // --keep keeps the scratch folder.
    let kept = format!("keeptest{}", std::process::id());
    assert!(hcsrun(&[
        "run",
        "--keep",
        "--name",
        &kept,
        "--",
        "sh",
        "-c",
        "echo kept > /marker"
    ])
    .status
    .success());
    let scratch = Path::new("/var/lib/hcsrun/scratch").join(&kept);
    assert_eq!(
        fs::read_to_string(scratch.join("upper/marker")).unwrap(),
        "kept\n"
    );
    fs::remove_dir_all(scratch).unwrap();
}

#[test]
#[ignore = "needs root"]
fn commands_that_cannot_run() {
    require_root();
    let out = hcsrun(&["run", "--", "no-such-command-xyz"]);
    assert_eq!(out.status.code(), Some(127));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("no-such-command-xyz"), "{err}");
    let out = hcsrun(&["run", "--", "/etc/hostname"]);
    assert_eq!(
        out.status.code(),
        Some(126),
        "not executable: {}",
        text(&out.stderr)
    );
    let out = hcsrun(&["run", "-w", "/no/such/dir", "--", "true"]);
    assert_eq!(out.status.code(), Some(126));
}

#[test]
#[ignore = "needs root"]
fn container_root_lacks_the_hosts_powers() {
    require_root();
    // docker's default capabilities without CAP_MKNOD, bounding set too.
    let out = hcsrun(&[
        "run",
        "--",
        "grep",
        "-E",
        "^Cap(Bnd|Eff):",
        "/proc/self/status",
    ]);
    assert_eq!(
        text(&out.stdout),
        "CapEff:\t00000000a00425fb\nCapBnd:\t00000000a00425fb\n",
        "{}",
        text(&out.stderr)
    );
    // Each of these must fail inside the container.
    for attempt in [
        "mount -t tmpfs none /mnt",
        "mknod /tmp/disk b 8 0",
        "echo 3 > /proc/sys/vm/drop_caches",
        // The holder (pid 1) keeps descriptors of the host's directories.
        "ls /proc/1/root/",
        "cat /proc/1/environ",
    ] {
        let out = hcsrun(&["run", "--", "sh", "-c", attempt]);
        assert_ne!(out.status.code(), Some(0), "{attempt} succeeded");
    }
    let out = hcsrun(&[
        "run",
        "--",
        "grep",
        "-c",
        " /proc/sys proc ro,",
        "/proc/self/mounts",
    ]);
    assert_eq!(text(&out.stdout).trim(), "1", "/proc/sys is read-only");
}

#[test]
#[ignore = "needs root"]
fn another_containers_scratch_folder_is_never_touched() {
    require_root();
    // What a running (or kept) container of that name owns.
    let name = format!("taken-{}", std::process::id());
    let scratch = std::path::Path::new("/var/lib/hcsrun/scratch").join(&name);
    std::fs::create_dir_all(scratch.join("upper")).unwrap();
    let out = hcsrun(&["run", "--name", &name, "--", "true"]);
    let kept = scratch.join("upper").exists();
    std::fs::remove_dir_all(&scratch).unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    assert!(kept, "the other container's scratch folder was removed");

    for name in ["/", "..", ".hidden"] {
        let out = hcsrun(&["run", "--name", name, "--", "true"]);
        assert_eq!(out.status.code(), Some(125), "{name}");
        assert!(text(&out.stderr).contains("invalid container id"), "{name}");
    }
}

#[test]
fn errors_before_the_container_runs_are_125() {
    // Checked before anything needs root: the same for any user.
    let out = hcsrun(&["run", "--layer", "/no/such/layer", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr).trim(),
        "hcsrun: run: layer /no/such/layer does not exist"
    );
    let out = hcsrun(&["run", "-v", "/no/such/source:/x", "--", "true"]);
    assert_eq!(
        text(&out.stderr).trim(),
        "hcsrun: run: volume source /no/such/source does not exist"
    );
    let out = hcsrun(&["run", "--name", "../escape", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("invalid container id"),
        "{}",
        text(&out.stderr)
    );
    let out = hcsrun(&["run"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("no command given"));
    // An unknown option: one line and where the help is, as docker says it.
    let out = hcsrun(&["run", "--no-such-option", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "hcsrun: run: unexpected argument '--no-such-option' found\nSee 'hcsrun run --help'.\n"
    );
}

#[test]
#[ignore = "needs root"]
fn ctrl_c_stops_a_sleeping_container_promptly() {
    require_root();
    let child = command()
        .args(["run", "--", "sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGINT,
    )
    .unwrap();
    let status = child.wait_with_output().unwrap().status;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "sleep ended by the shutdown's SIGTERM"
    );
}

#[test]
#[ignore = "needs root"]
fn a_second_signal_terminates() {
    require_root();
    let child = command()
        .args(["run", "--", "sh", "-c", "trap '' TERM; sleep 60"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM).unwrap();
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(128 + 9));
}

#[test]
#[ignore = "needs root"]
fn environment_workdir_user_and_hostname() {
    require_root();
    let out = hcsrun(&[
        "run",
        "-e",
        "GREETING=hi there",
        "-w",
        "/tmp",
        "-u",
        "daemon",
        "--hostname",
        "box",
        "--",
        "sh",
        "-c",
        r#"echo "$GREETING|$(pwd)|$(id -u)|$(hostname)""#,
    ]);
    assert_eq!(
        text(&out.stdout),
        "hi there|/tmp|1|box\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
#[ignore = "needs root"]
fn bundles_run_as_given() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "echo from-bundle $(hostname)"], "cwd": "/",
                    "env": ["PATH=/usr/bin:/bin"]},
        "root": {"path": "/"},
        "hostname": "bundled",
        "linux": {"namespaces": [{"type": "pid"}]},
    });
    fs::write(dir.path().join("config.json"), spec.to_string()).unwrap();
    let out = hcsrun(&["run", "--bundle", dir.path().to_str().unwrap()]);
    assert_eq!(
        text(&out.stdout),
        "from-bundle bundled\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
#[ignore = "needs root"]
fn debug_logs_as_json_lines() {
    require_root();
    let out = hcsrun(&["--debug", "--log-format", "json", "run", "--", "true"]);
    assert!(out.status.success());
    let logs = text(&out.stderr);
    let first = logs.lines().next().expect("debug output");
    let line: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(line["level"], "DEBUG");
    // Without --debug, nothing.
    assert_eq!(text(&hcsrun(&["run", "--", "true"]).stderr), "");
}

#[test]
#[ignore = "needs root"]
fn hyperv_isolation_runs_as_the_emulation() {
    require_root();
    let out = hcsrun(&["run", "--isolation", "hyperv", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = hcsrun(&["run", "--isolation", "hyperv", "--", "sh", "-c", "echo hv"]);
    assert_eq!(text(&out.stdout), "hv\n", "{}", text(&out.stderr));
}

/// Nothing of container `id` is left: no system record, no scratch folder.
fn assert_no_state(id: &str) {
    assert!(
        !Path::new("/run/hcsrun").join(id).exists(),
        "system record of {id} left"
    );
    assert!(
        !Path::new("/var/lib/hcsrun/scratch").join(id).exists(),
        "scratch folder of {id} left"
    );
}

/// Waits at most `limit` for `child`; kills it and fails if it takes longer.
fn wait_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("hcsrun did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs root"]
fn a_closed_log_pipe_ends_nothing_badly() {
    require_root();
    // As `hcsrun --debug --log-format json run -- true 2>&1 | head -N`,
    // with the container running on after the reader left.
    for lines in [1, 5] {
        let id = format!("closedpipe{lines}-{}", std::process::id());
        // Close-on-exec: hcsrun must not hold the read end itself.
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let mut child = command()
            .args([
                "--debug",
                "--log-format",
                "json",
                "run",
                "--name",
                &id,
                "--",
                "sleep",
                "1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::from(write.try_clone().unwrap()))
            .stderr(Stdio::from(write))
            .spawn()
            .unwrap();
        let mut reader = std::io::BufReader::new(fs::File::from(read));
        for _ in 0..lines {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        }
        drop(reader);
        let status = wait_within(&mut child, Duration::from_secs(20));
        assert_eq!(status.code(), Some(0), "head -{lines}: {status:?}");
        assert_no_state(&id);
    }
}
