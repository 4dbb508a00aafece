//! Docker's default seccomp profile, as data.
//!
//! This table mirrors the defaults of moby's `seccomp/default.json` (in
//! github.com/moby/profiles since mid-2025; before that
//! `profiles/seccomp/default.json` in moby/moby) as Docker Engine 29.4.2
//! ships it: `io_uring_*` denied (moby#46762, Docker 25), the kernel keyring
//! calls `add_key`, `keyctl`, `request_key` denied, and `socket(2)` allowed
//! for every address family except `AF_ALG` (38) and `AF_VSOCK` (40)
//! (moby#52494, CVE-2026-31431). Rule order is moby's.
//!
//! Checked against: moby/profiles `seccomp/default.json` revision 02e898b
//! (syscall lists, capability and architecture groups, `archMap`,
//! personality values, clone mask, clone3 `ENOSYS`), moby/moby's earlier
//! revisions for the history above, and moby#52494's description for the
//! three `socket` rules (`< 38`, `== 39`, `> 40`).
//!
//! Known limitation, shared with docker: libseccomp compares the whole
//! 64-bit argument register, but the kernel reads `socket`'s family as a
//! 32-bit `int`. A caller that sets the upper 32 bits gets past the
//! `AF_ALG`/`AF_VSOCK` refusal on 64-bit architectures (seen here for
//! `AF_VSOCK` on x86_64); a real block of those families needs an LSM rule,
//! as docker added for `AF_ALG`.

use oci_spec::runtime::{Arch, LinuxSeccompAction as Action, LinuxSeccompOperator as Op};

use crate::profile::{ArchMapEntry, Condition, KernelVersion, Profile, SyscallArg, SyscallRule};

/// Allowed for every container (moby's first rule), whitespace separated.
const ALLOWED: &str = "
    accept accept4 access adjtimex alarm bind brk cachestat capget capset
    chdir chmod chown chown32 clock_adjtime clock_adjtime64 clock_getres
    clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
    clock_nanosleep_time64 close close_range connect copy_file_range creat
    dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
    epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
    execve execveat exit exit_group faccessat faccessat2 fadvise64
    fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2
    fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr
    flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs
    fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64
    futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents
    getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32
    getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid
    getppid getpriority getrandom getresgid getresgid32 getresuid
    getresuid32 getrlimit get_robust_list getrusage getsid getsockname
    getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
    getxattrat inotify_add_watch inotify_init inotify_init1
    inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
    io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill
    landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
    lchown32 lgetxattr link linkat listen listmount listxattr listxattrat
    llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
    map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir
    mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect
    mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
    mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget
    msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at
    nanosleep newfstatat _newselect open openat openat2 pause pidfd_open
    pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll
    ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64
    process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2
    read readahead readlink readlinkat readv recv recvfrom recvmmsg
    recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat
    rename renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq
    rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
    rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
    sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
    sched_get_priority_min sched_getscheduler sched_rr_get_interval
    sched_rr_get_interval_time64 sched_setaffinity sched_setattr
    sched_setparam sched_setscheduler sched_yield seccomp select semctl
    semget semop semtimedop semtimedop_time64 send sendfile sendfile64
    sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid
    setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid
    setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
    setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area
    set_tid_address setuid setuid32 setxattr setxattrat shmat shmctl shmdt
    shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
    socketcall socketpair splice stat stat64 statfs statfs64 statmount
    statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill
    time timer_create timer_delete timer_getoverrun timer_gettime
    timer_gettime64 timer_settime timer_settime64 timerfd_create
    timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64
    times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
    uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4
    waitid waitpid write writev
";

/// Allowed only with `CAP_SYS_ADMIN`.
const SYS_ADMIN: &str = "
    bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick
    lookup_dcookie lsm_get_self_attr lsm_list_modules lsm_set_self_attr
    mount mount_setattr move_mount open_tree perf_event_open quotactl
    quotactl_fd setdomainname sethostname setns syslog umount umount2
    unshare
";

/// The namespace flags `clone(2)` may not carry without `CAP_SYS_ADMIN`.
const CLONE_NAMESPACES: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

/// `personality(2)` values allowed: `PER_LINUX`, `PER_LINUX32`,
/// `UNAME26`, `UNAME26 | PER_LINUX32`, and `0xffffffff` (query).
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// `AF_ALG` and `AF_VSOCK`, the families `socket(2)` is refused.
const AF_ALG: u64 = 38;
const AF_VSOCK: u64 = 40;

