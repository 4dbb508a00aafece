//! What the service keeps on disk for each system, so that any process can
//! open, list and clean it up: `<runtime dir>/<id>/state.json` and the
//! holder's socket `<runtime dir>/<id>/shim.sock`, and connecting to it.

use std::{
    fs,
    io::{self, Write},
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::fs::{DirBuilderExt, OpenOptionsExt},
    },
    path::{Path, PathBuf},
};

use hcsrun_shim_protocol::record::{ExitRecord, SystemRecord, EXIT_FILE, RECORD_FILE, SOCKET_FILE};
use nix::{
    fcntl::{open, OFlag},
    sys::{
        socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr},
        stat::Mode,
    },
};

/// The runtime directory and the layout under it.
#[derive(Clone, Debug)]
pub struct RuntimeDir {
    root: PathBuf,
}

impl RuntimeDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn system_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    pub fn socket(&self, id: &str) -> PathBuf {
        self.system_dir(id).join(SOCKET_FILE)
    }

    /// Connects to system `id`'s holder: `Err` if it is not running.
    pub fn connect(&self, id: &str) -> io::Result<OwnedFd> {
        let dir = open(
            &self.system_dir(id),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(connect_in(&dir)?)
    }

    /// Creates the system's directory with its record, atomically: the
    /// directory appears complete or not at all. `AlreadyExists` if a system
    /// with this id is recorded.
    pub fn create(&self, record: &SystemRecord) -> io::Result<PathBuf> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.root)?;
        let tmp = self
            .root
            .join(format!(".new-{}-{}", record.id, record.runtime_id));
        fs::DirBuilder::new().mode(0o700).create(&tmp)?;
        let write = || -> io::Result<()> {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp.join(RECORD_FILE))?;
            file.write_all(&serde_json::to_vec(record).map_err(io::Error::other)?)?;
            let dir = self.system_dir(&record.id);
            // rename(2) onto an existing non-empty directory fails, so two
            // creators of one id cannot both win.
            fs::rename(&tmp, &dir).map_err(|e| match e.raw_os_error() {
                Some(libc::ENOTEMPTY | libc::EEXIST) => {
                    io::Error::from(io::ErrorKind::AlreadyExists)
                }
                _ => e,
            })
        };
        write().inspect_err(|_| {
            let _ = fs::remove_dir_all(&tmp);
        })?;
        Ok(self.system_dir(&record.id))
    }

    /// Reads the record of system `id`.
    pub fn read(&self, id: &str) -> io::Result<SystemRecord> {
        let bytes = fs::read(self.system_dir(id).join(RECORD_FILE))?;
        serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// How system `id` ended, if it has stopped after running: its
    /// holder's exit record, or, when a holder that left its socket behind
    /// no longer answers, the record of a lost system. `None` for a system
    /// that runs or never did.
    pub fn exit_record(&self, id: &str) -> io::Result<Option<ExitRecord>> {
        match fs::read(self.system_dir(id).join(EXIT_FILE)) {
            Ok(bytes) => {
                return serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            }
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            Err(_) => {}
        }
        if !self.socket(id).exists() || self.connect(id).is_ok() {
            return Ok(None);
        }
        Ok(Some(ExitRecord::lost()))
    }

    /// The ids of all recorded systems.
    pub fn list(&self) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let name = entry?.file_name();
            if let Some(name) = name.to_str() {
                if !name.starts_with('.') {
                    ids.push(name.to_owned());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Removes system `id`'s directory if it still belongs to the system
    /// with `runtime_id` (a new system may have taken the id since).
    pub fn remove(&self, id: &str, runtime_id: &str) -> io::Result<()> {
        match self.read(id) {
            Ok(record) if record.runtime_id == runtime_id => {
                fs::remove_dir_all(self.system_dir(id))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            // An unreadable record of ours: still ours to remove.
            Err(_) => fs::remove_dir_all(self.system_dir(id)),
        }
    }
}

/// The socket's address through the directory descriptor: short whatever
/// the length of the runtime directory and id.
pub(crate) fn socket_address(dir: &OwnedFd) -> nix::Result<UnixAddr> {
    UnixAddr::new(format!("/proc/self/fd/{}/{SOCKET_FILE}", dir.as_raw_fd()).as_str())
}

/// Connects to a listening socket in `dir`.
pub(crate) fn connect_in(dir: &OwnedFd) -> nix::Result<OwnedFd> {
    let sock = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    connect(sock.as_raw_fd(), &socket_address(dir)?)?;
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use hcs_schema::Timestamp;

    use super::*;

    fn record(id: &str, runtime_id: &str) -> SystemRecord {
        SystemRecord {
            id: id.into(),
            runtime_id: runtime_id.into(),
            created: Timestamp::now(),
            cgroup_parent: "hcsrun".into(),
            config: r#"{"SystemType":"Container","Name":"a","Owner":"me","Layers":null,"HvPartition":false}"#.into(),
        }
    }

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hcs-state-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn create_read_list_remove() {
        let dir = RuntimeDir::new(scratch());
        dir.create(&record("a", "r1")).unwrap();
        dir.create(&record("b", "r2")).unwrap();
        assert_eq!(dir.list().unwrap(), ["a", "b"]);
        let a = dir.read("a").unwrap();
        assert_eq!(a.runtime_id, "r1");
        let props = a.properties(&a.config().unwrap(), false, None);
        assert_eq!((props.id.as_str(), props.owner.as_str()), ("a", "me"));
        // Removing with another system's runtime id leaves it alone.
        dir.remove("a", "other").unwrap();
        assert!(dir.read("a").is_ok());
        dir.remove("a", "r1").unwrap();
        assert_eq!(dir.list().unwrap(), ["b"]);
        fs::remove_dir_all(dir.root()).unwrap();
    }

    #[test]
    fn a_second_system_with_the_same_id_is_refused() {
        let dir = RuntimeDir::new(scratch());
        dir.create(&record("a", "r1")).unwrap();
        let err = dir.create(&record("a", "r2")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(dir.read("a").unwrap().runtime_id, "r1");
        // No half-made directory is left behind.
        assert_eq!(fs::read_dir(dir.root()).unwrap().count(), 1);
        fs::remove_dir_all(dir.root()).unwrap();
    }

    #[test]
    fn listing_a_missing_runtime_dir_is_empty() {
        let dir = RuntimeDir::new("/nonexistent/hcsrun-runtime");
        assert!(dir.list().unwrap().is_empty());
    }
}
