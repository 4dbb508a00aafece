//! The system's directory as the holder leaves it when the system stops:
//! the exit record written (atomically: a temporary file renamed into
//! place) and the socket unlinked, through a descriptor of the runtime
//! directory, and only while the directory's record is still this
//! system's (a new system may have taken the id since).

use std::{
    io::{Read, Write},
    os::fd::{AsFd, OwnedFd},
};

use hcsrun_shim_protocol::record::{
    ExitRecord, SystemRecord, CGROUPS_FILE, EXIT_FILE, RECORD_FILE, SOCKET_FILE,
};
use nix::{
    fcntl::{openat, renameat, OFlag},
    sys::stat::Mode,
    unistd::{unlinkat, UnlinkatFlags},
};

pub struct SystemDir {
    pub id: String,
    pub runtime_id: String,
    /// The runtime directory, holding `<id>/`.
    pub runtime_dir: OwnedFd,
}

impl SystemDir {
    /// Writes `exit.json` and unlinks `shim.sock`.
    pub fn stopped(&self, record: &ExitRecord) -> nix::Result<()> {
        if !self.is_ours()? {
            return Ok(());
        }
        let text = serde_json::to_vec(record).map_err(|_| nix::Error::EINVAL)?;
        let tmp = format!("{}/.{EXIT_FILE}.tmp", self.id);
        let file = openat(
            self.runtime_dir.as_fd(),
            tmp.as_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        std::fs::File::from(file)
            .write_all(&text)
            .map_err(|_| nix::Error::EIO)?;
        renameat(
            self.runtime_dir.as_fd(),
            tmp.as_str(),
            self.runtime_dir.as_fd(),
            format!("{}/{EXIT_FILE}", self.id).as_str(),
        )?;
        match unlinkat(
            self.runtime_dir.as_fd(),
            format!("{}/{SOCKET_FILE}", self.id).as_str(),
            UnlinkatFlags::NoRemoveDir,
        ) {
            Err(nix::Error::ENOENT) => Ok(()),
            other => other,
        }
    }

    /// Records where the system's cgroups were moved (`cgroups.path`), so
    /// that the service reads statistics from there.
    pub fn cgroups_moved(&self, rel: &str) -> nix::Result<()> {
        if !self.is_ours()? {
            return Ok(());
        }
        let tmp = format!("{}/.{CGROUPS_FILE}.tmp", self.id);
        let file = openat(
            self.runtime_dir.as_fd(),
            tmp.as_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        std::fs::File::from(file)
            .write_all(format!("{rel}\n").as_bytes())
            .map_err(|_| nix::Error::EIO)?;
        renameat(
            self.runtime_dir.as_fd(),
            tmp.as_str(),
            self.runtime_dir.as_fd(),
            format!("{}/{CGROUPS_FILE}", self.id).as_str(),
        )
    }

    fn is_ours(&self) -> nix::Result<bool> {
        let file = openat(
            self.runtime_dir.as_fd(),
            format!("{}/{RECORD_FILE}", self.id).as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let mut text = String::new();
        std::fs::File::from(file)
            .read_to_string(&mut text)
            .map_err(|_| nix::Error::EIO)?;
        Ok(serde_json::from_str::<SystemRecord>(&text)
            .is_ok_and(|r| r.runtime_id == self.runtime_id))
    }
}
