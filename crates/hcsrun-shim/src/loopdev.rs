//! Read-only loop devices for image-file layers (LCOW `layer.vhd`: an ext4
//! image followed by a 512-byte fixed-VHD footer).

use std::{
    fs::{File, OpenOptions},
    io::{self, Read, Seek, SeekFrom},
    os::{fd::AsRawFd, unix::fs::OpenOptionsExt},
    path::{Path, PathBuf},
};

// From <linux/loop.h>.
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

#[repr(C)]
struct LoopInfo64 {
    device: u64,
    inode: u64,
    rdevice: u64,
    offset: u64,
    size_limit: u64,
    number: u32,
    encrypt_type: u32,
    encrypt_key_size: u32,
    flags: u32,
    file_name: [u8; 64],
    crypt_name: [u8; 64],
    encrypt_key: [u8; 32],
    init: [u64; 2],
}

#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// The length of the file system image in `file`: everything before a
/// fixed-VHD footer (cookie `conectix`, disk type 2), or the whole file.
pub fn image_len(file: &mut File) -> io::Result<u64> {
    const FOOTER: u64 = 512;
    let len = file.metadata()?.len();
    if len < FOOTER {
        return Ok(len);
    }
    let mut footer = [0u8; FOOTER as usize];
    file.seek(SeekFrom::Start(len - FOOTER))?;
    file.read_exact(&mut footer)?;
    let fixed_vhd = &footer[..8] == b"conectix" && footer[60..64] == 2u32.to_be_bytes();
    Ok(if fixed_vhd { len - FOOTER } else { len })
}

/// An attached loop device; it detaches itself once nothing uses it
/// (autoclear), so dropping this after mounting leaves the mount in charge.
pub struct LoopDevice {
    pub path: PathBuf,
    _device: File,
}

/// Attaches `image` read-only, covering its file system but not a VHD
/// footer.
pub fn attach(image: &Path) -> io::Result<LoopDevice> {
    let mut backing = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(image)?;
    let size_limit = image_len(&mut backing)?;
    let control = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/loop-control")?;
    // Another attacher may take the free device between asking and
    // configuring it; ask again.
    for _ in 0..32 {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
        let n = unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let path = PathBuf::from(format!("/dev/loop{n}"));
        let device = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)?;
        let config = LoopConfig {
            fd: backing.as_raw_fd() as u32,
            block_size: 0,
            info: LoopInfo64 {
                device: 0,
                inode: 0,
                rdevice: 0,
                offset: 0,
                size_limit,
                number: 0,
                encrypt_type: 0,
                encrypt_key_size: 0,
                flags: LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR,
                file_name: [0; 64],
                crypt_name: [0; 64],
                encrypt_key: [0; 32],
                init: [0; 2],
            },
            reserved: [0; 8],
        };
        // SAFETY: LOOP_CONFIGURE reads a `struct loop_config`, which
        // `LoopConfig` lays out exactly.
        let rc = unsafe { libc::ioctl(device.as_raw_fd(), LOOP_CONFIGURE, &config) };
        if rc == 0 {
            return Ok(LoopDevice {
                path,
                _device: device,
            });
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EBUSY) {
            return Err(err);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::WouldBlock,
        "no free loop device",
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn temp_file(bytes: &[u8]) -> File {
        let path = std::env::temp_dir().join(format!("hcs-vhd-{}", uuid::Uuid::new_v4()));
        let mut f = File::create(&path).unwrap();
        f.write_all(bytes).unwrap();
        let f = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    #[test]
    fn a_fixed_vhd_footer_is_left_out() {
        let mut footer = [0u8; 512];
        footer[..8].copy_from_slice(b"conectix");
        footer[60..64].copy_from_slice(&2u32.to_be_bytes());
        let mut bytes = vec![7u8; 4096];
        bytes.extend_from_slice(&footer);
        assert_eq!(image_len(&mut temp_file(&bytes)).unwrap(), 4096);
    }

    #[test]
    fn raw_images_and_dynamic_vhds_are_used_whole() {
        assert_eq!(image_len(&mut temp_file(&[1u8; 4096])).unwrap(), 4096);
        let mut footer = [0u8; 512];
        footer[..8].copy_from_slice(b"conectix");
        footer[60..64].copy_from_slice(&3u32.to_be_bytes());
        let mut bytes = vec![0u8; 1024];
        bytes.extend_from_slice(&footer);
        assert_eq!(image_len(&mut temp_file(&bytes)).unwrap(), 1536);
        assert_eq!(image_len(&mut temp_file(&[0u8; 10])).unwrap(), 10);
    }
}
