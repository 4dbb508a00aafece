//! Compiling an OCI `linux.seccomp` into a BPF program with libseccomp, the
//! way runc does: same action and operator meanings, unknown syscall names
//! skipped, same-index argument conditions split into separate rules, and
//! an `ENOSYS` answer for syscalls newer than the filter knows.

use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{FromRawFd, OwnedFd};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};

use crate::enosys;
use crate::error::CompileError;
use crate::filter::{Filter, MAX_INSTRUCTIONS};
use crate::profile::MAX_SYSCALL_ARGS;
use crate::resolve::native_arch;

/// See [`Filter::compile`].
pub(crate) fn compile(seccomp: &LinuxSeccomp) -> Result<Filter, CompileError> {
    if let Some(path) = seccomp.listener_path() {
        return Err(CompileError::ListenerPath {
            path: path.display().to_string(),
        });
    }
    let default_action = seccomp.default_action();
    let default = action(
        default_action,
        seccomp.default_errno_ret(),
        || "defaultAction".to_owned(),
        || "defaultErrnoRet".to_owned(),
    )?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|source| CompileError::Context {
        action: default_action,
        source,
    })?;

    // A binary tree of syscall numbers rather than libseccomp's default
    // list: a call is decided in about ten comparisons instead of up to a
    // few hundred, and the kernel, which walks the program once per syscall
    // and architecture when it loads it (the action cache), loads docker's
    // default profile in 0.6 ms instead of 1.5. A libseccomp older than 2.5
    // has no tree and keeps the list, with the same meaning.
    let _ = ctx.set_ctl_optimize(2);
    let mut arches = vec![native_arch()];
    for &arch in seccomp.architectures().iter().flatten() {
        let arch = match arch {
            Arch::ScmpArchNative => native_arch(),
            other => other,
        };
        ctx.add_arch(scmp_arch(arch))
            .map_err(|source| CompileError::AddArch { arch, source })?;
        if !arches.contains(&arch) {
            arches.push(arch);
        }
    }

    let no_rules = Vec::new();
    let rules = seccomp.syscalls().as_ref().unwrap_or(&no_rules);
    let mut skipped = Vec::new();
    for rule in rules {
        add_rule(&mut ctx, &default, rule, &mut skipped)?;
    }

    let mut program = export(&ctx)?;
    if needs_enosys_stub(default_action, &default) {
        let names = rules
            .iter()
            .flat_map(|r| r.names().iter().map(String::as_str));
        let mut stub = enosys::prologue(&arches, names)?;
        stub.append(&mut program);
        program = stub;
    }
    if program.len() > MAX_INSTRUCTIONS {
        return Err(CompileError::TooLong {
            len: program.len(),
            max: MAX_INSTRUCTIONS,
        });
    }
    let flags = kernel_flags(seccomp.flags().iter().flatten())?;
    Ok(Filter::new(program, flags, skipped))
}

/// runc's rule: syscalls newer than any the filter names get `ENOSYS`
/// (so that libcs fall back to older calls) unless the default already
/// lets them through (allow, log, trace) or already says `ENOSYS`.
fn needs_enosys_stub(action: LinuxSeccompAction, default: &ScmpAction) -> bool {
    let allowing = matches!(
        action,
        LinuxSeccompAction::ScmpActAllow
            | LinuxSeccompAction::ScmpActLog
            | LinuxSeccompAction::ScmpActTrace
    );
    !allowing && *default != ScmpAction::Errno(libc::ENOSYS)
}

/// Adds one OCI rule, once per syscall name this architecture knows.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    default: &ScmpAction,
    rule: &LinuxSyscall,
    skipped: &mut Vec<String>,
) -> Result<(), CompileError> {
    let first = rule.names().first().map_or("(no names)", String::as_str);
    let subject = || format!("rule for {first}");
    let act = action(rule.action(), rule.errno_ret(), subject, subject)?;
    // libseccomp refuses rules that repeat the default action (runc skips
    // them too): they would not change anything.
    if act == *default {
        return Ok(());
    }
    let no_args = Vec::new();
    let args = rule.args().as_ref().unwrap_or(&no_args);
    let mut conditions = Vec::with_capacity(args.len());
    for arg in args {
        conditions.push(condition(arg, first)?);
    }
    // libseccomp cannot AND two conditions on the same argument; runc then
    // adds one rule per condition (OR), and so do we.
    let repeated_index = args
        .iter()
        .enumerate()
        .any(|(i, a)| args[..i].iter().any(|b| b.index() == a.index()));

    for name in rule.names() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            // Unknown to this libseccomp on every architecture: skipped, as
            // runc does, so that newer profiles work with older libraries.
            skipped.push(name.clone());
            continue;
        };
        let add = |ctx: &mut ScmpFilterContext, conds: &[ScmpArgCompare]| {
            ctx.add_rule_conditional(act, syscall, conds)
                .map(drop)
                .map_err(|source| CompileError::AddRule {
                    name: name.clone(),
                    action: rule.action(),
                    source,
                })
        };
        if repeated_index {
            for cond in &conditions {
                add(ctx, std::slice::from_ref(cond))?;
            }
        } else {
            add(ctx, &conditions)?;
        }
    }
    Ok(())
}

