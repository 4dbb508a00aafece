//! The console socket and hooks, through the binary.

mod common;

use std::{
    fs,
    io::{IoSliceMut, Read, Write},
    os::{
        fd::{FromRawFd, OwnedFd},
        unix::net::UnixListener,
    },
    time::{Duration, Instant},
};

use common::*;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::json;

/// Receives one descriptor sent with `SCM_RIGHTS`.
fn receive_fd(listener: &UnixListener) -> OwnedFd {
    use std::os::fd::AsRawFd;
    let (stream, _) = listener.accept().unwrap();
    let mut buf = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    for cmsg in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: a descriptor just received, owned by nobody else.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no descriptor received");
}

#[test]
#[ignore = "needs root"]
fn the_console_socket_receives_a_working_pty_master() {
    let env = Env::new(&["sh"]);
    let mut spec = spec(&["sh"]);
    spec["process"]["terminal"] = json!(true);
    env.write_spec(spec);
    let socket = env.dir.path().join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let pid_file = env.dir.path().join("t.pid");
    let mut create = env
        .cmd(&[
            "create",
            "--bundle",
            env.bundle().to_str().unwrap(),
            "--console-socket",
            socket.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            "t1",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let master = receive_fd(&listener);
    assert!(create.wait().unwrap().success());
    let pid: i32 = fs::read_to_string(pid_file).unwrap().parse().unwrap();
    env.ok(&["start", "t1"]);
    let mut console = fs::File::from(master);
    console
        .write_all(b"echo $((6*7)) $(tty)\nexit 9\n")
        .unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 512];
    while !seen.contains("42 /dev/pts/0") {
        assert!(
            Instant::now() < deadline,
            "no answer on the console: {seen:?}"
        );
        match console.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(seen.contains("42 /dev/pts/0"), "{seen:?}");
    assert_eq!(reap(pid), 9);
    env.ok(&["delete", "t1"]);
}

#[test]
#[ignore = "needs root"]
fn hooks_run_in_order_with_the_state_on_stdin() {
    let env = Env::new(&["true"]);
    let log = env.dir.path().join("hooks.log");
    let hook = |name: &str| {
        json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("printf '%s ' {name} >> {0}; cat >> {0}; echo >> {0}", log.display())],
            "timeout": 5
        })
    };
    let mut spec = spec(&["sleep", "1000"]);
    spec["hooks"] = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")]
    });
    env.write_spec(spec.clone());
    let pid = env.create("h1");
    env.ok(&["start", "h1"]);
    env.ok(&["kill", "h1", "9"]);
    reap(pid);
    env.ok(&["delete", "h1"]);
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let names: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        names,
        ["prestart", "createRuntime", "poststart", "poststop"]
    );
    for (line, status) in lines
        .iter()
        .zip(["created", "created", "running", "stopped"])
    {
        let state: serde_json::Value =
            serde_json::from_str(line.split_once(' ').unwrap().1).unwrap();
        assert_eq!(state["id"], "h1");
        assert_eq!(state["pid"], pid);
        assert_eq!(state["status"], status);
    }

    // A failing createRuntime hook fails create and leaves nothing.
    spec["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
    env.write_spec(spec.clone());
    let out = env.output(&["create", "--bundle", env.bundle().to_str().unwrap(), "h2"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("createRuntime"));
    assert!(!env.root().join("h2").exists());
    // A hook past its timeout fails too.
    spec["hooks"] =
        json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "10"], "timeout": 1}]});
    env.write_spec(spec);
    let out = env.output(&["create", "--bundle", env.bundle().to_str().unwrap(), "h3"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out"));
}

#[test]
#[ignore = "needs root"]
fn sys_fs_cgroup_shows_the_cgroups_at_the_specs_cgroups_path() {
    let pids = container_pids_dir();
    let script = format!("cat {pids}/pids.max; touch {pids}/x 2>/dev/null && echo rw || echo ro");
    let env = Env::new(&["sh", "-c", &script]);
    let mut spec = spec(&["sh", "-c", &script]);
    spec["mounts"] = json!([{"destination": "/sys/fs/cgroup", "type": "cgroup",
        "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]);
    let path = format!("/hcsrun-oci-test-{}/cg", std::process::id());
    spec["linux"]["cgroupsPath"] = json!(path);
    spec["linux"]["resources"] = json!({"pids": {"limit": 33}});
    env.write_spec(spec);
    let out = env
        .cmd(&["run", "--bundle", env.bundle().to_str().unwrap(), "cg1"])
        .output()
        .unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).as_ref()
        ),
        (Some(0), "33\nro\n"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The parent the test named is the test's to remove.
    let parent = path.rsplit_once('/').map(|(p, _)| p).unwrap();
    for mount in hcs_testkit::host::cgroup_mounts() {
        let _ = fs::remove_dir(mount.join(parent.trim_start_matches('/')));
    }
}

/// Runs `hcsrun-oci ARGS` on a new terminal of the test's (40 rows, 100
/// columns), typing `input`; its exit code and what the terminal showed.
fn on_a_terminal(env: &Env, args: &[&str], input: &[u8]) -> (Option<i32>, String) {
    signalled_on_a_terminal(env, args, input, None)
}

/// [`on_a_terminal`], sending hcsrun-oci `signal` once the terminal has
/// shown `marker`.
fn signalled_on_a_terminal(
    env: &Env,
    args: &[&str],
    input: &[u8],
    mut then: Option<(&str, nix::sys::signal::Signal)>,
) -> (Option<i32>, String) {
    use std::os::fd::AsFd;
    let size = nix::pty::Winsize {
        ws_row: 40,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).unwrap();
    let slave = || std::process::Stdio::from(pty.slave.try_clone().unwrap());
    let mut child = env
        .cmd(args)
        .stdin(slave())
        .stdout(slave())
        .stderr(slave())
        .spawn()
        .unwrap();
    drop(pty.slave);
    let mut master = fs::File::from(pty.master);
    master.write_all(input).unwrap();
    let mut shown = Vec::new();
    let mut buf = [0u8; 4096];
    // EIO once the child and everything it started closed the terminal.
    while let Ok(n) = nix::unistd::read(master.as_fd(), &mut buf) {
        if n == 0 {
            break;
        }
        shown.extend_from_slice(&buf[..n]);
        if let Some((marker, signal)) = then {
            if String::from_utf8_lossy(&shown).contains(marker) {
                let pid = nix::unistd::Pid::from_raw(child.id() as i32);
                nix::sys::signal::kill(pid, signal).unwrap();
                then = None;
            }
        }
    }
    let status = child.wait().unwrap();
    (status.code(), String::from_utf8_lossy(&shown).into_owned())
}

#[test]
#[ignore = "needs root"]
fn run_and_exec_in_the_foreground_relay_a_terminal() {
    let env = Env::new(&["sh"]);
    let mut s = spec(&["sh"]);
    s["process"]["terminal"] = json!(true);
    env.write_spec(s);
    let bundle = env.bundle();
    let (code, shown) = on_a_terminal(
        &env,
        &["run", "--bundle", bundle.to_str().unwrap(), "tty1"],
        b"tty; stty size; exit 3\n",
    );
    assert_eq!(code, Some(3), "{shown}");
    assert!(shown.contains("/dev/pts/0"), "{shown}");
    assert!(shown.contains("40 100"), "{shown}");

    // exec -t into a running container, in the foreground.
    env.write_spec(spec(&["sleep", "100"]));
    let pid = env.create("tty2");
    env.ok(&["start", "tty2"]);
    let (code, shown) = on_a_terminal(&env, &["exec", "-t", "tty2", "sh"], b"stty size; exit 4\n");
    assert_eq!(code, Some(4), "{shown}");
    assert!(shown.contains("40 100"), "{shown}");
    // A background job left holding the terminal does not keep exec (it
    // would for the job's 1000 s).
    let started = Instant::now();
    let (code, shown) = on_a_terminal(
        &env,
        &[
            "exec",
            "-t",
            "tty2",
            "sh",
            "-c",
            "sleep 1000 & echo bg; exit 6",
        ],
        b"",
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "exec waited for its job"
    );
    assert_eq!(code, Some(6), "{shown}");
    assert!(shown.contains("bg"), "{shown}");
    env.ok(&["kill", "tty2", "KILL"]);
    reap(pid);
    env.ok(&["delete", "tty2"]);
    // A signal sent to hcsrun-oci goes to the process.
    let mut s = spec(&[
        "sh",
        "-c",
        "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.1; done",
    ]);
    s["process"]["terminal"] = json!(true);
    env.write_spec(s);
    let (code, shown) = signalled_on_a_terminal(
        &env,
        &["run", "--bundle", bundle.to_str().unwrap(), "tty4"],
        b"",
        Some(("ready", nix::sys::signal::Signal::SIGTERM)),
    );
    assert_eq!(code, Some(9), "{shown}");
    assert!(shown.contains("got-term"), "{shown}");
    // Detached, a terminal still needs somewhere to go.
    let mut s = spec(&["sh"]);
    s["process"]["terminal"] = json!(true);
    env.write_spec(s);
    let out = env.output(&["create", "--bundle", bundle.to_str().unwrap(), "tty3"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--console-socket"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs root"]
fn preserve_fds_passes_the_callers_descriptors_and_no_others() {
    use std::os::{fd::AsRawFd, unix::process::CommandExt};
    let env = Env::new(&["sh", "-c", "echo through-fd-3 >&3; ls /proc/self/fd"]);
    let bundle = env.bundle();
    // fd 3 of hcsrun-oci: a pipe's write end, as conmon passes a socket.
    let run = |preserve: &str, id: &str| {
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let raw = write_end.as_raw_fd();
        let mut cmd = env.cmd(&[
            "run",
            "--preserve-fds",
            preserve,
            "--bundle",
            bundle.to_str().unwrap(),
            id,
        ]);
        // SAFETY: dup2 between fork and exec, on descriptors this test owns.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(raw, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        drop(write_end);
        let mut piped = String::new();
        fs::File::from(read_end).read_to_string(&mut piped).unwrap();
        (out, piped)
    };
    let (out, piped) = run("1", "pf1");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(piped, "through-fd-3\n");
    // 0-2, 3, and the directory ls reads: nothing else of the runtime.
    let fds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(fds, ["0", "1", "2", "3", "4"], "{fds:?}");
    // A descriptor the caller did not pass is refused, naming it.
    let (out, _) = run("2", "pf2");
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("descriptor 4"), "{stderr}");
}

#[test]
#[ignore = "needs root"]
fn exec_never_starts_in_a_directory_of_the_runtimes() {
    // runc's CVE-2024-21626: a working directory /proc/self/fd/N naming a
    // descriptor the runtime still holds while it sets the process up.
    let env = Env::new(&["sleep", "100"]);
    let pid = env.create("cwd1");
    env.ok(&["start", "cwd1"]);
    for n in 3..24 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = env.output(&["exec", "--cwd", &cwd, "cwd1", "ls", "-a"]);
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(
            !(out.status.success() && listed.lines().any(|l| l == "cwd1" || l == "state.json")),
            "--cwd {cwd} reached the runtime's state: {listed}"
        );
    }
    env.ok(&["kill", "cwd1", "KILL"]);
    reap(pid);
    env.ok(&["delete", "cwd1"]);
}
