//! Docker's default profile, resolved for different containers.

use std::collections::BTreeSet;

use hcsrun_seccomp::{
    Arch, KernelVersion, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, LinuxSyscall,
    Profile,
};

const AMD64: Arch = Arch::ScmpArchX86_64;
const KERNEL_6_18: KernelVersion = KernelVersion {
    major: 6,
    minor: 18,
};

fn resolve_on(caps: &[&str], arch: Arch, kernel: KernelVersion) -> LinuxSeccomp {
    Profile::docker_default()
        .resolve_for_kernel(caps, arch, kernel)
        .expect("resolve the default profile")
}

fn resolve(caps: &[&str]) -> LinuxSeccomp {
    resolve_on(caps, AMD64, KERNEL_6_18)
}

fn rules_for<'a>(seccomp: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
    let rules = seccomp.syscalls().as_ref().unwrap();
    rules
        .iter()
        .filter(|r| r.names().iter().any(|n| n == name))
        .collect()
}

/// Allowed whatever the arguments.
fn allowed(seccomp: &LinuxSeccomp, name: &str) -> bool {
    rules_for(seccomp, name).iter().any(|r| {
        r.action() == LinuxSeccompAction::ScmpActAllow
            && r.args().as_ref().is_none_or(Vec::is_empty)
    })
}

/// Not mentioned at all: the default action (EPERM) applies.
fn denied(seccomp: &LinuxSeccomp, name: &str) -> bool {
    rules_for(seccomp, name).is_empty()
}

fn unconditionally_allowed(seccomp: &LinuxSeccomp) -> BTreeSet<String> {
    let rules = seccomp.syscalls().as_ref().unwrap();
    rules
        .iter()
        .filter(|r| r.action() == LinuxSeccompAction::ScmpActAllow && r.args().is_none())
        .flat_map(|r| r.names().iter().cloned())
        .collect()
}

#[test]
fn default_action_is_eperm() {
    let seccomp = resolve(&[]);
    assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(seccomp.default_errno_ret(), Some(libc::EPERM as u32));
}

#[test]
fn allowed_count_is_docker_sized() {
    let names = unconditionally_allowed(&resolve(&[]));
    // Docker allows about 370 of the names libseccomp knows outright.
    assert!(
        (340..=400).contains(&names.len()),
        "{} names allowed",
        names.len()
    );
    for name in [
        "read",
        "write",
        "openat",
        "execve",
        "futex",
        "epoll_wait",
        "mmap",
        "arch_prctl",
    ] {
        assert!(names.contains(name), "{name} should be allowed");
    }
    let every: BTreeSet<String> = Profile::docker_default()
        .syscalls
        .iter()
        .flat_map(|r| r.names.iter().cloned())
        .collect();
    assert!(
        every.len() > names.len() + 40,
        "{} names in all",
        every.len()
    );
}

#[test]
fn dangerous_calls_are_denied_without_capabilities() {
    let seccomp = resolve(&[]);
    for name in [
        "unshare",
        "mount",
        "umount2",
        "setns",
        "keyctl",
        "add_key",
        "request_key",
        "bpf",
        "reboot",
        "init_module",
        "finit_module",
        "kexec_load",
        "open_by_handle_at",
        "io_uring_setup",
        "io_uring_enter",
        "perf_event_open",
        "clock_settime",
        "syslog",
        "chroot",
        "pivot_root",
        "swapon",
        "acct",
        "iopl",
        "kcmp",
        "fsopen",
        "move_mount",
        "lookup_dcookie",
        "userfaultfd",
        "mbind",
        "vhangup",
    ] {
        assert!(denied(&seccomp, name), "{name} should be denied");
    }
}

