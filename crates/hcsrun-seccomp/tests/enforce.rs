//! The filters as the kernel enforces them, in forked children. No root is
//! needed: every child sets no_new_privs before loading its filter.

mod common;

use common::{fork_like_clone, probe, sys, Outcome};
use hcsrun_seccomp::{native_arch, Filter, Profile};
use nix::errno::Errno;
use nix::sys::signal::Signal;

fn default_filter(caps: &[&str]) -> Filter {
    let seccomp = Profile::docker_default()
        .resolve(caps, native_arch())
        .expect("resolve the default profile");
    Filter::compile(&seccomp).expect("compile the default profile")
}

fn allow_all() -> Filter {
    let profile = Profile::from_json(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#).unwrap();
    Filter::compile(&profile.resolve::<&str>(&[], native_arch()).unwrap()).unwrap()
}

fn returned(outcome: Outcome) -> i64 {
    match outcome {
        Outcome::Returned { ret, errno: None } => ret,
        other => panic!("expected a successful call, got {other:?}"),
    }
}

const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;

#[test]
fn default_refuses_new_user_namespace() {
    let filter = default_filter(&[]);
    let outcome = probe(Some(&filter), || sys(libc::SYS_unshare, &[CLONE_NEWUSER]));
    assert_eq!(outcome, Outcome::failed_with(Errno::EPERM));
}

#[test]
fn default_refuses_the_kernel_keyring() {
    let filter = default_filter(&[]);
    let add_key = probe(Some(&filter), || {
        let kind = c"user";
        let desc = c"hcsrun-seccomp-test";
        let keyring = libc::KEY_SPEC_PROCESS_KEYRING as i64 as u64;
        sys(
            libc::SYS_add_key,
            &[kind.as_ptr() as u64, desc.as_ptr() as u64, 0, 0, keyring],
        )
    });
    assert_eq!(add_key, Outcome::failed_with(Errno::EPERM), "add_key");
    let keyctl = probe(Some(&filter), || {
        let keyring = libc::KEY_SPEC_SESSION_KEYRING as i64 as u64;
        sys(
            libc::SYS_keyctl,
            &[libc::KEYCTL_GET_KEYRING_ID as u64, keyring, 0],
        )
    });
    assert_eq!(keyctl, Outcome::failed_with(Errno::EPERM), "keyctl");
}

#[test]
fn default_allows_ordinary_calls() {
    let filter = default_filter(&[]);
    assert!(returned(probe(Some(&filter), || sys(libc::SYS_getpid, &[]))) > 0);
    // write(2) to /dev/null; the probe itself also reports over write(2).
    let written = probe(Some(&filter), || {
        let path = c"/dev/null";
        let fd = sys(
            libc::SYS_openat,
            &[
                libc::AT_FDCWD as i64 as u64,
                path.as_ptr() as u64,
                libc::O_WRONLY as u64,
            ],
        );
        if fd < 0 {
            return -2;
        }
        let byte = [b'x'];
        sys(libc::SYS_write, &[fd as u64, byte.as_ptr() as u64, 1])
    });
    assert_eq!(returned(written), 1);
}

#[test]
fn default_answers_clone3_with_enosys() {
    let filter = default_filter(&[]);
    // Unfiltered, clone3 with a null argument fails with EINVAL or EFAULT.
    let outcome = probe(Some(&filter), || sys(libc::SYS_clone3, &[0, 0]));
    assert_eq!(outcome, Outcome::failed_with(Errno::ENOSYS));
}

#[test]
fn default_checks_personality_values() {
    let filter = default_filter(&[]);
    // 0xffffffff only queries the persona.
    let query = probe(Some(&filter), || sys(libc::SYS_personality, &[0xffff_ffff]));
    assert!(returned(query) >= 0);
    // PER_LINUX is allowed (and is what a process already has).
    assert_eq!(
        returned(probe(Some(&filter), || sys(libc::SYS_personality, &[0]))),
        0
    );
    // ADDR_NO_RANDOMIZE is not in docker's list.
    let aslr_off = probe(Some(&filter), || sys(libc::SYS_personality, &[0x0040000]));
    assert_eq!(aslr_off, Outcome::failed_with(Errno::EPERM));
    // The same call succeeds without the filter: the refusal is seccomp's.
    assert!(returned(probe(None, || sys(libc::SYS_personality, &[0x0040000]))) >= 0);
}

#[test]
fn default_clone_flags_masked() {
    let filter = default_filter(&[]);
    assert!(
        returned(probe(Some(&filter), || fork_like_clone(0))) > 0,
        "plain clone"
    );
    let userns = probe(Some(&filter), || fork_like_clone(CLONE_NEWUSER));
    assert_eq!(
        userns,
        Outcome::failed_with(Errno::EPERM),
        "clone(CLONE_NEWUSER)"
    );
}

#[test]
fn default_answers_unknown_new_syscalls_with_enosys() {
    // Beyond every syscall table: the ENOSYS prologue answers, where the
    // default action alone would say EPERM.
    let filter = default_filter(&[]);
    let outcome = probe(Some(&filter), || sys(1000, &[]));
    assert_eq!(outcome, Outcome::failed_with(Errno::ENOSYS));
}

#[test]
fn default_with_sys_admin_allows_namespaces() {
    let filter = default_filter(&["CAP_SYS_ADMIN"]);
    let unshare = probe(Some(&filter), || sys(libc::SYS_unshare, &[CLONE_NEWUSER]));
    let unfiltered = probe(None, || sys(libc::SYS_unshare, &[CLONE_NEWUSER]));
    assert_eq!(unshare, unfiltered, "CAP_SYS_ADMIN: the kernel decides");
    // clone3 reaches the kernel, which refuses the null argument itself.
    let clone3 = probe(Some(&filter), || sys(libc::SYS_clone3, &[0, 0]));
    assert_ne!(clone3, Outcome::failed_with(Errno::ENOSYS));
    assert_ne!(clone3, Outcome::failed_with(Errno::EPERM));
}

#[test]
fn allow_all_profile_lets_unshare_through() {
    let outcome = probe(Some(&allow_all()), || {
        sys(libc::SYS_unshare, &[CLONE_NEWUSER])
    });
    let unfiltered = probe(None, || sys(libc::SYS_unshare, &[CLONE_NEWUSER]));
    assert_eq!(outcome, unfiltered, "an allow-all filter changes nothing");
    assert_eq!(
        outcome,
        Outcome::Returned {
            ret: 0,
            errno: None
        },
        "unshare(CLONE_NEWUSER) fails even unfiltered here: user namespaces are restricted"
    );
}

/// A docker-style profile allowing clone only without namespace flags,
/// written with SCMP_CMP_MASKED_EQ.
#[test]
fn masked_eq_on_clone_flags() {
    let namespaces = (libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWCGROUP) as u64;
    let json = format!(
        r#"{{
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {{"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": {eacces},
                  "args": [{{"index": 0, "value": {namespaces}, "valueTwo": {newuser},
                            "op": "SCMP_CMP_MASKED_EQ"}}]}}
            ]
        }}"#,
        eacces = libc::EACCES,
        newuser = CLONE_NEWUSER,
    );
    let profile = Profile::from_json(&json).unwrap();
    let filter = Filter::compile(&profile.resolve::<&str>(&[], native_arch()).unwrap()).unwrap();
    // flags & namespaces == CLONE_NEWUSER → refused with the profile's errno.
    let userns = probe(Some(&filter), || fork_like_clone(CLONE_NEWUSER));
    assert_eq!(userns, Outcome::failed_with(Errno::EACCES));
    // Other namespace combinations do not equal valueTwo under the mask.
    let both = probe(Some(&filter), || {
        fork_like_clone(CLONE_NEWUSER | libc::CLONE_NEWUTS as u64)
    });
    assert!(
        returned(both) > 0,
        "CLONE_NEWUSER|CLONE_NEWUTS is not refused"
    );
    assert!(returned(probe(Some(&filter), || fork_like_clone(0))) > 0);
}

