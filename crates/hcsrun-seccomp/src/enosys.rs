//! The `ENOSYS` prologue: a few BPF instructions put before libseccomp's
//! program that answer `ENOSYS` to any syscall numbered above the highest
//! one the profile names, per architecture.
//!
//! Without it, a syscall newer than the installed libseccomp knows (say
//! `fchmodat2` with libseccomp 2.5.4) falls to the default action, usually
//! `EPERM`, and a libc that would fall back to an older syscall on `ENOSYS`
//! fails instead. runc prepends the same kind of stub; like runc's, it
//! assumes syscall tables grow upwards.

use libseccomp::ScmpSyscall;
use oci_spec::runtime::Arch;

use crate::compile::scmp_arch;
use crate::error::CompileError;

// Classic BPF opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JMP_JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const JMP_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JMP_JGT_K: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JMP_JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

/// x32 syscalls are x86_64's with this bit set in the number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// `AUDIT_ARCH_X86_64`: the kernel's arch value for x86_64 and x32 alike.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// A jump target while the prologue is being laid out.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    /// The next instruction.
    Next,
    /// The `ret ENOSYS` instruction.
    Enosys,
    /// The first instruction of libseccomp's program.
    Filter,
    /// The `n`th section (one per kernel architecture value).
    Section(usize),
    /// The x32 half of the x86_64 section.
    X32,
}

/// A prologue instruction or a label.
enum Item {
    Insn {
        code: u16,
        k: u32,
        jt: Target,
        jf: Target,
    },
    Label(Target),
}

fn insn(code: u16, k: u32, jt: Target, jf: Target) -> Item {
    Item::Insn { code, k, jt, jf }
}

/// The prologue for a filter covering `arches` whose rules name `names`;
/// empty when no architecture has a known syscall among them.
pub(crate) fn prologue<'a>(
    arches: &[Arch],
    names: impl Iterator<Item = &'a str> + Clone,
) -> Result<Vec<libc::sock_filter>, CompileError> {
    // (kernel arch value, highest native syscall, highest x32 syscall)
    let mut sections: Vec<(u32, Option<u32>, Option<u32>)> = Vec::new();
    for &arch in arches {
        let Some(audit) = audit_arch(arch) else {
            continue;
        };
        let Some(max) = highest_syscall(arch, names.clone()) else {
            continue;
        };
        let index = match sections.iter().position(|s| s.0 == audit) {
            Some(i) => i,
            None => {
                sections.push((audit, None, None));
                sections.len() - 1
            }
        };
        if arch == Arch::ScmpArchX32 {
            sections[index].2 = Some(max);
        } else {
            sections[index].1 = Some(max);
        }
    }
    if sections.is_empty() {
        return Ok(Vec::new());
    }

    let mut items = vec![insn(LD_W_ABS, DATA_ARCH, Target::Next, Target::Next)];
    for (i, section) in sections.iter().enumerate() {
        items.push(insn(JMP_JEQ_K, section.0, Target::Section(i), Target::Next));
    }
    items.push(insn(JMP_JA, 0, Target::Filter, Target::Filter));
    for (i, &(audit, native, x32)) in sections.iter().enumerate() {
        items.push(Item::Label(Target::Section(i)));
        items.push(insn(LD_W_ABS, DATA_NR, Target::Next, Target::Next));
        if audit == AUDIT_ARCH_X86_64 {
            // Calls with the x32 bit go to the x32 check, or straight to
            // the filter when x32 is not covered (it kills them).
            let x32_target = if x32.is_some() {
                Target::X32
            } else {
                Target::Filter
            };
            let native_target = if native.is_some() {
                Target::Next
            } else {
                Target::Filter
            };
            items.push(insn(JMP_JSET_K, X32_SYSCALL_BIT, x32_target, native_target));
        }
        if is_s390(audit) {
            // Unknown "large" s390 syscalls reach the filter as number 0.
            items.push(insn(JMP_JEQ_K, 0, Target::Enosys, Target::Next));
        }
        if let Some(max) = native {
            items.push(insn(JMP_JGT_K, max, Target::Enosys, Target::Next));
            items.push(insn(JMP_JA, 0, Target::Filter, Target::Filter));
        }
        if let Some(max) = x32.filter(|_| audit == AUDIT_ARCH_X86_64) {
            items.push(Item::Label(Target::X32));
            items.push(insn(JMP_JGT_K, max, Target::Enosys, Target::Next));
            items.push(insn(JMP_JA, 0, Target::Filter, Target::Filter));
        }
    }
    items.push(Item::Label(Target::Enosys));
    items.push(insn(
        RET_K,
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        Target::Next,
        Target::Next,
    ));
    items.push(Item::Label(Target::Filter));
    assemble(&items)
}

