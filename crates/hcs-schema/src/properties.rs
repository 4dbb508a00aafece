//! What `HcsGetComputeSystemProperties` and `HcsEnumerateComputeSystems`
//! return, and the queries that ask for it.

use std::collections::BTreeMap;

use serde::{ser::SerializeMap, Deserialize, Deserializer, Serialize, Serializer};

use crate::{json::is_zero, MappedVirtualDisk, Timestamp};

/// Filter for `HcsEnumerateComputeSystems`; empty lists match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ComputeSystemQuery {
    /// Only these system ids.
    #[serde(rename = "Ids", skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// Only these system types.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Only these names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Only systems of these owners.
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
    /// [`Statistics`].
    Statistics,
    /// The processes, as [`ProcessListItem`]s.
    ProcessList,
    /// Whether updates wait to be installed.
    PendingUpdates,
    /// The virtual disks mapped into the utility VM.
    MappedVirtualDisk,
}

/// The document passed to `HcsGetComputeSystemProperties`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PropertyQuery {
    /// The property groups asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub property_types: Vec<PropertyType>,
}

impl PropertyQuery {
    /// A query for `types`.
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
    /// The system's id.
    #[serde(rename = "Id")]
    pub id: String,
    /// The name it was created with.
    pub name: String,
    /// `"Container"` or `"VirtualMachine"`.
    pub system_type: String,
    /// Which management stack created it.
    pub owner: String,
    /// The GUID of its silo (a Windows Server container's kernel object).
    #[serde(rename = "SiloGuid", skip_serializing_if = "String::is_empty")]
    pub silo_guid: String,
    /// Distinguishes this system from an earlier one with the same id.
    #[serde(rename = "RuntimeId", skip_serializing_if = "String::is_empty")]
    pub runtime_id: String,
    /// The system is a template for utility VMs.
    #[serde(skip_serializing_if = "is_zero")]
    pub is_runtime_template: bool,
    /// The image a template was made from.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub runtime_image_path: String,
    /// The system has stopped.
    #[serde(skip_serializing_if = "is_zero")]
    pub stopped: bool,
    /// How it stopped.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub exit_type: String,
    /// Updates wait to be installed ([`PropertyType::PendingUpdates`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub are_updates_pending: bool,
    /// Its object manager root.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ob_root: String,
    /// A Go struct under `omitempty` is still sent.
    pub statistics: Statistics,
    /// Its processes ([`PropertyType::ProcessList`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub process_list: Vec<ProcessListItem>,
    /// The disks of its utility VM, by controller
    /// ([`PropertyType::MappedVirtualDisk`]).
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
    /// The disks, by their slot on the controller.
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
    /// Memory committed, in bytes.
    #[serde(rename = "MemoryUsageCommitBytes", skip_serializing_if = "is_zero")]
    pub usage_commit_bytes: u64,
    /// The most committed at once, in bytes.
    #[serde(rename = "MemoryUsageCommitPeakBytes", skip_serializing_if = "is_zero")]
    pub usage_commit_peak_bytes: u64,
    /// Memory only this system uses, in bytes.
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
    /// All processor time.
    #[serde(rename = "TotalRuntime100ns", skip_serializing_if = "is_zero")]
    pub total_runtime_100ns: u64,
    /// Time in user mode.
    #[serde(rename = "RuntimeUser100ns", skip_serializing_if = "is_zero")]
    pub runtime_user_100ns: u64,
    /// Time in the kernel.
    #[serde(rename = "RuntimeKernel100ns", skip_serializing_if = "is_zero")]
    pub runtime_kernel_100ns: u64,
}

/// Storage I/O done.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct StorageStats {
    /// Reads, in units of the storage's own size.
    #[serde(skip_serializing_if = "is_zero")]
    pub read_count_normalized: u64,
    /// Bytes read.
    #[serde(skip_serializing_if = "is_zero")]
    pub read_size_bytes: u64,
    /// Writes, in units of the storage's own size.
    #[serde(skip_serializing_if = "is_zero")]
    pub write_count_normalized: u64,
    /// Bytes written.
    #[serde(skip_serializing_if = "is_zero")]
    pub write_size_bytes: u64,
}

/// Traffic of one network endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkStats {
    /// Bytes received.
    #[serde(skip_serializing_if = "is_zero")]
    pub bytes_received: u64,
    /// Bytes sent.
    #[serde(skip_serializing_if = "is_zero")]
    pub bytes_sent: u64,
    /// Packets received.
    #[serde(skip_serializing_if = "is_zero")]
    pub packets_received: u64,
    /// Packets sent.
    #[serde(skip_serializing_if = "is_zero")]
    pub packets_sent: u64,
    /// Incoming packets dropped.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_packets_incoming: u64,
    /// Outgoing packets dropped.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_packets_outgoing: u64,
    /// The endpoint (on Linux, the interface name).
    #[serde(rename = "EndpointId", skip_serializing_if = "String::is_empty")]
    pub endpoint_id: String,
    /// The endpoint's instance.
    #[serde(rename = "InstanceId", skip_serializing_if = "String::is_empty")]
    pub instance_id: String,
}

/// The `Statistics` property of a compute system. Go sends the two times and
/// the three structs even under `omitempty`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Statistics {
    /// When the statistics were read.
    pub timestamp: Timestamp,
    /// When the system started.
    pub container_start_time: Timestamp,
    /// How long it has run, in units of 100 ns.
    #[serde(rename = "Uptime100ns", skip_serializing_if = "is_zero")]
    pub uptime_100ns: u64,
    /// Its memory.
    pub memory: MemoryStats,
    /// Its processor time.
    pub processor: ProcessorStats,
    /// Its storage I/O.
    pub storage: StorageStats,
    /// Its network traffic, per endpoint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetworkStats>,
}

/// One process of a compute system, as the `ProcessList` property lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProcessListItem {
    /// When the process started.
    pub create_timestamp: Timestamp,
    /// Its program's name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_name: String,
    /// Processor time in the kernel, in units of 100 ns.
    #[serde(rename = "KernelTime100ns", skip_serializing_if = "is_zero")]
    pub kernel_time_100ns: u64,
    /// Memory committed, in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub memory_commit_bytes: u64,
    /// Memory only it uses, in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub memory_working_set_private_bytes: u64,
    /// Memory it shares, in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub memory_working_set_shared_bytes: u64,
    /// Its id, in the system.
    #[serde(skip_serializing_if = "is_zero")]
    pub process_id: u32,
    /// Processor time in user mode, in units of 100 ns.
    #[serde(rename = "UserTime100ns", skip_serializing_if = "is_zero")]
    pub user_time_100ns: u64,
}
