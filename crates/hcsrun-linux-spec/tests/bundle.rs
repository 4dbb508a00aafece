//! Settings a bundle gives beyond `runc spec`'s: they reach the normalized
//! JSON and the typed view unchanged; paths are the bundle's.

mod common;

use std::{fs, path::Path};

use common::{host, merge, parse, runc_spec};
use hcsrun_linux_spec::{
    Atime, DeviceKind, ExecProcess, Limit, LinuxSpec, Mount, Namespace, Personality, Propagation,
};
use serde_json::{json, Value};

#[test]
fn user_ids_survive_into_the_json() {
    let spec = parse(json!({"process": {"user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 1001], "umask": 63}}})).unwrap();
    let u = &spec.process().unwrap().user;
    assert_eq!((u.uid, u.gid, u.umask), (1000, 1000, Some(0o77)));
    assert_eq!(u.additional_gids, [10, 1001]);
    let json: Value = serde_json::from_str(&spec.to_json()).unwrap();
    assert_eq!(
        json["process"]["user"],
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 1001], "umask": 63})
    );
}

#[test]
fn relative_paths_resolve_against_the_bundle_not_the_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = runc_spec();
    merge(
        &mut spec,
        json!({"root": {"path": "./rootfs"}, "mounts": [
        {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro", "rprivate", "nosuid"]},
        {"destination": "/abs", "source": "/srv/abs", "options": ["bind"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noatime", "mode=1777", "tmpcopyup"]}]}),
    );
    fs::write(dir.path().join("config.json"), spec.to_string()).unwrap();
    let spec = LinuxSpec::from_bundle_on(dir.path(), &host()).unwrap();
    assert_eq!(spec.root().unwrap().path, dir.path().join("rootfs"));
    let binds: Vec<_> = spec.bind_mounts().collect();
    assert_eq!(binds[0].source, dir.path().join("data"));
    assert!(binds[0].readonly && binds[0].recursive && binds[0].flags.nosuid);
    assert_eq!(binds[0].propagation, Some(Propagation::RPrivate));
    assert_eq!(binds[1].source, Path::new("/srv/abs"));
    assert!(!binds[1].recursive && !binds[1].readonly);
    let Mount::Kernel(tmp) = &spec.mounts()[2] else {
        panic!()
    };
    assert!(tmp.copy_up && tmp.flags.nosuid && tmp.standard.is_none());
    assert_eq!(tmp.flags.atime, Some(Atime::Noatime));
    assert_eq!(tmp.data, ["mode=1777"]);
    // The JSON carries the resolved source, so the service needs no bundle.
    let json: Value = serde_json::from_str(&spec.to_json()).unwrap();
    assert_eq!(
        json["mounts"][0]["source"],
        dir.path().join("data").to_str().unwrap()
    );
    assert_eq!(
        LinuxSpec::from_json_on(&spec.to_json(), "/", &host()).unwrap(),
        spec
    );
}

#[test]
fn a_relative_bundle_directory_is_relative_to_the_cwd() {
    let spec = LinuxSpec::from_json_on(&runc_spec().to_string(), "some/bundle", &host()).unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(spec.root().unwrap().path, cwd.join("some/bundle/rootfs"));
}

#[test]
fn linux_settings_are_typed() {
    let spec = parse(json!({
        "process": {"oomScoreAdj": -500},
        "domainname": "example.org",
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                           {"type": "network", "path": "/var/run/netns/n1"}, {"type": "cgroup"}],
            "sysctl": {"net.ipv4.ip_forward": "1", "kernel.domainname": "example.org"},
            "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
                        {"type": "p", "path": "/dev/fifo", "major": 0, "minor": 0}],
            "resources": {
                "memory": {"limit": 134217728, "reservation": 0, "swap": -1, "swappiness": 10, "disableOOMKiller": true},
                "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1,3", "mems": "0"},
                "pids": {"limit": 50},
                "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
                            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
                "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
            },
            "cgroupsPath": "/hcsrun/c1",
            "rootfsPropagation": "rslave",
            "personality": {"domain": "LINUX32"},
            "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
        },
        "hooks": {"createRuntime": [{"path": "/usr/bin/hook", "args": ["hook", "x"]}]}
    }))
    .unwrap();
    assert_eq!(spec.process().unwrap().oom_score_adj, Some(-500));
    assert_eq!(spec.domainname(), Some("example.org"));
    let ns = spec.namespaces();
    assert_eq!(ns.network, Namespace::Join("/var/run/netns/n1".into()));
    assert_eq!((&ns.ipc, &ns.cgroup), (&Namespace::Host, &Namespace::New));
    assert_eq!(spec.sysctl().len(), 2);
    assert_eq!(spec.devices()[0].kind, DeviceKind::Char);
    assert_eq!(spec.devices()[0].file_mode, Some(0o666));
    assert_eq!(spec.devices()[1].kind, DeviceKind::Fifo);
    let r = spec.resources();
    assert_eq!(r.memory.limit, Some(Limit::Max(128 << 20)));
    assert_eq!(r.memory.reservation, None, "0 is unset");
    assert_eq!(r.memory.swap, Some(Limit::Unlimited));
    assert!(r.memory.disable_oom_killer);
    assert_eq!(
        (r.cpu.shares, r.cpu.quota, r.cpu.period),
        (Some(512), Some(Limit::Max(50000)), Some(100000))
    );
    assert_eq!(r.cpu.cpus.as_deref(), Some("0-1,3"));
    assert_eq!(r.pids_limit, Some(Limit::Max(50)));
    assert_eq!(r.block_io.weight, Some(500));
    assert_eq!(r.block_io.throttle_read_bps[0].value, 1 << 20);
    // The spec's rules, then one allowing the device it adds (not the FIFO).
    let rules = spec.device_rules();
    assert_eq!(rules.len(), 3);
    assert!(
        rules[1].allow && rules[1].access.read && rules[1].access.write && !rules[1].access.mknod
    );
    assert_eq!((rules[2].major, rules[2].minor), (Some(10), Some(229)));
    assert_eq!(spec.cgroups_path(), Some(Path::new("/hcsrun/c1")));
    assert_eq!(spec.rootfs_propagation(), Some(Propagation::RSlave));
    assert_eq!(spec.personality(), Some(Personality::Linux32));
    assert_eq!(
        spec.seccomp().unwrap().syscalls().as_ref().unwrap().len(),
        1
    );
    assert!(spec.has_hooks());
    assert_eq!(
        LinuxSpec::from_json_on(&spec.to_json(), "/", &host()).unwrap(),
        spec
    );
}

#[test]
fn exec_processes() {
    let init =
        parse(json!({"process": {"user": {"uid": 1000, "gid": 100, "additionalGids": [5]}}}))
            .unwrap();
    let plain =
        ExecProcess::from_json_on(r#"{"args":["ps"],"env":["A=1"],"cwd":""}"#, &host()).unwrap();
    assert!(!plain.gives_user() && !plain.sets_privileges());
    assert_eq!(plain.user(&init).uid, 1000, "the init process's user");
    let json: Value = serde_json::from_str(&plain.to_json(&init)).unwrap();
    assert_eq!(
        json["user"],
        json!({"uid": 1000, "gid": 100, "additionalGids": [5]})
    );

    let root = ExecProcess::from_json_on(
        r#"{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_SYS_ADMIN"]},"noNewPrivileges":false}"#,
        &host(),
    )
    .unwrap();
    assert!(root.gives_user() && root.sets_privileges());
    assert_eq!(root.user(&init).uid, 0, "its own");
    let json: Value = serde_json::from_str(&root.to_json(&init)).unwrap();
    assert_eq!(json["capabilities"]["bounding"], json!(["CAP_SYS_ADMIN"]));

    for (text, field) in [
        (
            r#"{"args":["x"],"cwd":"/","oomScoreAdj":5000}"#,
            "process.oomScoreAdj",
        ),
        (r#"{"args":["x"],"cwd":"rel"}"#, "process.cwd"),
        (r#"{"args":[],"cwd":"/"}"#, "process.args"),
        (r#"{"args":["x"],"terminall":true}"#, "process.terminall"),
        (r#"[]"#, "process"),
    ] {
        let e = ExecProcess::from_json_on(text, &host()).unwrap_err();
        assert_eq!(e.field().unwrap().field, field, "{text}");
    }
}