/// Resolves labels into relative jumps.
fn assemble(items: &[Item]) -> Result<Vec<libc::sock_filter>, CompileError> {
    let mut labels: Vec<(Target, usize)> = Vec::new();
    let mut count = 0;
    for item in items {
        match item {
            Item::Label(target) => labels.push((*target, count)),
            Item::Insn { .. } => count += 1,
        }
    }
    let position = |target: Target, at: usize| -> usize {
        if target == Target::Next {
            return at + 1;
        }
        labels
            .iter()
            .find(|(t, _)| *t == target)
            .map_or(at + 1, |&(_, pos)| pos)
    };
    let too_long = || CompileError::Prologue { len: count };
    let mut program = Vec::with_capacity(count);
    for item in items {
        let Item::Insn { code, k, jt, jf } = *item else {
            continue;
        };
        let at = program.len();
        let offset = |target| position(target, at) - (at + 1);
        let insn = if code == JMP_JA {
            let k = u32::try_from(offset(jt)).map_err(|_| too_long())?;
            libc::sock_filter {
                code,
                jt: 0,
                jf: 0,
                k,
            }
        } else {
            libc::sock_filter {
                code,
                jt: u8::try_from(offset(jt)).map_err(|_| too_long())?,
                jf: u8::try_from(offset(jf)).map_err(|_| too_long())?,
                k,
            }
        };
        program.push(insn);
    }
    Ok(program)
}

/// The highest syscall number among `names` on `arch`, if any is known.
fn highest_syscall<'a>(arch: Arch, names: impl Iterator<Item = &'a str>) -> Option<u32> {
    let arch = scmp_arch(arch);
    names
        .filter_map(|name| ScmpSyscall::from_name_by_arch(name, arch).ok())
        .filter_map(|nr| u32::try_from(nr.as_raw_syscall()).ok())
        .max()
}

/// The kernel's `AUDIT_ARCH_*` value: libseccomp's token, except x32,
/// whose token is made up and which shares x86_64's value.
fn audit_arch(arch: Arch) -> Option<u32> {
    match arch {
        Arch::ScmpArchNative => None,
        Arch::ScmpArchX32 => Some(AUDIT_ARCH_X86_64),
        other => Some(other as u32),
    }
}

fn is_s390(audit: u32) -> bool {
    audit == Arch::ScmpArchS390 as u32 || audit == Arch::ScmpArchS390x as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a jump at `at` lands, counted from the prologue's start.
    fn targets(insn: &libc::sock_filter, at: usize) -> Vec<usize> {
        if insn.code == JMP_JA {
            vec![at + 1 + insn.k as usize]
        } else if insn.code & 0x07 == libc::BPF_JMP as u16 {
            vec![at + 1 + usize::from(insn.jt), at + 1 + usize::from(insn.jf)]
        } else {
            vec![]
        }
    }

    #[test]
    fn jumps_stay_inside_and_fall_into_the_filter() {
        let arches = [Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32];
        let names = ["read", "write", "futex_waitv", "socketcall"];
        let program = prologue(&arches, names.iter().copied()).unwrap();
        assert_eq!(program[0].code, LD_W_ABS);
        assert_eq!(program[0].k, DATA_ARCH);
        let enosys = program
            .iter()
            .position(|i| i.code == RET_K)
            .expect("a ret ENOSYS");
        assert_eq!(enosys, program.len() - 1, "the return closes the prologue");
        assert_eq!(
            program[enosys].k,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32
        );
        for (at, insn) in program.iter().enumerate() {
            for target in targets(insn, at) {
                // Every jump ends at the return or at the filter just after.
                assert!(target <= program.len(), "insn {at} jumps past the filter");
            }
        }
        // One section per kernel arch value: x86_64 (with x32) and i386.
        let arch_checks: Vec<u32> = program
            .iter()
            .filter(|i| i.code == JMP_JEQ_K && i.k > 0xffff)
            .map(|i| i.k)
            .collect();
        assert_eq!(arch_checks, [AUDIT_ARCH_X86_64, Arch::ScmpArchX86 as u32]);
        // futex_waitv (449) is the highest native call named.
        assert!(program.iter().any(|i| i.code == JMP_JGT_K && i.k == 449));
        assert!(program
            .iter()
            .any(|i| i.code == JMP_JSET_K && i.k == X32_SYSCALL_BIT));
    }

    #[test]
    fn nothing_known_means_no_prologue() {
        let program = prologue(&[Arch::ScmpArchX86_64], ["no_such_call"].into_iter()).unwrap();
        assert!(program.is_empty());
    }
}
