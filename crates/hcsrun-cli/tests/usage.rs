//! What `hcsrun run` refuses before it makes anything, with docker's rules:
//! exit 125, one line (and at most docker's "See 'hcsrun run --help'."),
//! and nothing created — no system record, no scratch folder. These need
//! no root: the arguments are checked before anything else, for anyone.

use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const HCSRUN: &str = env!("CARGO_BIN_EXE_hcsrun");

/// Runs `hcsrun ARGS` (killed after 10 s); returns its exit code and stderr.
fn hcsrun(args: &[String]) -> (Option<i32>, String) {
    let mut child = Command::new(HCSRUN)
        .args(args)
        .env_remove("HCSRUN_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("hcsrun {args:?} took more than 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A refusal as docker words it: exit 125, the message on one line, and
/// at most the pointer to the help after it.
fn assert_refused(args: &[String], wanted: &str) {
    let (code, stderr) = hcsrun(args);
    assert_eq!(code, Some(125), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 1 || (lines.len() == 2 && lines[1] == "See 'hcsrun run --help'."),
        "{args:?}: not one line: {stderr:?}"
    );
    assert!(
        lines[0].starts_with("hcsrun: run: "),
        "{args:?}: {stderr:?}"
    );
    assert!(
        lines[0].contains(wanted),
        "{args:?}: {wanted:?} not in {stderr:?}"
    );
}

struct Case {
    args: Vec<String>,
    wanted: &'static str,
}

fn case(args: &[&str], wanted: &'static str) -> Case {
    Case {
        args: args.iter().map(|a| a.to_string()).collect(),
        wanted,
    }
}

#[test]
fn bad_input_is_refused_in_one_line_and_makes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let layer = dir.path().join("layer");
    fs::create_dir_all(layer.join("sub")).unwrap();
    let layer_s = layer.to_str().unwrap().to_owned();
    // Scratch folders that must not come into being.
    let inside = layer.join("scratch");
    let nested = layer.join("sub/scratch");
    let bundle = dir.path().join("bundle");
    fs::create_dir_all(bundle.join("rootfs")).unwrap();
    fs::write(
        bundle.join("config.json"),
        r#"{"ociVersion":"1.0.2","hostname":"bad\u0000name","root":{"path":"rootfs"},
            "process":{"args":["true"],"cwd":"/","user":{"uid":0,"gid":0}}}"#,
    )
    .unwrap();
    let endless = dir.path().join("endless");
    fs::create_dir_all(&endless).unwrap();
    std::os::unix::fs::symlink("/dev/zero", endless.join("config.json")).unwrap();
    let src = dir.path().to_str().unwrap().to_owned();
    let vol = |dst: &str| format!("{src}:{dst}");

    let cases = [
        // Sizes: exact, and docker's minimum.
        case(&["--memory", "512k"], "Minimum memory limit allowed is 6MB"),
        case(&["--memory", "1"], "Minimum memory limit allowed is 6MB"),
        case(&["--memory", "1k"], "Minimum memory limit allowed is 6MB"),
        case(
            &["--memory", "1500k"],
            "Minimum memory limit allowed is 6MB",
        ),
        case(
            &["--memory", "6291455b"],
            "Minimum memory limit allowed is 6MB",
        ),
        case(&["--memory", "12q"], "12q"),
        case(&["-m", ""], "--memory"),
        // CPUs within (0, the host's].
        case(&["--cpus", "1000"], "Range of CPUs is from 0.01 to"),
        case(&["--cpus", "1e-9"], "Range of CPUs is from 0.01 to"),
        case(&["--cpus", "-1"], "Range of CPUs is from 0.01 to"),
        case(&["--cpus", "NaN"], "Range of CPUs is from 0.01 to"),
        case(&["--cpu-shares", "0"], "--cpu-shares"),
        // docker's range for a Linux container's shares; the Windows
        // schema's where the service runs Windows-schema containers.
        case(&["--cpu-shares", "1"], "CPU shares are 2 to 262144"),
        case(&["--cpu-shares", "262145"], "--cpu-shares"),
        case(
            &["--service", "vmcompute", "--cpu-shares", "10001"],
            "processor weight is 1 to 10000",
        ),
        case(&["--cpu-count", "0"], "--cpu-count"),
        // Environment names.
        case(&["-e", "=val"], "invalid environment variable"),
        case(&["-e", ""], "invalid environment variable"),
        case(&["-e", "A B=1"], "invalid environment variable"),
        // Host names (RFC 1123, at most the kernel's 64 characters).
        case(&["--hostname", "bad host/name"], "invalid hostname"),
        case(&["--hostname", "-lead"], "invalid hostname"),
        case(&["--hostname", "a..b"], "invalid hostname"),
        case(&["--hostname", &"h".repeat(65)], "invalid hostname"),
        // Flags that contradict each other.
        case(&["--keep", "--rm"], "cannot be used with"),
        case(
            &["--cpus", "1", "--cpu-maximum", "100"],
            "cannot be used with",
        ),
        // Unknown options: one line, not a page of usage.
        case(&["--bogus"], "--bogus"),
        // Mount destinations the container's own file systems occupy.
        case(&["-v", &vol("/")], "cannot be mounted over"),
        case(&["-v", &vol("/dev")], "cannot be mounted over"),
        case(&["-v", &vol("/proc/")], "cannot be mounted over"),
        case(&["-v", &vol("//sys")], "cannot be mounted over"),
        case(&["-v", &vol("/x/../dev")], "cannot be mounted over"),
        case(&["-v", &vol("data")], "absolute"),
        // The scratch folder inside a read-only layer.
        case(
            &["--layer", &layer_s, "--scratch", inside.to_str().unwrap()],
            "inside the layer",
        ),
        case(
            &["--layer", &layer_s, "--scratch", nested.to_str().unwrap()],
            "inside the layer",
        ),
        // A bundle's host name with a NUL; documents without end.
        case(&["--bundle", bundle.to_str().unwrap()], "hostname"),
        case(&["--bundle", endless.to_str().unwrap()], "16 MiB"),
        case(&["--options", "/dev/zero"], "16 MiB"),
    ];
    for (n, Case { args, wanted }) in cases.into_iter().enumerate() {
        let id = format!("usage{n}-{}", std::process::id());
        let mut full: Vec<String> = vec!["run".into(), "--name".into(), id.clone()];
        full.extend(args);
        full.extend(["--".into(), "true".into()]);
        assert_refused(&full, wanted);
        for made in [
            Path::new("/run/hcsrun").join(&id),
            Path::new("/var/lib/hcsrun/scratch").join(&id),
            inside.clone(),
            nested.clone(),
        ] {
            assert!(!made.exists(), "{full:?} made {}", made.display());
        }
    }
}

