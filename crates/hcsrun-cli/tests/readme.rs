//! The README's examples of `hcsrun run`, run as shown, in a shell in a
//! directory of their own, and compared with what the README shows. Each
//! command is first looked up in the README, so that the two cannot drift
//! apart.

mod common;

use std::{fs, path::Path, process::Command};

use common::HCSRUN;
use hcs_testkit::require_root;

const README: &str = include_str!("../../../README.md");

/// Runs `script` with `sh -c` in `dir`, hcsrun first on `PATH`; returns
/// (exit code, stdout, stderr).
fn shell(dir: &Path, script: &str) -> (Option<i32>, String, String) {
    let bin = Path::new(HCSRUN).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("HCSRUN_LOG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A README example: `command` must appear in the README (as written in
/// a table cell, where `|` is `\|`, or in a console block after `$ `).
fn example(dir: &Path, command: &str) -> (Option<i32>, String, String) {
    let in_table = format!("`{}`", command.replace('|', r"\|"));
    let in_console = format!("$ {command}\n");
    assert!(
        README.contains(&in_table) || README.contains(&in_console),
        "not in the README: {command}"
    );
    shell(dir, command)
}

/// An example that succeeds and prints `stdout` (anything, if `None`).
fn prints(dir: &Path, command: &str, stdout: Option<&str>) {
    let (code, out, err) = example(dir, command);
    assert_eq!(code, Some(0), "{command}: {err}");
    if let Some(expected) = stdout {
        assert_eq!(out, expected, "{command}: {err}");
    }
}

/// An example that fails and says exactly `stderr`.
fn says(dir: &Path, command: &str, stderr: &str) {
    let (code, _, err) = example(dir, command);
    assert_eq!(code, Some(125), "{command}: {err}");
    assert_eq!(err, stderr, "{command}");
}

fn clean(paths: &[&str]) {
    for path in paths {
        let _ = fs::remove_dir_all(path);
    }
}

#[test]
#[ignore = "needs root"]
fn the_readmes_run_examples_run_as_shown() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kept = [
        "/var/lib/hcsrun/scratch/k1",
        "/var/lib/hcsrun/scratch/k2",
        "/tmp/s1",
        "/tmp/opts-scratch",
    ];
    clean(&kept);
    for line in [
        "mkdir -p busybox-rootfs/bin",
        "cp /bin/busybox busybox-rootfs/bin/",
        "chroot busybox-rootfs /bin/busybox --install -s /bin",
    ] {
        assert!(README.contains(&format!("\n{line}\n")), "{line}");
        let (code, _, err) = shell(d, line);
        assert_eq!(code, Some(0), "{line}: {err}");
    }

    prints(d, "hcsrun run -- echo hello", Some("hello\n"));
    prints(d, "hcsrun run -- sh -c 'exit 3'; echo $?", Some("3\n"));
    // The table, row by row.
    prints(d, "hcsrun run --name web1 -- hostname", Some("web1\n"));
    prints(d, "hcsrun run --rm -- true", Some(""));
    prints(
        d,
        "hcsrun run --keep --name k1 -- sh -c 'echo x > /f'",
        Some(""),
    );
    prints(d, "echo hi | hcsrun run -i -- tr a-z A-Z", Some("HI\n"));
    prints(
        d,
        "hcsrun run -e GREETING=hi -- sh -c 'echo $GREETING'",
        Some("hi\n"),
    );
    prints(d, "hcsrun run -w /tmp -- pwd", Some("/tmp\n"));
    prints(
        d,
        "hcsrun run -u daemon -- id",
        Some("uid=1(daemon) gid=1(daemon) groups=1(daemon)\n"),
    );
    prints(d, "hcsrun run --hostname box -- hostname", Some("box\n"));
    prints(
        d,
        r#"hcsrun run -v "$PWD":/work:ro -- ls /work"#,
        Some("busybox-rootfs\n"),
    );
    prints(
        d,
        "hcsrun run --layer ./busybox-rootfs -- /bin/sh -c 'echo hi'",
        Some("hi\n"),
    );
    prints(d, "hcsrun run --scratch /tmp/s1 -- touch /new", Some(""));
    assert!(Path::new("/tmp/s1/upper/new").exists());
    prints(d, "hcsrun run --isolation hyperv -- true", Some(""));
    prints(d, "hcsrun run --memory 256m -- sh", Some(""));
    prints(
        d,
        "hcsrun run --memory 256m --memory-swap 512m -- sh",
        Some(""),
    );
    prints(d, "hcsrun run --cpus 0.5 -- sh", Some(""));
    prints(d, "hcsrun run --cpu-count 1 -- nproc", Some("1\n"));
    prints(d, "hcsrun run --cpu-shares 500 -- sh", Some(""));
    prints(d, "hcsrun run --cpu-maximum 2500 -- sh", Some(""));
    prints(d, "hcsrun run --pids-limit 100 -- sh", Some(""));
    prints(
        d,
        "hcsrun run --ulimit nofile=1024:2048 -- sh -c 'ulimit -n'",
        Some("1024\n"),
    );
    prints(
        d,
        "hcsrun run --cap-drop ALL --cap-add KILL -- grep CapEff /proc/self/status",
        Some("CapEff:\t0000000000000020\n"),
    );
    prints(
        d,
        "hcsrun run --privileged -- ls /dev/kmsg",
        Some("/dev/kmsg\n"),
    );
    prints(
        d,
        "hcsrun run --security-opt no-new-privileges -- grep NoNewPrivs /proc/self/status",
        Some("NoNewPrivs:\t1\n"),
    );
    prints(
        d,
        "hcsrun run --read-only --tmpfs /tmp -- touch /tmp/x",
        Some(""),
    );
    prints(d, "hcsrun run --tmpfs /run:size=64m -- df /run", None);
    prints(
        d,
        "hcsrun run --device /dev/null:/dev/mynull -- sh -c 'echo x > /dev/mynull'",
        Some(""),
    );
    prints(
        d,
        "hcsrun run -u 1000:1000 --group-add 10 -- id -G",
        Some("1000 10\n"),
    );
    prints(
        d,
        "hcsrun run --sysctl net.ipv4.ip_forward=1 -- cat /proc/sys/net/ipv4/ip_forward",
        Some("1\n"),
    );
    prints(d, "hcsrun run --stop-timeout 2 -- sleep 1", Some(""));

    // A shared network.
    let (code, out, err) = shell(
        d,
        "hcsrun run --name web1 -- sleep 5 & \
         sleep 1; hcsrun run --network container:web1 -- grep -c lo: /proc/net/dev; wait",
    );
    assert!(README.contains("$ hcsrun run --name web1 -- sleep 5 &\n"));
    assert!(README.contains(
        "$ sleep 1; hcsrun run --network container:web1 -- grep -c lo: /proc/net/dev\n1\n"
    ));
    assert_eq!((code, out.as_str()), (Some(0), "1\n"), "{err}");

    // Refusals, one line each.
    says(
        d,
        "hcsrun run --memory 512k -- true",
        "hcsrun: run: invalid value '512k' for '--memory <SIZE>': Minimum memory limit allowed \
         is 6MB\nSee 'hcsrun run --help'.\n",
    );
    says(
        d,
        "hcsrun run -v /tmp:/dev -- true",
        "hcsrun: run: volume \"/tmp:/dev\": /dev cannot be mounted over: it is the container's \
         own /dev, which the compute service makes\n",
    );
    says(
        d,
        "hcsrun run --cap-add nope -- true",
        "hcsrun: run: unknown capability: \"CAP_NOPE\"\n",
    );

    // A Linux bundle from `runc spec`.
    prints(
        d,
        "mkdir bundle && cp -a busybox-rootfs bundle/rootfs",
        None,
    );
    let (code, _, err) = example(d, "(cd bundle && runc spec)");
    assert_eq!(
        code,
        Some(0),
        "runc spec (scripts/setup.sh installs runc): {err}"
    );
    // `runc spec` asks for a terminal: the container writes to one, which
    // ends lines with CR LF. Its ambient capabilities that no kernel raises
    // are named on stderr, as runc names them.
    let (code, out, err) = example(
        d,
        "hcsrun run --bundle bundle -- sh -c 'echo hello from $(hostname)'",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "hello from runc\r\n", "{err}");
    let warned: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix(" WARN process.capabilities.ambient: "))
        .filter_map(|l| l.split_once(" is not raised: "))
        .map(|(cap, _)| cap)
        .collect();
    assert_eq!(
        (warned.as_slice(), err.lines().count()),
        (
            &["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"][..],
            3
        ),
        "{err}"
    );
    assert!(README.contains("warning each (`process.capabilities.ambient: CAP_KILL is not raised"));
    let (code, _, err) = example(
        d,
        r#"cp -a bundle rdt && sed -i 's/"linux": {/"linux": {"intelRdt": {"closID": "x"},/' rdt/config.json"#,
    );
    assert_eq!(code, Some(0), "{err}");
    says(
        d,
        "hcsrun run --bundle rdt -- true",
        "hcsrun: run: rdt/config.json: linux.intelRdt: not supported by hcsrun (Intel RDT)\n",
    );

    // An options file.
    let (code, _, err) = shell(
        d,
        r#"echo '{"layers": {"layer_folder_path": "/tmp/opts-scratch", "layer_paths": ["busybox-rootfs"]},
         "hyperv": {"is_hyperv": true}}' > opts.json"#,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(README.contains(
        r#"$ echo '{"layers": {"layer_folder_path": "/tmp/opts-scratch", "layer_paths": ["busybox-rootfs"]},
         "hyperv": {"is_hyperv": true}}' > opts.json"#
    ));
    prints(
        d,
        "hcsrun run --options opts.json -- sh -c 'echo kept > /f'",
        Some(""),
    );
    prints(d, "cat /tmp/opts-scratch/upper/f", Some("kept\n"));

    // Logs, and errors.
    let (code, out, _) = example(
        d,
        "hcsrun --debug --log-format json run -- true 2>&1 | head -1",
    );
    assert_eq!(code, Some(0));
    let line: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(line["fields"]["message"], "translating spec", "{out}");
    says(
        d,
        "hcsrun run --layer /no/such -- true",
        "hcsrun: run: layer /no/such does not exist\n",
    );
    let (code, _, err) = example(d, "hcsrun run --name c1 -- nosuchcmd");
    assert_eq!(code, Some(127));
    assert_eq!(
        err,
        "hcsrun: run: exec nosuchcmd: no such file or directory in the container \
         (container c1, CreateProcess)\n"
    );
    let (code, _, err) = example(
        d,
        "hcsrun run --keep --name k2 -- true; hcsrun run --name k2 -- true",
    );
    assert_eq!(code, Some(125));
    assert!(
        README.contains(&format!("\n{err}")),
        "the README does not show: {err}"
    );
    let (code, out, err) = example(d, "hcsrun rm k2");
    assert_eq!((code, out.as_str()), (Some(0), "k2\n"), "{err}");
    assert!(!Path::new("/var/lib/hcsrun/scratch/k2").exists());
    clean(&kept);
}

