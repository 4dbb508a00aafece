//! `--preserve-fds N`: descriptors 3 to 3 + N of the caller go to the
//! container's process as they are (runc's flag; podman passes systemd's
//! socket-activation descriptors this way).
//!
//! Only descriptors the caller really passed may go: one that was not open
//! when hcsrun-oci started could since name a file of hcsrun-oci's own (a
//! log, a state directory), which must never reach a container. So the
//! open descriptors are noted first thing, and a request that names one
//! not among them is refused.

use std::{os::fd::RawFd, sync::OnceLock};

use anyhow::{bail, Result};

/// The most descriptors that may be passed on.
const MAX: u32 = 256;

static INHERITED: OnceLock<Vec<RawFd>> = OnceLock::new();

/// Notes which of descriptors 3 to 3 + [`MAX`] are open. Call before
/// anything is opened.
pub fn note_inherited() {
    INHERITED.get_or_init(|| {
        (3..3 + MAX as RawFd)
            // SAFETY: F_GETFD only reads the flags of a descriptor number.
            .filter(|fd| unsafe { libc::fcntl(*fd, libc::F_GETFD) } >= 0)
            .collect()
    });
}

/// `n` checked: each of descriptors 3 to 3 + `n` was open at start.
pub fn checked(n: Option<u32>) -> Result<u32> {
    let n = n.unwrap_or(0);
    if n > MAX {
        bail!("--preserve-fds {n}: at most {MAX} descriptors can be passed on");
    }
    let inherited = INHERITED.get().map_or(&[][..], Vec::as_slice);
    if let Some(fd) = (3..3 + n as RawFd).find(|fd| !inherited.contains(fd)) {
        bail!("--preserve-fds {n}: descriptor {fd} was not passed to hcsrun-oci (it is not open)");
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_descriptors_open_at_start_pass() {
        // Test harness descriptors vary: note what is open now, then ask
        // for one more than the run of open ones from 3.
        note_inherited();
        let inherited = INHERITED.get().unwrap();
        let open_run = (3..).take_while(|fd| inherited.contains(fd)).count() as u32;
        assert_eq!(checked(Some(open_run)).unwrap(), open_run);
        assert_eq!(checked(None).unwrap(), 0);
        let err = checked(Some(open_run + 1)).unwrap_err().to_string();
        assert!(err.contains("not passed"), "{err}");
        assert!(checked(Some(MAX + 1)).is_err());
    }
}
