//! Each field hcsrun cannot honour is refused by name; unknown keys too.

mod common;

use common::{host, merge, parse, runc_spec};
use hcsrun_linux_spec::{KnownHost, LinuxSpec, SpecError};
use serde_json::{json, Value};

fn refused(patch: Value) -> hcsrun_linux_spec::SpecFieldError {
    match parse(patch.clone()) {
        Err(SpecError::Field(e)) => e,
        other => panic!("{patch}: {other:?}"),
    }
}

#[test]
fn each_refused_field_is_named() {
    let cases: Vec<(Value, &str, &str)> = vec![
        // Sections and versions.
        (
            json!({"windows": {"layerFolders": []}}),
            "windows",
            "not supported by hcsrun",
        ),
        (json!({"solaris": {}}), "solaris", "not supported by hcsrun"),
        (
            json!({"ociVersion": "2.0.0"}),
            "ociVersion",
            "not a 1.x version",
        ),
        (json!({"linux": null}), "linux", "required"),
        // process
        (
            json!({"process": {"commandLine": "sh"}}),
            "process.commandLine",
            "not supported by hcsrun",
        ),
        (
            json!({"process": {"ioPriority": {"class": "IOPRIO_CLASS_RT", "priority": 1}}}),
            "process.ioPriority",
            "not supported",
        ),
        (
            json!({"process": {"scheduler": {"policy": "SCHED_OTHER"}}}),
            "process.scheduler",
            "not supported",
        ),
        (
            json!({"process": {"execCPUAffinity": {"initial": "0"}}}),
            "process.execCPUAffinity",
            "not supported",
        ),
        (
            json!({"process": {"user": {"username": "app"}}}),
            "process.user.username",
            "not supported",
        ),
        (
            json!({"process": {"user": {"umask": 512}}}),
            "process.user.umask",
            "more than 0o777",
        ),
        (
            json!({"process": {"oomScoreAdj": 2000}}),
            "process.oomScoreAdj",
            "outside -1000..1000",
        ),
        (json!({"process": {"args": []}}), "process.args", "required"),
        (
            json!({"process": {"env": ["A=1", "NOEQUALS"]}}),
            "process.env[1]",
            "not NAME=value",
        ),
        (
            json!({"process": {"env": ["=x"]}}),
            "process.env[0]",
            "not NAME=value",
        ),
        (
            json!({"process": {"cwd": "relative"}}),
            "process.cwd",
            "not an absolute path",
        ),
        (
            json!({"process": {"cwd": null}}),
            "process.cwd",
            "not an absolute path",
        ),
        (
            json!({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}]}}),
            "process.rlimits[0]",
            "above hard limit",
        ),
        (
            json!({"process": {"rlimits": [{"type": "RLIMIT_CORE", "soft": 1, "hard": 1}, {"type": "RLIMIT_CORE", "soft": 1, "hard": 1}]}}),
            "process.rlimits[1]",
            "given twice",
        ),
        (
            json!({"process": {"rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]}}),
            "process.rlimits[0]",
            "unknown variant `RLIMIT_BOGUS`",
        ),
        (
            json!({"process": {"capabilities": {"bounding": ["CAP_KILL", "CAP_BOGUS"]}}}),
            "process.capabilities.bounding[1]",
            "invalid",
        ),
        // mounts
        (
            json!({"mounts": [{"destination": "/x", "type": "overlay", "source": "o"}]}),
            "mounts[0].type",
            "not supported by hcsrun (overlay mounts",
        ),
        (
            json!({"mounts": [{"destination": "/x", "source": "s"}]}),
            "mounts[0].type",
            "required",
        ),
        (
            json!({"mounts": [{"destination": "x", "type": "tmpfs"}]}),
            "mounts[0].destination",
            "not an absolute path",
        ),
        (
            json!({"mounts": [{"destination": "/", "type": "tmpfs"}]}),
            "mounts[0].destination",
            "root.path",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "bind", "source": "/s", "options": ["rbind", "mode=755"]}]}),
            "mounts[0].options[1]",
            "no meaning for a bind mount",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "bind", "options": ["rbind"]}]}),
            "mounts[0].source",
            "required",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "tmpfs", "options": ["mand"]}]}),
            "mounts[0].options[0]",
            "mandatory locking",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "tmpfs", "options": ["nosuid", "remount"]}]}),
            "mounts[0].options[1]",
            "remount",
        ),
        (
            json!({"mounts": [{"destination": "/x", "source": "/s", "options": ["rbind", "idmap"]}]}),
            "mounts[0].options[1]",
            "idmapped",
        ),
        (
            json!({"mounts": [{"destination": "/x", "source": "/s", "options": ["rbind", "rnosuid"]}]}),
            "mounts[0].options[1]",
            "recursive mount attribute",
        ),
        (
            json!({"mounts": [{"destination": "/x", "source": "/s", "options": ["rbind", "private", "rslave"]}]}),
            "mounts[0].options[2]",
            "propagation",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "proc", "options": ["tmpcopyup"]}]}),
            "mounts[0].options",
            "tmpcopyup is for tmpfs",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "tmpfs", "options": ["rro"]}]}),
            "mounts[0].options",
            "rro is for bind mounts",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "bind", "source": "/s", "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]}),
            "mounts[0].uidMappings",
            "idmapped mounts",
        ),
        // hooks
        (
            json!({"hooks": {"poststart": [{"path": "relative/hook"}]}}),
            "hooks.poststart[0].path",
            "not an absolute path",
        ),
    ];
    for (patch, field, reason) in cases {
        let e = refused(patch.clone());
        assert_eq!(e.field, field, "{patch}: {e}");
        assert!(e.reason.contains(reason), "{patch}: {e}");
        assert!(e.to_string().starts_with(&format!("{field}: ")), "{e}");
    }
}