#[test]
fn actions_as_the_kernel_applies_them() {
    let filter_for = |rule: &str| {
        let json = format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{rule}]}}"#);
        let profile = Profile::from_json(&json).unwrap();
        Filter::compile(&profile.resolve::<&str>(&[], native_arch()).unwrap()).unwrap()
    };
    let getppid = || sys(libc::SYS_getppid, &[]);

    let errno = filter_for(r#"{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}"#);
    assert_eq!(
        probe(Some(&errno), getppid),
        Outcome::failed_with(Errno::EXDEV)
    );
    let default_errno = filter_for(r#"{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}"#);
    assert_eq!(
        probe(Some(&default_errno), getppid),
        Outcome::failed_with(Errno::EPERM)
    );
    for kill in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
    ] {
        let filter = filter_for(&format!(r#"{{"names": ["getppid"], "action": "{kill}"}}"#));
        assert_eq!(
            probe(Some(&filter), getppid),
            Outcome::Killed(Signal::SIGSYS),
            "{kill}"
        );
    }
    // No tracer: the kernel fails the call with ENOSYS.
    let trace = filter_for(r#"{"names": ["getppid"], "action": "SCMP_ACT_TRACE"}"#);
    assert_eq!(
        probe(Some(&trace), getppid),
        Outcome::failed_with(Errno::ENOSYS)
    );
    let log = filter_for(r#"{"names": ["getppid"], "action": "SCMP_ACT_LOG"}"#);
    assert!(returned(probe(Some(&log), getppid)) > 0);
}

#[test]
fn comparison_operators_as_the_kernel_applies_them() {
    // getpgid(pid) answers EXDEV when the rule's condition holds.
    let filter_for = |op: &str, value: u64| {
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {{"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
                  "args": [{{"index": 0, "value": {value}, "op": "{op}"}}]}}]}}"#
        );
        let profile = Profile::from_json(&json).unwrap();
        Filter::compile(&profile.resolve::<&str>(&[], native_arch()).unwrap()).unwrap()
    };
    let refused = |filter: &Filter, pid: u64| {
        probe(Some(filter), || sys(libc::SYS_getpgid, &[pid])) == Outcome::failed_with(Errno::EXDEV)
    };
    // (operator, value, pid arguments that must match, that must not)
    let cases: [(&str, u64, u64, u64); 6] = [
        ("SCMP_CMP_NE", 0, 1, 0),
        ("SCMP_CMP_LT", 1, 0, 1),
        ("SCMP_CMP_LE", 1, 1, 2),
        ("SCMP_CMP_EQ", 5, 5, 0),
        ("SCMP_CMP_GE", 5, 5, 0),
        ("SCMP_CMP_GT", 5, 6, 0),
    ];
    for (op, value, matching, other) in cases {
        let filter = filter_for(op, value);
        assert!(
            refused(&filter, matching),
            "{op} {value} should match {matching}"
        );
        assert!(
            !refused(&filter, other),
            "{op} {value} should not match {other}"
        );
    }
}