/// One row of the table.
struct Group {
    names: &'static str,
    action: Action,
    errno: Option<u32>,
    args: &'static [(u32, u64, u64, Op)],
    includes: Cond,
    excludes: Cond,
    comment: Option<&'static str>,
}

/// `includes`/`excludes` of a row.
#[derive(Clone, Copy)]
struct Cond {
    caps: &'static [&'static str],
    arches: &'static [&'static str],
    min_kernel: Option<(u32, u32)>,
}

const ANY: Cond = Cond {
    caps: &[],
    arches: &[],
    min_kernel: None,
};

const fn caps(caps: &'static [&'static str]) -> Cond {
    Cond { caps, ..ANY }
}

const fn arches(arches: &'static [&'static str]) -> Cond {
    Cond { arches, ..ANY }
}

/// An unconditional allow row.
const fn allow(names: &'static str, includes: Cond) -> Group {
    Group {
        names,
        action: Action::ScmpActAllow,
        errno: None,
        args: &[],
        includes,
        excludes: ANY,
        comment: None,
    }
}

/// An allow row with argument conditions.
const fn allow_if(names: &'static str, args: &'static [(u32, u64, u64, Op)]) -> Group {
    Group {
        args,
        ..allow(names, ANY)
    }
}

const SOCKET_LOW: &[(u32, u64, u64, Op)] = &[(0, AF_ALG, 0, Op::ScmpCmpLt)];
const SOCKET_MID: &[(u32, u64, u64, Op)] = &[(0, AF_ALG + 1, 0, Op::ScmpCmpEq)];
const SOCKET_HIGH: &[(u32, u64, u64, Op)] = &[(0, AF_VSOCK, 0, Op::ScmpCmpGt)];
const PERSONALITY: [&[(u32, u64, u64, Op)]; 5] = [
    &[(0, PERSONALITIES[0], 0, Op::ScmpCmpEq)],
    &[(0, PERSONALITIES[1], 0, Op::ScmpCmpEq)],
    &[(0, PERSONALITIES[2], 0, Op::ScmpCmpEq)],
    &[(0, PERSONALITIES[3], 0, Op::ScmpCmpEq)],
    &[(0, PERSONALITIES[4], 0, Op::ScmpCmpEq)],
];
const CLONE_ARG0: &[(u32, u64, u64, Op)] = &[(0, CLONE_NAMESPACES, 0, Op::ScmpCmpMaskedEq)];
const CLONE_ARG1: &[(u32, u64, u64, Op)] = &[(1, CLONE_NAMESPACES, 0, Op::ScmpCmpMaskedEq)];

/// The table, in moby's order.
const GROUPS: &[Group] = &[
    allow(ALLOWED, ANY),
    allow(
        "process_vm_readv process_vm_writev ptrace",
        Cond {
            min_kernel: Some((4, 8)),
            ..ANY
        },
    ),
    allow_if("socket", SOCKET_LOW),
    allow_if("socket", SOCKET_MID),
    allow_if("socket", SOCKET_HIGH),
    allow_if("personality", PERSONALITY[0]),
    allow_if("personality", PERSONALITY[1]),
    allow_if("personality", PERSONALITY[2]),
    allow_if("personality", PERSONALITY[3]),
    allow_if("personality", PERSONALITY[4]),
    allow("sync_file_range2 swapcontext", arches(&["ppc64le"])),
    allow(
        "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
        arches(&["arm", "arm64"]),
    ),
    allow("arch_prctl", arches(&["amd64", "x32"])),
    allow("modify_ldt", arches(&["amd64", "x32", "x86"])),
    allow(
        "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
        arches(&["s390", "s390x"]),
    ),
    allow("riscv_flush_icache", arches(&["riscv64"])),
    allow("open_by_handle_at", caps(&["CAP_DAC_READ_SEARCH"])),
    allow(SYS_ADMIN, caps(&["CAP_SYS_ADMIN"])),
    Group {
        excludes: Cond {
            caps: &["CAP_SYS_ADMIN"],
            arches: &["s390", "s390x"],
            min_kernel: None,
        },
        ..allow_if("clone", CLONE_ARG0)
    },
    Group {
        includes: arches(&["s390", "s390x"]),
        excludes: caps(&["CAP_SYS_ADMIN"]),
        comment: Some("s390 parameter ordering for clone is different"),
        ..allow_if("clone", CLONE_ARG1)
    },
    // ENOSYS, not EPERM: glibc then falls back to clone(2), whose flags the
    // rules above can check (clone3 passes them in memory).
    Group {
        action: Action::ScmpActErrno,
        errno: Some(libc::ENOSYS as u32),
        excludes: caps(&["CAP_SYS_ADMIN"]),
        ..allow("clone3", ANY)
    },
    allow("reboot", caps(&["CAP_SYS_BOOT"])),
    allow("chroot", caps(&["CAP_SYS_CHROOT"])),
    allow(
        "delete_module init_module finit_module",
        caps(&["CAP_SYS_MODULE"]),
    ),
    allow("acct", caps(&["CAP_SYS_PACCT"])),
    allow(
        "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
        caps(&["CAP_SYS_PTRACE"]),
    ),
    allow("iopl ioperm", caps(&["CAP_SYS_RAWIO"])),
    allow(
        "settimeofday stime clock_settime clock_settime64",
        caps(&["CAP_SYS_TIME"]),
    ),
    allow("vhangup", caps(&["CAP_SYS_TTY_CONFIG"])),
    allow(
        "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
        caps(&["CAP_SYS_NICE"]),
    ),
    allow("syslog", caps(&["CAP_SYSLOG"])),
    allow("bpf", caps(&["CAP_BPF"])),
    allow("perf_event_open", caps(&["CAP_PERFMON"])),
];