#[test]
fn sys_admin_allows_what_docker_allows_with_it() {
    let seccomp = resolve(&["CAP_SYS_ADMIN"]);
    for name in [
        "unshare",
        "mount",
        "umount2",
        "setns",
        "bpf",
        "clone",
        "clone3",
        "fsopen",
        "fsmount",
        "open_tree",
        "move_mount",
        "perf_event_open",
        "syslog",
        "sethostname",
        "quotactl",
        "lookup_dcookie",
        "fanotify_init",
    ] {
        assert!(
            allowed(&seccomp, name),
            "{name} should be allowed with CAP_SYS_ADMIN"
        );
    }
    // Not even CAP_SYS_ADMIN opens the keyring, reboot or module loading.
    for name in [
        "keyctl",
        "add_key",
        "request_key",
        "reboot",
        "init_module",
        "ptrace_poke",
    ] {
        assert!(
            denied(&seccomp, name),
            "{name} should stay denied with CAP_SYS_ADMIN"
        );
    }
    // The ENOSYS rule for clone3 and the clone flag check are dropped.
    assert!(rules_for(&seccomp, "clone3")
        .iter()
        .all(|r| r.action() == LinuxSeccompAction::ScmpActAllow));
    assert!(rules_for(&seccomp, "clone")
        .iter()
        .all(|r| r.args().is_none()));
}

#[test]
fn each_capability_opens_its_own_group() {
    let groups: &[(&str, &[&str])] = &[
        ("CAP_SYS_BOOT", &["reboot"]),
        (
            "CAP_SYS_MODULE",
            &["init_module", "finit_module", "delete_module"],
        ),
        ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
        ("CAP_SYS_PACCT", &["acct"]),
        ("CAP_SYS_CHROOT", &["chroot"]),
        (
            "CAP_SYS_TIME",
            &["settimeofday", "stime", "clock_settime", "clock_settime64"],
        ),
        ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
        (
            "CAP_SYS_NICE",
            &[
                "mbind",
                "get_mempolicy",
                "set_mempolicy",
                "set_mempolicy_home_node",
            ],
        ),
        ("CAP_SYSLOG", &["syslog"]),
        ("CAP_BPF", &["bpf"]),
        ("CAP_PERFMON", &["perf_event_open"]),
        ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
        (
            "CAP_SYS_PTRACE",
            &["kcmp", "pidfd_getfd", "process_madvise", "ptrace"],
        ),
    ];
    let old_kernel = KernelVersion { major: 4, minor: 4 };
    for &(cap, names) in groups {
        let with = resolve_on(&[cap], AMD64, old_kernel);
        let without = resolve_on(&["CAP_CHOWN"], AMD64, old_kernel);
        for name in names {
            assert!(allowed(&with, name), "{name} should be allowed with {cap}");
            assert!(
                denied(&without, name),
                "{name} should be denied without {cap}"
            );
        }
    }
}

#[test]
fn capability_names_are_normalized() {
    for spelling in ["CAP_SYS_ADMIN", "SYS_ADMIN", "sys_admin", "cap_sys_admin"] {
        assert!(allowed(&resolve(&[spelling]), "mount"), "{spelling}");
    }
}

#[test]
fn ptrace_follows_docker_kernel_rule() {
    // Docker allows ptrace to everyone from kernel 4.8 on, where seccomp
    // can no longer be bypassed with it; before, only with CAP_SYS_PTRACE.
    let old = resolve_on(&[], AMD64, KernelVersion { major: 4, minor: 7 });
    assert!(denied(&old, "ptrace"));
    assert!(denied(&old, "process_vm_readv"));
    let new = resolve_on(&[], AMD64, KernelVersion { major: 4, minor: 8 });
    assert!(allowed(&new, "ptrace"));
    assert!(allowed(&new, "process_vm_writev"));
    assert!(denied(&new, "kcmp"), "kcmp still needs CAP_SYS_PTRACE");
    // resolve() compares with the running kernel (4.8 or later here).
    let running = Profile::docker_default()
        .resolve::<&str>(&[], AMD64)
        .unwrap();
    assert!(allowed(&running, "ptrace"));
}

#[test]
fn clone3_answers_enosys_without_sys_admin() {
    let seccomp = resolve(&[]);
    let rules = rules_for(&seccomp, "clone3");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(rules[0].errno_ret(), Some(libc::ENOSYS as u32));
}