#[test]
#[ignore = "needs root"]
fn the_readmes_container_verbs_run_as_shown() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for id in ["app1", "app2", "job1"] {
        shell(d, &format!("hcsrun rm -f {id}"));
    }
    prints(
        d,
        "hcsrun run -d --name app1 -- sh -c 'echo started; sleep 600'",
        Some("app1\n"),
    );
    prints(d, "hcsrun exec app1 hostname", Some("app1\n"));
    prints(d, "hcsrun exec app1 sh -c 'exit 3'; echo $?", Some("3\n"));
    prints(d, "hcsrun logs app1", Some("started\n"));
    prints(d, "hcsrun stop -t 1 app1", Some("app1\n"));
    prints(d, "hcsrun wait app1", Some("137\n"));
    prints(d, "hcsrun rm app1", Some("app1\n"));
    // The table, row by row.
    prints(d, "hcsrun run -d --name app2 -- sleep 600", Some("app2\n"));
    prints(
        d,
        "hcsrun create --name job1 -- sh -c 'echo done'",
        Some("job1\n"),
    );
    prints(d, "hcsrun start job1", Some("job1\n"));
    prints(d, "hcsrun ps -a", None);
    prints(d, "hcsrun exec -u daemon app2 id -u", Some("1\n"));
    prints(d, "hcsrun wait job1", Some("0\n"));
    prints(d, "hcsrun logs --tail 5 job1", Some("done\n"));
    let (_, top, _) = example(d, "hcsrun top app2");
    assert!(top.contains("sleep"), "{top}");
    let (_, stats, _) = example(d, "hcsrun stats --no-stream app2");
    assert!(stats.contains("app2"), "{stats}");
    prints(d, "hcsrun pause app2", Some("app2\n"));
    prints(d, "hcsrun unpause app2", Some("app2\n"));
    prints(d, "hcsrun update --memory 512m app2", Some("app2\n"));
    prints(d, "hcsrun kill -s HUP app2", Some("app2\n"));
    prints(d, "hcsrun stop -t 1 app2", Some("app2\n"));
    let (code, inspect, err) = example(d, "hcsrun inspect job1");
    assert_eq!(code, Some(0), "{err}");
    assert!(inspect.contains("\"ExitCode\": 0"), "{inspect}");
    prints(d, "hcsrun rm -f app2 job1", Some("app2\njob1\n"));
}
