//! Descriptor-relative file operations under a layer's root. Every path an
//! archive names is resolved with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)` from the layer's root descriptor, and the last
//! component is then created or changed relative to its parent's
//! descriptor without following it; no path is ever joined to a string and
//! opened.

use std::{
    ffi::{CString, OsStr},
    io,
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd},
        unix::ffi::OsStrExt,
    },
    path::Path,
};

use nix::{
    errno::Errno,
    fcntl::{openat2, AtFlags, OFlag, OpenHow, ResolveFlag},
    sys::stat::{mkdirat, Mode},
    unistd::{unlinkat, UnlinkatFlags},
};

/// Opens `path` (the layer's root, which the store made) as a directory
/// descriptor.
pub(crate) fn open_root(path: &Path) -> io::Result<OwnedFd> {
    Ok(nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

fn beneath() -> ResolveFlag {
    ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS
}

/// Opens `rel` (components already checked: relative, no `..`) beneath
/// `root`. Symbolic links inside the layer are followed only while they stay
/// beneath it; absolute links and links that climb out fail with `EXDEV`.
pub(crate) fn open_beneath(root: BorrowedFd<'_>, rel: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let rel: &Path = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    loop {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(beneath());
        match openat2(root, rel, how) {
            // The kernel asks for a retry when a rename raced the lookup.
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// Opens the directory `components` beneath `root` as an `O_PATH`
/// descriptor, creating missing directories (mode 0755) one at a time, each
/// relative to its verified parent.
pub(crate) fn ensure_dir(root: BorrowedFd<'_>, components: &[&OsStr]) -> nix::Result<OwnedFd> {
    let dir_flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    let full: std::path::PathBuf = components.iter().collect();
    match open_beneath(root, &full, dir_flags) {
        Err(Errno::ENOENT) => {}
        other => return other,
    }
    let mut current = open_beneath(root, Path::new(""), dir_flags)?;
    let mut prefix = std::path::PathBuf::new();
    for name in components {
        prefix.push(name);
        current = match open_beneath(root, &prefix, dir_flags) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                match mkdirat(&current, *name, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e),
                }
                open_beneath(root, &prefix, dir_flags)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(current)
}

/// What is at `name` in `dir`, without following a final symbolic link.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<Option<libc::mode_t>> {
    match nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st.st_mode & libc::S_IFMT)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes whatever is at `name` in `dir` (a later archive entry replaces an
/// earlier one). A directory is removed with everything in it, descriptor
/// by descriptor (std's `remove_dir_all` never follows links).
pub(crate) fn remove_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match lstat_at(dir, name)? {
        None => Ok(()),
        Some(libc::S_IFDIR) => std::fs::remove_dir_all(proc_path(dir, name)),
        Some(_) => Ok(unlinkat(dir, name, UnlinkatFlags::NoRemoveDir)?),
    }
}

/// `/proc/self/fd/N/name`: a path for the few calls that have no
/// descriptor-relative form (`lsetxattr`, `remove_dir_all`). The kernel
/// resolves the descriptor itself; only `name`, a single component, is
/// looked up, and the calls used never follow it.
pub(crate) fn proc_path(dir: BorrowedFd<'_>, name: &OsStr) -> std::path::PathBuf {
    Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name)
}

/// Sets the extended attribute `key` of `name` in `dir` without following a
/// final symbolic link.
pub(crate) fn set_xattr_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    key: &str,
    value: &[u8],
) -> io::Result<()> {
    let path = CString::new(proc_path(dir, name).as_os_str().as_bytes())?;
    let key = CString::new(key)?;
    // SAFETY: both strings are NUL-terminated and live across the call; the
    // value pointer and length describe `value`.
    let rc = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            key.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads the extended attribute `key` of `path` (tests and the VHD check).
pub fn get_xattr(path: &Path, key: &str) -> io::Result<Option<Vec<u8>>> {
    let path = CString::new(path.as_os_str().as_bytes())?;
    let key = CString::new(key)?;
    let mut buf = vec![0u8; 65536];
    // SAFETY: NUL-terminated strings; `buf` is writable for its length.
    let rc = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            key.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if rc >= 0 {
        buf.truncate(rc as usize);
        return Ok(Some(buf));
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ENODATA) {
        Ok(None)
    } else {
        Err(err)
    }
}

/// An exclusive `flock` on a file, released when dropped.
#[derive(Debug)]
pub(crate) struct FileLock {
    file: std::fs::File,
}

impl FileLock {
    /// Blocks until `path` (created if missing) is locked; `exclusive` or
    /// shared.
    pub(crate) fn acquire(path: &Path, exclusive: bool) -> io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        flock(&file, op)?;
        Ok(FileLock { file })
    }

    /// Takes an exclusive lock on `path` if nobody holds any.
    pub(crate) fn try_exclusive(path: &Path) -> io::Result<Option<Self>> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Turns an exclusive lock into a shared one.
    pub(crate) fn downgrade(&self) -> io::Result<()> {
        flock(&self.file, libc::LOCK_SH)
    }
}

fn flock(file: &std::fs::File, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_fd().as_raw_fd(), op) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
