//! What hcsrun keeps of each container beside the compute service's own
//! record, as docker's engine keeps its container configs: the command as
//! typed, when it was created and started, the documents sent to the
//! service, the scratch folder and whether hcsrun made it, `--rm`, and the
//! log. One directory per container under [`root`]: `config.json`, the
//! small record `ps` reads, and `documents.json`, the documents sent to the
//! service (tens of kilobytes with a seccomp profile), read only by the
//! verbs that need them. Each is written atomically (a temporary file
//! renamed over it), so that a reader never sees half of one, and they
//! outlive `/run` (a reboot).

use std::{
    fs, io,
    io::Write,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use anyhow::Context;
use hcs_schema::{ContainerConfig, ProcessConfig};
use serde::{Deserialize, Serialize};

/// Where the records live unless `HCSRUN_CONTAINERS` says otherwise.
pub const DEFAULT_ROOT: &str = "/var/lib/hcsrun/containers";
/// The record's file name in a container's directory.
const RECORD: &str = "config.json";
/// The documents' file name in a container's directory.
const DOCUMENTS: &str = "documents.json";

/// The directory holding one directory per container.
pub fn root() -> PathBuf {
    std::env::var_os("HCSRUN_CONTAINERS").map_or_else(|| DEFAULT_ROOT.into(), PathBuf::from)
}

/// Container `id`'s directory.
pub fn dir(id: &str) -> PathBuf {
    root().join(id)
}

/// A container as hcsrun created it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Record {
    /// The container's id (its directory's name and the system's id).
    pub id: String,
    /// The compute service it runs on (`--service`).
    pub service: String,
    /// The command and its arguments, as typed.
    pub command: Vec<String>,
    /// When it was created (RFC 3339).
    pub created: String,
    /// When it was last started (RFC 3339).
    #[serde(default)]
    pub started: Option<String>,
    /// `process` or `hyperv`.
    pub isolation: String,
    /// Its read-only layers, top-most first.
    pub layers: Vec<String>,
    /// The scratch folder, if any, and whether hcsrun made it (and so
    /// removes it with the container).
    pub scratch: Option<PathBuf>,
    /// hcsrun made the scratch folder.
    pub scratch_is_ours: bool,
    /// Remove the container when it exits (`--rm`).
    #[serde(default)]
    pub auto_remove: bool,
    /// Its first process has a console.
    pub tty: bool,
    /// Its first process keeps its input open (`-i`).
    #[serde(default)]
    pub interactive: bool,
    /// Seconds `stop` waits before it kills.
    pub stop_timeout: u64,
    /// Paused by `hcsrun pause`.
    #[serde(default)]
    pub paused: bool,
    /// Its output goes to a log relay (detached containers).
    #[serde(default)]
    pub logged: bool,
}

/// The documents a container was created from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Documents {
    /// The `ContainerConfig` sent to the service (credentials removed).
    pub config: serde_json::Value,
    /// The first process's `ProcessConfig`, sent when it is started.
    pub init: serde_json::Value,
    /// The Linux spec it runs, where it is a Linux container: later
    /// processes start from it.
    #[serde(default)]
    pub linux_spec: Option<serde_json::Value>,
}

impl Documents {
    /// The configuration as the service received it.
    pub fn container_config(&self) -> anyhow::Result<ContainerConfig> {
        hcs_schema::from_str(&self.config.to_string()).context("reading the recorded configuration")
    }

    /// The first process's configuration.
    pub fn init_config(&self) -> anyhow::Result<ProcessConfig> {
        hcs_schema::from_str(&self.init.to_string())
            .context("reading the recorded process configuration")
    }

    /// Writes container `id`'s documents atomically, and synced if
    /// `durable` (not for a foreground run's, which live no longer than
    /// the command).
    pub fn save(&self, id: &str, durable: bool) -> anyhow::Result<()> {
        make_dir(id)?;
        let text = serde_json::to_vec(self)?;
        write_atomically(&dir(id).join(DOCUMENTS), &text, durable)
            .with_context(|| format!("container {id}: writing its documents"))
    }

