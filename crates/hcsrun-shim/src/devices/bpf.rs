//! The device allow-list on cgroup v2: an eBPF program of type
//! `BPF_PROG_TYPE_CGROUP_DEVICE`, assembled here instruction by
//! instruction, loaded with `bpf(BPF_PROG_LOAD)` and attached to the
//! container's cgroup (`BPF_PROG_ATTACH`, `BPF_CGROUP_DEVICE`). The kernel
//! runs it on every open and mknod of a device node by a process of the
//! cgroup; it answers 1 (allowed) or 0 (`EPERM`).
//!
//! Meaning, as cgroup v1's lists read in order: the last rule that covers
//! a device and an access kind decides that kind; a request (read and
//! write for `O_RDWR`) is allowed only if every kind it asks for is. So
//! the program walks the rules from the last: a deny rule covering any
//! still-undecided kind denies; an allow rule decides the kinds it covers,
//! and once none is left the request is allowed; a request no rule
//! decides is denied.
//!
//! The program reads `struct bpf_cgroup_dev_ctx { u32 access_type; u32
//! major; u32 minor; }`, `access_type` being `access << 16 | type` (type:
//! 1 block, 2 char; access: 1 mknod, 2 read, 4 write).

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use super::{Kind, Rule};

/// `struct bpf_insn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// `dst_reg` in the low four bits, `src_reg` in the high four.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Instruction classes, sizes, modes, operations and sources
// (linux/bpf_common.h, linux/bpf.h).
const LDX: u8 = 0x01;
const JMP: u8 = 0x05;
const JMP32: u8 = 0x06;
const ALU64: u8 = 0x07;
const W: u8 = 0x00;
const MEM: u8 = 0x60;
const AND: u8 = 0x50;
const RSH: u8 = 0x70;
const MOV: u8 = 0xb0;
const JEQ: u8 = 0x10;
const JNE: u8 = 0x50;
const EXIT: u8 = 0x90;
const K: u8 = 0x00;
const X: u8 = 0x08;

/// `BPF_DEVCG_DEV_BLOCK`, `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | src << 4,
        off,
        imm,
    }
}

/// `dst = *(u32 *)(src + off)`.
fn load_word(dst: u8, src: u8, off: i16) -> Insn {
    insn(LDX | W | MEM, dst, src, off, 0)
}
fn mov_reg(dst: u8, src: u8) -> Insn {
    insn(ALU64 | MOV | X, dst, src, 0, 0)
}
fn mov_imm(dst: u8, imm: i32) -> Insn {
    insn(ALU64 | MOV | K, dst, 0, 0, imm)
}
fn and_imm(dst: u8, imm: i32) -> Insn {
    insn(ALU64 | AND | K, dst, 0, 0, imm)
}
fn rsh_imm(dst: u8, imm: i32) -> Insn {
    insn(ALU64 | RSH | K, dst, 0, 0, imm)
}
/// Jumps `off` instructions ahead if the low 32 bits of `dst` are not (or
/// are) `imm`, compared as unsigned 32-bit values.
fn jne32(dst: u8, imm: u32, off: i16) -> Insn {
    insn(JMP32 | JNE | K, dst, 0, off, imm as i32)
}
fn jeq32(dst: u8, imm: u32, off: i16) -> Insn {
    insn(JMP32 | JEQ | K, dst, 0, off, imm as i32)
}
fn exit() -> Insn {
    insn(JMP | EXIT, 0, 0, 0, 0)
}

// Registers: r1 the context; r2 the access asked for; r3 the type; r4
// major; r5 minor; r6 the access kinds not decided yet; r7 scratch; r0
// the answer.
const R0: u8 = 0;
const R1: u8 = 1;
const ACCESS: u8 = 2;
const TYPE: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;
const UNDECIDED: u8 = 6;
const SCRATCH: u8 = 7;

/// The program for `rules` (as cgroup v1 reads them, in order).
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        load_word(ACCESS, R1, 0),
        mov_reg(TYPE, ACCESS),
        and_imm(TYPE, 0xffff),
        rsh_imm(ACCESS, 16),
        load_word(MAJOR, R1, 4),
        load_word(MINOR, R1, 8),
        mov_reg(UNDECIDED, ACCESS),
    ];
    for rule in rules.iter().rev() {
        p.extend(rule_block(rule));
    }
    p.extend([mov_imm(R0, 0), exit()]);
    p
}

