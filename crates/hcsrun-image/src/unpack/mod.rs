//! Unpacking one layer blob (tar, tar+gzip or tar+zstd) into an empty
//! directory, safely against hostile archives.
//!
//! - Every entry lands beneath the layer: absolute paths and `..` are
//!   refused; parents are resolved with `openat2(RESOLVE_BENEATH)`, so a
//!   symbolic link to `/` or out of the layer cannot be written through; the
//!   last component is created relative to its parent's descriptor and never
//!   followed. Symbolic links themselves may point anywhere (`/bin/sh ->
//!   busybox` is common): they are only ever read inside a container.
//! - Hard links must name an entry beneath the layer, resolved the same way.
//! - Device nodes are refused, except the overlay whiteout (character 0:0);
//!   FIFOs are allowed.
//! - setuid, setgid and sticky bits are kept, as docker keeps them: an image
//!   is trusted to define its own programs, and containers run without
//!   `CAP_SETUID` escalations beyond their own root.
//! - Extended attributes: `user.*` and `security.capability` are applied;
//!   others (above all `trusted.overlay.*`, which would let a layer forge
//!   overlay metadata) are dropped.
//! - The decompressed stream, the entry count, path lengths and extended
//!   attributes are bounded by [`Limits`].

use std::{
    ffi::OsStr,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    os::{
        fd::{AsFd, BorrowedFd},
        unix::ffi::OsStrExt,
    },
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use nix::{
    errno::Errno,
    fcntl::{openat, AtFlags, OFlag},
    sys::stat::{mkdirat, mknodat, utimensat, Mode, SFlag, UtimensatFlags},
    sys::time::TimeSpec,
    unistd::{linkat, symlinkat},
};

use crate::{
    digest::{Digest, HashingReader},
    error::ErrorKind,
    fsops::{ensure_dir, lstat_at, open_beneath, remove_at},
    whiteout::{self, Whiteout},
    Limits,
};

/// What unpacking a blob found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// The blob's digest and size as read (compressed).
    pub blob: (Digest, u64),
    /// The digest of the decompressed tar (the layer's diff id).
    pub diff_id: Digest,
    /// Bytes of file content written.
    pub size: u64,
    /// Entries in the archive.
    pub entries: u64,
}

/// Unpacks the blob `raw` into `dest`, an empty directory, and reads the
/// blob to its end so that both digests cover all of it.
pub(crate) fn unpack_blob(
    raw: impl Read,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, ErrorKind> {
    let root = crate::fsops::open_root(dest)
        .map_err(|e| ErrorKind::io(format!("opening {}", dest.display()), e))?;
    let mut raw = HashingReader::new(raw);
    let over = Arc::new(AtomicBool::new(false));
    let limit_err = || ErrorKind::Limit {
        what: "the layer's decompressed size in bytes".into(),
        field: "max_layer_bytes",
        max: limits.max_layer_bytes,
    };
    let (diff_id, size, entries) = {
        let mut buffered = BufReader::with_capacity(128 << 10, &mut raw);
        let head = buffered
            .fill_buf()
            .map_err(|e| ErrorKind::io("reading the layer", e))?;
        let decoded: Box<dyn Read + '_> = match head {
            [0x1f, 0x8b, ..] => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Box::new(
                zstd::Decoder::with_buffer(buffered)
                    .map_err(|e| ErrorKind::io("starting zstd", e))?,
            ),
            _ => Box::new(buffered),
        };
        let limited = LimitReader {
            inner: decoded,
            left: limits.max_layer_bytes,
            over: over.clone(),
        };
        let mut diff = HashingReader::new(limited);
        let mut state = State {
            root: root.as_fd(),
            limits,
            is_root: nix::unistd::geteuid().is_root(),
            entries: 0,
            size: 0,
            dirs: Vec::new(),
        };
        let result = state.unpack_tar(&mut diff);
        if over.load(Ordering::Relaxed) {
            return Err(limit_err());
        }
        result?;
        state.set_dir_times();
        let (diff_id, _) = diff
            .finish()
            .map_err(|e| match over.load(Ordering::Relaxed) {
                true => limit_err(),
                false => ErrorKind::io("decompressing the layer", e),
            })?;
        (diff_id, state.size, state.entries)
    };
    let blob = raw
        .finish()
        .map_err(|e| ErrorKind::io("reading the layer", e))?;
    Ok(Unpacked {
        blob,
        diff_id,
        size,
        entries,
    })
}

/// Fails reads past `left` bytes, and says so through `over`.
struct LimitReader<R> {
    inner: R,
    left: u64,
    over: Arc<AtomicBool>,
}

impl<R: Read> Read for LimitReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.over.store(true, Ordering::Relaxed);
                Err(io::Error::other("layer size limit exceeded"))
            }
        }
    }
}

