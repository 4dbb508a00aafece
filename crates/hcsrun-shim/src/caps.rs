//! Capability sets, as the kernel takes them, and setting them on the
//! calling process between `fork` and `execve` (plain system calls).
//!
//! Docker's default set is what a container gets when no Linux spec says
//! otherwise: `CAP_MKNOD` included, since the device allow-list makes
//! nodes beyond the allowed ones useless (`devices`), and nothing
//! inheritable (docker since CVE-2022-24769: an inheritable set would
//! let a program with file capabilities gain them across `execve`).

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

/// Docker's default capabilities (moby's `DefaultCapabilities`), by number
/// (linux/capability.h).
const DOCKER_DEFAULT: &[u32] = &[
    0,  // CHOWN
    1,  // DAC_OVERRIDE
    3,  // FOWNER
    4,  // FSETID
    5,  // KILL
    6,  // SETGID
    7,  // SETUID
    8,  // SETPCAP
    10, // NET_BIND_SERVICE
    13, // NET_RAW
    18, // SYS_CHROOT
    27, // MKNOD
    29, // AUDIT_WRITE
    31, // SETFCAP
];

/// [`DOCKER_DEFAULT`] as a mask.
pub const fn docker_default_mask() -> u64 {
    let mut mask = 0u64;
    let mut i = 0;
    while i < DOCKER_DEFAULT.len() {
        mask |= 1 << DOCKER_DEFAULT[i];
        i += 1;
    }
    mask
}

/// The five capability sets, as masks (bit N is capability N).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

impl CapSets {
    /// Docker's defaults: bounding, effective and permitted; no
    /// inheritable or ambient capability.
    pub fn docker_default() -> Self {
        let mask = docker_default_mask();
        Self {
            bounding: mask,
            effective: mask,
            permitted: mask,
            inheritable: 0,
            ambient: 0,
        }
    }
}

#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const VERSION_3: u32 = 0x2008_0522;

/// Drops every capability not in `keep` from the calling process's
/// bounding set, so that no `execve` can grant it again. Needs
/// `CAP_SETPCAP`: call it before the process changes its ids.
///
/// # Safety
/// Plain system calls on local data; callable in a forked child.
pub unsafe fn drop_bounding(keep: u64) -> Result<(), Errno> {
    for cap in 0..64u32 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) < 0 {
            // Past the kernel's last capability.
            if Errno::last() == Errno::EINVAL {
                break;
            }
            return Err(Errno::last());
        }
    }
    Ok(())
}

/// Sets the effective, permitted and inheritable sets (`capset`), then the
/// ambient set: cleared, and each capability of `sets.ambient` raised.
///
/// # Safety
/// Plain system calls on local data; callable in a forked child.
pub unsafe fn set(sets: &CapSets) -> Result<(), Errno> {
    let half = |shift: u32| Data {
        effective: (sets.effective >> shift) as u32,
        permitted: (sets.permitted >> shift) as u32,
        inheritable: (sets.inheritable >> shift) as u32,
    };
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [half(0), half(32)];
    if libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) < 0 {
        return Err(Errno::last());
    }
    if libc::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL,
        0,
        0,
        0,
    ) < 0
    {
        return Err(Errno::last());
    }
    for cap in (0..64u32).filter(|c| sets.ambient & (1 << c) != 0) {
        if libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE,
            cap as libc::c_ulong,
            0,
            0,
        ) < 0
        {
            return Err(Errno::last());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_defaults() {
        // docker's 0xa80425fb.
        assert_eq!(docker_default_mask(), 0xa804_25fb);
        assert_ne!(docker_default_mask() & (1 << 27), 0, "CAP_MKNOD");
        assert_eq!(docker_default_mask() & (1 << 21), 0, "CAP_SYS_ADMIN");
        let d = CapSets::docker_default();
        assert_eq!((d.inheritable, d.ambient), (0, 0));
    }
}
