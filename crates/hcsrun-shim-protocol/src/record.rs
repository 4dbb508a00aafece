//! A system's directory, `<runtime dir>/<id>/`, as both sides read it: the
//! service writes the record (`state.json`) when the system is created and
//! the holder listens on `shim.sock`; the holder removes the directory when
//! the system stops, if the record is still its system's.

use std::io;

use hcs_schema::{ContainerConfig, ContainerProperties, Timestamp};
use serde::{Deserialize, Serialize};

/// The record's file name in the system's directory.
pub const RECORD_FILE: &str = "state.json";
/// The holder's socket's file name in the system's directory.
pub const SOCKET_FILE: &str = "shim.sock";

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

    /// The properties `enumerate` reports.
    pub fn properties(&self, config: &ContainerConfig, stopped: bool) -> ContainerProperties {
        ContainerProperties {
            id: self.id.clone(),
            name: config.name.clone(),
            system_type: config.system_type.clone(),
            owner: config.owner.clone(),
            runtime_id: self.runtime_id.clone(),
            stopped,
            ..Default::default()
        }
    }
}
