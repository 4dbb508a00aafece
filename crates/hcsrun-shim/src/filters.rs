//! Seccomp filters, compiled once: in the holder, before its system's
//! processes are told to execute, and not again for the next container
//! that asks for the same filter.
//!
//! libseccomp takes about 10 ms on this class of machine to compile
//! docker's default profile (three architectures, some 370 rules): as much
//! as a whole container's start and stop. So each compiled program is kept
//! in the service's runtime directory (`.seccomp/`, under `/run`, hidden
//! from every container), named by the SHA-256 of what it was compiled
//! from: the OCI `linux.seccomp` text, libseccomp's version and the
//! holder's own executable (a new hcsrun compiles again).
//!
//! A cached program decides what every process of a container may ask of
//! the kernel, so a file is used only if nothing but this user could have
//! written it and it is whole; anything else is compiled again:
//! - the directory and the file are this user's (root's), reached without
//!   following a link, neither group- nor world-writable (the directory
//!   0700, the file 0600), the file a regular file with one link;
//! - the file holds the whole text it was compiled from (a name that
//!   collides gives a compilation, never another container's filter) and
//!   a SHA-256 of that text and the program, so a truncated or damaged
//!   file is never loaded;
//! - the program has as many instructions as the kernel takes (1 to
//!   4096) and only filter flags this holder knows.
//!
//! At most [`MAX_ENTRIES`] files are kept: a full cache drops its least
//! recently used files (a hit renews a file's time) to take a new one.

use std::{
    fs,
    io::{Read, Write},
    os::{
        fd::{AsFd, BorrowedFd, OwnedFd},
        unix::fs::MetadataExt,
    },
};

