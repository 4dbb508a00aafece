//! A compiled filter, and loading it between `fork` and `execve`.

use std::fmt;

use nix::errno::Errno;
use oci_spec::runtime::LinuxSeccomp;

use crate::error::CompileError;

/// `BPF_MAXINSNS`: the longest program the kernel loads.
pub(crate) const MAX_INSTRUCTIONS: usize = libc::BPF_MAXINSNS as usize;

/// A seccomp filter compiled to a BPF program, ready to load.
///
/// # Contract
///
/// Build it in the parent with [`Filter::compile`] — that allocates, takes
/// libseccomp's locks and reads files — *before* `fork`. In the child,
/// between `fork` and `execve`, call only [`set_no_new_privs`] (when the
/// container asks for it, or when the child lacks `CAP_SYS_ADMIN`) and then
/// [`Filter::apply`]: both are async-signal-safe — no allocation, no locks,
/// no libseccomp, just `prctl(2)` and `seccomp(2)` on memory the filter
/// already owns — so they are sound in the child of a multi-threaded
/// parent. The filter must stay alive until `apply` returns; the child's
/// copy of the parent's memory takes care of that after `fork`.
///
/// Apply it last before `execve`: from then on every syscall of the
/// process, including the runtime's own, goes through it.
#[derive(Clone)]
pub struct Filter {
    /// Never empty, at most [`MAX_INSTRUCTIONS`] long.
    program: Vec<libc::sock_filter>,
    /// `SECCOMP_FILTER_FLAG_*` bits.
    flags: libc::c_ulong,
    /// Syscall names this libseccomp does not know.
    skipped: Vec<String>,
}

impl Filter {
    /// Compiles an OCI seccomp configuration (a bundle's `linux.seccomp`,
    /// or [`Profile::resolve`](crate::Profile::resolve)'s result) with
    /// libseccomp, with runc's meanings:
    ///
    /// - `SCMP_ACT_KILL` is `SCMP_ACT_KILL_THREAD`; `SCMP_ACT_ERRNO` and
    ///   `SCMP_ACT_TRACE` without `errnoRet` use `EPERM`; `SCMP_ACT_NOTIFY`
    ///   and `listenerPath` are refused (hcsrun has no notify agent).
    /// - `SCMP_CMP_MASKED_EQ` matches when `arg & value == valueTwo`;
    ///   conditions on different arguments must all hold, while several
    ///   conditions on the same argument become separate rules (any holds).
    /// - The native architecture is always covered, plus `architectures`;
    ///   a call from another ABI gets libseccomp's bad-arch action (kill).
    /// - Syscall names this libseccomp does not know on any architecture
    ///   are skipped ([`Filter::skipped_syscalls`]); rules equal to the
    ///   default action are dropped.
    /// - Unless the default action allows (`ALLOW`, `LOG`, `TRACE`), calls
    ///   numbered above the highest syscall the rules name get `ENOSYS`,
    ///   so libcs fall back from syscalls newer than the filter knows.
    pub fn compile(seccomp: &LinuxSeccomp) -> Result<Self, CompileError> {
        crate::compile::compile(seccomp)
    }

    pub(crate) fn new(
        program: Vec<libc::sock_filter>,
        flags: libc::c_ulong,
        skipped: Vec<String>,
    ) -> Self {
        debug_assert!(!program.is_empty() && program.len() <= MAX_INSTRUCTIONS);
        Self {
            program,
            flags,
            skipped,
        }
    }

    /// The BPF program.
    pub fn instructions(&self) -> &[libc::sock_filter] {
        &self.program
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits `apply` passes to `seccomp(2)`.
    pub fn flags(&self) -> libc::c_ulong {
        self.flags
    }

    /// Syscall names in the configuration that this libseccomp does not
    /// know, which the filter therefore does not mention.
    pub fn skipped_syscalls(&self) -> &[String] {
        &self.skipped
    }

    /// Loads the filter into the calling thread (all threads with
    /// `SECCOMP_FILTER_FLAG_TSYNC`) with `seccomp(SECCOMP_SET_MODE_FILTER)`.
    ///
    /// Async-signal-safe: see the type's contract. The kernel refuses
    /// (`EACCES`) unless no_new_privs is set ([`set_no_new_privs`]) or the
    /// thread has `CAP_SYS_ADMIN`. With `TSYNC`, a thread that cannot be
    /// synchronized gives `ESRCH`.
    pub fn apply(&self) -> Result<(), Errno> {
        let program = libc::sock_fprog {
            // `new`'s invariant: 1 to 4096 instructions, so this fits.
            len: self.program.len() as libc::c_ushort,
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) reads
        // `prog` and the `len` instructions it points to, which `self`
        // owns and keeps alive for the whole call; the kernel copies them
        // and never writes through the pointer (the `*mut` is only the C
        // type). No memory is allocated and no lock is taken here.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::c_ulong::from(libc::SECCOMP_SET_MODE_FILTER),
                self.flags,
                &program as *const libc::sock_fprog,
            )
        };
        match rc {
            0 => Ok(()),
            // With TSYNC the kernel answers the id of a thread it could
            // not synchronize.
            rc if rc > 0 => Err(Errno::ESRCH),
            _ => Err(Errno::last()),
        }
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("skipped_syscalls", &self.skipped)
            .finish()
    }
}

/// Sets no_new_privs on the calling thread (`prctl(PR_SET_NO_NEW_PRIVS)`):
/// `execve` will not grant privileges (setuid bits, file capabilities), and
/// loading a seccomp filter no longer needs `CAP_SYS_ADMIN`.
/// Async-signal-safe; it cannot be undone.
pub fn set_no_new_privs() -> Result<(), Errno> {
    let one: libc::c_ulong = 1;
    let zero: libc::c_ulong = 0;
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only (1, then
    // three zeros the kernel requires), passes no pointers, and only sets
    // a flag on the calling thread.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, one, zero, zero, zero) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}