    /// [`save`](Self::save) on tokio's blocking pool, for async callers.
    pub async fn persist(&self, id: &str) -> anyhow::Result<()> {
        let (documents, id) = (self.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || documents.save(&id, true)).await?
    }
}

/// Makes container `id`'s directory (mode 0700: its documents hold the
/// environment).
fn make_dir(id: &str) -> anyhow::Result<()> {
    let dir = dir(id);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("container {id}: creating {}", dir.display()))
}

impl Record {
    /// [`documents`](Self::documents) on tokio's blocking pool.
    pub async fn load_documents(&self) -> anyhow::Result<Documents> {
        let record = self.clone();
        tokio::task::spawn_blocking(move || record.documents()).await?
    }

    /// The documents it was created from.
    pub fn documents(&self) -> anyhow::Result<Documents> {
        let path = dir(&self.id).join(DOCUMENTS);
        let bytes = fs::read(&path)
            .with_context(|| format!("container {}: reading its documents", self.id))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("container {}: reading its documents", self.id))
    }

    /// Writes the record atomically and durably (synced), making its
    /// directory (mode 0700: the process configuration holds the
    /// environment).
    pub fn save(&self) -> anyhow::Result<()> {
        self.write(true)
    }

    /// [`save`](Self::save) on tokio's blocking pool, for async callers.
    pub async fn persist(&self) -> anyhow::Result<()> {
        let record = self.clone();
        tokio::task::spawn_blocking(move || record.save()).await?
    }

    /// [`save`](Self::save) without the sync: for the record of a
    /// foreground run, which lives no longer than the command.
    pub fn save_quickly(&self) -> anyhow::Result<()> {
        self.write(false)
    }

    fn write(&self, durable: bool) -> anyhow::Result<()> {
        make_dir(&self.id)?;
        let text = serde_json::to_vec_pretty(self)?;
        write_atomically(&dir(&self.id).join(RECORD), &text, durable)
            .with_context(|| format!("container {}: writing its record", self.id))
    }

    /// Container `id`'s record; `None` if it has none.
    pub fn load(id: &str) -> anyhow::Result<Option<Self>> {
        match fs::read(dir(id).join(RECORD)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("container {id}: reading its record")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("container {id}: reading its record")),
        }
    }

    /// The container's log file (docker's `<id>-json.log`).
    pub fn log_path(&self) -> PathBuf {
        log_path(&self.id)
    }
}

/// Container `id`'s log file.
pub fn log_path(id: &str) -> PathBuf {
    dir(id).join(format!("{id}-json.log"))
}

/// The ids that have a record, sorted.
pub fn list() -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(root()) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut ids = Vec::new();
    for entry in entries {
        if let Some(name) = entry?.file_name().to_str() {
            if !name.starts_with('.') {
                ids.push(name.to_owned());
            }
        }
    }
    ids.sort();
    Ok(ids)
}

/// [`remove`] on tokio's blocking pool, for async callers.
pub async fn remove_async(id: &str) -> anyhow::Result<()> {
    let id = id.to_owned();
    tokio::task::spawn_blocking(move || remove(&id)).await?
}

/// Removes container `id`'s directory (its record and logs); one already
/// gone is not an error.
pub fn remove(id: &str) -> anyhow::Result<()> {
    match fs::remove_dir_all(dir(id)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("container {id}: removing its record"))
        }
        _ => Ok(()),
    }
}

/// Writes `data` to `path` through a temporary file in the same directory,
/// synced if `durable`, and renamed over it.
fn write_atomically(path: &Path, data: &[u8], durable: bool) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(data)?;
        if durable {
            file.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_atomically(&path, b"{\"a\":1}", true).unwrap();
        write_atomically(&path, b"{}", false).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        // No temporary file is left beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
