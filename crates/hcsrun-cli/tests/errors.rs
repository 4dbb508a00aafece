//! How `hcsrun run` fails: exit codes as docker's, one line that leads
//! with what went wrong in the user's terms, and nothing left behind even
//! when its own output goes away.

mod common;

use std::{fs, path::Path, process::Stdio, time::Duration};

use common::{assert_no_state, command, hcsrun, text, wait_within};
use hcs_testkit::require_root;

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
fn another_containers_scratch_folder_is_never_touched() {
    require_root();
    // What a running (or kept) container of that name owns.
    let name = format!("taken-{}", std::process::id());
    let scratch = Path::new("/var/lib/hcsrun/scratch").join(&name);
    fs::create_dir_all(scratch.join("upper")).unwrap();
    let out = hcsrun(&["run", "--name", &name, "--", "true"]);
    let kept = scratch.join("upper").exists();
    fs::remove_dir_all(&scratch).unwrap();
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

#[test]
#[ignore = "needs root"]
fn errors_speak_linux_first() {
    require_root();
    let id = format!("nosuch-{}", std::process::id());
    let out = hcsrun(&["run", "--name", &id, "--", "nosuchcmd"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        text(&out.stderr),
        format!(
            "hcsrun: run: exec nosuchcmd: no such file or directory in the container \
             (container {id}, CreateProcess)\n"
        )
    );
    assert_no_state(&id);
    // Not a program: the kernel's word for why (exec format error, or
    // permission denied), in the container.
    let out = hcsrun(&["run", "--name", &id, "--", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(126));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("hcsrun: run: exec /etc/hostname: "),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            " in the container (container {id}, CreateProcess)\n"
        )),
        "{err}"
    );
    assert!(!err.contains("0x"), "{err}");
    let out = hcsrun(&["run", "--name", &id, "-w", "/no/such/dir", "--", "true"]);
    assert!(
        text(&out.stderr).starts_with(
            "hcsrun: run: working directory /no/such/dir: no such file or directory in the \
             container"
        ),
        "{}",
        text(&out.stderr)
    );
    // The compute service's code and wording, with --debug.
    let out = hcsrun(&["--debug", "run", "--name", &id, "--", "nosuchcmd"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("The system cannot find the file specified. (0x2)"),
        "{err}"
    );
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("hcsrun: run: exec nosuchcmd: no such file or directory"),
        "{err}"
    );
    assert_no_state(&id);
}

#[test]
#[ignore = "needs root"]
fn a_name_in_use_says_what_to_do() {
    require_root();
    // The record of a container whose hcsrun was killed, with its own
    // scratch folder (--scratch) gone.
    let id = format!("orphan-{}", std::process::id());
    let record = Path::new("/run/hcsrun").join(&id);
    fs::create_dir_all(&record).unwrap();
    fs::write(record.join("state.json"), "{}").unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let out = hcsrun(&[
        "run",
        "--name",
        &id,
        "--scratch",
        scratch.path().to_str().unwrap(),
        "--",
        "true",
    ]);
    let still_there = record.join("state.json").exists();
    fs::remove_dir_all(&record).unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("hcsrun: run: container {id} already exists: ")),
        "{err}"
    );
    assert!(err.contains(&format!("remove /run/hcsrun/{id}")), "{err}");
    assert!(!err.contains("0xc037010f"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(still_there, "the other container's record was touched");
}
