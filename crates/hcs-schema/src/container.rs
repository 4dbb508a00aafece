//! The configuration of a compute system (`HcsCreateComputeSystem`).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::json::is_zero;

/// A read-only image layer of a container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Layer {
    /// The layer's GUID, as `NameToGuid` derives it from the folder name.
    #[serde(rename = "ID")]
    pub id: String,
    /// The layer folder on the host.
    #[serde(rename = "Path")]
    pub path: String,
}

/// A host directory mapped into the container. Every field is always sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MappedDir {
    /// The directory on the host.
    pub host_path: String,
    /// Where it appears in the container.
    pub container_path: String,
    /// Mapped read-only.
    pub read_only: bool,
    /// Bytes per second the container may read or write there; 0 for no limit.
    pub bandwidth_maximum: u64,
    /// I/O operations per second the container may do there; 0 for no limit.
    #[serde(rename = "IOPSMaximum")]
    pub iops_maximum: u64,
}

/// A host named pipe mapped into the container as `\\.\pipe\<name>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MappedPipe {
    /// The pipe on the host (`\\.\pipe\NAME`).
    pub host_path: String,
    /// Its name in the container (`NAME` of `\\.\pipe\NAME`).
    pub container_pipe_name: String,
}

/// Hyper-V settings: where the utility VM image (or Linux kernel) lives.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HvRuntime {
    /// The utility VM image folder (or, for a Linux utility VM, its kernel
    /// and initrd folder, or its VHD).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_path: String,
    /// Boot the utility VM without its saved template.
    #[serde(skip_serializing_if = "is_zero")]
    pub skip_template: bool,
    /// File under `image_path` holding the initrd of a Linux utility VM.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub linux_initrd_file: String,
    /// File under `image_path` holding the kernel of a Linux utility VM.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub linux_kernel_file: String,
    /// Extra kernel command line for a Linux utility VM in initrd mode.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub linux_boot_parameters: String,
    /// `"Vhd"` for a Linux utility VM booting from a VHD.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub boot_source: String,
    /// The boot VHD of a Linux utility VM may be written to.
    #[serde(skip_serializing_if = "is_zero")]
    pub writable_boot_source: bool,
}

/// A virtual disk attached to the container (or its utility VM) at start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MappedVirtualDisk {
    /// The disk on the host.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host_path: String,
    /// Where it is mounted in the container.
    pub container_path: String,
    /// Attach it to the utility VM rather than the container.
    #[serde(rename = "CreateInUtilityVM", skip_serializing_if = "is_zero")]
    pub create_in_utility_vm: bool,
    /// Attach it read-only.
    #[serde(skip_serializing_if = "is_zero")]
    pub read_only: bool,
    /// `""`, `"Disabled"`, `"Enabled"`, `"Private"` or `"PrivateAllowSharing"`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cache: String,
    /// hcsshim's tag for this field is malformed (`omitempty:`), so Go
    /// always sends it.
    pub attach_only: bool,
}

