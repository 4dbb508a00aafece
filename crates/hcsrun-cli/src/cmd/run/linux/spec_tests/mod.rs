//! The spec `hcsrun run` builds, flag by flag, checked whole and through
//! `LinuxSpec` (what the compute service is sent).

use clap::Parser;
use hcsrun_linux_spec::{KnownHost, Limit, LinuxSpec, Namespace};
use hcsrun_seccomp::{Arch, KernelVersion, LinuxSeccompAction};
use serde_json::{json, Value};

use super::*;

mod flags;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn args(words: &[&str]) -> Args {
    let mut all = vec!["run"];
    all.extend(words);
    all.extend(["--", "sh"]);
    Cli::try_parse_from(all).unwrap().args
}

fn facts() -> Facts {
    Facts {
        cgroup2: false,
        swap_limit: true,
        last_cap: 40,
        available_caps: (0..=40)
            .filter_map(hcsrun_linux_spec::capability_of_number)
            .collect(),
        arch: Arch::ScmpArchX86_64,
        kernel: KernelVersion { major: 6, minor: 1 },
        cpus: vec![0, 1, 2, 3],
        host_cpus: 4,
    }
}

fn inputs() -> Inputs {
    Inputs {
        account: Account {
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/root".into(),
        },
        env: Vec::new(),
        devices: Vec::new(),
        host_devices: Vec::new(),
        root: "/".into(),
    }
}

fn build_with(words: &[&str], facts: &Facts, inputs: &Inputs) -> anyhow::Result<Value> {
    build("c1", &args(words), facts, inputs, None)
}

/// The spec of `words`, checked by `LinuxSpec` as a host like `facts`.
fn spec(words: &[&str]) -> Value {
    let value = build_with(words, &facts(), &inputs()).unwrap();
    validated(&value);
    value
}

fn validated(value: &Value) -> LinuxSpec {
    let host = KnownHost {
        last_capability: Some(40),
        ..Default::default()
    };
    LinuxSpec::from_json_on(&value.to_string(), "/", &host).unwrap()
}

fn error(words: &[&str]) -> String {
    format!("{:#}", build_with(words, &facts(), &inputs()).unwrap_err())
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SYS_CHROOT",
    "CAP_MKNOD",
    "CAP_AUDIT_WRITE",
    "CAP_SETFCAP",
];

/// The syscalls the spec's seccomp filter allows without conditions.
fn allowed(spec: &Value) -> Vec<String> {
    spec["linux"]["seccomp"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "SCMP_ACT_ALLOW" && r.get("args").is_none_or(Value::is_null))
        .flat_map(|r| strings(&r["names"]))
        .collect()
}

