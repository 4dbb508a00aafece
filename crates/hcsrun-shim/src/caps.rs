//! The capabilities a container's processes keep: docker's default set
//! without `CAP_MKNOD` (docker keeps it because its devices cgroup makes
//! device nodes harmless; this service has no devices cgroup). Everything
//! else, `CAP_SYS_ADMIN`, `CAP_SYS_MODULE`, `CAP_SYS_PTRACE` and the rest,
//! leaves the bounding set too, so no exec can get it back.

/// Capability numbers (linux/capability.h).
const KEPT: &[u32] = &[
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
    29, // AUDIT_WRITE
    31, // SETFCAP
];

/// The kept set as a mask.
pub const fn kept_mask() -> u64 {
    let mut mask = 0u64;
    let mut i = 0;
    while i < KEPT.len() {
        mask |= 1 << KEPT[i];
        i += 1;
    }
    mask
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

/// Drops every capability but the kept ones from the bounding, effective,
/// permitted, inheritable and ambient sets of the calling process. Only
/// system calls: safe between `fork` and `execve`. Must run before the
/// process changes to its user (it needs `CAP_SETPCAP`).
///
/// # Safety
/// Plain system calls on local data; callable in a forked child.
pub unsafe fn restrict() -> Result<(), ()> {
    let mask = kept_mask();
    for cap in 0..64u32 {
        if mask & (1 << cap) != 0 {
            continue;
        }
        if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) < 0 {
            // Past the kernel's last capability.
            if *libc::__errno_location() == libc::EINVAL {
                break;
            }
            return Err(());
        }
    }
    let half = |shift: u32| {
        let bits = (mask >> shift) as u32;
        Data {
            effective: bits,
            permitted: bits,
            inheritable: bits,
        }
    };
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [half(0), half(32)];
    if libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) < 0 {
        return Err(());
    }
    if libc::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL,
        0,
        0,
        0,
    ) < 0
    {
        return Err(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_dockers_defaults_but_mknod() {
        // docker's 0xa80425fb without bit 27.
        assert_eq!(kept_mask(), 0xa004_25fb);
        assert_eq!(kept_mask() & (1 << 27), 0, "CAP_MKNOD");
        assert_eq!(kept_mask() & (1 << 21), 0, "CAP_SYS_ADMIN");
    }
}
