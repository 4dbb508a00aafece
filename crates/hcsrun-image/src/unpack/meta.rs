//! Entry metadata: owner, mode, times and extended attributes, read from
//! the tar header and its PAX records, and applied to a new entry.

use std::{ffi::OsStr, io::Read, os::fd::BorrowedFd};

use nix::{
    errno::Errno,
    fcntl::AtFlags,
    sys::stat::{fchmodat, utimensat, FchmodatFlags, Mode, UtimensatFlags},
    sys::time::TimeSpec,
    unistd::{fchownat, Gid, Uid},
};

use super::{unsafe_entry, State};
use crate::{error::ErrorKind, fsops::set_xattr_at};

/// An entry's metadata, with PAX overrides applied.
pub(super) struct Meta {
    pub(super) mode: u32,
    pub(super) uid: u64,
    pub(super) gid: u64,
    pub(super) mtime: i64,
    pub(super) xattrs: Vec<(String, Vec<u8>)>,
}

impl State<'_> {
    pub(super) fn meta<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        path: &[u8],
    ) -> Result<Meta, ErrorKind> {
        let header = entry.header();
        let bad = |what: &str| unsafe_entry(path, format!("malformed header: {what}"));
        let mut meta = Meta {
            mode: header.mode().map_err(|_| bad("mode"))? & 0o7777,
            uid: header.uid().map_err(|_| bad("uid"))?,
            gid: header.gid().map_err(|_| bad("gid"))?,
            mtime: header.mtime().map_err(|_| bad("mtime"))? as i64,
            xattrs: Vec::new(),
        };
        let mut xattr_bytes = 0usize;
        if let Some(pax) = entry
            .pax_extensions()
            .map_err(|e| ErrorKind::io("reading PAX headers", e))?
        {
            for ext in pax {
                let ext = ext.map_err(|e| ErrorKind::io("reading PAX headers", e))?;
                let Ok(key) = ext.key() else { continue };
                let num = || {
                    std::str::from_utf8(ext.value_bytes())
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok())
                };
                match key {
                    "uid" => meta.uid = num().ok_or_else(|| bad("PAX uid"))?,
                    "gid" => meta.gid = num().ok_or_else(|| bad("PAX gid"))?,
                    _ => {
                        let Some(name) = key.strip_prefix("SCHILY.xattr.") else {
                            continue;
                        };
                        xattr_bytes += name.len() + ext.value_bytes().len();
                        if xattr_bytes > self.limits.max_xattr_bytes {
                            return Err(ErrorKind::Limit {
                                what: format!(
                                    "extended attributes of {:?}",
                                    String::from_utf8_lossy(path)
                                ),
                                field: "max_xattr_bytes",
                                max: self.limits.max_xattr_bytes as u64,
                            });
                        }
                        if name.starts_with("user.") || name == "security.capability" {
                            meta.xattrs
                                .push((name.to_owned(), ext.value_bytes().to_vec()));
                        } else {
                            tracing::debug!(
                                xattr = name,
                                "dropping an extended attribute of a layer entry"
                            );
                        }
                    }
                }
            }
        }
        Ok(meta)
    }

    /// Owner, mode (after the owner: chown clears setuid), extended
    /// attributes and times of a new entry.
    pub(super) fn apply(
        &self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        kind: tar::EntryType,
        meta: &Meta,
        path: &[u8],
    ) -> Result<(), ErrorKind> {
        let p = || String::from_utf8_lossy(path).into_owned();
        let errno = |what: &'static str| {
            move |e: Errno| ErrorKind::io(format!("{what} of {:?}", p()), e.into())
        };
        let symlink = kind == tar::EntryType::Symlink;
        if self.is_root {
            let (uid, gid) = (u32::try_from(meta.uid), u32::try_from(meta.gid));
            let (Ok(uid), Ok(gid)) = (uid, gid) else {
                return Err(unsafe_entry(path, "owner ids beyond 32 bits"));
            };
            fchownat(
                parent,
                name,
                Some(Uid::from_raw(uid)),
                Some(Gid::from_raw(gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(errno("setting the owner"))?;
        }
        if !symlink {
            // The entry was just made here and is not a link.
            fchmodat(
                parent,
                name,
                Mode::from_bits_truncate(meta.mode),
                FchmodatFlags::FollowSymlink,
            )
            .map_err(errno("setting the mode"))?;
            for (key, value) in &meta.xattrs {
                set_xattr_at(parent, name, key, value)
                    .map_err(|e| ErrorKind::io(format!("setting {key} of {:?}", p()), e))?;
            }
        }
        if kind != tar::EntryType::Directory {
            let t = TimeSpec::new(meta.mtime, 0);
            utimensat(parent, name, &t, &t, UtimensatFlags::NoFollowSymlink)
                .map_err(errno("setting the times"))?;
        }
        Ok(())
    }
}