use hcsrun_linux_spec::{cap_name, capability_of_number};
use hcsrun_seccomp::{native_arch, Filter, LinuxSeccomp, Profile};
use nix::{
    errno::Errno,
    fcntl::{openat, renameat, OFlag},
    sys::stat::{fstat, mkdirat, Mode},
    unistd::geteuid,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::security::Program;

/// The cache's directory, under the runtime directory.
const DIR: &str = ".seccomp";
/// The most compiled programs kept.
pub const MAX_ENTRIES: usize = 64;
/// Changes when the file's format or meaning does.
const FORMAT: &str = "hcsrun-seccomp-cache 1";

#[derive(Serialize, Deserialize)]
struct Entry {
    /// What the program was compiled from.
    key: String,
    program: Program,
    /// SHA-256 of [`digest_input`] of the two above, in hex.
    sha256: String,
}

/// The longest program the kernel loads (`BPF_MAXINSNS`).
const MAX_INSTRUCTIONS: usize = 4096;
/// The largest cache file read.
const MAX_FILE: u64 = 16 << 20;
/// The filter flags a cached program may carry: those `Filter::compile`
/// gives.
const KNOWN_FLAGS: u64 = libc::SECCOMP_FILTER_FLAG_TSYNC
    | libc::SECCOMP_FILTER_FLAG_LOG
    | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW;

/// What an entry's checksum covers: the key, then every instruction and
/// the flags as little-endian bytes.
fn digest_input(key: &str, program: &Program) -> String {
    let mut hash = Sha256::new();
    hash.update((key.len() as u64).to_le_bytes());
    hash.update(key.as_bytes());
    hash.update((program.instructions.len() as u64).to_le_bytes());
    for insn in &program.instructions {
        hash.update(insn.to_le_bytes());
    }
    hash.update(program.flags.to_le_bytes());
    hex(&hash.finalize())
}

impl Entry {
    fn new(key: String, program: Program) -> Self {
        let sha256 = digest_input(&key, &program);
        Self {
            key,
            program,
            sha256,
        }
    }

    /// The program, if this entry is whole, for `key`, and loadable.
    fn program_for(self, key: &str) -> Option<Program> {
        let whole = self.key == key && self.sha256 == digest_input(&self.key, &self.program);
        let len = self.program.instructions.len();
        let sane = (1..=MAX_INSTRUCTIONS).contains(&len) && self.program.flags & !KNOWN_FLAGS == 0;
        (whole && sane).then_some(self.program)
    }
}

/// Whether `fd` (the cache directory, or a file in it) is this user's and
/// writable by no one else; a file must also be a regular file with one
/// link and at most `MAX_FILE` bytes.
fn trusted(fd: BorrowedFd<'_>, dir: bool) -> bool {
    let Ok(st) = fstat(fd) else {
        return false;
    };
    let kind = st.st_mode & libc::S_IFMT;
    let ours = st.st_uid == geteuid().as_raw() && st.st_mode & 0o077 == 0;
    if dir {
        ours && kind == libc::S_IFDIR
    } else {
        ours && kind == libc::S_IFREG && st.st_nlink == 1 && (st.st_size as u64) <= MAX_FILE
    }
}

/// The cache directory, opened, if it exists and is [`trusted`].
fn open_dir(runtime_dir: BorrowedFd<'_>) -> Option<OwnedFd> {
    let dir = openat(
        runtime_dir,
        DIR,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .ok()?;
    trusted(dir.as_fd(), true).then_some(dir)
}

/// Docker's default profile resolved for the capability set `caps` (a
/// mask) on this host: what a Windows-schema system's processes get.
pub fn docker_default(caps: u64) -> Result<LinuxSeccomp, String> {
    let names: Vec<String> = (0..64u8)
        .filter(|n| caps & (1 << n) != 0)
        .filter_map(capability_of_number)
        .map(cap_name)
        .collect();
    Profile::docker_default()
        .resolve(&names, native_arch())
        .map_err(|e| format!("docker's default seccomp profile: {e}"))
}

/// Docker's default filter for docker's default capabilities, compiled
/// (or from the cache in `runtime_dir`).
pub fn docker_default_program(runtime_dir: BorrowedFd<'_>) -> Result<Program, String> {
    program(
        &docker_default(crate::caps::docker_default_mask())?,
        runtime_dir,
    )
}

/// The program for `seccomp`, from the cache in `runtime_dir` or compiled
/// (and then cached; a cache that cannot be written is skipped).
pub fn program(seccomp: &LinuxSeccomp, runtime_dir: BorrowedFd<'_>) -> Result<Program, String> {
    let text = serde_json::to_string(seccomp).map_err(|e| format!("seccomp: {e}"))?;
    let key = format!(
        "{FORMAT}\n{}\nlibseccomp {}\n{text}",
        executable(),
        libseccomp_version()
    );
    let name = hex(&Sha256::digest(key.as_bytes()));
    if let Some(program) = read(runtime_dir, &name, &key) {
        return Ok(program);
    }
    let filter =
        Filter::compile(seccomp).map_err(|e| format!("compiling the seccomp filter: {e}"))?;
    let program = Program {
        instructions: filter
            .instructions()
            .iter()
            .map(crate::security::pack)
            .collect(),
        flags: filter.flags(),
    };
    write(runtime_dir, &name, &Entry::new(key, program.clone()));
    Ok(program)
}

/// This program's executable: which holder compiled.
fn executable() -> String {
    fs::metadata("/proc/self/exe").map_or_else(
        |_| "unknown holder".to_owned(),
        |m| {
            format!(
                "holder {}:{} {} {}",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000
            )
        },
    )
}

fn libseccomp_version() -> String {
    libseccomp::ScmpVersion::current().map_or_else(
        |_| "unknown".to_owned(),
        |v| format!("{}.{}.{}", v.major, v.minor, v.micro),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read(runtime_dir: BorrowedFd<'_>, name: &str, key: &str) -> Option<Program> {
    let dir = open_dir(runtime_dir)?;
    let fd = openat(
        dir.as_fd(),
        name,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .ok()?;
    if !trusted(fd.as_fd(), false) {
        return None;
    }
    // Used now: the last to go when room is made.
    let now = nix::sys::time::TimeSpec::UTIME_NOW;
    let _ = nix::sys::stat::futimens(&fd, &nix::sys::time::TimeSpec::UTIME_OMIT, &now);
    let mut text = Vec::new();
    fs::File::from(fd)
        .take(MAX_FILE)
        .read_to_end(&mut text)
        .ok()?;
    let entry: Entry = serde_json::from_slice(&text).ok()?;
    entry.program_for(key)
}

/// Keeps the cache below [`MAX_ENTRIES`] files so that one more fits: the
/// least recently used go (a hit renews a file's time), so programs of a
/// replaced hcsrun, and leftovers of a writer that died, go first.
fn make_room(dir: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut files = Vec::new();
    for entry in
        nix::dir::Dir::from_fd(dir.try_clone_to_owned().map_err(|_| Errno::EMFILE)?)?.iter()
    {
        let entry = entry?;
        let name = entry.file_name().to_owned();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        if let Ok(st) = nix::sys::stat::fstatat(
            dir,
            name.as_c_str(),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            files.push(((st.st_mtime, st.st_mtime_nsec), name));
        }
    }
    if files.len() < MAX_ENTRIES {
        return Ok(());
    }
    files.sort();
    for (_, name) in &files[..files.len() + 1 - MAX_ENTRIES] {
        let _ = nix::unistd::unlinkat(
            dir,
            name.as_c_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
    }
    Ok(())
}

/// Caches `entry` as `name`, if the directory can be trusted, making room
/// for it; a failure only means the next container compiles again.
fn write(runtime_dir: BorrowedFd<'_>, name: &str, entry: &Entry) {
    let _ = (|| -> Result<(), Errno> {
        match mkdirat(runtime_dir, DIR, Mode::from_bits_truncate(0o700)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        let dir = open_dir(runtime_dir).ok_or(Errno::EPERM)?;
        make_room(dir.as_fd())?;
        let text = serde_json::to_vec(entry).map_err(|_| Errno::EINVAL)?;
        let tmp = format!(".{name}.{}", std::process::id());
        let file = openat(
            dir.as_fd(),
            tmp.as_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        let mut file = fs::File::from(file);
        // Whole on disk before it has its name (a runtime directory on a
        // disk could otherwise keep the name and lose the text).
        let written = file.write_all(&text).and_then(|()| file.sync_data());
        if written.is_ok() {
            renameat(dir.as_fd(), tmp.as_str(), dir.as_fd(), name)?;
        } else {
            let _ = nix::unistd::unlinkat(
                dir.as_fd(),
                tmp.as_str(),
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            );
        }
        Ok(())
    })();
}

#[cfg(test)]
mod tests;
