//! `hcsrun run` end to end through the binary, as a user runs it. Running
//! containers needs root (the Linux compute service): those tests are
//! ignored unless asked for (`cargo test -- --include-ignored`). Stops are
//! in `stops.rs`, errors in `errors.rs`, refusals of bad input in
//! `usage.rs`.

mod common;

use std::{
    fs,
    io::{Read, Write},
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::process::CommandExt,
    },
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use common::{command, hcsrun, text};
use hcs_testkit::require_root;

#[test]
#[ignore = "needs root"]
fn exit_codes_propagate() {
    require_root();
    assert_eq!(hcsrun(&["run", "--", "true"]).status.code(), Some(0));
    assert_eq!(
        hcsrun(&["run", "--", "sh", "-c", "exit 72"]).status.code(),
        Some(72)
    );
    // The command is the container's pid 1, which a signal from inside
    // cannot kill: a process it starts can be.
    assert_eq!(
        hcsrun(&["run", "--", "sh", "-c", "sh -c 'kill -9 $$'"])
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
fn container_root_lacks_the_hosts_powers() {
    require_root();
    // docker's default capabilities, bounding set too; CAP_MKNOD among
    // them, as docker's: the device rules keep what it makes closed.
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
        "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n",
        "{}",
        text(&out.stderr)
    );
    // The disk the host's root is on.
    let disk = nix::sys::stat::stat("/").unwrap().st_dev;
    let open_disk = format!(
        "mknod /tmp/disk b {} {} && head -c1 /tmp/disk >/dev/null",
        nix::sys::stat::major(disk),
        nix::sys::stat::minor(disk)
    );
    // Each of these must fail inside the container.
    for attempt in [
        "mount -t tmpfs none /mnt",
        &open_disk,
        "echo 3 > /proc/sys/vm/drop_caches",
        // Nothing of hcsrun is inside: pid 1 is the command itself.
        "grep -q hcsrun /proc/[0-9]*/comm",
        "grep -qv '^sh$' /proc/1/comm",
    ] {
        let out = hcsrun(&["run", "--", "sh", "-c", attempt]);
        assert_ne!(out.status.code(), Some(0), "{attempt} succeeded");
    }
    // Every mount at /proc/sys is read-only (the service may stack a
    // spec's read-only path on its own).
    let out = hcsrun(&["run", "--", "grep", " /proc/sys ", "/proc/self/mounts"]);
    let mounts = text(&out.stdout);
    assert!(
        !mounts.is_empty() && mounts.lines().all(|l| l.contains(" /proc/sys proc ro,")),
        "/proc/sys is not read-only: {mounts}"
    );
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
    // A Linux bundle whose root is the host's, read-only, used in place.
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "echo from-bundle $(hostname)"], "cwd": "/",
                    "env": ["PATH=/usr/bin:/bin"]},
        "root": {"path": "/", "readonly": true},
        "hostname": "bundled",
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]},
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
