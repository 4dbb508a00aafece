//! `hcsrun run` under faults, through the binary: descriptors of its caller,
//! a killed holder, a killed `hcsrun`, stop signals. Each checks the host
//! afterwards: processes, cgroups, records. Running containers needs root:
//! `cargo test -- --include-ignored`.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use hcs_testkit::{artifacts, require_root};

const HCSRUN: &str = env!("CARGO_BIN_EXE_hcsrun");
const RUNTIME_DIR: &str = "/run/hcsrun";

fn command() -> Command {
    let shim = artifacts::shim();
    assert_eq!(shim.parent(), Path::new(HCSRUN).parent());
    Command::new(HCSRUN)
}

fn name(what: &str) -> String {
    format!("{what}{}", std::process::id())
}

/// The pid of the process whose command line reads `hcsrun-shim ID`: a
/// holder launched for ID (two arguments), or a spare that ID's bootstrap
/// named (one line written over its arguments).
fn holder_of(id: &str) -> Option<i32> {
    let wanted = format!("hcsrun-shim {id}");
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_str()?.parse().ok()?;
        (hcs_testkit::host::cmdline(pid).trim_end() == wanted).then_some(pid)
    })
}

fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The system's cgroup directories that exist, in every hierarchy.
fn cgroups_of(id: &str) -> Vec<PathBuf> {
    fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|h| h.path().join("hcsrun").join(id))
        .filter(|p| p.exists())
        .collect()
}

/// Reaps `pid` if it is a child of this process that has exited (only it:
/// other tests' children are theirs to wait for).
fn reap(pid: i32) {
    let _ = nix::sys::wait::waitpid(
        nix::unistd::Pid::from_raw(pid),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    );
}

