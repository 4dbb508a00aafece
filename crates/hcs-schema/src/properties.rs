//! What `HcsGetComputeSystemProperties` and `HcsEnumerateComputeSystems`
//! return, and the queries that ask for it.

use std::collections::BTreeMap;

use serde::{ser::SerializeMap, Deserialize, Deserializer, Serialize, Serializer};

use crate::{json::is_zero, MappedVirtualDisk, Timestamp};

/// Filter for `HcsEnumerateComputeSystems`; empty lists match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ComputeSystemQuery {
    #[serde(rename = "Ids", skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
}

impl ComputeSystemQuery {
    /// A query for the systems one owner created.
    pub fn owned_by(owner: impl Into<String>) -> Self {
        Self {
            owners: vec![owner.into()],
            ..Self::default()
        }
    }

    /// True if `system` passes every non-empty filter of the query.
    pub fn matches(&self, system: &ContainerProperties) -> bool {
        let pass =
            |filter: &[String], value: &str| filter.is_empty() || filter.iter().any(|f| f == value);
        pass(&self.ids, &system.id)
            && pass(&self.types, &system.system_type)
            && pass(&self.names, &system.name)
            && pass(&self.owners, &system.owner)
    }
}

/// The property groups a query can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PropertyType {
    Statistics,
    ProcessList,
    PendingUpdates,
    MappedVirtualDisk,
}

/// The document passed to `HcsGetComputeSystemProperties`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PropertyQuery {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub property_types: Vec<PropertyType>,
}

impl PropertyQuery {
    pub fn of(types: &[PropertyType]) -> Self {
        Self {
            property_types: types.to_vec(),
        }
    }

    /// True if the query asks for `kind`.
    pub fn wants(&self, kind: PropertyType) -> bool {
        self.property_types.contains(&kind)
    }
}

/// A compute system's properties.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerProperties {
    #[serde(rename = "Id")]
    pub id: String,
    pub name: String,
    pub system_type: String,
    pub owner: String,
    #[serde(rename = "SiloGuid", skip_serializing_if = "String::is_empty")]
    pub silo_guid: String,
    #[serde(rename = "RuntimeId", skip_serializing_if = "String::is_empty")]
    pub runtime_id: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub is_runtime_template: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub runtime_image_path: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub stopped: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub exit_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub are_updates_pending: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ob_root: String,
    /// A Go struct under `omitempty` is still sent.
    pub statistics: Statistics,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub process_list: Vec<ProcessListItem>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "int_keys_as_go",
        deserialize_with = "int_keys"
    )]
    pub mapped_virtual_disk_controllers: BTreeMap<i32, MappedVirtualDiskController>,
}

/// The disks attached to one controller of a utility VM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MappedVirtualDiskController {
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "int_keys_as_go",
        deserialize_with = "int_keys"
    )]
    pub mapped_virtual_disks: BTreeMap<i32, MappedVirtualDisk>,
}

/// Go writes integer map keys as strings and sorts them as strings.
fn int_keys_as_go<S: Serializer, V: Serialize>(
    map: &BTreeMap<i32, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(String, &V)> = map.iter().map(|(k, v)| (k.to_string(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = s.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        out.serialize_entry(&k, v)?;
    }
    out.end()
}

fn int_keys<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<i32, V>, D::Error> {
    BTreeMap::<String, V>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| {
            k.parse()
                .map(|k| (k, v))
                .map_err(|_| serde::de::Error::custom(format!("map key {k:?} is not an integer")))
        })
        .collect()
}

/// Memory use of a compute system.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(rename = "MemoryUsageCommitBytes", skip_serializing_if = "is_zero")]
    pub usage_commit_bytes: u64,
    #[serde(rename = "MemoryUsageCommitPeakBytes", skip_serializing_if = "is_zero")]
    pub usage_commit_peak_bytes: u64,
    #[serde(
        rename = "MemoryUsagePrivateWorkingSetBytes",
        skip_serializing_if = "is_zero"
    )]
    pub usage_private_working_set_bytes: u64,
}

/// Processor time used, in units of 100 ns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProcessorStats {
    #[serde(rename = "TotalRuntime100ns", skip_serializing_if = "is_zero")]
    pub total_runtime_100ns: u64,
    #[serde(rename = "RuntimeUser100ns", skip_serializing_if = "is_zero")]
    pub runtime_user_100ns: u64,
    #[serde(rename = "RuntimeKernel100ns", skip_serializing_if = "is_zero")]
    pub runtime_kernel_100ns: u64,
}

/// Storage I/O done.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct StorageStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub read_count_normalized: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub read_size_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub write_count_normalized: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub write_size_bytes: u64,
}

/// Traffic of one network endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub bytes_received: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub bytes_sent: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub packets_received: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub packets_sent: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_packets_incoming: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_packets_outgoing: u64,
    #[serde(rename = "EndpointId", skip_serializing_if = "String::is_empty")]
    pub endpoint_id: String,
    #[serde(rename = "InstanceId", skip_serializing_if = "String::is_empty")]
    pub instance_id: String,
}

/// The `Statistics` property of a compute system. Go sends the two times and
/// the three structs even under `omitempty`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Statistics {
    pub timestamp: Timestamp,
    pub container_start_time: Timestamp,
    #[serde(rename = "Uptime100ns", skip_serializing_if = "is_zero")]
    pub uptime_100ns: u64,
    pub memory: MemoryStats,
    pub processor: ProcessorStats,
    pub storage: StorageStats,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetworkStats>,
}

/// One process of a compute system, as the `ProcessList` property lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProcessListItem {
    pub create_timestamp: Timestamp,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_name: String,
    #[serde(rename = "KernelTime100ns", skip_serializing_if = "is_zero")]
    pub kernel_time_100ns: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub memory_commit_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub memory_working_set_private_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub memory_working_set_shared_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub process_id: u32,
    #[serde(rename = "UserTime100ns", skip_serializing_if = "is_zero")]
    pub user_time_100ns: u64,
}
