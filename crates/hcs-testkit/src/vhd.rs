//! `layer.vhd` images: an ext4 file system followed by a fixed-VHD footer,
//! as LCOW layers are.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

/// A fixed-VHD layer image, `dir/layer.vhd`: an ext4 file system holding
/// `files` (name, text), followed by a 512-byte VHD footer. Needs
/// `mkfs.ext4` (e2fsprogs, which `scripts/setup.sh` installs): a machine
/// without it fails the test.
pub fn vhd_layer(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let tree = dir.join("vhd-tree");
    fs::create_dir_all(&tree).unwrap();
    for (name, text) in files {
        fs::write(tree.join(name), text).unwrap();
    }
    let image = dir.join("layer.vhd");
    let made = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&tree)
        .arg(&image)
        .arg("4M")
        .status();
    assert!(
        made.as_ref().is_ok_and(|s| s.success()),
        "mkfs.ext4 (e2fsprogs) is needed to build a VHD layer ({made:?}): scripts/setup.sh \
         installs it"
    );
    let size = fs::metadata(&image).unwrap().len();
    let mut file = fs::OpenOptions::new().append(true).open(&image).unwrap();
    file.write_all(&footer(size)).unwrap();
    image
}

/// A fixed-disk VHD footer for a disk of `size` bytes.
fn footer(size: u64) -> [u8; 512] {
    let mut f = [0u8; 512];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // version 1.0
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // no dynamic header
    f[28..32].copy_from_slice(b"hcsr");
    f[40..48].copy_from_slice(&size.to_be_bytes());
    f[48..56].copy_from_slice(&size.to_be_bytes());
    f[60..64].copy_from_slice(&2u32.to_be_bytes()); // fixed disk
    let sum: u32 = f.iter().map(|&b| u32::from(b)).sum();
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}
