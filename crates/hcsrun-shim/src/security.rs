//! What a process of the container runs with: capabilities, no_new_privs,
//! rlimits, umask, OOM score, personality and seccomp. The holder decides
//! it (`context.rs`: docker's defaults, or a Linux spec's exact values) and
//! the process applies it to itself between `fork` and `execve`
//! (`exec.rs`), in runc's order:
//!
//! 1. [`Security::apply_privileged`]: rlimits (raising a hard limit needs
//!    `CAP_SYS_RESOURCE`), the OOM score (lowering it needs it too),
//!    personality, umask, and the seccomp filter when no_new_privs is not
//!    asked for: loading a filter then needs `CAP_SYS_ADMIN`, which the
//!    process still has, and every later step runs under the filter;
//! 2. [`Security::drop_bounding`], then the ids (with `PR_SET_KEEPCAPS`, so
//!    a non-root user keeps what it is granted), then
//!    [`Security::set_capabilities`];
//! 3. last before `execve`, [`Security::apply_last`]: no_new_privs, then
//!    the seccomp filter when no_new_privs is set, so that the filter has
//!    the fewest of the runtime's own calls to allow.
//!
//! The processes that apply it are forked from the single-threaded holder
//! (or are its pid 1, forked the same way), so allocating here is sound;
//! the steps themselves are plain system calls on memory the process
//! already owns.

use std::borrow::Cow;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::caps::CapSets;

/// `umask` when nothing sets one: runc's and docker's.
pub const DEFAULT_UMASK: u32 = 0o022;

/// One resource limit (`setrlimit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    /// `RLIMIT_*`.
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// A compiled seccomp program, as the kernel takes it: `struct sock_filter`
/// packed as `code << 48 | jt << 40 | jf << 32 | k`, and the
/// `SECCOMP_FILTER_FLAG_*` bits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub instructions: Vec<u64>,
    pub flags: u64,
}

/// A process's privileges and limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    /// The five sets; `None` changes none (a Linux spec without
    /// `process.capabilities`, as runc).
    pub caps: Option<CapSets>,
    pub no_new_privs: bool,
    pub rlimits: Vec<Rlimit>,
    pub umask: u32,
    /// `/proc/self/oom_score_adj`: the spec's, else the one the holder was
    /// started with (never the holder's own -1000, which would make the
    /// container's processes the OOM killer's last choice).
    pub oom_score_adj: i32,
    /// `personality(2)` domain.
    pub personality: Option<u32>,
    pub seccomp: Option<Program>,
}

