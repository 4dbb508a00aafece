//! `tmpcopyup` (runc's extension to the runtime spec, which podman asks
//! for on its tmpfs mounts): a tmpfs starts with a copy of what the image
//! has where it is mounted. Pid 1 opens that directory before the tmpfs
//! covers it, then copies the tree into the new mount: directories,
//! regular files, symbolic links (as links, never followed) and FIFOs,
//! with their modes and owners. A device node or a socket there fails the
//! mount, naming it.

use std::{
    fs::File,
    io,
    os::fd::{AsFd, BorrowedFd},
};

use rustix::fs::{self as rfs, AtFlags, FileType, Gid, Mode, OFlags, Uid};

/// How deep a tree may go.
const MAX_DEPTH: u32 = 128;

/// Copies what directory `from` holds into directory `to`, and gives `to`
/// the mode and owner of `from` unless `keep_mode` (the mount's options
/// set one).
pub fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>, keep_mode: bool) -> io::Result<()> {
    copy_dir(from, to, 0)?;
    let st = rfs::fstat(from)?;
    rfs::fchown(
        to,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    if !keep_mode {
        rfs::fchmod(to, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    }
    Ok(())
}

fn copy_dir(from: BorrowedFd<'_>, to: BorrowedFd<'_>, depth: u32) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "more than {MAX_DEPTH} directories deep"
        )));
    }
    let read = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    for entry in rfs::Dir::read_from(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let named =
            |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", name.to_string_lossy()));
        let st = rfs::statat(from, name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| named(e.into()))?;
        let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
        let (owner, group) = (
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
        );
        let copied = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => (|| {
                rfs::mkdirat(to, name, Mode::RWXU)?;
                let src = rfs::openat(from, name, read | OFlags::DIRECTORY, Mode::empty())?;
                let dst = rfs::openat(to, name, read | OFlags::DIRECTORY, Mode::empty())?;
                copy_dir(src.as_fd(), dst.as_fd(), depth + 1)?;
                rfs::fchown(&dst, owner, group)?;
                rfs::fchmod(&dst, mode)?;
                Ok(())
            })(),
            FileType::RegularFile => (|| {
                // Non-blocking, and checked to be the file looked at: one
                // swapped for a FIFO or a device meanwhile is not read.
                let src = rfs::openat(from, name, read | OFlags::NONBLOCK, Mode::empty())?;
                let opened = rfs::fstat(&src)?;
                if FileType::from_raw_mode(opened.st_mode) != FileType::RegularFile
                    || (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino)
                {
                    return Err(io::Error::other("changed while it was copied"));
                }
                let create = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
                let dst = rfs::openat(to, name, create | OFlags::CLOEXEC, Mode::RUSR | Mode::WUSR)?;
                let mut dst = File::from(dst);
                io::copy(&mut File::from(src), &mut dst)?;
                // The owner first: a change of owner clears set-id bits.
                rfs::fchown(&dst, owner, group)?;
                rfs::fchmod(&dst, mode)?;
                Ok(())
            })(),
            FileType::Symlink => (|| {
                let target = rfs::readlinkat(from, name, Vec::new())?;
                rfs::symlinkat(target.as_c_str(), to, name)?;
                rfs::chownat(to, name, owner, group, AtFlags::SYMLINK_NOFOLLOW)?;
                Ok(())
            })(),
            FileType::Fifo => (|| {
                rfs::mknodat(to, name, FileType::Fifo, mode, 0)?;
                rfs::chownat(to, name, owner, group, AtFlags::empty())?;
                rfs::chmodat(to, name, mode, AtFlags::empty())?;
                Ok(())
            })(),
            other => Err(io::Error::other(format!("a {other:?} is not copied"))),
        };
        copied.map_err(named)?;
    }
    Ok(())
}