#[test]
#[ignore = "needs root"]
fn a_callers_descriptor_7_reaches_neither_the_container_nor_the_holder() {
    require_root();
    let id = name("fdseven");
    let secret = std::env::temp_dir().join(&id);
    fs::create_dir_all(&secret).unwrap();
    // As a shell's `exec 7</dir` leaves it: inheritable.
    let script = format!(
        "exec 7<{dir}; exec {HCSRUN} run --name {id} -- sh -c 'ls /proc/self/fd; sleep 1'",
        dir = secret.display()
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let holder = wait_for(Duration::from_secs(10), || holder_of(&id)).expect("no holder");
    let links: Vec<PathBuf> = fs::read_dir(format!("/proc/{holder}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .collect();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "0\n1\n2\n3\n");
    assert!(
        !links.iter().any(|l| l.starts_with(&secret)),
        "the holder has {links:?}"
    );
    fs::remove_dir_all(&secret).unwrap();
}

#[test]
#[ignore = "needs root"]
fn a_killed_holder_is_one_line_and_exit_125() {
    require_root();
    let id = name("holderdies");
    let mut child = command()
        .args(["run", "--name", &id, "--", "sleep", "100"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let holder = wait_for(Duration::from_secs(10), || holder_of(&id)).expect("no holder");
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    // SAFETY: kill with the pid of the holder this test started.
    unsafe { libc::kill(holder, libc::SIGKILL) };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&id) && stderr.contains("killed by signal 9"),
        "{stderr}"
    );
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
    assert!(!Path::new(RUNTIME_DIR).join(&id).exists(), "record left");
}

#[test]
#[ignore = "needs root"]
fn a_killed_hcsrun_leaves_the_container_to_its_holder() {
    require_root();
    // The orphaned holder comes to this process, which reaps it.
    hcs_testkit::host::become_subreaper();
    let id = name("clientdies");
    let scratch = std::env::temp_dir().join(&id);
    fs::create_dir_all(&scratch).unwrap();
    let scratch_arg = scratch.to_string_lossy().into_owned();
    let mut child: Child = command()
        .args(["run", "--name", &id, "--scratch", &scratch_arg, "--"])
        .args(["sh", "-c", "sleep 1; exit 5"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let holder = wait_for(Duration::from_secs(10), || holder_of(&id)).expect("no holder");
    // Once pid 1 has become the command (no longer the holder's fork).
    wait_for(Duration::from_secs(10), || {
        let children = fs::read_to_string(format!("/proc/{holder}/task/{holder}/children")).ok()?;
        let init = children.split_whitespace().next()?.to_owned();
        let comm = fs::read_to_string(format!("/proc/{init}/comm")).ok()?;
        (comm.trim() != "hcsrun-shim").then_some(())
    })
    .expect("the command never ran");
    child.kill().unwrap();
    child.wait().unwrap();
    // The container runs on, ends, and its holder records it and cleans up.
    let record = Path::new(RUNTIME_DIR).join(&id);
    let exit = wait_for(Duration::from_secs(10), || {
        fs::read_to_string(record.join("exit.json")).ok()
    })
    .expect("no exit record");
    let exit: serde_json::Value = serde_json::from_str(&exit).unwrap();
    assert_eq!(exit["exit_code"], 5, "{exit}");
    assert!(wait_for(Duration::from_secs(5), || {
        reap(holder);
        (!Path::new(&format!("/proc/{holder}")).exists()).then_some(())
    })
    .is_some());
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
    let left: Vec<_> = fs::read_dir(&record)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "only the record: {left:?}");
    // Once the record is removed, the name is free again.
    fs::remove_dir_all(&record).unwrap();
    let status = command()
        .args([
            "run",
            "--name",
            &id,
            "--scratch",
            &scratch_arg,
            "--",
            "true",
        ])
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // hcsrun's record of the killed run stays for `hcsrun rm`, which
    // removes it (and leaves the user's --scratch folder).
    let rm = command().args(["rm", &id]).output().unwrap();
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
    assert!(!Path::new("/var/lib/hcsrun/containers").join(&id).exists());
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
#[ignore = "needs root"]
fn ctrl_c_stops_a_container_promptly() {
    require_root();
    // The command is the container's pid 1: SIGTERM reaches it through a
    // handler.
    let child = command()
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "trap 'exit 143' TERM; sleep 60 & wait",
        ])
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
        "ended by the shutdown's SIGTERM"
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

/// The container ends with its command, whatever the command left behind
/// (it took the seed's five-minute shutdown before). A hang detector, not a
/// timing assertion.
#[test]
#[ignore = "needs root"]
fn the_container_ends_with_its_command() {
    require_root();
    let started = Instant::now();
    let mut child = command()
        .args([
            "run",
            "--",
            "sh",
            "-c",
            r#"(trap "" TERM; exec sleep 400) & exit 7"#,
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_for(Duration::from_secs(5), || child.try_wait().unwrap());
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(7),
        "{:?}",
        started.elapsed()
    );
}

fn stop_with(signal: i32, id: &str) {
    let child = command()
        .args(["--debug", "run", "--name", id, "--", "sleep", "100"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(Duration::from_secs(10), || holder_of(id)).expect("no holder");
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: signals the hcsrun this test started.
    unsafe { libc::kill(child.id() as i32, signal) };
    // Pid 1 ignores the SIGTERM it does not handle: a second signal kills.
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, signal) };
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(128 + 9), "{id}: {log}");
    assert!(cgroups_of(id).is_empty(), "{id}: {:?}", cgroups_of(id));
    assert!(
        !Path::new(RUNTIME_DIR).join(id).exists(),
        "{id}: record left: {log}"
    );
}

#[test]
#[ignore = "needs root"]
fn stop_signals_leave_no_cgroup() {
    require_root();
    for round in 0..5 {
        for (signal, what) in [
            (libc::SIGINT, "int"),
            (libc::SIGTERM, "term"),
            (libc::SIGHUP, "hup"),
        ] {
            stop_with(signal, &name(&format!("stop{what}{round}x")));
        }
    }
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let id = name(&format!("stopmany{i}x"));
            let signal = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP][i % 3];
            std::thread::spawn(move || stop_with(signal, &id))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}
