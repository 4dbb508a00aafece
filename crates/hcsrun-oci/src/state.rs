//! A container's state directory, `<root>/<id>/`: `state.json` (what
//! runc records: pid and its start time, bundle, created, owner; and what
//! later commands need: the cgroups, the normalized spec, the init
//! process's document) and `exec.fifo` until `start`. The status is never
//! recorded: it is read from the pid (alive, a zombie, gone), the FIFO
//! (created) and the freezer (paused).

use std::{
    collections::BTreeMap,
    fs,
    io::ErrorKind,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

/// runc's default root for root.
pub const DEFAULT_ROOT: &str = "/run/hcsrun-oci";

/// What `state.json` records.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// The container's id.
    pub id: String,
    /// Pid 1's host pid.
    pub pid: u32,
    /// Its start time (`/proc/PID/stat` field 22): a reused pid is not it.
    pub pid_start: u64,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// `root.path`, absolute.
    pub rootfs: PathBuf,
    /// When `create` made it (RFC 3339).
    pub created: String,
    /// The user who made it.
    pub owner: String,
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
    /// The cgroup's parent and name under each hierarchy.
    pub cgroup_parent: String,
    /// See `cgroup_parent`.
    pub cgroup_name: String,
    /// The normalized spec (`LinuxSpec::to_json`).
    pub spec: String,
    /// The init process's `ProcessConfig` document.
    pub init_process: String,
}

/// A container's status, as the runtime spec names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Made, not started: pid 1 waits on the exec FIFO.
    Created,
    /// Started and alive.
    Running,
    /// Frozen.
    Paused,
    /// Pid 1 has exited.
    Stopped,
}

impl Status {
    /// The runtime spec's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A container's directory under the root.
pub struct Dir {
    /// `<root>/<id>`.
    pub path: PathBuf,
}

impl Dir {
    /// The directory of `id` under `root` (the id checked first).
    pub fn new(root: &Path, id: &str) -> Result<Self> {
        check_id(id)?;
        Ok(Self {
            path: root.join(id),
        })
    }

    /// `state.json`'s path.
    pub fn state_file(&self) -> PathBuf {
        self.path.join("state.json")
    }

    /// The exec FIFO's path.
    pub fn fifo(&self) -> PathBuf {
        self.path.join("exec.fifo")
    }

    /// Reads the record: an error naming the container if there is none.
    pub fn load(&self, id: &str) -> Result<Record> {
        let text = match fs::read_to_string(self.state_file()) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                bail!("container does not exist: {id}")
            }
            Err(e) => return Err(e).with_context(|| format!("reading the state of {id}")),
        };
        serde_json::from_str(&text).with_context(|| format!("the state of container {id}"))
    }

    /// Writes the record atomically.
    pub fn save(&self, record: &Record) -> Result<()> {
        let tmp = self.path.join("state.json.tmp");
        fs::write(&tmp, serde_json::to_vec(record)?)
            .and_then(|()| fs::rename(&tmp, self.state_file()))
            .with_context(|| format!("recording the state of {}", record.id))
    }
}

/// runc's id rule: `^[\w+-\.]+$`, and not `.` or `..`.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if !ok {
        bail!("invalid container id format: {id:?}");
    }
    Ok(())
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`) and
/// whether it is a zombie; `None` if it is gone.
pub fn proc_stat(pid: u32) -> Option<(u64, bool)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, which may hold spaces and parentheses.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let zombie = fields.first() == Some(&"Z") || fields.first() == Some(&"X");
    Some((fields.get(19)?.parse().ok()?, zombie))
}

impl Record {
    /// Whether pid 1 is still this container's and alive.
    pub fn alive(&self) -> bool {
        proc_stat(self.pid).is_some_and(|(start, zombie)| start == self.pid_start && !zombie)
    }
}