/// A failed step: which, and the errno.
pub type Step = (Cow<'static, str>, Errno);

impl Security {
    /// Step 1: what needs the privileges the process is about to lose.
    pub fn apply_privileged(&self) -> Result<(), Step> {
        for limit in &self.rlimits {
            let value = libc::rlimit {
                rlim_cur: limit.soft,
                rlim_max: limit.hard,
            };
            // SAFETY: setrlimit reads the local `value`.
            if unsafe { libc::setrlimit(limit.resource as _, &value) } < 0 {
                return Err(("setting rlimits".into(), Errno::last()));
            }
        }
        write_oom_score_adj(self.oom_score_adj).map_err(|e| ("setting oom_score_adj".into(), e))?;
        if let Some(domain) = self.personality {
            // SAFETY: personality takes an integer.
            if unsafe { libc::personality(domain as libc::c_ulong) } < 0 {
                return Err(("setting the personality".into(), Errno::last()));
            }
        }
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(self.umask as libc::mode_t) };
        if !self.no_new_privs {
            self.load_seccomp()?;
        }
        Ok(())
    }

    /// Step 2a: the bounding set, which needs `CAP_SETPCAP`.
    pub fn drop_bounding(&self) -> Result<(), Step> {
        match self.caps {
            // SAFETY: prctls on this process only.
            Some(caps) => unsafe { crate::caps::drop_bounding(caps.bounding) }
                .map_err(|e| ("dropping capabilities from the bounding set".into(), e)),
            None => Ok(()),
        }
    }

    /// Step 2c: the other four sets, once the process has its ids.
    pub fn set_capabilities(&self) -> Result<(), Step> {
        match &self.caps {
            // SAFETY: capset and prctls on this process only.
            Some(caps) => unsafe { crate::caps::set(caps) }.map_err(|e| {
                let missing = caps.permitted & !own_permitted();
                if e != Errno::EPERM || missing == 0 {
                    return ("setting capabilities".into(), e);
                }
                let names: Vec<String> = (0..64u8)
                    .filter(|n| missing & (1 << n) != 0)
                    .map(|n| {
                        hcsrun_linux_spec::capability_of_number(n)
                            .map_or_else(|| format!("capability {n}"), hcsrun_linux_spec::cap_name)
                    })
                    .collect();
                let what = format!(
                    "setting capabilities: {} not held by the runtime itself (its own caller's \
                     bounding set lacks it), so no container of it can have it",
                    names.join(", ")
                );
                (what.into(), e)
            }),
            None => Ok(()),
        }
    }

    /// Step 3: no_new_privs and, with it, the seccomp filter. Nothing but
    /// `execve` (and, if that fails, the report of its failure) follows.
    pub fn apply_last(&self) -> Result<(), Step> {
        if self.no_new_privs {
            // SAFETY: a prctl with integer arguments.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
                return Err(("setting no_new_privs".into(), Errno::last()));
            }
            self.load_seccomp()?;
        }
        Ok(())
    }

    fn load_seccomp(&self) -> Result<(), Step> {
        let Some(program) = &self.seccomp else {
            return Ok(());
        };
        let mut filter: Vec<libc::sock_filter> =
            program.instructions.iter().map(|&i| unpack(i)).collect();
        let prog = libc::sock_fprog {
            len: filter.len() as libc::c_ushort,
            filter: filter.as_mut_ptr(),
        };
        // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads `prog` and the
        // instructions it points to, which live until the call returns.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
                program.flags as libc::c_ulong,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc != 0 {
            // With TSYNC a positive answer names a thread that could not
            // be synchronized; this process has one thread.
            let e = if rc > 0 { Errno::ESRCH } else { Errno::last() };
            return Err(("loading the seccomp filter".into(), e));
        }
        Ok(())
    }
}

/// `struct sock_filter` from its packed form.
pub fn unpack(packed: u64) -> libc::sock_filter {
    libc::sock_filter {
        code: (packed >> 48) as u16,
        jt: (packed >> 40) as u8,
        jf: (packed >> 32) as u8,
        k: packed as u32,
    }
}

/// `struct sock_filter` packed into a `u64` (see [`Program`]).
pub fn pack(insn: &libc::sock_filter) -> u64 {
    u64::from(insn.code) << 48
        | u64::from(insn.jt) << 40
        | u64::from(insn.jf) << 32
        | u64::from(insn.k)
}

fn write_oom_score_adj(value: i32) -> Result<(), Errno> {
    let text = value.to_string();
    let fd = nix::fcntl::open(
        "/proc/self/oom_score_adj",
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    nix::unistd::write(&fd, text.as_bytes()).map(drop)
}

/// The holder's own `oom_score_adj` before it lowers it: what the
/// container's processes get unless a spec says otherwise (runc's
/// processes inherit runc's).
pub fn read_oom_score_adj() -> i32 {
    std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// This process's permitted capabilities (`CapPrm` in `/proc/self/status`).
fn own_permitted() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("CapPrm:"))?;
            u64::from_str_radix(line["CapPrm:".len()..].trim(), 16).ok()
        })
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_pack_both_ways() {
        let insn = libc::sock_filter {
            code: 0x15,
            jt: 3,
            jf: 250,
            k: 0xc000_003e,
        };
        let back = unpack(pack(&insn));
        assert_eq!(
            (back.code, back.jt, back.jf, back.k),
            (0x15, 3, 250, 0xc000_003e)
        );
    }
}
