//! The JSON documents of the Host Compute Service, schema v1.
//!
//! Every type encodes with [`to_string`] exactly as hcsshim v0.6.3 sends it
//! (field order, omitted and always-present fields, Go's string escapes) and
//! decodes with [`from_str`] the way HCS reads it (keys in any case, unknown
//! fields ignored). No I/O happens here.

#![warn(missing_docs)]

mod container;
mod json;
mod modify;
mod process;
mod properties;
mod time;

pub use container::{ContainerConfig, HvRuntime, Layer, MappedDir, MappedPipe, MappedVirtualDisk};
pub use json::{from_str, from_value, to_string, to_writer};
pub use modify::{
    ErrorEvent, HcsResult, LimitsUpdate, ResourceModificationRequestResponse, REQUEST_ADD,
    REQUEST_REMOVE, REQUEST_UPDATE, RESOURCE_LIMITS, RESOURCE_NETWORK,
};
pub use process::{
    CloseHandle, ConsoleSize, ProcessConfig, ProcessModifyRequest, ProcessStatus,
    MODIFY_CLOSE_HANDLE, MODIFY_CONSOLE_SIZE, STD_ALL, STD_ERR, STD_IN, STD_OUT,
};
pub use properties::{
    ComputeSystemQuery, ContainerProperties, MappedVirtualDiskController, MemoryStats,
    NetworkStats, ProcessListItem, ProcessorStats, PropertyQuery, PropertyType, Statistics,
    StorageStats,
};
pub use serde_json::value::RawValue;
pub use time::Timestamp;
