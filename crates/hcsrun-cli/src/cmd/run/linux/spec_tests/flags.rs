//! Each resource, mount and process flag's effect on the spec.

use serde_json::json;

use super::*;

#[test]
fn limits() {
    let r = |words: &[&str]| spec(words)["linux"]["resources"].clone();
    assert_eq!(r(&["--pids-limit", "50"])["pids"], json!({"limit": 50}));
    assert_eq!(r(&["--pids-limit", "0"])["pids"], json!({"limit": -1}));
    assert_eq!(r(&["--pids-limit", "-1"])["pids"], json!({"limit": -1}));
    assert_eq!(
        r(&["--memory", "6500k"])["memory"],
        json!({"limit": 6_656_000, "swap": 13_312_000})
    );
    assert_eq!(
        r(&["-m", "64m", "--memory-swap", "100m"])["memory"],
        json!({"limit": 64 << 20, "swap": 100 << 20})
    );
    assert_eq!(
        r(&["-m", "64m", "--memory-swap", "-1"])["memory"],
        json!({"limit": 64 << 20, "swap": -1})
    );
    assert_eq!(
        error(&["--memory-swap", "1g"]),
        "You should always set the Memory limit when using Memoryswap limit, see usage"
    );
    assert_eq!(
        error(&["-m", "64m", "--memory-swap", "32m"]),
        "Minimum memoryswap limit should be larger than memory limit, see usage"
    );
    // No swap accounting: docker limits memory only.
    let facts = Facts {
        swap_limit: false,
        ..facts()
    };
    let s = build_with(&["-m", "64m", "--memory-swap", "1g"], &facts, &inputs()).unwrap();
    assert_eq!(
        s["linux"]["resources"]["memory"],
        json!({"limit": 64 << 20})
    );

    assert_eq!(
        r(&["--cpus", "1.5"])["cpu"],
        json!({"quota": 150_000, "period": 100_000})
    );
    assert_eq!(r(&["--cpus", "0.01"])["cpu"]["quota"], 1000);
    assert_eq!(r(&["--cpu-maximum", "2500"])["cpu"]["quota"], 100_000);
    assert_eq!(r(&["--cpu-maximum", "1"])["cpu"]["quota"], 1000);
    assert_eq!(r(&["--cpu-count", "2"])["cpu"], json!({"cpus": "0-1"}));
    assert!(r(&["--cpu-count", "9"]).get("cpu").is_none());
    assert_eq!(
        r(&["--cpu-shares", "262144"])["cpu"],
        json!({"shares": 262_144})
    );
    assert_eq!(
        error(&["--cpu-shares", "1"]),
        "--cpu-shares 1: a Linux container's CPU shares are 2 to 262144 (docker's range)"
    );
    let s = spec(&[
        "--ulimit",
        "nofile=100:200",
        "--ulimit",
        "core=0",
        "--ulimit",
        "nofile=300",
    ]);
    assert_eq!(
        s["process"]["rlimits"],
        json!([{"type": "RLIMIT_NOFILE", "soft": 300, "hard": 300},
               {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}])
    );
    let typed = validated(&spec(&["--ulimit", "nproc=-1"]));
    assert_eq!(
        typed.process().unwrap().rlimits.as_ref().unwrap()[0].soft,
        u64::MAX
    );
    let typed = validated(&spec(&["--pids-limit", "7", "-m", "8m"]));
    assert_eq!(typed.resources().pids_limit, Some(Limit::Max(7)));
    assert_eq!(typed.resources().memory.limit, Some(Limit::Max(8 << 20)));
}

#[test]
fn read_only_root() {
    let s = spec(&["--read-only"]);
    assert_eq!(s["root"]["readonly"], true);
    for mount in s["mounts"].as_array().unwrap() {
        let ro = strings(&mount["options"]).contains(&"ro".to_owned());
        let dst = mount["destination"].as_str().unwrap();
        assert_eq!(ro, dst.starts_with("/sys"), "{dst}");
    }
}

