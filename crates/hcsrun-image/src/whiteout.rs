//! OCI whiteouts turned into what overlayfs reads.
//!
//! An OCI layer deletes `dir/name` of the layers below with an empty file
//! `dir/.wh.name`, and hides all of `dir` below with `dir/.wh..wh..opq`.
//! overlayfs reads a deletion as a character device 0:0 named `name`, and an
//! opaque directory as one with the extended attribute
//! `trusted.overlay.opaque=y`. Other `.wh..wh.` names (aufs' hard-link
//! directory) carry nothing overlayfs needs and are skipped.

use std::{ffi::OsStr, io, os::fd::BorrowedFd, os::unix::ffi::OsStrExt};

use nix::sys::stat::{mknodat, Mode, SFlag};

use crate::fsops::{remove_at, set_xattr_at};

/// The prefix of whiteout names.
pub const PREFIX: &str = ".wh.";
/// The name that makes its directory opaque.
pub const OPAQUE: &str = ".wh..wh..opq";
/// The extended attribute overlayfs reads as "opaque directory".
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// What an entry's last path component says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// Not a whiteout: an ordinary entry.
    None,
    /// Hide the lower layers' contents of the entry's directory.
    Opaque,
    /// Delete `name` of the lower layers.
    Delete(&'a OsStr),
    /// Another `.wh..wh.` name, with no meaning for overlayfs.
    Skip,
}

/// Classifies `name`, an entry's last path component.
pub(crate) fn classify(name: &OsStr) -> Whiteout<'_> {
    let bytes = name.as_bytes();
    if bytes == OPAQUE.as_bytes() {
        Whiteout::Opaque
    } else if bytes.starts_with(b".wh..wh.") {
        Whiteout::Skip
    } else if let Some(rest) = bytes.strip_prefix(PREFIX.as_bytes()) {
        Whiteout::Delete(OsStr::from_bytes(rest))
    } else {
        Whiteout::None
    }
}

/// Makes `name` in `dir` the overlay whiteout (character device 0:0),
/// replacing whatever the layer had there.
pub(crate) fn make_whiteout(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    remove_at(dir, name)?;
    mknodat(dir, name, SFlag::S_IFCHR, Mode::empty(), 0)?;
    Ok(())
}

/// Marks the directory `dir` opaque.
pub(crate) fn make_opaque(dir: BorrowedFd<'_>) -> io::Result<()> {
    set_xattr_at(dir, OsStr::new("."), OPAQUE_XATTR, b"y")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let c = |s: &'static str| classify(OsStr::new(s));
        assert_eq!(c(".wh..wh..opq"), Whiteout::Opaque);
        assert_eq!(c(".wh.foo"), Whiteout::Delete(OsStr::new("foo")));
        assert_eq!(c(".wh..wh.plnk"), Whiteout::Skip);
        assert_eq!(c("foo.wh."), Whiteout::None);
        assert_eq!(c(".whfoo"), Whiteout::None);
        // ".wh." alone deletes nothing nameable; the unpacker refuses it.
        assert_eq!(c(".wh."), Whiteout::Delete(OsStr::new("")));
    }
}
