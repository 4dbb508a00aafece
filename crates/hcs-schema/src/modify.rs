//! Requests to `HcsModifyComputeSystem` and the result document HCS hands
//! back from most calls.

use serde::{Deserialize, Serialize};

use crate::json::is_zero;

/// A change to a running compute system (`HcsModifyComputeSystem`).
/// hcsshim v0.6.3 knows the resource type `"Network"` with request types
/// `"Add"` and `"Remove"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceModificationRequestResponse {
    /// What is modified: [`RESOURCE_NETWORK`].
    #[serde(rename = "ResourceType")]
    pub resource: String,
    /// Free-form settings; `null` when absent.
    #[serde(rename = "Settings")]
    pub data: serde_json::Value,
    /// How: [`REQUEST_ADD`] or [`REQUEST_REMOVE`].
    #[serde(rename = "RequestType", skip_serializing_if = "String::is_empty")]
    pub request: String,
}

/// The network resource: an endpoint added or removed.
pub const RESOURCE_NETWORK: &str = "Network";
/// hcsrun's own resource: a running system's limits changed in place (the
/// seed's UpdateResources, which Windows' HCS v1 cannot do). Its settings
/// are a [`LimitsUpdate`]; the request type is [`REQUEST_UPDATE`].
pub const RESOURCE_LIMITS: &str = "Limits";
/// Change the resource in place.
pub const REQUEST_UPDATE: &str = "Update";

/// The settings of a [`RESOURCE_LIMITS`] update: each limit given is set,
/// the others are left as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LimitsUpdate {
    /// Memory, in bytes; swap beyond it stays what it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// CPU time per period, in microseconds, with the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota_us: Option<u64>,
    /// The CPU period, in microseconds (default 100000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period_us: Option<u64>,
    /// Relative CPU weight as cgroup v1's `cpu.shares` (2 to 262144).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    /// Most processes at once; 0 or less for no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
}
/// Add the resource.
pub const REQUEST_ADD: &str = "Add";
/// Remove the resource.
pub const REQUEST_REMOVE: &str = "Remove";

/// The `result` document of an HCS call that failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HcsResult {
    /// The HRESULT of the failure.
    pub error: i32,
    /// What failed, in words.
    pub error_message: String,
    /// What HCS recorded along the way.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_events: Vec<ErrorEvent>,
}

/// One event HCS recorded while the call failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ErrorEvent {
    /// What happened, in words.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Where, in the service.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stack_trace: String,
    /// The provider (GUID) that logged the event.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider: String,
    /// The provider's event number.
    #[serde(rename = "EventId", skip_serializing_if = "is_zero")]
    pub event_id: u16,
    /// The event's flags.
    #[serde(skip_serializing_if = "is_zero")]
    pub flags: u32,
    /// The component the event came from.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
}