/// One rule: tests that skip it unless it covers the device, then its
/// verdict. Every skip jumps to the end of the block.
fn rule_block(rule: &Rule) -> Vec<Insn> {
    let mut tests: Vec<(u8, u32)> = Vec::new();
    match rule.kind {
        Kind::All => {}
        Kind::Char => tests.push((TYPE, DEV_CHAR as u32)),
        Kind::Block => tests.push((TYPE, DEV_BLOCK as u32)),
    }
    tests.extend(rule.major.map(|m| (MAJOR, m)));
    tests.extend(rule.minor.map(|m| (MINOR, m)));
    let access = i32::from(rule.access);
    let verdict = if rule.allow {
        // Decide the kinds it covers; allowed once none is left.
        vec![
            and_imm(UNDECIDED, !access),
            jne32(UNDECIDED, 0, 2),
            mov_imm(R0, 1),
            exit(),
        ]
    } else {
        // Denied if it covers a kind still undecided.
        vec![
            mov_reg(SCRATCH, UNDECIDED),
            and_imm(SCRATCH, access),
            jeq32(SCRATCH, 0, 2),
            mov_imm(R0, 0),
            exit(),
        ]
    };
    let len = tests.len() + verdict.len();
    let mut block: Vec<Insn> = tests
        .iter()
        .enumerate()
        .map(|(i, &(reg, value))| jne32(reg, value, (len - i - 1) as i16))
        .collect();
    block.extend(verdict);
    block
}

// bpf(2) commands, program and attach types, flags.
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;

/// The start of `union bpf_attr` for `BPF_PROG_LOAD`.
#[repr(C)]
#[derive(Default)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

/// The start of `union bpf_attr` for `BPF_PROG_ATTACH`.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

fn bpf<T>(cmd: libc::c_int, attr: &T) -> io::Result<libc::c_long> {
    // SAFETY: bpf(2) reads `size_of::<T>()` bytes of `attr` (a prefix of
    // `union bpf_attr`, the rest of which the kernel takes as zero) and
    // the memory its pointers name, which the caller keeps alive.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *const T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// Loads `program` (the verifier checks it); its descriptor.
pub fn load(program: &[Insn]) -> io::Result<OwnedFd> {
    let license = c"Apache-2.0";
    let mut log = vec![0u8; 4096];
    let mut attr = LoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: program.len() as u32,
        insns: program.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    let fd = match bpf(BPF_PROG_LOAD, &attr) {
        Ok(fd) => fd,
        Err(e)
            if e.raw_os_error() == Some(libc::EACCES) || e.raw_os_error() == Some(libc::EINVAL) =>
        {
            // Ask again for the verifier's reasons.
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &attr);
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "loading the device program: {e}: {}",
                    String::from_utf8_lossy(&log[..end]).trim()
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    // SAFETY: BPF_PROG_LOAD returned a new descriptor, which we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    nix::fcntl::fcntl(
        &fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )?;
    Ok(fd)
}

/// Attaches a loaded program to the cgroup v2 directory `cgroup`,
/// replacing the one attached before (no `BPF_F_ALLOW_MULTI`: one program,
/// and no cgroup below may attach another).
pub fn attach(program: &OwnedFd, cgroup: &impl AsRawFd) -> io::Result<()> {
    let attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
    };
    bpf(BPF_PROG_ATTACH, &attr).map(drop)
}

#[cfg(test)]
mod tests {
    use super::super::{docker_default, DENY_ALL, MKNOD, READ, RWM, WRITE};
    use super::*;

    /// Runs a program on one request: a small interpreter of the
    /// instructions [`program`] uses.
    fn run(p: &[Insn], kind: i32, major: u32, minor: u32, access: u8) -> u64 {
        let ctx = [(u32::from(access) << 16) | kind as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            let imm = i.imm as i64 as u64;
            pc += 1;
            match i.code {
                0x61 => r[dst] = u64::from(ctx[(i.off / 4) as usize]),
                0xbf => r[dst] = r[src],
                0xb7 => r[dst] = imm,
                0x57 => r[dst] &= imm,
                0x77 => r[dst] >>= imm,
                0x56 if r[dst] as u32 != i.imm as u32 => pc += i.off as usize,
                0x16 if r[dst] as u32 == i.imm as u32 => pc += i.off as usize,
                0x56 | 0x16 => {}
                0x95 => return r[0],
                other => panic!("unexpected instruction {other:#x}"),
            }
        }
    }

