//! A system's directory, `<runtime dir>/<id>/`, as both sides read it: the
//! service writes the record (`state.json`) when the system is created, the
//! holder listens on `shim.sock` while the system runs and writes the exit
//! record (`exit.json`) when it stops. The directory stays until a handle
//! to the stopped system is closed.

use std::io;

use hcs_schema::{ContainerConfig, ContainerProperties, Timestamp};
use serde::{Deserialize, Serialize};

/// The record's file name in the system's directory.
pub const RECORD_FILE: &str = "state.json";
/// The holder's socket's file name in the system's directory.
pub const SOCKET_FILE: &str = "shim.sock";
/// The exit record's file name in the system's directory.
pub const EXIT_FILE: &str = "exit.json";
/// Where the holder says its system's cgroups are when a Linux spec's
/// `linux.cgroupsPath` moved them: that path, relative to each hierarchy's
/// root (`default/abc`), one line.
pub const CGROUPS_FILE: &str = "cgroups.path";

/// The exit code of a system whose end nobody recorded (its holder died):
/// the seed's restore code.
pub const LOST_EXIT_CODE: u32 = 1 << 31;

/// How a system ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitHow {
    /// Its pid 1 exited by itself.
    Exited,
    /// A shutdown (SIGTERM to pid 1) was asked for.
    Shutdown,
    /// A terminate (SIGKILL to pid 1) was asked for, or the holder was told
    /// to stop.
    Terminate,
    /// Its holder died without recording the end.
    Lost,
}

/// What the holder records when its system stops: `exit.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// The system's pid 1's exit code (128 + the signal that killed it);
    /// [`LOST_EXIT_CODE`] when nobody saw it.
    pub exit_code: u32,
    /// When it stopped (RFC 3339).
    pub finished: Timestamp,
    /// The memory cgroup's OOM killer killed one of its processes.
    pub oom_killed: bool,
    /// How it ended.
    pub how: ExitHow,
}

impl ExitRecord {
    /// The record of a system whose holder died without writing one.
    pub fn lost() -> Self {
        Self {
            exit_code: LOST_EXIT_CODE,
            finished: Timestamp::zero(),
            oom_killed: false,
            how: ExitHow::Lost,
        }
    }
}

/// A system as recorded at creation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SystemRecord {
    /// The system's id (its directory's name).
    pub id: String,
    /// Distinguishes this system from a later one with the same id.
    pub runtime_id: String,
    /// When the system was created.
    pub created: Timestamp,
    /// The cgroup parent the system's cgroups live under.
    pub cgroup_parent: String,
    /// The configuration, in HCS's own encoding.
    pub config: String,
}

impl SystemRecord {
    /// The recorded configuration, decoded.
    pub fn config(&self) -> io::Result<ContainerConfig> {
        hcs_schema::from_str(&self.config).map_err(io::Error::other)
    }

    /// The properties `enumerate` reports; `exit` is the stopped system's
    /// record (`exit_type` says how it ended).
    pub fn properties(
        &self,
        config: &ContainerConfig,
        stopped: bool,
        exit: Option<&ExitRecord>,
    ) -> ContainerProperties {
        ContainerProperties {
            id: self.id.clone(),
            name: config.name.clone(),
            system_type: config.system_type.clone(),
            owner: config.owner.clone(),
            runtime_id: self.runtime_id.clone(),
            stopped,
            exit_type: exit
                .map(|e| format!("{:?}", e.how).to_lowercase())
                .unwrap_or_default(),
            ..Default::default()
        }
    }
}
