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
//! At most [`MAX_ENTRIES`] files are kept.

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
    let mut text = Vec::new();
    fs::File::from(fd)
        .take(MAX_FILE)
        .read_to_end(&mut text)
        .ok()?;
    let entry: Entry = serde_json::from_slice(&text).ok()?;
    entry.program_for(key)
}

/// Caches `entry` as `name`, if the directory can be trusted and is not
/// full; a failure only means the next container compiles again.
fn write(runtime_dir: BorrowedFd<'_>, name: &str, entry: &Entry) {
    let _ = (|| -> Result<(), Errno> {
        match mkdirat(runtime_dir, DIR, Mode::from_bits_truncate(0o700)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        let dir = open_dir(runtime_dir).ok_or(Errno::EPERM)?;
        let entries = nix::dir::Dir::from_fd(dir.try_clone().map_err(|_| Errno::EMFILE)?)?;
        if entries.into_iter().count() > MAX_ENTRIES + 2 {
            return Ok(());
        }
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
mod tests {
    use std::os::{fd::AsFd, unix::fs::PermissionsExt};

    use super::*;

    struct Cache {
        dir: std::path::PathBuf,
        root: fs::File,
        seccomp: LinuxSeccomp,
        compiled: Program,
    }

    /// A runtime directory whose cache holds docker's default program.
    fn cache(name: &str) -> Cache {
        let dir = std::env::temp_dir().join(format!(
            "hcsrun-seccomp-cache-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let root = fs::File::open(&dir).unwrap();
        let seccomp = docker_default(crate::caps::docker_default_mask()).unwrap();
        let compiled = program(&seccomp, root.as_fd()).unwrap();
        assert!(compiled.instructions.len() > 100);
        Cache {
            dir,
            root,
            seccomp,
            compiled,
        }
    }

    impl Cache {
        fn file(&self) -> std::path::PathBuf {
            let cached: Vec<_> = fs::read_dir(self.dir.join(DIR))
                .unwrap()
                .flatten()
                .collect();
            assert_eq!(cached.len(), 1, "one program, cached once");
            cached[0].path()
        }

        fn entry(&self) -> Entry {
            serde_json::from_slice(&fs::read(self.file()).unwrap()).unwrap()
        }

        /// Replaces the cached file's text, keeping its name and mode.
        fn put(&self, text: &[u8]) {
            fs::write(self.file(), text).unwrap();
        }

        /// What a container asking for the same filter now gets, and
        /// whether it came from the file.
        fn lookup(&self) -> (Program, bool) {
            let key = format!(
                "{FORMAT}\n{}\nlibseccomp {}\n{}",
                executable(),
                libseccomp_version(),
                serde_json::to_string(&self.seccomp).unwrap()
            );
            let name = hex(&Sha256::digest(key.as_bytes()));
            let cached = read(self.root.as_fd(), &name, &key).is_some();
            (program(&self.seccomp, self.root.as_fd()).unwrap(), cached)
        }
    }

    impl Drop for Cache {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn a_program_is_compiled_once_then_read() {
        let c = cache("once");
        let mode = fs::metadata(c.dir.join(DIR)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let mode = fs::metadata(c.file()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(c.lookup(), (c.compiled.clone(), true));
    }

    #[test]
    fn a_file_for_another_text_is_not_used() {
        let c = cache("collide");
        let mut entry = c.entry();
        entry.key.push('x');
        entry.program.instructions.truncate(1);
        let entry = Entry::new(entry.key, entry.program);
        c.put(&serde_json::to_vec(&entry).unwrap());
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
    }

    #[test]
    fn a_damaged_program_is_compiled_again() {
        let c = cache("damaged");
        // An allow-all where the kill was: the key still matches, the
        // checksum does not.
        let mut entry = c.entry();
        let last = entry.program.instructions.len() - 1;
        entry.program.instructions[last] = 0x0006_0000_7fff_0000;
        c.put(&serde_json::to_vec(&entry).unwrap());
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
        // Dropped instructions, the checksum made to match: still not a
        // program a container gets unless it is loadable and whole.
        let mut entry = c.entry();
        entry.program.instructions.clear();
        let entry = Entry::new(entry.key, entry.program);
        c.put(&serde_json::to_vec(&entry).unwrap());
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
    }

    #[test]
    fn a_truncated_or_empty_file_is_compiled_again() {
        let c = cache("truncated");
        let text = fs::read(c.file()).unwrap();
        c.put(&text[..text.len() / 2]);
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
        c.put(b"");
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
    }

    #[test]
    fn a_file_others_could_write_is_not_trusted() {
        let c = cache("modes");
        assert!(c.lookup().1);
        let file = c.file();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o622)).unwrap();
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(c.lookup().1);
        // A second link: someone could change it through the other name.
        let other = c.dir.join("other-name");
        fs::hard_link(&file, &other).unwrap();
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
        fs::remove_file(&other).unwrap();
        let dir = c.dir.join(DIR);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        // A link in the file's place is not followed.
        fs::rename(&file, &other).unwrap();
        std::os::unix::fs::symlink(&other, &file).unwrap();
        assert_eq!(c.lookup(), (c.compiled.clone(), false));
    }
}