    #[test]
    fn dockers_list() {
        let p = program(&docker_default());
        let char_ = |major, minor, access| run(&p, DEV_CHAR, major, minor, access);
        assert_eq!(char_(1, 3, READ | WRITE), 1, "null");
        assert_eq!(char_(136, 7, READ | WRITE), 1, "a pty");
        assert_eq!(char_(10, 200, READ), 1, "tun");
        assert_eq!(char_(1, 11, WRITE), 0, "kmsg");
        assert_eq!(char_(1, 11, MKNOD), 1, "any node may be made");
        assert_eq!(char_(1, 1, READ), 0, "mem");
        assert_eq!(run(&p, DEV_BLOCK, 8, 0, READ), 0, "a disk");
        assert_eq!(run(&p, DEV_BLOCK, 8, 0, MKNOD), 1);
    }

    #[test]
    fn later_rules_win_per_access_kind() {
        let rules = [
            DENY_ALL,
            Rule {
                allow: true,
                kind: Kind::Char,
                major: Some(1),
                minor: None,
                access: RWM,
            },
            Rule {
                allow: false,
                kind: Kind::Char,
                major: Some(1),
                minor: Some(11),
                access: WRITE,
            },
        ];
        let p = program(&rules);
        assert_eq!(run(&p, DEV_CHAR, 1, 11, READ), 1);
        assert_eq!(run(&p, DEV_CHAR, 1, 11, WRITE), 0);
        assert_eq!(
            run(&p, DEV_CHAR, 1, 11, READ | WRITE),
            0,
            "all kinds asked for"
        );
        assert_eq!(run(&p, DEV_CHAR, 1, 3, READ | WRITE), 1);
        assert_eq!(run(&p, DEV_CHAR, 2, 3, READ), 0, "no rule: denied");
        let all = program(&[Rule {
            allow: true,
            ..DENY_ALL
        }]);
        assert_eq!(run(&all, DEV_BLOCK, 8, 0, RWM), 1, "privileged");
        assert_eq!(run(&program(&[DENY_ALL]), DEV_CHAR, 1, 3, READ), 0);
    }

    #[test]
    fn jumps_stay_inside_the_program() {
        let p = program(&docker_default());
        for (pc, i) in p.iter().enumerate() {
            if i.code == 0x56 || i.code == 0x16 {
                let target = pc + 1 + i.off as usize;
                assert!(target < p.len(), "{pc}: {i:?}");
            }
        }
        assert_eq!(p.last().unwrap().code, 0x95);
    }

    /// The cgroup2 hierarchy of this machine: the whole one on a cgroup v2
    /// host, the (controller-less) unified one of the hybrid layout.
    fn cgroup2_mount() -> Option<std::path::PathBuf> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        info.lines()
            .find(|l| l.contains(" - cgroup2 "))
            .and_then(|l| l.split(' ').nth(4))
            .map(std::path::PathBuf::from)
    }

    #[test]
    #[ignore = "needs root and a cgroup2 hierarchy (v2, or the hybrid layout's unified one)"]
    fn the_kernel_enforces_the_program() {
        assert!(nix::unistd::geteuid().is_root(), "run as root");
        let Some(mount) = cgroup2_mount() else {
            eprintln!("skipped: this machine mounts no cgroup2 hierarchy");
            return;
        };
        let dir = mount.join(format!("hcsrun-devices-test-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let first = load(&program(&[DENY_ALL])).unwrap();
        let cgroup = std::fs::File::open(&dir).unwrap();
        attach(&first, &cgroup).unwrap();
        // Attaching again replaces it: docker's list is in force.
        attach(&load(&program(&docker_default())).unwrap(), &cgroup).unwrap();
        let script = format!(
            "echo $$ > {}/cgroup.procs || exit 9; \
             true < /dev/null && echo null; true < /dev/kmsg 2>/dev/null || echo kmsg-denied; \
             mknod /tmp/hcsrun-devices-test-$$ c 1 11 && echo mknod; \
             rm -f /tmp/hcsrun-devices-test-$$",
            dir.display()
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        let _ = std::fs::remove_dir(&dir);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "null\nkmsg-denied\nmknod\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