#[test]
fn tsync_and_log_flags_load() {
    let profile = Profile::from_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}"#,
    )
    .unwrap();
    let filter = Filter::compile(&profile.resolve::<&str>(&[], native_arch()).unwrap()).unwrap();
    let outcome = probe(Some(&filter), || sys(libc::SYS_getppid, &[]));
    assert_eq!(outcome, Outcome::failed_with(Errno::EXDEV));
}

#[test]
fn default_refuses_alg_and_vsock_sockets() {
    let filter = default_filter(&[]);
    let socket =
        |family: u64| move || sys(libc::SYS_socket, &[family, libc::SOCK_SEQPACKET as u64, 0]);
    for family in [libc::AF_ALG as u64, libc::AF_VSOCK as u64] {
        let outcome = probe(Some(&filter), socket(family));
        assert_eq!(
            outcome,
            Outcome::failed_with(Errno::EPERM),
            "family {family}"
        );
    }
    // AF_UNIX (below AF_ALG) passes; the kernel creates the socket.
    assert!(returned(probe(Some(&filter), socket(libc::AF_UNIX as u64))) >= 0);
}

#[test]
fn conditions_on_different_arguments_all_hold_same_argument_any() {
    // Two arguments: both must match (getpriority(PRIO_PROCESS, 4242)).
    let and = Profile::from_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18, "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 4242, "op": "SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    let and = Filter::compile(&and.resolve::<&str>(&[], native_arch()).unwrap()).unwrap();
    let getpriority = |which: u64, who: u64| move || sys(libc::SYS_getpriority, &[which, who]);
    assert_eq!(
        probe(Some(&and), getpriority(0, 4242)),
        Outcome::failed_with(Errno::EXDEV)
    );
    assert_ne!(
        probe(Some(&and), getpriority(0, 0)),
        Outcome::failed_with(Errno::EXDEV)
    );
    assert_ne!(
        probe(Some(&and), getpriority(1, 4242)),
        Outcome::failed_with(Errno::EXDEV)
    );

    // The same argument twice: runc makes one rule per condition, so either
    // matching is enough.
    let or = Profile::from_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18, "args": [
                {"index": 0, "value": 5, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 7, "op": "SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    let or = Filter::compile(&or.resolve::<&str>(&[], native_arch()).unwrap()).unwrap();
    for pid in [5, 7] {
        let outcome = probe(Some(&or), move || sys(libc::SYS_getpgid, &[pid]));
        assert_eq!(
            outcome,
            Outcome::failed_with(Errno::EXDEV),
            "getpgid({pid})"
        );
    }
    assert_ne!(
        probe(Some(&or), || sys(libc::SYS_getpgid, &[0])),
        Outcome::failed_with(Errno::EXDEV)
    );
}

/// The 32-bit x86 ABI (`int 0x80`) from this x86_64 process: the default
/// profile covers it through its archMap; a native-only filter kills it.
#[cfg(target_arch = "x86_64")]
mod ia32 {
    use super::*;

    const I386_GETPID: u32 = 20;
    const I386_UNSHARE: u32 = 310;

    /// An i386 syscall; returns the kernel's raw result (-errno on error).
    fn int80(nr: u32, arg: u32) -> libc::c_long {
        let ret: i32;
        // SAFETY: `int 0x80` enters the kernel's 32-bit syscall path with
        // integer arguments only; ebx (reserved by the compiler) is saved
        // and restored around it, and r8-r11, which that path may clear,
        // are declared clobbered.
        unsafe {
            std::arch::asm!(
                "xchg {arg:r}, rbx",
                "int 0x80",
                "xchg {arg:r}, rbx",
                arg = inout(reg) u64::from(arg) => _,
                inlateout("eax") nr as i32 => ret,
                in("ecx") 0,
                in("edx") 0,
                out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            );
        }
        libc::c_long::from(ret)
    }

    fn ia32_available() -> bool {
        matches!(probe(None, || int80(I386_GETPID, 0)), Outcome::Returned { ret, .. } if ret > 0)
    }

    #[test]
    fn default_profile_covers_the_i386_abi() {
        if !ia32_available() {
            eprintln!("skipped: this kernel runs no 32-bit x86 syscalls (no IA32 emulation)");
            return;
        }
        let filter = default_filter(&[]);
        assert!(returned(probe(Some(&filter), || int80(I386_GETPID, 0))) > 0);
        let newuser = libc::CLONE_NEWUSER as u32;
        // int 0x80 returns -errno itself (-EPERM is -1).
        let unshare = probe(Some(&filter), || int80(I386_UNSHARE, newuser));
        assert!(
            matches!(unshare, Outcome::Returned { ret, .. } if ret == -i64::from(libc::EPERM)),
            "{unshare:?}"
        );
        let unfiltered = probe(None, || int80(I386_UNSHARE, newuser));
        assert_eq!(
            unfiltered,
            Outcome::Returned {
                ret: 0,
                errno: None
            }
        );
    }

    #[test]
    fn native_only_filter_kills_other_abis() {
        if !ia32_available() {
            eprintln!("skipped: this kernel runs no 32-bit x86 syscalls (no IA32 emulation)");
            return;
        }
        let outcome = probe(Some(&allow_all()), || int80(I386_GETPID, 0));
        assert_eq!(outcome, Outcome::Killed(Signal::SIGSYS));
    }
}