struct State<'a> {
    root: BorrowedFd<'a>,
    limits: &'a Limits,
    is_root: bool,
    entries: u64,
    size: u64,
    /// Directories whose modification time is set once everything is in.
    dirs: Vec<(PathBuf, i64)>,
}

fn unsafe_entry(path: &[u8], reason: impl Into<String>) -> ErrorKind {
    ErrorKind::Unsafe {
        path: String::from_utf8_lossy(path).into_owned(),
        reason: reason.into(),
    }
}

/// Splits an archive path into components, refusing absolute paths and
/// `..`; `.` and empty components are dropped.
fn components<'p>(raw: &'p [u8], what: &str) -> Result<Vec<&'p OsStr>, ErrorKind> {
    if raw.first() == Some(&b'/') {
        return Err(unsafe_entry(
            raw,
            format!("{what} is absolute; it would leave the layer"),
        ));
    }
    let mut out = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                return Err(unsafe_entry(
                    raw,
                    format!("{what} has a '..' component; it would leave the layer"),
                ))
            }
            _ => out.push(OsStr::from_bytes(part)),
        }
    }
    Ok(out)
}

impl State<'_> {
    fn unpack_tar(&mut self, input: impl Read) -> Result<(), ErrorKind> {
        let tar_err = |e: io::Error| ErrorKind::io("reading the layer's tar stream", e);
        let mut archive = tar::Archive::new(input);
        for entry in archive.entries().map_err(tar_err)? {
            let mut entry = entry.map_err(tar_err)?;
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(ErrorKind::Limit {
                    what: "the layer's entry count".into(),
                    field: "max_entries",
                    max: self.limits.max_entries,
                });
            }
            let path = entry.path_bytes().into_owned();
            self.check_len(&path, "a path")?;
            let size = entry.size();
            if size > self.limits.max_layer_bytes {
                return Err(ErrorKind::Limit {
                    what: format!("entry {:?} of {size} bytes", String::from_utf8_lossy(&path)),
                    field: "max_layer_bytes",
                    max: self.limits.max_layer_bytes,
                });
            }
            let meta = self.meta(&mut entry, &path)?;
            self.entry(&mut entry, &path, meta)?;
        }
        Ok(())
    }

    fn check_len(&self, bytes: &[u8], what: &str) -> Result<(), ErrorKind> {
        if bytes.len() > self.limits.max_path_len {
            return Err(ErrorKind::Limit {
                what: format!("{what} of {} bytes", bytes.len()),
                field: "max_path_len",
                max: self.limits.max_path_len as u64,
            });
        }
        Ok(())
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &[u8],
        meta: Meta,
    ) -> Result<(), ErrorKind> {
        use tar::EntryType as T;
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink
        ) {
            return Ok(());
        }
        let comps = components(path, "the path")?;
        let Some((&name, parents)) = comps.split_last() else {
            // The layer's root itself ("./"): its metadata is the store's.
            return Ok(());
        };
        let io = |what: &str| {
            let p = String::from_utf8_lossy(path).into_owned();
            let what = what.to_owned();
            move |e: Errno| escape_or_io(&p, &what, e)
        };
        let parent = ensure_dir(self.root, parents).map_err(io("creating its parent directory"))?;
        let parent = parent.as_fd();
        match whiteout::classify(name) {
            Whiteout::None => {}
            Whiteout::Skip => return Ok(()),
            Whiteout::Opaque => {
                return whiteout::make_opaque(parent).map_err(|e| {
                    ErrorKind::io(
                        format!(
                            "marking the directory of {:?} opaque",
                            String::from_utf8_lossy(path)
                        ),
                        e,
                    )
                });
            }
            Whiteout::Delete(target) => {
                if target.is_empty() || target == "." || target == ".." {
                    return Err(unsafe_entry(path, "a whiteout must name an entry"));
                }
                return whiteout::make_whiteout(parent, target).map_err(|e| {
                    ErrorKind::io(
                        format!("making the whiteout {:?}", String::from_utf8_lossy(path)),
                        e,
                    )
                });
            }
        }
        let fs_err = |what: &'static str| {
            let p = String::from_utf8_lossy(path).into_owned();
            move |e: io::Error| ErrorKind::io(format!("{what} {p:?}"), e)
        };
        match kind {
            T::Regular | T::Continuous | T::GNUSparse => {
                remove_at(parent, name).map_err(fs_err("replacing"))?;
                let fd = openat(
                    parent,
                    name,
                    OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(io("creating"))?;
                let mut file = File::from(fd);
                self.size += io::copy(entry, &mut file).map_err(fs_err("writing"))?;
            }
            T::Directory => match lstat_at(parent, name).map_err(io("looking at"))? {
                Some(libc::S_IFDIR) => {}
                _ => {
                    remove_at(parent, name).map_err(fs_err("replacing"))?;
                    mkdirat(parent, name, Mode::from_bits_truncate(0o700))
                        .map_err(io("creating"))?;
                }
            },
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(path, "a symbolic link without a target"))?;
                self.check_len(&target, "a link target")?;
                remove_at(parent, name).map_err(fs_err("replacing"))?;
                symlinkat(OsStr::from_bytes(&target), parent, name)
                    .map_err(io("creating the symbolic link"))?;
            }
            T::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(path, "a hard link without a target"))?;
                self.check_len(&target, "a link target")?;
                let tcomps = components(&target, "the hard link's target")?;
                let Some((&tname, tparents)) = tcomps.split_last() else {
                    return Err(unsafe_entry(path, "a hard link to the layer's root"));
                };
                if tcomps == comps {
                    return Err(unsafe_entry(path, "a hard link to itself"));
                }
                let tparent = open_beneath(
                    self.root,
                    &tparents.iter().collect::<PathBuf>(),
                    OFlag::O_PATH | OFlag::O_DIRECTORY,
                )
                .map_err(io("resolving the hard link's target"))?;
                match lstat_at(tparent.as_fd(), tname)
                    .map_err(io("resolving the hard link's target"))?
                {
                    None => {
                        return Err(unsafe_entry(
                            path,
                            "the hard link's target is not in the layer",
                        ))
                    }
                    Some(libc::S_IFDIR) => {
                        return Err(unsafe_entry(path, "a hard link to a directory"))
                    }
                    Some(_) => {}
                }
                remove_at(parent, name).map_err(fs_err("replacing"))?;
                linkat(tparent.as_fd(), tname, parent, name, AtFlags::empty())
                    .map_err(io("creating the hard link"))?;
                // A hard link shares its target's metadata; setting it again
                // from this header would change the target's.
                return Ok(());
            }
            T::Char | T::Block => {
                let major = entry.header().device_major().ok().flatten().unwrap_or(0);
                let minor = entry.header().device_minor().ok().flatten().unwrap_or(0);
                if kind != T::Char || (major, minor) != (0, 0) {
                    return Err(ErrorKind::Device {
                        path: String::from_utf8_lossy(path).into_owned(),
                        kind: if kind == T::Char {
                            "character"
                        } else {
                            "block"
                        },
                        major,
                        minor,
                    });
                }
                whiteout::make_whiteout(parent, name).map_err(fs_err("creating the whiteout"))?;
            }
            T::Fifo => {
                remove_at(parent, name).map_err(fs_err("replacing"))?;
                mknodat(
                    parent,
                    name,
                    SFlag::S_IFIFO,
                    Mode::from_bits_truncate(0o600),
                    0,
                )
                .map_err(io("creating the FIFO"))?;
            }
            other => {
                return Err(unsafe_entry(
                    path,
                    format!("entry type {:?} is not supported", other.as_byte() as char),
                ));
            }
        }
        self.apply(parent, name, kind, &meta, path)?;
        if kind == T::Directory {
            self.dirs.push((comps.iter().collect(), meta.mtime));
        }
        Ok(())
    }

    /// Sets the directories' times last (creating entries in them changes
    /// them). Best effort: a later entry may have replaced one.
    fn set_dir_times(&self) {
        for (path, mtime) in &self.dirs {
            let (Some(name), Some(parent)) = (path.file_name(), path.parent()) else {
                continue;
            };
            let Ok(dir) = open_beneath(self.root, parent, OFlag::O_PATH | OFlag::O_DIRECTORY)
            else {
                continue;
            };
            let t = TimeSpec::new(*mtime, 0);
            let _ = utimensat(dir.as_fd(), name, &t, &t, UtimensatFlags::NoFollowSymlink);
        }
    }
}

/// `EXDEV` and `ELOOP` from a beneath-resolution mean the path would leave
/// the layer (through an absolute or climbing symbolic link).
fn escape_or_io(path: &str, what: &str, e: Errno) -> ErrorKind {
    match e {
        Errno::EXDEV | Errno::ELOOP => ErrorKind::Unsafe {
            path: path.to_owned(),
            reason: format!("{what}: it resolves through a symbolic link that leaves the layer"),
        },
        Errno::ENOTDIR => ErrorKind::Unsafe {
            path: path.to_owned(),
            reason: format!("{what}: a parent is not a directory"),
        },
        e => ErrorKind::io(format!("{what} {path:?}"), e.into()),
    }
}

mod meta;
use meta::Meta;

#[cfg(test)]
#[path = "../../tests/common/tars.rs"]
mod tars;

#[cfg(test)]
#[path = "../unpack_tests.rs"]
mod tests;
