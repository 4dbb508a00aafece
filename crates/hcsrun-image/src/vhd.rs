//! `layer.vhd`: an unpacked layer as an ext4 image followed by a 512-byte
//! fixed-VHD footer, as LCOW's tar2vhd made them and as the Linux compute
//! service reads them (it attaches the file to a loop device up to the
//! footer, cookie `conectix` and disk type 2, and mounts it `ro,noload`).
//!
//! The image is made by `mkfs.ext4 -d` (e2fsprogs), which copies the
//! folder's files, owners, modes, times, device nodes (the overlay
//! whiteouts) and extended attributes (`trusted.overlay.opaque`); it has no
//! journal (it is only ever mounted read-only) and no `lost+found` unless
//! the layer has one.

use std::{
    fs,
    io::Write,
    os::unix::fs::MetadataExt,
    path::Path,
    process::Command,
    time::{Duration, SystemTime},
};

use crate::error::{io_err, ErrorKind};

/// The file name the compute service looks for in a layer folder.
pub const FILE_NAME: &str = "layer.vhd";
/// Size of the fixed-VHD footer.
pub const FOOTER_LEN: usize = 512;

/// Builds `out` from the unpacked layer `layer_dir`.
pub fn build(layer_dir: &Path, out: &Path) -> Result<(), ErrorKind> {
    let (bytes, inodes, has_lost_found) = measure(layer_dir)?;
    // Data rounded to blocks, a margin for ext4's own metadata, and a floor.
    let size = (bytes + bytes / 8 + inodes * 256 + (16 << 20)).div_ceil(1 << 20) << 20;
    let status = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0"])
        .args(["-O", "^has_journal,^resize_inode"])
        .arg("-N")
        .arg((inodes + 64).to_string())
        .arg("-d")
        .arg(layer_dir)
        .arg(out)
        .arg(format!("{}k", size >> 10))
        .output()
        .map_err(io_err("running mkfs.ext4 (e2fsprogs)"))?;
    if !status.status.success() {
        return Err(ErrorKind::io(
            "mkfs.ext4",
            std::io::Error::other(format!(
                "{}: {}",
                status.status,
                String::from_utf8_lossy(&status.stderr).trim()
            )),
        ));
    }
    if !has_lost_found {
        let rm = Command::new("debugfs")
            .args(["-w", "-R", "rmdir lost+found"])
            .arg(out)
            .output()
            .map_err(io_err("running debugfs (e2fsprogs)"))?;
        if !rm.status.success() {
            return Err(ErrorKind::io(
                "debugfs rmdir lost+found",
                std::io::Error::other(rm.status.to_string()),
            ));
        }
    }
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(out)
        .map_err(io_err("opening the image"))?;
    let len = file
        .metadata()
        .map_err(io_err("reading the image's size"))?
        .len();
    let footer = footer(len, SystemTime::now(), *uuid::Uuid::new_v4().as_bytes());
    file.write_all(&footer)
        .map_err(io_err("writing the VHD footer"))?;
    file.sync_all().map_err(io_err("syncing the image"))?;
    Ok(())
}

/// Bytes of data (rounded to 4 KiB blocks), inodes, and whether the root
/// has `lost+found`. Never follows links.
fn measure(dir: &Path) -> Result<(u64, u64, bool), ErrorKind> {
    let mut bytes = 0u64;
    let mut inodes = 1u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(io_err(format!("reading {}", d.display())))? {
            let entry = entry.map_err(io_err(format!("reading {}", d.display())))?;
            let meta = fs::symlink_metadata(entry.path()).map_err(io_err("reading the layer"))?;
            inodes += 1;
            bytes += meta.size().div_ceil(4096) * 4096 + 4096 * u64::from(meta.is_dir());
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    Ok((
        bytes,
        inodes,
        dir.join("lost+found").symlink_metadata().is_ok(),
    ))
}

/// The fixed-VHD footer for a disk of `size` bytes (VHD specification
/// 1.0: big-endian fields, CHS geometry, one's-complement checksum).
pub fn footer(size: u64, now: SystemTime, unique_id: [u8; 16]) -> [u8; FOOTER_LEN] {
    let mut f = [0u8; FOOTER_LEN];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // format version
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // data offset: none (fixed)
    let epoch_2000 = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800);
    let stamp = now
        .duration_since(epoch_2000)
        .map_or(0, |d| d.as_secs() as u32);
    f[24..28].copy_from_slice(&stamp.to_be_bytes());
    f[28..32].copy_from_slice(b"hcsr"); // creator application
    f[32..36].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    f[36..40].copy_from_slice(b"Wi2k"); // creator host OS, as Windows writes
    f[40..48].copy_from_slice(&size.to_be_bytes()); // original size
    f[48..56].copy_from_slice(&size.to_be_bytes()); // current size
    let (c, h, s) = geometry(size);
    f[56..58].copy_from_slice(&c.to_be_bytes());
    f[58] = h;
    f[59] = s;
    f[60..64].copy_from_slice(&2u32.to_be_bytes()); // disk type: fixed
    f[68..84].copy_from_slice(&unique_id);
    let sum = f
        .iter()
        .fold(0u32, |acc, &b| acc.wrapping_add(u32::from(b)));
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}

/// The specification's CHS geometry for a disk of `size` bytes.
fn geometry(size: u64) -> (u16, u8, u8) {
    let mut total = size / 512;
    total = total.min(65535 * 16 * 255);
    let (spt, heads, cyl_heads);
    if total >= 65535 * 16 * 63 {
        spt = 255;
        heads = 16;
        cyl_heads = total / spt;
    } else {
        let mut s = 17;
        let mut ch = total / s;
        let mut h = ch.div_ceil(1024);
        if h < 4 {
            h = 4;
        }
        if ch >= h * 1024 || h > 16 {
            s = 31;
            h = 16;
            ch = total / s;
        }
        if ch >= h * 1024 {
            s = 63;
            h = 16;
            ch = total / s;
        }
        spt = s;
        heads = h;
        cyl_heads = ch;
    }
    ((cyl_heads / heads) as u16, heads as u8, spt as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_fields_and_checksum() {
        let f = footer(
            32 << 20,
            SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800 + 7),
            [9; 16],
        );
        assert_eq!(&f[..8], b"conectix");
        assert_eq!(f[60..64], 2u32.to_be_bytes());
        assert_eq!(u32::from_be_bytes(f[24..28].try_into().unwrap()), 7);
        assert_eq!(u64::from_be_bytes(f[48..56].try_into().unwrap()), 32 << 20);
        let stored = u32::from_be_bytes(f[64..68].try_into().unwrap());
        let mut zeroed = f;
        zeroed[64..68].fill(0);
        let sum = zeroed
            .iter()
            .fold(0u32, |a, &b| a.wrapping_add(u32::from(b)));
        assert_eq!(stored, !sum);
        // 32 MiB = 65536 sectors: 17 sectors/track, 4 heads, 963 cylinders.
        assert_eq!(geometry(32 << 20), (963, 4, 17));
        // Large disks use 255 sectors and 16 heads.
        assert_eq!(geometry(200 << 30).1, 16);
        assert_eq!(geometry(200 << 30).2, 255);
    }
}