#[test]
fn unknown_keys_are_refused_by_path() {
    for (patch, field) in [
        (json!({"fooBar": 1}), "fooBar"),
        (json!({"uidMappings": []}), "uidMappings"),
        (
            json!({"linux": {"intelRDT": {"closID": "x"}}}),
            "linux.intelRDT",
        ),
        (
            json!({"process": {"user": {"uid": 1, "gids": [2]}}}),
            "process.user.gids",
        ),
        (
            json!({"process": {"noNewPrivilege": true}}),
            "process.noNewPrivilege",
        ),
        (
            json!({"root": {"path": "rootfs", "readOnly": true}}),
            "root.readOnly",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "tmpfs", "sorce": "x"}]}),
            "mounts[0].sorce",
        ),
        (
            json!({"linux": {"resources": {"memory": {"limits": 1}}}}),
            "linux.resources.memory.limits",
        ),
        (
            json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "argz": []}]}}}),
            "linux.seccomp.syscalls[0].argz",
        ),
    ] {
        let e = refused(patch.clone());
        assert_eq!(e.field, field, "{patch}");
        assert_eq!(e.reason, "unknown field: not in the OCI runtime spec");
    }
}

#[test]
fn null_stands_for_absent() {
    let spec =
        parse(json!({"domainname": Value::Null, "process": {"apparmorProfile": ""}})).unwrap();
    assert_eq!(spec.domainname(), None);
    let mut text = runc_spec();
    merge(&mut text, json!({"annotations": {"a": "b"}}));
    text["linux"]["intelRdt"] = Value::Null;
    let spec = LinuxSpec::from_json_on(&text.to_string(), "/b", &host()).unwrap();
    assert_eq!(spec.annotations().get("a").map(String::as_str), Some("b"));
}

#[test]
fn security_labels_depend_on_the_host() {
    let labels = json!({"process": {"apparmorProfile": "docker-default", "selinuxLabel": "system_u:system_r:container_t:s0"},
                        "linux": {"mountLabel": "system_u:object_r:container_file_t:s0"}});
    let mut text = runc_spec();
    merge(&mut text, labels);
    let text = text.to_string();
    let spec = LinuxSpec::from_json_on(&text, "/b", &host()).unwrap();
    let labelled: Vec<_> = spec
        .warnings()
        .iter()
        .filter(|w| w.contains("is not applied"))
        .collect();
    assert_eq!(labelled.len(), 3, "{labelled:?}");
    assert!(labelled[0].starts_with(
        r#"process.apparmorProfile: "docker-default" is not applied: AppArmor is not enforced"#
    ));

    let apparmor = KnownHost {
        apparmor: true,
        ..host()
    };
    let e = LinuxSpec::from_json_on(&text, "/b", &apparmor).unwrap_err();
    assert_eq!(e.field().unwrap().field, "process.apparmorProfile");
    let selinux = KnownHost {
        selinux: true,
        ..host()
    };
    let e = LinuxSpec::from_json_on(&text, "/b", &selinux).unwrap_err();
    assert_eq!(e.field().unwrap().field, "process.selinuxLabel");
    assert!(e.to_string().contains("SELinux is enforced on this host"));
}

#[test]
fn capabilities_the_kernel_lacks_are_refused() {
    let mut text = runc_spec();
    merge(
        &mut text,
        json!({"process": {"capabilities": {"permitted": ["CAP_KILL", "CAP_CHECKPOINT_RESTORE"]}}}),
    );
    let old_kernel = KnownHost {
        last_capability: Some(39),
        ..host()
    };
    let e = LinuxSpec::from_json_on(&text.to_string(), "/b", &old_kernel).unwrap_err();
    assert_eq!(
        e.to_string(),
        "process.capabilities.permitted: CAP_CHECKPOINT_RESTORE is not known to this kernel \
         (its last capability is number 39)"
    );
    assert!(LinuxSpec::from_json_on(&text.to_string(), "/b", &host()).is_ok());
}

#[test]
fn unified_applies_on_a_cgroup2_host() {
    let mut text = runc_spec();
    merge(
        &mut text,
        json!({"linux": {"resources": {"unified": {"memory.high": "1G"}}}}),
    );
    let v2 = KnownHost {
        cgroup2: true,
        ..host()
    };
    let spec = LinuxSpec::from_json_on(&text.to_string(), "/b", &v2).unwrap();
    assert_eq!(spec.resources().unified["memory.high"], "1G");
    for key in ["cgroup.procs", "memory/high", "nodot"] {
        let mut text = runc_spec();
        merge(
            &mut text,
            json!({"linux": {"resources": {"unified": {key: "1"}}}}),
        );
        let e = LinuxSpec::from_json_on(&text.to_string(), "/b", &v2).unwrap_err();
        assert_eq!(
            e.field().unwrap().field,
            format!("linux.resources.unified.{key}")
        );
    }
}

#[test]
fn not_json_or_not_an_object() {
    let e = LinuxSpec::from_json_on("{", "/b", &host()).unwrap_err();
    assert!(matches!(e, SpecError::Json { path: None, .. }), "{e}");
    let e = LinuxSpec::from_json_on("[]", "/b", &host()).unwrap_err();
    assert_eq!(e.to_string(), "spec: a spec is a JSON object");
    let dir = tempfile::tempdir().unwrap();
    let e = LinuxSpec::from_bundle_on(dir.path(), &host()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("reading {}", dir.path().join("config.json").display())
    );
    std::fs::write(dir.path().join("config.json"), "{oops").unwrap();
    let e = LinuxSpec::from_bundle_on(dir.path(), &host()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "invalid JSON in {}",
            dir.path().join("config.json").display()
        )
    );
}
