//! Containers that outlive the command, through the binary as a user types
//! it: run -d, ps, exec, top, stats, pause, stop, logs, wait, rm, ids by
//! prefix.

mod common;

use std::{
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use common::{assert_no_state, command, hcsrun, output as ok, text};
use hcs_testkit::require_root;

/// Removes what an earlier, failed run of a test left.
fn clean(ids: &[&str]) {
    for id in ids {
        let _ = hcsrun(&["rm", "-f", id]);
    }
}

/// The container's record under hcsrun's folder.
fn record_dir(id: &str) -> std::path::PathBuf {
    Path::new("/var/lib/hcsrun/containers").join(id)
}

/// Waits at most 10 s for `check` to hold.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs root"]
fn a_detached_container_lives_through_every_verb() {
    require_root();
    let id = "wpf-life-1";
    clean(&[id]);
    let printed = ok(&[
        "run",
        "-d",
        "--name",
        id,
        "--",
        "sh",
        "-c",
        "trap '' TERM; echo started; echo oops >&2; \
                     i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done",
    ]);
    assert_eq!(printed, format!("{id}\n"));

    // ps shows it running; -q the id alone; json a parseable line.
    let ps = ok(&["ps"]);
    let line = ps
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("{ps}"));
    assert!(line.contains("Up "), "{line}");
    assert!(ps.starts_with("CONTAINER ID"), "{ps}");
    assert!(ok(&["ps", "-q"]).lines().any(|l| l == id));
    let json: serde_json::Value = serde_json::from_str(
        ok(&["ps", "--format", "json"])
            .lines()
            .find(|l| l.contains(id))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["State"], "running");

    // exec: its output, its exit code, its stdin with -i.
    assert_eq!(ok(&["exec", id, "echo", "hi"]), "hi\n");
    assert_eq!(
        hcsrun(&["exec", id, "sh", "-c", "exit 7"]).status.code(),
        Some(7)
    );
    let missing = hcsrun(&["exec", id, "no-such-program"]);
    assert_eq!(missing.status.code(), Some(127));
    // The cause in Linux terms first, as `run` says it; and a working
    // directory through a runtime's descriptor never outside the root.
    assert!(
        text(&missing.stderr)
            .starts_with("hcsrun: exec: exec no-such-program: no such file or directory"),
        "{}",
        text(&missing.stderr)
    );
    for n in 3..16 {
        let cwd = format!("/proc/self/fd/{n}");
        assert_ne!(
            hcsrun(&["exec", "-w", &cwd, id, "true"]).status.code(),
            Some(0),
            "exec -w {cwd}"
        );
    }
    let mut cat = command()
        .args(["exec", "-i", id, "tr", "a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    cat.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = cat.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "PIPED\n");

    // top lists an exec'd process; stats shows memory in use.
    let mut sleeper = command()
        .args(["exec", id, "sleep", "30"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    eventually("top lists the exec'd sleep", || {
        ok(&["top", id]).contains("sleep")
    });
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let stats = ok(&["stats", "--no-stream", id]);
    let row = stats
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("{stats}"));
    let memory = row.split("   ").map(str::trim).nth(2).unwrap();
    assert!(memory.contains(" / ") && !memory.starts_with("0B"), "{row}");

    // pause freezes the counter (read from the host, through its pid 1's
    // root); unpause lets it go on.
    let inspect: serde_json::Value = serde_json::from_str(&ok(&["inspect", id])).unwrap();
    let pid = inspect[0]["State"]["Pid"].as_u64().unwrap();
    let count = || std::fs::read_to_string(format!("/proc/{pid}/root/tmp/count")).unwrap();
    assert_eq!(ok(&["pause", id]), format!("{id}\n"));
    assert!(ok(&["ps"]).contains("(Paused)"));
    let before = count();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(count(), before, "the counter went on while paused");
    let refused = hcsrun(&["exec", id, "true"]);
    assert_ne!(
        refused.status.code(),
        Some(0),
        "exec into a paused container"
    );
    ok(&["unpause", id]);
    std::thread::sleep(Duration::from_millis(400));
    assert_ne!(count(), before, "the counter did not go on after unpause");

    // stop of a container that ignores SIGTERM: within timeout + 1 s.
    let began = Instant::now();
    assert_eq!(ok(&["stop", "-t", "1", id]), format!("{id}\n"));
    assert!(
        began.elapsed() < Duration::from_secs(2) + Duration::from_millis(500),
        "{:?}",
        began.elapsed()
    );
    assert!(ok(&["ps", "-a"])
        .lines()
        .any(|l| l.starts_with(id) && l.contains("Exited (137)")));

    // logs holds both streams; wait prints the code.
    let logs = hcsrun(&["logs", id]);
    assert_eq!(text(&logs.stdout), "started\n");
    assert_eq!(text(&logs.stderr), "oops\n");
    assert_eq!(ok(&["wait", id]), "137\n");
    let inspect: serde_json::Value = serde_json::from_str(&ok(&["inspect", id])).unwrap();
    assert_eq!(inspect[0]["State"]["ExitCode"], 137);
    assert_eq!(inspect[0]["State"]["Status"], "exited");

    // rm leaves nothing.
    assert_eq!(ok(&["rm", id]), format!("{id}\n"));
    assert_no_state(id);
    assert!(!record_dir(id).exists());
    assert!(!ok(&["ps", "-a"]).contains(id));
}

#[test]
#[ignore = "needs root"]
fn create_then_start_and_wait_for_the_code() {
    require_root();
    let id = "wpf-create-1";
    clean(&[id]);
    assert_eq!(
        ok(&[
            "create",
            "--name",
            id,
            "--",
            "sh",
            "-c",
            "echo made; exit 3"
        ]),
        format!("{id}\n")
    );
    assert!(ok(&["ps", "-a"])
        .lines()
        .any(|l| l.starts_with(id) && l.contains("Created")));
    assert!(
        !ok(&["ps"]).contains(id),
        "a created container is not running"
    );
    assert_eq!(ok(&["start", id]), format!("{id}\n"));
    assert_eq!(ok(&["wait", id]), "3\n");
    assert_eq!(text(&hcsrun(&["logs", id]).stdout), "made\n");
    ok(&["rm", id]);
    assert_no_state(id);
}

#[test]
#[ignore = "needs root"]
fn ids_are_found_by_prefix_and_a_bad_one_is_named() {
    require_root();
    let ids = ["wpf-prefix-aa1", "wpf-prefix-ab2"];
    clean(&ids);
    for id in ids {
        ok(&[
            "run",
            "-d",
            "--name",
            id,
            "--",
            "sh",
            "-c",
            "trap 'exit 42' USR1; while true; do sleep 0.1; done",
        ]);
    }
    assert_eq!(ok(&["exec", "wpf-prefix-aa", "echo", "one"]), "one\n");
    let ambiguous = hcsrun(&["kill", "wpf-prefix-a"]);
    assert_eq!(ambiguous.status.code(), Some(1));
    assert_eq!(
        text(&ambiguous.stderr),
        "hcsrun: kill: wpf-prefix-a is ambiguous: it begins 2 containers' ids\n"
    );
    let unknown = hcsrun(&["stop", "wpf-prefix-zz"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        text(&unknown.stderr),
        "hcsrun: stop: no such container: wpf-prefix-zz\n"
    );
    // rm refuses a running one without -f, in docker's words.
    let refused = hcsrun(&["rm", "wpf-prefix-ab"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("cannot remove a running container"));
    // kill -s delivers another signal to the first process.
    ok(&["kill", "-s", "USR1", "wpf-prefix-aa"]);
    assert_eq!(ok(&["wait", "wpf-prefix-aa"]), "42\n");
    assert_eq!(
        ok(&["rm", "-f", "wpf-prefix-aa", "wpf-prefix-ab"]),
        "wpf-prefix-aa\nwpf-prefix-ab\n"
    );
    for id in ids {
        assert_no_state(id);
    }
}

#[test]
#[ignore = "needs root"]
fn a_killed_holder_leaves_a_lost_container_that_rm_cleans() {
    require_root();
    let id = "wpf-lost-1";
    clean(&[id]);
    ok(&["run", "-d", "--name", id, "--", "sleep", "60"]);
    let holder = holder_of(id);
    nix::sys::signal::kill(holder, nix::sys::signal::Signal::SIGKILL).unwrap();
    eventually("ps -a shows the lost code", || {
        ok(&["ps", "-a"])
            .lines()
            .any(|l| l.starts_with(id) && l.contains("Exited (2147483648)"))
    });
    ok(&["rm", id]);
    assert_no_state(id);
    assert!(!record_dir(id).exists());
}

#[test]
#[ignore = "needs root"]
fn a_foreground_run_killed_leaves_what_rm_removes() {
    require_root();
    let id = "wpf-fg-1";
    clean(&[id]);
    let (mut child, _out) = common::started(
        &["run", "--name", id, "--", "sh", "-c", "echo up; sleep 60"],
        "up",
    );
    common::signal(&child, nix::sys::signal::Signal::SIGKILL);
    child.wait().unwrap();
    // Its container runs on (its holder is not hcsrun): ps lists it.
    assert!(
        ok(&["ps", "-a"]).lines().any(|l| l.starts_with(id)),
        "{}",
        ok(&["ps", "-a"])
    );
    ok(&["rm", "-f", id]);
    assert_no_state(id);
}

#[test]
#[ignore = "needs root"]
fn two_containers_are_operated_on_at_once_from_two_processes() {
    require_root();
    let ids = ["wpf-two-1", "wpf-two-2"];
    clean(&ids);
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            let id = id.to_string();
            std::thread::spawn(move || {
                ok(&["run", "-d", "--name", &id, "--", "sleep", "60"]);
                assert_eq!(ok(&["exec", &id, "hostname"]), format!("{id}\n"));
                ok(&["stop", "-t", "0", &id]);
                ok(&["rm", &id]);
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    for id in ids {
        assert_no_state(id);
    }
}

/// The pid of container `id`'s holder: the parent of its first process.
fn holder_of(id: &str) -> nix::unistd::Pid {
    let inspect: serde_json::Value = serde_json::from_str(&ok(&["inspect", id])).unwrap();
    let pid = inspect[0]["State"]["Pid"].as_u64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let ppid: i32 = after.split(' ').nth(1).unwrap().parse().unwrap();
    nix::unistd::Pid::from_raw(ppid)
}

#[test]
#[ignore = "needs root"]
fn pausing_a_process_isolated_windows_container_is_refused_with_the_hint() {
    require_root();
    let id = "wpf-win-1";
    let library = hcs_testkit::artifacts::vmcompute_library();
    let service = format!("--service=vmcompute={}", library.display());
    let with = |args: &[&str]| {
        let mut all = vec![service.as_str()];
        all.extend(args);
        hcsrun(&all)
    };
    let _ = with(&["rm", "-f", id]);
    let out = with(&["run", "-d", "--name", id, "--", "sleep", "60"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let refused = with(&["pause", id]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused.stderr),
        format!(
            "hcsrun: pause: cannot pause container {id}: a process-isolated Windows container \
             cannot be paused; run it with --isolation hyperv to pause it\n"
        )
    );
    assert_eq!(with(&["rm", "-f", id]).status.code(), Some(0));
    assert_no_state(id);
    // Hyper-V isolation (emulated by the Linux service, which needs no
    // utility VM) freezes.
    ok(&[
        "run",
        "-d",
        "--isolation",
        "hyperv",
        "--name",
        id,
        "--",
        "sleep",
        "60",
    ]);
    assert_eq!(ok(&["pause", id]), format!("{id}\n"));
    assert_eq!(ok(&["unpause", id]), format!("{id}\n"));
    ok(&["rm", "-f", id]);
    assert_no_state(id);
}

#[test]
#[ignore = "needs root"]
fn update_changes_a_running_containers_memory_limit() {
    require_root();
    let id = "wpf-update-1";
    clean(&[id]);
    ok(&[
        "run", "-d", "--memory", "64m", "--name", id, "--", "sleep", "60",
    ]);
    let limit = || {
        let v1 = format!("/sys/fs/cgroup/memory/hcsrun/{id}/memory.limit_in_bytes");
        let v2 = format!("/sys/fs/cgroup/hcsrun/{id}/memory.max");
        std::fs::read_to_string(&v1)
            .or_else(|_| std::fs::read_to_string(&v2))
            .unwrap()
    };
    assert_eq!(limit().trim(), (64u64 << 20).to_string());
    assert_eq!(ok(&["update", "--memory", "128m", id]), format!("{id}\n"));
    assert_eq!(limit().trim(), (128u64 << 20).to_string());
    let inspect: serde_json::Value = serde_json::from_str(&ok(&["inspect", id])).unwrap();
    assert_eq!(
        inspect[0]["Limits"]["Linux"]["memory"]["limit"],
        128u64 << 20
    );
    // Nothing to change is a usage error.
    assert_ne!(hcsrun(&["update", id]).status.code(), Some(0));
    ok(&["rm", "-f", id]);
    assert_no_state(id);
}

#[test]
#[ignore = "needs root"]
fn a_foreground_container_is_found_by_the_other_verbs_and_rm_d_goes_by_itself() {
    require_root();
    let (fg, auto) = ("wpf-fg-2", "wpf-auto-1");
    clean(&[fg, auto]);
    let (mut child, _out) = common::started(
        &["run", "--name", fg, "--", "sh", "-c", "echo up; sleep 60"],
        "up",
    );
    assert_eq!(ok(&["exec", fg, "echo", "inside"]), "inside\n");
    assert!(ok(&["ps"]).lines().any(|l| l.starts_with(fg)));
    ok(&["kill", fg]);
    assert_eq!(child.wait().unwrap().code(), Some(137));
    // The foreground run removed what it made, its record too.
    assert!(!record_dir(fg).exists());
    assert_no_state(fg);

    // run -d --rm: removed once it exits.
    ok(&["run", "-d", "--rm", "--name", auto, "--", "true"]);
    eventually("the --rm container is removed", || {
        !record_dir(auto).exists()
    });
    eventually("its system is removed", || {
        !Path::new("/run/hcsrun").join(auto).exists()
    });
    assert_no_state(auto);
}

#[test]
#[ignore = "needs root"]
fn logs_follow_until_the_container_stops_and_tail_and_timestamps_work() {
    require_root();
    let id = "wpf-logs-1";
    clean(&[id]);
    ok(&[
        "run",
        "-d",
        "--name",
        id,
        "--",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done",
    ]);
    let mut follow = command()
        .args(["logs", "-f", id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let status = common::wait_within(&mut follow, Duration::from_secs(10));
    assert!(status.success());
    let mut out = String::new();
    use std::io::Read;
    follow
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "line1\nline2\nline3\nline4\nline5\n");
    assert_eq!(ok(&["logs", "--tail", "2", id]), "line4\nline5\n");
    let stamped = ok(&["logs", "-t", "--tail", "1", id]);
    let (time, line) = stamped.split_once(' ').unwrap();
    assert!(time.ends_with('Z') && time.contains('T'), "{stamped}");
    assert_eq!(line, "line5\n");
    ok(&["rm", id]);
    assert_no_state(id);
}

#[test]
#[ignore = "needs root"]
fn after_a_reboot_a_container_is_listed_as_lost_and_rm_cleans_it() {
    require_root();
    let id = "wpf-reboot-1";
    clean(&[id]);
    ok(&["run", "-d", "--name", id, "--", "sh", "-c", "exit 5"]);
    assert_eq!(ok(&["wait", id]), "5\n");
    // A reboot empties /run: the service's record is gone, hcsrun's stays.
    std::fs::remove_dir_all(Path::new("/run/hcsrun").join(id)).unwrap();
    assert!(ok(&["ps", "-a"])
        .lines()
        .any(|l| l.starts_with(id) && l.contains("Exited (2147483648)")));
    assert_eq!(ok(&["wait", id]), "2147483648\n");
    // A created container whose record went with /run is made again by start.
    let created = "wpf-reboot-2";
    clean(&[created]);
    ok(&["create", "--name", created, "--", "sh", "-c", "exit 6"]);
    std::fs::remove_dir_all(Path::new("/run/hcsrun").join(created)).unwrap();
    assert!(ok(&["ps", "-a"])
        .lines()
        .any(|l| l.starts_with(created) && l.contains("Created")));
    ok(&["start", created]);
    assert_eq!(ok(&["wait", created]), "6\n");
    ok(&["rm", id, created]);
    assert_no_state(id);
    assert_no_state(created);
    assert!(!record_dir(id).exists() && !record_dir(created).exists());
}

#[test]
#[ignore = "needs root"]
fn start_attached_streams_the_output_and_exits_with_the_code() {
    require_root();
    let id = "wpf-attach-1";
    clean(&[id]);
    ok(&[
        "create",
        "-i",
        "--name",
        id,
        "--",
        "sh",
        "-c",
        "read x; echo got $x; exit 4",
    ]);
    let mut start = command()
        .args(["start", "-ai", id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    start.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = start.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "got hello\n");
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(ok(&["wait", id]), "4\n");
    // Two at once cannot be attached.
    let refused = hcsrun(&["start", "-a", id, id]);
    assert_eq!(refused.status.code(), Some(1));
    ok(&["rm", id]);
    assert_no_state(id);
}
