//! Compiling OCI seccomp configurations (a bundle's `linux.seccomp`).

use hcsrun_seccomp::{native_arch, CompileError, Filter, LinuxSeccomp, Profile};
use serde_json::json;

fn oci(value: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(value).expect("valid OCI linux.seccomp")
}

const RET_ERRNO_ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

fn returns_enosys(filter: &Filter) -> bool {
    filter
        .instructions()
        .iter()
        .any(|i| i.code == 0x06 && i.k == RET_ERRNO_ENOSYS)
}

#[test]
fn bundle_form_compiles_with_every_action() {
    let seccomp = oci(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
            {"names": ["getppid"], "action": "SCMP_ACT_TRACE", "errnoRet": 3},
            {"names": ["kill"], "action": "SCMP_ACT_TRAP"},
            {"names": ["tkill"], "action": "SCMP_ACT_KILL"},
            {"names": ["tgkill"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["umask"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_NE"},
                {"index": 1, "value": 2, "op": "SCMP_CMP_LT"},
                {"index": 2, "value": 3, "op": "SCMP_CMP_LE"},
                {"index": 3, "value": 4, "op": "SCMP_CMP_EQ"},
                {"index": 4, "value": 5, "op": "SCMP_CMP_GE"},
                {"index": 5, "value": 6, "op": "SCMP_CMP_GT"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}
        ]
    }));
    let filter = Filter::compile(&seccomp).expect("compile");
    assert!(filter.instructions().len() > 20);
    assert!(filter.skipped_syscalls().is_empty());
    assert_eq!(filter.flags(), 0);
}

#[test]
fn notify_and_listener_are_refused() {
    let notify = oci(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}));
    let err = Filter::compile(&notify).unwrap_err();
    assert!(matches!(err, CompileError::Notify { .. }), "{err}");
    assert!(err.to_string().contains("mount"), "{err}");

    let default_notify = oci(json!({"defaultAction": "SCMP_ACT_NOTIFY"}));
    assert!(matches!(
        Filter::compile(&default_notify),
        Err(CompileError::Notify { .. })
    ));

    let listener = oci(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/run/agent.sock"}));
    let err = Filter::compile(&listener).unwrap_err();
    assert!(matches!(err, CompileError::ListenerPath { .. }), "{err}");
}

#[test]
fn out_of_range_values_are_refused() {
    let errno = oci(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 65536}]}));
    let err = Filter::compile(&errno).unwrap_err();
    assert!(
        matches!(err, CompileError::ErrnoRange { errno: 65536, .. }),
        "{err}"
    );

    let default_errno = oci(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}));
    assert!(matches!(
        Filter::compile(&default_errno),
        Err(CompileError::ErrnoRange { .. })
    ));

    let arg = oci(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}));
    let err = Filter::compile(&arg).unwrap_err();
    assert!(
        matches!(err, CompileError::ArgIndex { index: 6, .. }),
        "{err}"
    );
}

#[test]
fn unknown_syscalls_are_skipped_and_reported() {
    let seccomp = oci(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", "no_such_syscall", "write"], "action": "SCMP_ACT_ALLOW"}]}));
    let filter = Filter::compile(&seccomp).unwrap();
    assert_eq!(filter.skipped_syscalls(), ["no_such_syscall"]);

    // Names of other architectures' syscalls are known to libseccomp; on
    // this one they simply add nothing (and are not reported).
    let foreign = oci(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", "s390_runtime_instr", "arm_fadvise64_64", "riscv_flush_icache"],
                      "action": "SCMP_ACT_ALLOW"}]}));
    let filter = Filter::compile(&foreign).unwrap();
    assert!(
        filter.skipped_syscalls().is_empty(),
        "{:?}",
        filter.skipped_syscalls()
    );
}

#[test]
fn flags_become_kernel_bits() {
    let seccomp = oci(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}));
    let filter = Filter::compile(&seccomp).unwrap();
    assert_eq!(
        filter.flags(),
        libc::SECCOMP_FILTER_FLAG_TSYNC
            | libc::SECCOMP_FILTER_FLAG_LOG
            | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
    );
    let killable = oci(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}));
    assert!(matches!(
        Filter::compile(&killable),
        Err(CompileError::Notify { .. })
    ));
}

#[test]
fn architectures_add_to_the_native_one() {
    let native_only = oci(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", "socketcall"], "action": "SCMP_ACT_ALLOW"}]}));
    let with_native = oci(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_NATIVE"],
        "syscalls": [{"names": ["read", "socketcall"], "action": "SCMP_ACT_ALLOW"}]}));
    let a = Filter::compile(&native_only).unwrap();
    let b = Filter::compile(&with_native).unwrap();
    assert_eq!(a.instructions().len(), b.instructions().len());
    if native_arch() == hcsrun_seccomp::Arch::ScmpArchX86_64 {
        let multi = oci(json!({"defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["read", "socketcall"], "action": "SCMP_ACT_ALLOW"}]}));
        let c = Filter::compile(&multi).unwrap();
        assert!(c.instructions().len() > a.instructions().len());
    }
}

#[test]
fn enosys_prologue_only_when_the_default_refuses() {
    let refusing = oci(json!({"defaultAction": "SCMP_ACT_KILL_PROCESS",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}));
    assert!(returns_enosys(&Filter::compile(&refusing).unwrap()));
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"] {
        let allowing = oci(json!({"defaultAction": default,
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}));
        assert!(
            !returns_enosys(&Filter::compile(&allowing).unwrap()),
            "{default}"
        );
    }
}

#[test]
fn default_profile_fits_the_kernel_limit() {
    for caps in [
        &[][..],
        &["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_NICE"][..],
    ] {
        let seccomp = Profile::docker_default()
            .resolve(caps, native_arch())
            .unwrap();
        let filter = Filter::compile(&seccomp).unwrap();
        assert!(filter.instructions().len() <= 4096);
        // Only names this libseccomp does not know are skipped.
        for name in filter.skipped_syscalls() {
            assert!(libseccomp::ScmpSyscall::from_name(name).is_err(), "{name}");
        }
    }
}

#[test]
fn filters_can_be_shared_between_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Filter>();
}
