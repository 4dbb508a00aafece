//! Tar archives built byte by byte, so that tests can write what a hostile
//! archive would (`../x`, absolute names, devices), which the tar crate's
//! builder refuses to write.
#![allow(dead_code)]

use std::io::Write;

use tar::{EntryType, Header};

/// A tar stream under construction.
#[derive(Default)]
pub struct TarBuf(Vec<u8>);

impl TarBuf {
    pub fn new() -> Self {
        TarBuf(Vec::new())
    }

    /// An entry with `name` and `link` written as given, a header size of
    /// `size` (which may lie) and `data` padded to a block.
    pub fn raw(
        mut self,
        name: &[u8],
        kind: EntryType,
        size: u64,
        link: &[u8],
        data: &[u8],
    ) -> Self {
        let mut h = Header::new_gnu();
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name);
            gnu.linkname[..link.len()].copy_from_slice(link);
        }
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(match kind {
            EntryType::Directory => 0o755,
            _ => 0o644,
        });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.raw(
            name.as_bytes(),
            EntryType::Regular,
            data.len() as u64,
            b"",
            data,
        )
    }

    pub fn file_mode(mut self, name: &str, data: &[u8], mode: u32) -> Self {
        let start = self.0.len();
        self = self.file(name, data);
        let h = Header::from_byte_slice(&self.0[start..start + 512]).clone();
        let mut h = h;
        h.set_mode(mode);
        h.set_cksum();
        self.0[start..start + 512].copy_from_slice(h.as_bytes());
        self
    }

    pub fn dir(self, name: &str) -> Self {
        self.raw(name.as_bytes(), EntryType::Directory, 0, b"", b"")
    }

    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.raw(
            name.as_bytes(),
            EntryType::Symlink,
            0,
            target.as_bytes(),
            b"",
        )
    }

    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.raw(name.as_bytes(), EntryType::Link, 0, target.as_bytes(), b"")
    }

    pub fn device(mut self, name: &str, kind: EntryType, major: u32, minor: u32) -> Self {
        let start = self.0.len();
        self = self.raw(name.as_bytes(), kind, 0, b"", b"");
        let mut h = Header::from_byte_slice(&self.0[start..start + 512]).clone();
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        h.set_cksum();
        self.0[start..start + 512].copy_from_slice(h.as_bytes());
        self
    }

    /// The archive with its end-of-archive blocks.
    pub fn finish(mut self) -> Vec<u8> {
        self.0.extend(std::iter::repeat_n(0u8, 1024));
        self.0
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Every path under `dir`, relative, sorted (what a test compares).
pub fn tree(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
