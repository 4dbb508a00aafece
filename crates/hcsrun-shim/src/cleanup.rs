//! What a stopped system leaves to remove: its directory, which the holder
//! removes through a descriptor opened on the host (its own view of the file
//! system is the container's). Its cgroups hold the holder itself until it
//! exits, so whoever reaps it removes them.

use std::{
    io::Read,
    os::fd::{AsFd, OwnedFd},
};

use nix::{
    dir::Dir,
    fcntl::{openat, OFlag},
    sys::stat::Mode,
    unistd::{unlinkat, UnlinkatFlags},
};

use hcsrun_shim_protocol::record::{SystemRecord, RECORD_FILE};

pub struct Cleanup {
    pub id: String,
    pub runtime_id: String,
    /// The runtime directory, holding `<id>/`.
    pub runtime_dir: OwnedFd,
}

impl Cleanup {
    pub fn run(&self) {
        if let Err(e) = self.remove_system_dir() {
            eprintln!("hcsrun-shim {}: removing its directory: {e}", self.id);
        }
    }

    /// Removes `<id>/` if its record is still this system's.
    fn remove_system_dir(&self) -> nix::Result<()> {
        let record = format!("{}/{RECORD_FILE}", self.id);
        let mut text = String::new();
        let file = openat(
            self.runtime_dir.as_fd(),
            record.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        std::fs::File::from(file)
            .read_to_string(&mut text)
            .map_err(|_| nix::Error::EIO)?;
        match serde_json::from_str::<SystemRecord>(&text) {
            Ok(r) if r.runtime_id == self.runtime_id => {}
            _ => return Ok(()),
        }
        let dir = openat(
            self.runtime_dir.as_fd(),
            self.id.as_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let names: Vec<std::ffi::CString> =
            Dir::from_fd(dir.try_clone().map_err(|_| nix::Error::EIO)?)?
                .iter()
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_owned())
                .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
                .collect();
        for name in names {
            unlinkat(dir.as_fd(), name.as_c_str(), UnlinkatFlags::NoRemoveDir)?;
        }
        unlinkat(
            self.runtime_dir.as_fd(),
            self.id.as_str(),
            UnlinkatFlags::RemoveDir,
        )
    }
}