/// The libseccomp action for an OCI action and errno. `SCMP_ACT_ERRNO` and
/// `SCMP_ACT_TRACE` without an errno use `EPERM` (runc's choice); other
/// actions ignore `errno` (runc does too).
fn action(
    action: LinuxSeccompAction,
    errno: Option<u32>,
    subject: impl Fn() -> String,
    errno_subject: impl Fn() -> String,
) -> Result<ScmpAction, CompileError> {
    let ret = || -> Result<u16, CompileError> {
        match errno {
            None => Ok(libc::EPERM as u16),
            Some(errno) => u16::try_from(errno).map_err(|_| CompileError::ErrnoRange {
                subject: errno_subject(),
                errno,
            }),
        }
    };
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::from(ret()?)),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(ret()?),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(CompileError::Notify { subject: subject() })
        }
    })
}

/// One argument condition. For `SCMP_CMP_MASKED_EQ`, `value` is the mask
/// and `valueTwo` what the masked argument must equal (runc's reading).
fn condition(arg: &LinuxSeccompArg, name: &str) -> Result<ScmpArgCompare, CompileError> {
    let index = u32::try_from(arg.index())
        .ok()
        .filter(|&i| i < MAX_SYSCALL_ARGS)
        .ok_or_else(|| CompileError::ArgIndex {
            name: name.to_owned(),
            index: arg.index(),
        })?;
    let (op, datum) = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
        LinuxSeccompOperator::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    Ok(ScmpArgCompare::new(index, op, datum))
}

/// libseccomp's token for an OCI architecture.
pub(crate) fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// The `seccomp(2)` flags for the OCI flags.
fn kernel_flags<'a>(
    flags: impl Iterator<Item = &'a LinuxSeccompFilterFlag>,
) -> Result<libc::c_ulong, CompileError> {
    let mut bits = 0;
    for flag in flags {
        bits |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(CompileError::Notify {
                    subject: "flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV".to_owned(),
                })
            }
        };
    }
    Ok(bits)
}

/// The filter's BPF program, through a memfd (libseccomp 2.5 has no
/// in-memory export).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, CompileError> {
    let file_error = |operation| move |source| CompileError::ExportFile { operation, source };
    let name: &CStr = c"hcsrun-seccomp-bpf";
    // SAFETY: `name` is a valid NUL-terminated string that outlives the
    // call; memfd_create reads it and returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(file_error("creating")(std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just returned by memfd_create, is open, and nothing
    // else owns it; the File takes sole ownership and closes it.
    let mut file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    ctx.export_bpf(&file)
        .map_err(|source| CompileError::Export { source })?;
    file.seek(SeekFrom::Start(0))
        .map_err(file_error("rewinding"))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(file_error("reading"))?;
    parse_program(&bytes)
}

/// Instructions from libseccomp's output: `struct sock_filter` in host
/// byte order (`u16 code, u8 jt, u8 jf, u32 k`).
fn parse_program(bytes: &[u8]) -> Result<Vec<libc::sock_filter>, CompileError> {
    const INSN: usize = std::mem::size_of::<libc::sock_filter>();
    if bytes.is_empty() || bytes.len() % INSN != 0 {
        return Err(CompileError::Truncated { bytes: bytes.len() });
    }
    Ok(bytes
        .chunks_exact(INSN)
        .map(|b| libc::sock_filter {
            code: u16::from_ne_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_bytes_must_be_whole_instructions() {
        assert!(matches!(
            parse_program(&[0; 7]),
            Err(CompileError::Truncated { bytes: 7 })
        ));
        assert!(matches!(
            parse_program(&[]),
            Err(CompileError::Truncated { bytes: 0 })
        ));
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0x0015u16.to_ne_bytes());
        bytes.extend_from_slice(&[3, 4]);
        bytes.extend_from_slice(&0xc000_003eu32.to_ne_bytes());
        let program = parse_program(&bytes).unwrap();
        assert_eq!(program.len(), 1);
        let insn = program[0];
        assert_eq!(
            (insn.code, insn.jt, insn.jf, insn.k),
            (0x15, 3, 4, 0xc000_003e)
        );
    }
}
