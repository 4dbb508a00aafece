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
    #[serde(rename = "ResourceType")]
    pub resource: String,
    /// Free-form settings; `null` when absent.
    #[serde(rename = "Settings")]
    pub data: serde_json::Value,
    #[serde(rename = "RequestType", skip_serializing_if = "String::is_empty")]
    pub request: String,
}

pub const RESOURCE_NETWORK: &str = "Network";
pub const REQUEST_ADD: &str = "Add";
pub const REQUEST_REMOVE: &str = "Remove";

/// The `result` document of an HCS call that failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HcsResult {
    /// The HRESULT of the failure.
    pub error: i32,
    pub error_message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_events: Vec<ErrorEvent>,
}

/// One event HCS recorded while the call failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ErrorEvent {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stack_trace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider: String,
    #[serde(rename = "EventId", skip_serializing_if = "is_zero")]
    pub event_id: u16,
    #[serde(skip_serializing_if = "is_zero")]
    pub flags: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
}