/// Native architecture → the architectures its filter covers.
const ARCH_MAP: &[(Arch, &[Arch])] = &[
    (
        Arch::ScmpArchX86_64,
        &[Arch::ScmpArchX86, Arch::ScmpArchX32],
    ),
    (Arch::ScmpArchAarch64, &[Arch::ScmpArchArm]),
    (
        Arch::ScmpArchMips64,
        &[Arch::ScmpArchMips, Arch::ScmpArchMips64n32],
    ),
    (
        Arch::ScmpArchMips64n32,
        &[Arch::ScmpArchMips, Arch::ScmpArchMips64],
    ),
    (
        Arch::ScmpArchMipsel64,
        &[Arch::ScmpArchMipsel, Arch::ScmpArchMipsel64n32],
    ),
    (
        Arch::ScmpArchMipsel64n32,
        &[Arch::ScmpArchMipsel, Arch::ScmpArchMipsel64],
    ),
    (Arch::ScmpArchS390x, &[Arch::ScmpArchS390]),
    (Arch::ScmpArchRiscv64, &[]),
    (Arch::ScmpArchLoongarch64, &[]),
];

impl Cond {
    fn to_condition(self) -> Condition {
        Condition {
            caps: self.caps.iter().map(|s| (*s).to_owned()).collect(),
            arches: self.arches.iter().map(|s| (*s).to_owned()).collect(),
            min_kernel: self
                .min_kernel
                .map(|(major, minor)| KernelVersion { major, minor }),
        }
    }
}

impl Profile {
    /// Docker's default profile: everything not listed fails with `EPERM`;
    /// about 370 syscalls are allowed outright, others only with a
    /// capability (`mount`, `unshare`, `setns`, `bpf` ... with
    /// `CAP_SYS_ADMIN`, `ptrace` with `CAP_SYS_PTRACE`, `reboot` with
    /// `CAP_SYS_BOOT`, ...), on an architecture, or with argument
    /// conditions (`personality`, `socket` families, `clone` without
    /// namespace flags); `clone3` fails with `ENOSYS` so that glibc falls
    /// back to `clone`. See the module source for the provenance.
    pub fn docker_default() -> Profile {
        let syscalls = GROUPS
            .iter()
            .map(|group| SyscallRule {
                names: group.names.split_whitespace().map(str::to_owned).collect(),
                action: group.action,
                errno_ret: group.errno,
                args: group
                    .args
                    .iter()
                    .map(|&(index, value, value_two, op)| SyscallArg {
                        index,
                        value,
                        value_two,
                        op,
                    })
                    .collect(),
                comment: group.comment.map(str::to_owned),
                includes: group.includes.to_condition(),
                excludes: group.excludes.to_condition(),
            })
            .collect();
        Profile {
            default_action: Action::ScmpActErrno,
            default_errno_ret: Some(libc::EPERM as u32),
            architectures: Vec::new(),
            arch_map: ARCH_MAP
                .iter()
                .map(|&(architecture, subs)| ArchMapEntry {
                    architecture,
                    sub_architectures: subs.to_vec(),
                })
                .collect(),
            flags: Vec::new(),
            syscalls,
        }
    }
}