#[test]
fn clone_is_masked_against_namespace_flags() {
    let mask = 0x7E02_0000; // CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP
    for (arch, index) in [
        (AMD64, 0),
        (Arch::ScmpArchAarch64, 0),
        (Arch::ScmpArchS390x, 1),
    ] {
        let seccomp = resolve_on(&[], arch, KERNEL_6_18);
        let rules = rules_for(&seccomp, "clone");
        assert_eq!(rules.len(), 1, "{arch:?}");
        let args = rules[0].args().as_ref().unwrap();
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(
            (args[0].index(), args[0].value()),
            (index, mask),
            "{arch:?}"
        );
        assert_eq!(args[0].value_two().unwrap_or(0), 0);
    }
}

#[test]
fn personality_is_allowed_for_docker_values_only() {
    let seccomp = resolve(&[]);
    let mut values: Vec<u64> = rules_for(&seccomp, "personality")
        .iter()
        .map(|r| {
            let args = r.args().as_ref().unwrap();
            assert_eq!(args.len(), 1);
            assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpEq);
            args[0].value()
        })
        .collect();
    values.sort_unstable();
    assert_eq!(values, [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff]);
}

#[test]
fn socket_families_alg_and_vsock_are_refused() {
    let seccomp = resolve(&[]);
    let rules = rules_for(&seccomp, "socket");
    let allows = |family: u64| {
        rules.iter().any(|r| {
            r.args().as_ref().unwrap().iter().all(|a| match a.op() {
                LinuxSeccompOperator::ScmpCmpLt => family < a.value(),
                LinuxSeccompOperator::ScmpCmpEq => family == a.value(),
                LinuxSeccompOperator::ScmpCmpGt => family > a.value(),
                other => panic!("unexpected socket operator {other:?}"),
            })
        })
    };
    for family in 0..64 {
        let refused = family == libc::AF_ALG as u64 || family == libc::AF_VSOCK as u64;
        assert_eq!(allows(family), !refused, "family {family}");
    }
    assert!(allowed(&seccomp, "socketpair"));
    assert!(allowed(&seccomp, "socketcall"));
}

#[test]
fn architecture_groups_follow_the_host() {
    let amd64 = resolve(&[]);
    assert!(allowed(&amd64, "arch_prctl") && allowed(&amd64, "modify_ldt"));
    assert!(denied(&amd64, "set_tls") && denied(&amd64, "s390_runtime_instr"));
    let arm64 = resolve_on(&[], Arch::ScmpArchAarch64, KERNEL_6_18);
    for name in [
        "arm_fadvise64_64",
        "arm_sync_file_range",
        "sync_file_range2",
        "breakpoint",
        "cacheflush",
        "set_tls",
    ] {
        assert!(allowed(&arm64, name), "{name} on arm64");
    }
    assert!(denied(&arm64, "arch_prctl") && denied(&arm64, "modify_ldt"));
    let s390x = resolve_on(&[], Arch::ScmpArchS390x, KERNEL_6_18);
    assert!(allowed(&s390x, "s390_runtime_instr"));
    let ppc = resolve_on(&[], Arch::ScmpArchPpc64le, KERNEL_6_18);
    assert!(allowed(&ppc, "swapcontext"));
    let riscv = resolve_on(&[], Arch::ScmpArchRiscv64, KERNEL_6_18);
    assert!(allowed(&riscv, "riscv_flush_icache"));
}

#[test]
fn arch_map_gives_the_sub_architectures() {
    let arches = |arch| resolve_on(&[], arch, KERNEL_6_18).architectures().clone();
    assert_eq!(
        arches(AMD64),
        Some(vec![AMD64, Arch::ScmpArchX86, Arch::ScmpArchX32])
    );
    assert_eq!(
        arches(Arch::ScmpArchAarch64),
        Some(vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm])
    );
    assert_eq!(
        arches(Arch::ScmpArchRiscv64),
        Some(vec![Arch::ScmpArchRiscv64])
    );
    // No entry: docker leaves the list empty, i.e. the native ABI only.
    assert_eq!(arches(Arch::ScmpArchPpc64le), None);
}

#[test]
fn rules_name_each_syscall_once() {
    for rule in Profile::docker_default().syscalls {
        let unique: BTreeSet<&String> = rule.names.iter().collect();
        assert_eq!(
            unique.len(),
            rule.names.len(),
            "duplicate in {:?}",
            rule.names
        );
    }
}