#[test]
fn a_plain_run_is_dockers_default() {
    let s = spec(&[]);
    let p = &s["process"];
    for set in ["bounding", "effective", "permitted"] {
        assert_eq!(strings(&p["capabilities"][set]), DOCKER_CAPS, "{set}");
    }
    assert!(p["capabilities"].get("inheritable").is_none());
    assert!(p["capabilities"].get("ambient").is_none());
    assert_eq!(p["noNewPrivileges"], false);
    assert_eq!(p["oomScoreAdj"], 0);
    assert!(p.get("rlimits").is_none(), "no rlimits unless asked");
    assert_eq!(p["user"], json!({"uid": 0, "gid": 0}));
    assert_eq!(
        strings(&p["env"]),
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME=c1",
            "HOME=/root"
        ]
    );
    let linux = &s["linux"];
    assert_eq!(linux["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    let allowed = allowed(&s);
    assert!(allowed.contains(&"read".to_owned()));
    for refused in [
        "unshare",
        "mount",
        "add_key",
        "keyctl",
        "kexec_load",
        "clone3",
    ] {
        assert!(!allowed.contains(&refused.to_owned()), "{refused} allowed");
    }
    assert_eq!(strings(&linux["maskedPaths"]), defaults::MASKED_PATHS);
    assert!(strings(&linux["maskedPaths"]).contains(&"/sys/firmware".to_owned()));
    assert_eq!(strings(&linux["readonlyPaths"]), defaults::READONLY_PATHS);
    let namespaces: Vec<&str> = linux["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(namespaces, ["pid", "mount", "ipc", "uts", "network"]);
    let mounts: Vec<&str> = s["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["destination"].as_str().unwrap())
        .collect();
    assert_eq!(
        mounts,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm"
        ]
    );
    assert_eq!(
        linux["resources"]["devices"],
        json!(defaults::device_rules())
    );
    assert!(linux.get("devices").is_none());
    assert!(linux["resources"].get("memory").is_none());
    assert_eq!(s["hostname"], "c1");
    assert!(s.get("root").is_none(), "the layers make the root");

    // As the service receives it: the same, typed.
    let typed = validated(&s);
    let caps = typed.process().unwrap().capabilities.unwrap();
    assert_eq!(caps.bounding.bits(), 0xa80425fb);
    assert_eq!(caps.effective, caps.bounding);
    assert!(caps.inheritable.is_empty() && caps.ambient.is_empty());
    assert_eq!(typed.namespaces().cgroup, Namespace::Host);
    assert_eq!(
        typed.seccomp().unwrap().default_action(),
        LinuxSeccompAction::ScmpActErrno
    );
}

#[test]
fn a_cgroup_v2_host_gives_a_cgroup_namespace_as_docker() {
    let facts = Facts {
        cgroup2: true,
        ..facts()
    };
    let s = build_with(&[], &facts, &inputs()).unwrap();
    let last = s["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last, json!({"type": "cgroup"}));
}

#[test]
fn capabilities_and_the_profile_resolved_for_them() {
    let s = spec(&["--cap-add", "sys_admin", "--cap-drop", "CAP_NET_RAW"]);
    let bounding = strings(&s["process"]["capabilities"]["bounding"]);
    assert!(bounding.contains(&"CAP_SYS_ADMIN".to_owned()));
    assert!(!bounding.contains(&"CAP_NET_RAW".to_owned()));
    assert_eq!(
        bounding,
        strings(&s["process"]["capabilities"]["effective"])
    );
    // docker's profile allows mount and unshare to CAP_SYS_ADMIN.
    let allowed = allowed(&s);
    assert!(allowed.contains(&"mount".to_owned()) && allowed.contains(&"unshare".to_owned()));

    let s = spec(&["--cap-drop", "ALL", "--cap-add", "kill"]);
    assert_eq!(
        strings(&s["process"]["capabilities"]["bounding"]),
        ["CAP_KILL"]
    );
    assert_eq!(
        error(&["--cap-add", "CAP_NOPE"]),
        r#"unknown capability: "CAP_NOPE""#
    );
}

#[test]
fn privileged_is_dockers() {
    let node = |path: &str, minor| DeviceNode {
        path: path.into(),
        kind: "c",
        major: 1,
        minor,
        file_mode: 0o666,
        uid: 0,
        gid: 0,
        access: "rwm".into(),
    };
    let inputs = Inputs {
        host_devices: vec![node("/dev/null", 3), node("/dev/kmsg", 11)],
        devices: vec![node("/dev/null", 3), node("/dev/other-null", 3)],
        ..inputs()
    };
    let s = build_with(&["--privileged"], &facts(), &inputs).unwrap();
    validated(&s);
    assert_eq!(
        s["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .len(),
        41
    );
    let linux = &s["linux"];
    for absent in ["seccomp", "maskedPaths", "readonlyPaths"] {
        assert!(linux.get(absent).is_none(), "{absent}");
    }
    assert_eq!(
        linux["resources"]["devices"],
        json!([{"allow": true, "access": "rwm"}])
    );
    let paths: Vec<&str> = linux["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/dev/other-null", "/dev/null", "/dev/kmsg"]);
    for mount in s["mounts"].as_array().unwrap() {
        if mount["destination"] == "/sys" || mount["destination"] == "/sys/fs/cgroup" {
            assert!(
                !strings(&mount["options"]).contains(&"ro".to_owned()),
                "{mount}"
            );
        }
    }
    // A profile given is ignored too, as docker does.
    let s = build_with(
        &["--privileged", "--security-opt", "seccomp=builtin"],
        &facts(),
        &inputs,
    )
    .unwrap();
    assert!(s["linux"].get("seccomp").is_none());
}

#[test]
fn security_options() {
    assert!(spec(&["--security-opt", "seccomp=unconfined"])["linux"]
        .get("seccomp")
        .is_none());
    let s = spec(&["--security-opt", "no-new-privileges"]);
    assert_eq!(s["process"]["noNewPrivileges"], true);
    let s = spec(&["--security-opt", "no-new-privileges=false"]);
    assert_eq!(s["process"]["noNewPrivileges"], false);
    let s = spec(&["--security-opt", "systempaths=unconfined"]);
    assert!(s["linux"].get("maskedPaths").is_none());
    let s = spec(&["--security-opt", "writable-cgroups=true"]);
    let cgroup = s["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/sys/fs/cgroup")
        .unwrap()
        .clone();
    assert!(!strings(&cgroup["options"]).contains(&"ro".to_owned()));
    // A profile of one's own, resolved for the container's capabilities.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(
        &path,
        r#"{"defaultAction": "SCMP_ACT_LOG", "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", path.display());
    let s = spec(&["--security-opt", &opt]);
    assert_eq!(s["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_LOG");
    assert_eq!(
        s["linux"]["seccomp"]["syscalls"].as_array().unwrap().len(),
        1
    );
    let s = spec(&["--security-opt", &opt, "--cap-add", "SYS_ADMIN"]);
    assert_eq!(
        s["linux"]["seccomp"]["syscalls"].as_array().unwrap().len(),
        2
    );
}