/// The document passed to `HcsCreateComputeSystem` (schema v1).
///
/// Field order, names and which fields are omitted when empty are those of
/// hcsshim v0.6.3; see `docs/ARCHITECTURE.md` for the rules. Its `Debug`
/// never shows `Credentials`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `"Container"` (the seed's `createWindows`) or `"container"` (LCOW).
    pub system_type: String,
    /// The container id.
    pub name: String,
    /// Which management stack created the system.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub owner: String,
    /// Scratch volume of a Windows Server container, `\\?\Volume{GUID}`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub volume_path: String,
    /// Flushes of the scratch layer may be skipped while the system boots.
    #[serde(skip_serializing_if = "is_zero")]
    pub ignore_flushes_during_boot: bool,
    /// The container's own (writable) layer folder.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub layer_folder_path: String,
    /// Read-only layers, top-most first. Sent as `null` when empty.
    #[serde(serialize_with = "nil_if_empty")]
    pub layers: Vec<Layer>,
    /// The credential spec of a group managed service account, JSON text.
    /// Never shown by `Debug`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials: String,
    /// Processors the system may use; 0 for all.
    #[serde(skip_serializing_if = "is_zero")]
    pub processor_count: u32,
    /// Relative CPU weight, 1 to 10000; 0 means the default.
    #[serde(skip_serializing_if = "is_zero")]
    pub processor_weight: u64,
    /// Share of the host's processor cycles, in hundredths of a percent.
    #[serde(skip_serializing_if = "is_zero")]
    pub processor_maximum: i64,
    /// Storage I/O operations per second; 0 for no limit.
    #[serde(rename = "StorageIOPSMaximum", skip_serializing_if = "is_zero")]
    pub storage_iops_maximum: u64,
    /// Bytes per second.
    #[serde(skip_serializing_if = "is_zero")]
    pub storage_bandwidth_maximum: u64,
    /// Size of the scratch volume in bytes; 0 for the default.
    #[serde(skip_serializing_if = "is_zero")]
    pub storage_sandbox_size: u64,
    /// Memory limit in MiB; 0 for none.
    #[serde(rename = "MemoryMaximumInMB", skip_serializing_if = "is_zero")]
    pub memory_maximum_in_mb: i64,
    /// The system's host name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host_name: String,
    /// Host directories mapped into the system.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapped_directories: Vec<MappedDir>,
    /// Host named pipes mapped into the system.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapped_pipes: Vec<MappedPipe>,
    /// True for a Hyper-V container. Always sent.
    pub hv_partition: bool,
    /// Id of the container whose network stack this one shares.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub network_shared_container_name: String,
    /// GUIDs of the network endpoints to attach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoint_list: Vec<String>,
    /// The utility VM of a Hyper-V container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hv_runtime: Option<HvRuntime>,
    /// A servicing container: it installs updates and exits.
    #[serde(skip_serializing_if = "is_zero")]
    pub servicing: bool,
    /// DNS resolves names without a suffix.
    #[serde(rename = "AllowUnqualifiedDNSQuery", skip_serializing_if = "is_zero")]
    pub allow_unqualified_dns_query: bool,
    /// Comma-separated DNS suffixes.
    #[serde(rename = "DNSSearchList", skip_serializing_if = "String::is_empty")]
    pub dns_search_list: String,
    /// `"linux"` for Linux containers on Windows, otherwise empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub container_type: String,
    /// Terminate the system when its last handle closes.
    #[serde(skip_serializing_if = "is_zero")]
    pub terminate_on_last_handle_closed: bool,
    /// Virtual disks attached at start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapped_virtual_disks: Vec<MappedVirtualDisk>,
}

/// Go writes a nil slice as `null`; an empty layer list is always nil there.
fn nil_if_empty<S: Serializer, T: Serialize>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    if items.is_empty() {
        s.serialize_none()
    } else {
        items.serialize(s)
    }
}

impl fmt::Debug for ContainerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = if self.credentials.is_empty() {
            ""
        } else {
            "<redacted>"
        };
        f.debug_struct("ContainerConfig")
            .field("system_type", &self.system_type)
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("volume_path", &self.volume_path)
            .field(
                "ignore_flushes_during_boot",
                &self.ignore_flushes_during_boot,
            )
            .field("layer_folder_path", &self.layer_folder_path)
            .field("layers", &self.layers)
            .field("credentials", &credentials)
            .field("processor_count", &self.processor_count)
            .field("processor_weight", &self.processor_weight)
            .field("processor_maximum", &self.processor_maximum)
            .field("storage_iops_maximum", &self.storage_iops_maximum)
            .field("storage_bandwidth_maximum", &self.storage_bandwidth_maximum)
            .field("storage_sandbox_size", &self.storage_sandbox_size)
            .field("memory_maximum_in_mb", &self.memory_maximum_in_mb)
            .field("host_name", &self.host_name)
            .field("mapped_directories", &self.mapped_directories)
            .field("mapped_pipes", &self.mapped_pipes)
            .field("hv_partition", &self.hv_partition)
            .field(
                "network_shared_container_name",
                &self.network_shared_container_name,
            )
            .field("endpoint_list", &self.endpoint_list)
            .field("hv_runtime", &self.hv_runtime)
            .field("servicing", &self.servicing)
            .field(
                "allow_unqualified_dns_query",
                &self.allow_unqualified_dns_query,
            )
            .field("dns_search_list", &self.dns_search_list)
            .field("container_type", &self.container_type)
            .field(
                "terminate_on_last_handle_closed",
                &self.terminate_on_last_handle_closed,
            )
            .field("mapped_virtual_disks", &self.mapped_virtual_disks)
            .finish()
    }
}

impl ContainerConfig {
    /// True for a Linux container on Windows (`ContainerType` `"linux"`).
    pub fn is_lcow(&self) -> bool {
        self.container_type.eq_ignore_ascii_case("linux")
    }
}
