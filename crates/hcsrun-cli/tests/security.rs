//! What a container of `hcsrun run` is allowed, seen from inside it (and
//! its cgroup, from outside): docker's defaults, docker's security
//! options, and a Linux bundle's own settings. These need root, and the
//! Linux compute service applying the spec it is sent.

mod common;

use std::{fs, path::Path, time::Duration};

use common::{hcsrun, output, started, text, wait_within};
use hcs_testkit::require_root;

/// `/proc/self/status` lines of a container run with `flags`.
fn status(flags: &[&str], fields: &str) -> String {
    let mut args = vec!["run"];
    args.extend(flags);
    let pattern = format!("^({fields}):");
    args.extend(["--", "grep", "-E", &pattern, "/proc/self/status"]);
    output(&args)
}

#[test]
#[ignore = "needs root"]
fn a_plain_run_is_confined_as_dockers() {
    require_root();
    assert_eq!(
        status(&[], "CapEff|CapBnd|NoNewPrivs|Seccomp"),
        "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t0\nSeccomp:\t2\n"
    );
    // docker's masked paths: empty (those this kernel has: /proc/kcore is
    // not on every machine).
    assert_eq!(
        output(&[
            "run",
            "--",
            "sh",
            "-c",
            "ls -A /sys/firmware | wc -l; wc -c < /proc/keys; wc -c < /proc/timer_list"
        ]),
        "0\n0\n0\n"
    );
    // docker's profile refuses a user namespace without CAP_SYS_ADMIN;
    // unconfined, the kernel allows it.
    let out = hcsrun(&["run", "--", "unshare", "-U", "-r", "true"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "unshare -U under the default profile"
    );
    output(&[
        "run",
        "--security-opt",
        "seccomp=unconfined",
        "--",
        "unshare",
        "-U",
        "-r",
        "true",
    ]);
    assert_eq!(
        status(&["--security-opt", "seccomp=unconfined"], "Seccomp"),
        "Seccomp:\t0\n"
    );
}

#[test]
#[ignore = "needs root"]
fn capabilities_as_asked() {
    require_root();
    assert_eq!(
        status(&["--cap-drop", "ALL", "--cap-add", "kill"], "CapEff|CapBnd"),
        "CapEff:\t0000000000000020\nCapBnd:\t0000000000000020\n"
    );
    // CAP_SYS_ADMIN, and the profile resolved for it: mount works.
    output(&[
        "run",
        "--cap-add",
        "SYS_ADMIN",
        "--",
        "mount",
        "-t",
        "tmpfs",
        "none",
        "/mnt",
    ]);
    // Every capability there is to give: those of hcsrun's own bounding
    // set (this test's), as docker gives those of its daemon's.
    let own = fs::read_to_string("/proc/self/status").unwrap();
    let bounding = own.lines().find(|l| l.starts_with("CapBnd:")).unwrap();
    assert_eq!(
        status(&["--privileged"], "CapEff|Seccomp"),
        format!(
            "CapEff:{}\nSeccomp:\t0\n",
            bounding.strip_prefix("CapBnd:").unwrap()
        )
    );
    // The host's devices, with --privileged only.
    output(&["run", "--privileged", "--", "test", "-c", "/dev/kmsg"]);
    let out = hcsrun(&["run", "--", "test", "-e", "/dev/kmsg"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
#[ignore = "needs root"]
fn no_new_privileges_and_ulimits() {
    require_root();
    assert_eq!(
        status(&["--security-opt", "no-new-privileges"], "NoNewPrivs"),
        "NoNewPrivs:\t1\n"
    );
    assert_eq!(
        output(&[
            "run",
            "--ulimit",
            "nofile=100:200",
            "--",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn"
        ]),
        "100\n200\n"
    );
}

#[test]
#[ignore = "needs root"]
fn a_read_only_root_and_tmpfs_mounts() {
    require_root();
    assert_eq!(
        output(&[
            "run",
            "--read-only",
            "--tmpfs",
            "/run:size=1m",
            "--",
            "sh",
            "-c",
            "touch /x 2>/dev/null && echo root-writable; touch /dev/shm/y /run/z && echo ok; \
             grep -c '^tmpfs /run tmpfs .*size=1024k' /proc/mounts"
        ]),
        "ok\n1\n"
    );
}

#[test]
#[ignore = "needs root"]
fn pids_limit_stops_forks() {
    require_root();
    // The perl process is one of the five: four children are allowed.
    assert_eq!(
        output(&[
            "run",
            "--pids-limit",
            "5",
            "--",
            "perl",
            "-e",
            "my $n = 0; for (1..10) { my $p = fork; last unless defined $p; \
             if ($p == 0) { sleep 2; exit 0 } $n++ } print qq($n\\n)"
        ]),
        "4\n"
    );
}

#[test]
#[ignore = "needs root"]
fn users_groups_devices_and_sysctls() {
    require_root();
    assert_eq!(
        output(&[
            "run",
            "-u",
            "1000:1000",
            "--group-add",
            "10",
            "--",
            "sh",
            "-c",
            "id -u; id -g; id -G"
        ]),
        "1000\n1000\n1000 10\n"
    );
    assert_eq!(
        output(&[
            "run",
            "--device",
            "/dev/null:/dev/mynull:rw",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--",
            "sh",
            "-c",
            "echo x > /dev/mynull && echo written; cat /proc/sys/net/ipv4/ip_forward"
        ]),
        "written\n1\n"
    );
}

/// The value of the container `id`'s cgroup file `file` (`memory.limit_in_bytes`)
/// in the v1 hierarchy `controller`.
fn cgroup_file(controller: &str, id: &str, file: &str) -> String {
    let path = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join("hcsrun")
        .join(id)
        .join(file);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

#[test]
#[ignore = "needs root"]
fn limits_are_exact() {
    require_root();
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        panic!("this test reads cgroup v1 files; this host is cgroup v2");
    }
    let id = format!("limits-{}", std::process::id());
    let (mut child, _out) = started(
        &[
            "run",
            "--name",
            &id,
            "--memory",
            "6500k",
            "--memory-swap",
            "10m",
            "--pids-limit",
            "50",
            "--cpus",
            "0.5",
            "--",
            "sh",
            "-c",
            "echo up; sleep 2",
        ],
        "up",
    );
    // Exact bytes, not whole MiB.
    assert_eq!(
        cgroup_file("memory", &id, "memory.limit_in_bytes"),
        "6656000"
    );
    assert_eq!(
        cgroup_file("memory", &id, "memory.memsw.limit_in_bytes"),
        (10 << 20).to_string()
    );
    assert_eq!(cgroup_file("pids", &id, "pids.max"), "50");
    assert_eq!(cgroup_file("cpu", &id, "cpu.cfs_quota_us"), "50000");
    assert!(wait_within(&mut child, Duration::from_secs(20)).success());
}

/// A bundle directory: `config` (the `runc spec` output, changed by
/// `change`) around a busybox root file system.
fn busybox_bundle(change: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    fs::create_dir_all(rootfs.join("bin")).unwrap();
    fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    let installed = std::process::Command::new("chroot")
        .arg(&rootfs)
        .args(["/bin/busybox", "--install", "-s", "/bin"])
        .status()
        .unwrap();
    assert!(installed.success());
    let mut config: serde_json::Value = serde_json::from_str(include_str!(
        "../../hcsrun-linux-spec/tests/fixtures/runc-spec.json"
    ))
    .unwrap();
    change(&mut config);
    fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
#[ignore = "needs root"]
fn a_runc_spec_bundle_runs() {
    require_root();
    let bundle = busybox_bundle(|_| {});
    let b = bundle.path().to_str().unwrap();
    let out = hcsrun(&["run", "--bundle", b, "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = hcsrun(&["run", "--bundle", b, "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
#[ignore = "needs root"]
fn a_bundles_settings_are_applied() {
    require_root();
    let bundle = busybox_bundle(|c| {
        let p = &mut c["process"];
        p["terminal"] = false.into();
        p["user"] = serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]});
        let only = serde_json::json!(["CAP_NET_BIND_SERVICE"]);
        p["capabilities"] = serde_json::json!({"bounding": only, "effective": only,
                                               "permitted": only});
        p["rlimits"] = serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]);
        c["mounts"].as_array_mut().unwrap().push(
            serde_json::json!({"destination": "/data", "type": "bind", "source": "data",
                                     "options": ["rbind", "ro"]}),
        );
        c["linux"]["resources"]["pids"] = serde_json::json!({"limit": 20});
    });
    fs::create_dir_all(bundle.path().join("data")).unwrap();
    fs::write(bundle.path().join("data/file"), "from the bundle\n").unwrap();
    let id = format!("bundled-{}", std::process::id());
    // Run from elsewhere: relative paths are the bundle's.
    let (mut child, seen) = started_saying(
        &[
            "run",
            "--name",
            &id,
            "--bundle",
            bundle.path().to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "grep -E '^(Uid|Gid|Groups|CapBnd|NoNewPrivs):' /proc/self/status; ulimit -n; \
             touch /x 2>/dev/null || echo read-only; cat /data/file; echo up; sleep 1",
        ],
        "up",
    );
    assert_eq!(cgroup_file("pids", &id, "pids.max"), "20");
    assert!(wait_within(&mut child, Duration::from_secs(20)).success());
    assert_eq!(
        seen,
        "Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t10 20 \n\
         CapBnd:\t0000000000000400\nNoNewPrivs:\t1\n100\nread-only\nfrom the bundle\n"
    );
}

/// Starts `hcsrun ARGS` and reads the container's output until the line
/// `marker` (at most 20 s); returns hcsrun and what came before.
fn started_saying(args: &[&str], marker: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = common::command()
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (mut seen, mut line) = (String::new(), String::new());
    while line.trim_end() != marker {
        seen.push_str(&line);
        assert!(std::time::Instant::now() < deadline, "never saw {marker:?}");
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!(
                "hcsrun {args:?} ended before {marker:?}: {seen:?}, {:?}",
                child.wait()
            );
        }
    }
    (child, seen)
}