/// Runs each case as `hcsrun run --name ID CASE -- true`: refused, and
/// nothing made.
fn refused_making_nothing(cases: Vec<Case>, extra: &[&Path]) {
    for (n, Case { args, wanted }) in cases.into_iter().enumerate() {
        let id = format!("linuxusage{n}-{}", std::process::id());
        let mut full: Vec<String> = vec!["run".into(), "--name".into(), id.clone()];
        full.extend(args);
        full.extend(["--".into(), "true".into()]);
        assert_refused(&full, wanted);
        for made in [
            Path::new("/run/hcsrun").join(&id),
            Path::new("/var/lib/hcsrun/scratch").join(&id),
        ] {
            assert!(!made.exists(), "{full:?} made {}", made.display());
        }
        for made in extra {
            assert!(!made.exists(), "{full:?} made {}", made.display());
        }
    }
}

#[test]
fn linux_options_are_checked_as_docker_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().to_str().unwrap().to_owned();
    let bad_profile = dir.path().join("bad.json");
    fs::write(&bad_profile, r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
    let bad_profile = format!("seccomp={}", bad_profile.display());
    // A Linux bundle (as `runc spec` writes one, in short) and one with a
    // field hcsrun cannot honour.
    let linux = |name: &str, extra: &str| {
        let bundle = dir.path().join(name);
        fs::create_dir_all(bundle.join("rootfs")).unwrap();
        fs::write(
            bundle.join("config.json"),
            format!(
                r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},
                    "process":{{"args":["true"],"cwd":"/","user":{{"uid":0,"gid":0}}}},
                    "linux":{{{extra}"namespaces":[{{"type":"pid"}},{{"type":"mount"}}]}}}}"#
            ),
        )
        .unwrap();
        bundle.to_str().unwrap().to_owned()
    };
    let bundle = linux("bundle", "");
    let rdt = linux("rdt", r#""intelRdt":{"closID":"x"},"#);
    let cases = vec![
        case(&["--cap-add", "nope"], r#"unknown capability: "CAP_NOPE""#),
        case(
            &["--cap-drop", "CAP_FOO"],
            r#"unknown capability: "CAP_FOO""#,
        ),
        case(
            &["--security-opt", "bogus"],
            r#"Invalid --security-opt: "bogus""#,
        ),
        case(
            &["--security-opt", "no-new-privileges=maybe"],
            "Invalid --security-opt",
        ),
        case(
            &["--security-opt", "seccomp=/no/such.json"],
            "opening seccomp profile (/no/such.json) failed",
        ),
        case(&["--security-opt", &bad_profile], "seccomp profile"),
        case(
            &["--security-opt", "apparmor=docker-default"],
            "no AppArmor profiles",
        ),
        case(&["--pids-limit", "x"], "--pids-limit"),
        case(&["--ulimit", "nofile"], "invalid ulimit argument: nofile"),
        case(&["--ulimit", "files=1"], "invalid ulimit type: files"),
        case(
            &["--ulimit", "nofile=300:200"],
            "ulimit soft limit must be less than or equal to hard limit: 300 > 200",
        ),
        case(
            &["--device", "/dev/null:dev/n"],
            "dev/n is not an absolute path",
        ),
        case(
            &["--device", "/dev/null:/dev/n:rx"],
            "bad mode specified: rx",
        ),
        case(&["--device", "/etc/hostname"], "not a device node"),
        case(
            &["--device", "/no/such"],
            "error gathering device information while adding custom device",
        ),
        case(
            &["--memory-swap", "1g"],
            "You should always set the Memory limit when using Memoryswap limit",
        ),
        case(
            &["--memory", "64m", "--memory-swap", "32m"],
            "Minimum memoryswap limit should be larger than memory limit",
        ),
        case(&["--memory-swap", "12q"], "12q"),
        case(
            &["--group-add", "no-such-group"],
            "unable to find group no-such-group: no matching entries in group file",
        ),
        case(
            &["-u", "no-such-user"],
            "unable to find user no-such-user: no matching entries in passwd file",
        ),
        case(&["--tmpfs", "run"], "mount path must be absolute"),
        case(
            &["--tmpfs", "/run:bogus"],
            r#"invalid tmpfs option "bogus""#,
        ),
        case(&["--tmpfs", "/proc"], "cannot be mounted over"),
        case(
            &["-v", &format!("{src}:/run"), "--tmpfs", "/run"],
            "Duplicate mount point: /run",
        ),
        case(
            &["--sysctl", "kernel.panic=1"],
            "sysctl 'kernel.panic=1' is not allowed",
        ),
        case(&["-w", "tmp"], "must be an absolute path"),
        // Linux options where the service runs Windows-schema containers.
        case(
            &["--service", "vmcompute", "--cap-add", "kill"],
            "--cap-add is for Linux containers",
        ),
        // A bundle says what its container is.
        case(
            &["--bundle", &bundle, "-e", "A=1"],
            "-e cannot be used with --bundle: set it in the bundle's config.json",
        ),
        case(
            &["--bundle", &bundle, "--read-only"],
            "--read-only cannot be used with --bundle",
        ),
        case(
            &["--bundle", &bundle, "--layer", &src],
            "--layer cannot be used with a Linux --bundle",
        ),
        case(
            &["--bundle", &rdt],
            "config.json: linux.intelRdt: not supported by hcsrun (Intel RDT)",
        ),
    ];
    refused_making_nothing(cases, &[]);
}

#[test]
fn other_commands_usage_errors_are_one_line_too() {
    let run = |args: &[&str]| hcsrun(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    let (code, stderr) = run(&["translate", "--bogus"]);
    assert_eq!(code, Some(125));
    assert_eq!(
        stderr,
        "hcsrun: translate: unexpected argument '--bogus' found\nSee 'hcsrun translate --help'.\n"
    );
    let (code, stderr) = run(&["--service", "windows", "run", "--", "true"]);
    assert_eq!(code, Some(125));
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    // Help is not an error.
    let (code, _) = run(&["run", "--help"]);
    assert_eq!(code, Some(0));
}