#[test]
fn devices_groups_users_sysctls() {
    let inputs = Inputs {
        account: Account {
            uid: 1000,
            gid: 100,
            additional_gids: vec![10, 20],
            home: "/home/u".into(),
        },
        devices: vec![DeviceNode {
            path: "/dev/kmsg".into(),
            kind: "c",
            major: 1,
            minor: 11,
            file_mode: 0o644,
            uid: 0,
            gid: 0,
            access: "r".into(),
        }],
        ..inputs()
    };
    let s = build_with(&["--sysctl", "net.ipv4.ip_forward=1"], &facts(), &inputs).unwrap();
    let typed = validated(&s);
    assert_eq!(
        s["process"]["user"],
        json!({"uid": 1000, "gid": 100, "additionalGids": [10, 20]})
    );
    assert!(strings(&s["process"]["env"]).contains(&"HOME=/home/u".to_owned()));
    assert_eq!(
        s["linux"]["devices"],
        json!([{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o644,
                "uid": 0, "gid": 0}])
    );
    let rules = s["linux"]["resources"]["devices"].as_array().unwrap();
    assert_eq!(
        rules.last().unwrap(),
        &json!({"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"})
    );
    assert_eq!(typed.sysctl()["net.ipv4.ip_forward"], "1");
}

#[test]
fn mounts_as_docker_orders_them() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().to_str().unwrap();
    let s = spec(&[
        "-v",
        &format!("{src}:/data/sub:ro"),
        "-v",
        &format!("{src}:/data"),
        "--tmpfs",
        "/run:size=1m,exec",
        "--tmpfs",
        "/dev/shm:size=1g",
    ]);
    let mounts = s["mounts"].as_array().unwrap();
    let dsts: Vec<&str> = mounts
        .iter()
        .map(|m| m["destination"].as_str().unwrap())
        .collect();
    // docker's /dev/shm gives way to the user's; parents before children.
    assert_eq!(
        dsts,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/data",
            "/run",
            "/data/sub",
            "/dev/shm"
        ]
    );
    assert_eq!(strings(&mounts[8]["options"]), ["rbind", "rro", "rprivate"]);
    assert_eq!(strings(&mounts[6]["options"]), ["rbind", "rprivate"]);
    assert_eq!(
        strings(&mounts[7]["options"]),
        ["nosuid", "nodev", "rprivate", "size=1m", "exec"]
    );
    // Before 5.12, read-only binds are read-only at the top only.
    let old = Facts {
        kernel: KernelVersion {
            major: 5,
            minor: 10,
        },
        ..facts()
    };
    let s = build_with(&["-v", &format!("{src}:/x:ro")], &old, &inputs()).unwrap();
    assert_eq!(
        strings(&s["mounts"][7]["options"]),
        ["rbind", "ro", "rprivate"]
    );

    assert_eq!(
        error(&["-v", &format!("{src}:/run"), "--tmpfs", "/run"]),
        "Duplicate mount point: /run"
    );
    assert!(
        error(&["-v", &format!(r"{src}:C:\data")]).contains("is not a path in a Linux container")
    );
    assert!(error(&["-v", &format!(r"{src}:\\.\pipe\p")]).contains("must be a unix socket"));
    let socket = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let s = spec(&["-v", &format!(r"{}:\\.\pipe\engine", socket.display())]);
    assert_eq!(s["mounts"][7]["destination"], "/run/pipe/engine");
}

#[test]
fn process_flags() {
    let s = build(
        "c1",
        &args(&["-t", "-w", "/tmp"]),
        &facts(),
        &inputs(),
        Some((33, 111)),
    )
    .unwrap();
    let p = &s["process"];
    assert_eq!(
        (p["terminal"].clone(), p["cwd"].clone()),
        (json!(true), json!("/tmp"))
    );
    assert_eq!(p["consoleSize"], json!({"height": 33, "width": 111}));
    assert!(strings(&p["env"]).iter().any(|e| e.starts_with("TERM=")));
    let inputs = Inputs {
        env: vec!["PATH=/bin".into(), "A=1".into(), "HOME=/h".into()],
        ..inputs()
    };
    let s = build_with(&["--hostname", "box"], &facts(), &inputs).unwrap();
    assert_eq!(
        strings(&s["process"]["env"]),
        ["PATH=/bin", "HOSTNAME=box", "A=1", "HOME=/h"]
    );
    assert!(error(&["-w", "tmp"]).contains("must be an absolute path"));
}
