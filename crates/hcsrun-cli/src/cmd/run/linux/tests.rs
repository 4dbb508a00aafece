//! Bundles honoured or refused, and the flags each kind of run takes.

use clap::Parser;
use hcsrun_linux_spec::Mount;

use super::*;

/// The `config.json` `runc spec` (runc 1.1.5) writes, unmodified.
const RUNC_SPEC: &str =
    include_str!("../../../../../hcsrun-linux-spec/tests/fixtures/runc-spec.json");

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn args(words: &[&str]) -> Args {
    let mut all = vec!["run"];
    all.extend(words);
    Cli::try_parse_from(all).unwrap().args
}

/// A bundle of `config` with an empty `rootfs`.
fn bundle(config: &str) -> (tempfile::TempDir, Bundle) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rootfs")).unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    let bundle = Bundle::read(dir.path()).unwrap();
    (dir, bundle)
}

#[test]
fn a_runc_spec_bundle_is_honoured_as_it_is() {
    let (dir, b) = bundle(RUNC_SPEC);
    assert!(b.is_linux());
    let spec = bundle_spec(&b, &args(&[]), None).unwrap();
    let root = spec.root().unwrap();
    // Relative to the bundle, not to the caller.
    assert_eq!(root.path, dir.path().join("rootfs"));
    assert!(root.readonly);
    let process = spec.process().unwrap();
    assert_eq!(process.args, ["sh"]);
    assert!(process.terminal);
    assert_eq!(process.no_new_privileges, Some(true));
    assert_eq!(process.rlimits.as_ref().unwrap()[0].hard, 1024);
    assert_eq!(spec.hostname(), Some("runc"));
    assert!(spec.mounts().iter().all(|m| matches!(m, Mount::Kernel(_))));
    // COMMAND replaces its arguments; -t asks for a terminal of this size.
    let (_dir, b) = bundle(&RUNC_SPEC.replace(r#""terminal": true"#, r#""terminal": false"#));
    let spec = bundle_spec(&b, &args(&["-t", "--", "echo", "hi"]), Some((30, 100))).unwrap();
    let process = spec.process().unwrap();
    assert_eq!(process.args, ["echo", "hi"]);
    assert!(process.terminal);
    assert_eq!(process.console_size.unwrap().width, 100);
}

#[test]
fn a_bundle_field_hcsrun_cannot_honour_is_named() {
    let (_dir, b) =
        bundle(&RUNC_SPEC.replace(r#""linux": {"#, r#""linux": {"intelRdt": {"closID": "x"},"#));
    let e = format!("{:#}", bundle_spec(&b, &args(&[]), None).unwrap_err());
    assert!(
        e.ends_with("config.json: linux.intelRdt: not supported by hcsrun (Intel RDT)"),
        "{e}"
    );
    let (_dir, b) = bundle(&RUNC_SPEC.replace(r#""linux": {"#, r#""linux": {"bogus": 1,"#));
    let e = format!("{:#}", bundle_spec(&b, &args(&[]), None).unwrap_err());
    assert!(
        e.ends_with("linux.bogus: unknown field: not in the OCI runtime spec"),
        "{e}"
    );
    let (_dir, b) = bundle(&RUNC_SPEC.replace(
        r#""hostname": "runc","#,
        r#""hostname": "runc", "hooks": {"poststop": [{"path": "/bin/true"}]},"#,
    ));
    let e = format!("{:#}", bundle_spec(&b, &args(&[]), None).unwrap_err());
    assert!(
        e.ends_with("hooks: not supported by hcsrun run, which runs no hooks"),
        "{e}"
    );
    // A pid namespace to join: refused, as the holder starts pid 1 in a
    // new one.
    let (_dir, b) = bundle(&RUNC_SPEC.replace(
        r#""type": "pid""#,
        r#""type": "pid", "path": "/proc/1/ns/pid""#,
    ));
    let e = format!("{:#}", bundle_spec(&b, &args(&[]), None).unwrap_err());
    assert!(
        e.contains("linux.namespaces: a new pid namespace is required here"),
        "{e}"
    );
    let (_dir, b) = bundle(&RUNC_SPEC.replace(r#""path": "rootfs""#, r#""path": "nowhere""#));
    let e = format!("{:#}", bundle_spec(&b, &args(&[]), None).unwrap_err());
    assert!(
        e.contains("root.path: ") && e.ends_with("nowhere does not exist"),
        "{e}"
    );
}

#[test]
fn flags_a_bundle_says_for_itself_are_refused() {
    for (words, flag) in [
        (&["-e", "A=1"][..], "-e"),
        (&["-w", "/tmp"], "-w"),
        (&["-u", "1000"], "-u"),
        (&["--memory", "64m"], "--memory"),
        (&["--cap-add", "kill"], "--cap-add"),
        (&["--privileged"], "--privileged"),
        (&["--read-only"], "--read-only"),
        (&["--pids-limit", "5"], "--pids-limit"),
    ] {
        let e = refuse_with_bundle(&args(words), true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!("{flag} cannot be used with --bundle: set it in the bundle's config.json")
        );
    }
    for fine in [
        &["--name", "b1", "-i", "-t", "--rm", "--stop-timeout", "3"][..],
        &[
            "--keep",
            "--isolation",
            "hyperv",
            "--network",
            "container:x",
        ],
    ] {
        refuse_with_bundle(&args(fine), true).unwrap();
    }
    let e = refuse_with_bundle(&args(&["--layer", "/"]), true).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("--layer cannot be used with a Linux --bundle"));
    // A Windows bundle takes its layers from the flags, as before.
    refuse_with_bundle(&args(&["--layer", "/"]), false).unwrap();
}

#[test]
fn linux_flags_need_a_service_that_runs_linux() {
    refuse_without_linux(&args(&["-m", "64m", "--cpu-shares", "500"]), "vmcompute").unwrap();
    let e = refuse_without_linux(&args(&["--ulimit", "nofile=5"]), "vmcompute").unwrap_err();
    assert_eq!(
        e.to_string(),
        "--ulimit is for Linux containers: the vmcompute compute service runs Windows-schema \
         containers (use --service linux)"
    );
}

#[test]
fn flags_give_a_linux_spec_with_the_layers_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let layer = dir.path().join("layer");
    std::fs::create_dir_all(layer.join("etc")).unwrap();
    std::fs::write(layer.join("etc/passwd"), "web:x:33:34::/var/www:/bin/sh\n").unwrap();
    std::fs::write(layer.join("etc/group"), "www:x:34:\nextra:x:70:web\n").unwrap();
    let scratch = dir.path().join("scratch");
    let option = LayerOption {
        layer_folder_path: scratch.to_string_lossy().into_owned(),
        layer_paths: vec![layer.to_string_lossy().into_owned()],
    };
    let facts = Facts::probe(2).unwrap();
    let args = args(&[
        "-u",
        "web",
        "--group-add",
        "www",
        "--read-only",
        "--",
        "true",
    ]);
    let spec = flags_spec("c1", &args, &facts, Some(&option), None).unwrap();
    let user = &spec.process().unwrap().user;
    assert_eq!((user.uid, user.gid), (33, 34));
    assert_eq!(user.additional_gids, [70, 34]);
    assert_eq!(spec.root().unwrap().path, layer);
    // Earlier writes in a scratch folder count: they are on top.
    std::fs::create_dir_all(scratch.join("upper/etc")).unwrap();
    std::fs::write(scratch.join("upper/etc/passwd"), "web:x:44:44::/:/bin/sh\n").unwrap();
    let spec = flags_spec("c1", &args, &facts, Some(&option), None).unwrap();
    assert_eq!(spec.process().unwrap().user.uid, 44);
}
