//! Reading and writing docker's seccomp profile format.

use hcsrun_seccomp::{
    Arch, KernelVersion, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, Profile,
    ProfileError,
};
use serde_json::{json, Value};

/// A profile using every field of docker's format, written the way docker
/// writes it (empty fields left out, `subArchitectures: null`).
fn full_profile() -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64",
             "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null}
        ],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}],
             "comment": "no namespaces",
             "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["getppid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"}
        ]
    })
}

#[test]
fn docker_format_round_trips() {
    let text = full_profile().to_string();
    let profile = Profile::from_json(&text).expect("parse");
    assert_eq!(profile.default_action, LinuxSeccompAction::ScmpActErrno);
    assert_eq!(profile.default_errno_ret, Some(1));
    assert_eq!(
        profile.arch_map[0].sub_architectures,
        [Arch::ScmpArchX86, Arch::ScmpArchX32]
    );
    assert!(profile.arch_map[1].sub_architectures.is_empty());
    assert_eq!(
        profile.flags,
        [LinuxSeccompFilterFlag::SeccompFilterFlagLog]
    );
    let clone = &profile.syscalls[1];
    assert_eq!(clone.args[0].op, LinuxSeccompOperator::ScmpCmpMaskedEq);
    assert_eq!(
        (clone.args[0].value, clone.args[0].value_two),
        (2114060288, 16)
    );
    assert_eq!(clone.excludes.caps, ["CAP_SYS_ADMIN"]);
    assert_eq!(
        profile.syscalls[2].includes.min_kernel,
        Some(KernelVersion { major: 4, minor: 8 })
    );

    // Written back, it is the same JSON document, and reads back the same.
    let written = profile.to_json();
    let value: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(value, full_profile());
    assert_eq!(Profile::from_json(&written).unwrap(), profile);
}

#[test]
fn architectures_form_round_trips() {
    let doc = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}]
    });
    let profile = Profile::from_json(&doc.to_string()).unwrap();
    assert_eq!(
        profile.architectures,
        [Arch::ScmpArchX86_64, Arch::ScmpArchAarch64]
    );
    assert_eq!(serde_json::to_value(&profile).unwrap(), doc);
}

#[test]
fn legacy_name_becomes_names() {
    let profile = Profile::from_json(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"name": "getpid", "action": "SCMP_ACT_ALLOW", "args": null}]}"#,
    )
    .unwrap();
    assert_eq!(profile.syscalls[0].names, ["getpid"]);
    let value = serde_json::to_value(&profile).unwrap();
    assert_eq!(
        value["syscalls"][0],
        json!({"names": ["getpid"], "action": "SCMP_ACT_ALLOW"})
    );
}

#[test]
fn serde_deserialize_applies_the_same_checks() {
    let profile: Profile =
        serde_json::from_value(json!({"defaultAction": "SCMP_ACT_LOG"})).unwrap();
    assert!(profile.syscalls.is_empty());
    let bad = serde_json::from_value::<Profile>(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]
    }));
    assert!(bad.unwrap_err().to_string().contains("no syscall names"));
}

fn refused(doc: Value) -> ProfileError {
    Profile::from_json(&doc.to_string()).expect_err("the profile should be refused")
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let top = refused(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultAktion": 1}));
    assert!(matches!(top, ProfileError::Parse { .. }));
    assert!(
        top.to_string().contains("unknown field `defaultAktion`"),
        "{top}"
    );

    let in_rule = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "priority": 1}]}));
    assert!(
        in_rule.to_string().contains("unknown field `priority`"),
        "{in_rule}"
    );

    let in_arg = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ", "valueThree": 2}]}]}));
    assert!(
        in_arg.to_string().contains("unknown field `valueThree`"),
        "{in_arg}"
    );

    let in_filter = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "includes": {"capabilities": ["CAP_SYS_ADMIN"]}}]}));
    assert!(
        in_filter
            .to_string()
            .contains("unknown field `capabilities`"),
        "{in_filter}"
    );
}

#[test]
fn unknown_values_are_refused_by_name() {
    let action = refused(json!({"defaultAction": "SCMP_ACT_MAYBE"}));
    assert!(action.to_string().contains("SCMP_ACT_MAYBE"), "{action}");
    let op = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]}));
    assert!(op.to_string().contains("SCMP_CMP_ALMOST"), "{op}");
    let arch =
        refused(json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]}));
    assert!(arch.to_string().contains("SCMP_ARCH_Z80"), "{arch}");
}

#[test]
fn listener_path_is_refused() {
    let err = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "listenerPath": "/run/seccomp-agent.sock"}));
    assert!(
        matches!(err, ProfileError::ListenerPath { ref path } if path == "/run/seccomp-agent.sock")
    );
    assert!(err.to_string().contains("listenerPath"), "{err}");
    let meta = refused(json!({"defaultAction": "SCMP_ACT_ERRNO", "listenerMetadata": "x"}));
    assert!(matches!(meta, ProfileError::ListenerMetadata));
}

#[test]
fn rule_without_names_is_refused() {
    let none = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                     {"action": "SCMP_ACT_ALLOW"}]}));
    assert!(matches!(none, ProfileError::NoNames { rule: 1 }), "{none}");
    let empty = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}));
    assert!(
        matches!(empty, ProfileError::NoNames { rule: 0 }),
        "{empty}"
    );
    let blank = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ALLOW"}]}));
    assert!(
        matches!(blank, ProfileError::EmptyName { rule: 0 }),
        "{blank}"
    );
}

#[test]
fn inconsistent_profiles_are_refused() {
    let both_names = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}));
    assert!(
        matches!(both_names, ProfileError::NameAndNames { .. }),
        "{both_names}"
    );

    let both_arches = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}]}));
    assert!(matches!(both_arches, ProfileError::ArchitecturesAndArchMap));

    let notify = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}));
    assert!(matches!(notify, ProfileError::Notify { .. }), "{notify}");
    let notify_default = refused(json!({"defaultAction": "SCMP_ACT_NOTIFY"}));
    assert!(matches!(notify_default, ProfileError::Notify { .. }));

    let errno_on_allow = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}));
    assert!(matches!(
        errno_on_allow,
        ProfileError::ErrnoRetWithoutErrno { .. }
    ));

    let arg7 = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}));
    assert!(
        matches!(arg7, ProfileError::ArgIndex { index: 6, .. }),
        "{arg7}"
    );

    for bad in ["4", "4.8.1", "v4.8", "4.", ".8", "4.-8"] {
        let err = refused(json!({"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW",
                          "includes": {"minKernel": bad}}]}));
        assert!(err.to_string().contains("MAJOR.MINOR"), "{bad}: {err}");
    }
}

#[test]
fn built_in_default_round_trips() {
    let default = Profile::docker_default();
    assert_eq!(Profile::from_json(&default.to_json()).unwrap(), default);
}
