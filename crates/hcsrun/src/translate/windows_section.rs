//! The `windows` section of an OCI runtime spec, owned here rather than taken
//! from `oci-spec`.
//!
//! oci-spec 0.10 gets this section wrong in ways that matter to a Windows
//! runtime (see `docs/ARCHITECTURE.md`): it reads `hyperv.utilityVmPath` where
//! the spec and moby write `utilityVMPath`, so the path is dropped; its
//! resource types have no getters; it types `credentialSpec` as a map, so the
//! JSON string moby sends fails to parse; and it drops unknown fields
//! without a word.
//!
//! This section is read the way Go's `encoding/json` (and so moby and
//! hcsshim) reads it: keys match without regard to case, `null` leaves the
//! zero value, unknown keys are ignored. Unknown keys are also reported by
//! [`unknown_fields`], so that a misspelt field is seen rather than lost.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `windows`: platform-specific configuration for Windows containers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsSection {
    /// Layer folders: the read-only layers, top-most first, then the
    /// container's own (scratch) layer folder last.
    pub layer_folders: Vec<String>,
    /// Devices assigned to the container.
    pub devices: Vec<WindowsDevice>,
    /// `windows.resources`: limits.
    pub resources: Option<WindowsResources>,
    /// A credential spec: moby sends a JSON string, the spec allows any
    /// value.
    pub credential_spec: Option<CredentialSpec>,
    /// The container is created to service (update) an image.
    pub servicing: bool,
    /// Flushes may be skipped while the container boots.
    pub ignore_flushes_during_boot: bool,
    /// Present for a Hyper-V isolated container.
    pub hyperv: Option<WindowsHyperV>,
    /// `windows.network`.
    pub network: Option<WindowsNetwork>,
}

/// A device assigned to the container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsDevice {
    /// The device's id.
    pub id: String,
    /// What kind of id it is (`"class"`).
    pub id_type: String,
}

/// `windows.resources`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsResources {
    /// `windows.resources.memory`.
    pub memory: Option<WindowsMemoryResources>,
    /// `windows.resources.cpu`.
    pub cpu: Option<WindowsCpuResources>,
    /// `windows.resources.storage`.
    pub storage: Option<WindowsStorageResources>,
}

/// `windows.resources.memory`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsMemoryResources {
    /// Bytes.
    pub limit: Option<u64>,
}

/// `windows.resources.cpu`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsCpuResources {
    /// Processors the container may use.
    pub count: Option<u64>,
    /// Relative CPU weight.
    pub shares: Option<u16>,
    /// Hundredths of a percent of the host's processor cycles.
    pub maximum: Option<u16>,
}

/// `windows.resources.storage`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsStorageResources {
    /// I/O operations per second.
    pub iops: Option<u64>,
    /// Bytes per second.
    pub bps: Option<u64>,
    /// Size of the scratch volume, in bytes.
    pub sandbox_size: Option<u64>,
}

/// `windows.hyperv`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowsHyperV {
    /// The utility VM image folder; absent or empty to look for one in the
    /// layers.
    #[serde(rename = "utilityVMPath")]
    pub utility_vm_path: Option<String>,
}

/// `windows.network`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsNetwork {
    /// GUIDs of the network endpoints to attach.
    pub endpoint_list: Vec<String>,
    /// DNS resolves names without a suffix.
    #[serde(rename = "allowUnqualifiedDNSQuery")]
    pub allow_unqualified_dns_query: bool,
    /// DNS suffixes to try.
    #[serde(rename = "DNSSearchList")]
    pub dns_search_list: Vec<String>,
    /// The container whose network stack this one shares.
    pub network_shared_container_name: String,
    /// A network namespace to join (not used on Windows).
    pub network_namespace: String,
}

/// `windows.credentialSpec`, whatever its shape. Never shown by `Debug`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CredentialSpec(Value);

impl CredentialSpec {
    /// A credential spec of any shape.
    pub fn new(value: Value) -> Self {
        Self(value)
    }

    /// The credential spec when it is a JSON string, as moby sends it.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_str()
    }

    /// The credential spec as given.
    pub fn value(&self) -> &Value {
        &self.0
    }
}

impl fmt::Debug for CredentialSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialSpec([redacted])")
    }
}

impl WindowsSection {
    /// Reads the section from its JSON value, as Go would.
    pub fn from_value(value: Value) -> serde_json::Result<Self> {
        hcs_schema::from_value(value)
    }
}

/// The keys each object of the section knows, by its path below `windows`.
/// `credentialSpec` is data, not schema: its keys are never checked.
const KNOWN_FIELDS: &[(&str, &[&str])] = &[
    (
        "windows",
        &[
            "layerFolders",
            "devices",
            "resources",
            "credentialSpec",
            "servicing",
            "ignoreFlushesDuringBoot",
            "hyperv",
            "network",
        ],
    ),
    ("windows.devices", &["id", "idType"]),
    ("windows.resources", &["memory", "cpu", "storage"]),
    ("windows.resources.memory", &["limit"]),
    ("windows.resources.cpu", &["count", "shares", "maximum"]),
    ("windows.resources.storage", &["iops", "bps", "sandboxSize"]),
    ("windows.hyperv", &["utilityVMPath"]),
    (
        "windows.network",
        &[
            "endpointList",
            "allowUnqualifiedDNSQuery",
            "DNSSearchList",
            "networkSharedContainerName",
            "networkNamespace",
        ],
    ),
];

/// The keys of the `windows` section `value` that no field reads, as paths
/// such as `windows.hyperv.utilityVmPaht`. Keys match fields without regard
/// to case, as they do when the section is read.
pub fn unknown_fields(value: &Value) -> Vec<String> {
    let mut unknown = Vec::new();
    walk(value, "windows", "windows", &mut unknown);
    unknown
}

/// `schema` is the table path of `value`; `shown` is its path with list
/// indices, as reported.
fn walk(value: &Value, schema: &str, shown: &str, unknown: &mut Vec<String>) {
    let Some((_, known)) = KNOWN_FIELDS.iter().find(|(path, _)| *path == schema) else {
        return;
    };
    match value {
        Value::Object(map) => walk_object(map, schema, known, shown, unknown),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Value::Object(map) = item {
                    walk_object(map, schema, known, &format!("{shown}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

fn walk_object(
    map: &Map<String, Value>,
    schema: &str,
    known: &[&str],
    shown: &str,
    unknown: &mut Vec<String>,
) {
    for (key, child) in map {
        match known.iter().find(|k| k.eq_ignore_ascii_case(key)) {
            Some(field) => walk(
                child,
                &format!("{schema}.{field}"),
                &format!("{shown}.{key}"),
                unknown,
            ),
            None => unknown.push(format!("{shown}.{key}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn full_section() -> WindowsSection {
        WindowsSection {
            layer_folders: vec!["l".into()],
            devices: vec![WindowsDevice::default()],
            resources: Some(WindowsResources {
                memory: Some(WindowsMemoryResources { limit: Some(1) }),
                cpu: Some(WindowsCpuResources {
                    count: Some(1),
                    shares: Some(1),
                    maximum: Some(1),
                }),
                storage: Some(WindowsStorageResources {
                    iops: Some(1),
                    bps: Some(1),
                    sandbox_size: Some(1),
                }),
            }),
            credential_spec: Some(CredentialSpec::new(json!({"any": {"thing": 1}}))),
            servicing: true,
            ignore_flushes_during_boot: true,
            hyperv: Some(WindowsHyperV {
                utility_vm_path: Some("u".into()),
            }),
            network: Some(WindowsNetwork::default()),
        }
    }

    #[test]
    fn the_known_field_table_matches_the_types() {
        // Every field the types write is in the table, and every key in the
        // table is a field: count both ways.
        let value = serde_json::to_value(full_section()).unwrap();
        assert_eq!(unknown_fields(&value), Vec::<String>::new());
        fn count(v: &Value, schema: &str) -> usize {
            let Some((_, known)) = KNOWN_FIELDS.iter().find(|(p, _)| *p == schema) else {
                return 0;
            };
            let obj = match v {
                Value::Array(items) => items[0].as_object().unwrap(),
                v => v.as_object().unwrap(),
            };
            assert_eq!(obj.len(), known.len(), "{schema}");
            obj.iter()
                .map(|(k, c)| 1 + count(c, &format!("{schema}.{k}")))
                .sum()
        }
        let table_keys: usize = KNOWN_FIELDS.iter().map(|(_, k)| k.len()).sum();
        assert_eq!(count(&value, "windows"), table_keys);
        assert_eq!(WindowsSection::from_value(value).unwrap(), full_section());
    }

    #[test]
    fn reads_keys_regardless_of_case_and_nulls_as_zero() {
        let s = WindowsSection::from_value(json!({
            "LayerFolders": ["a", "b"],
            "HyperV": {"utilityVmPath": "C:\\uvm"},
            "resources": {"CPU": {"Count": 2, "shares": null}},
            "network": {"dnsSearchList": ["x"], "endpointList": null},
            "servicing": null
        }))
        .unwrap();
        assert_eq!(s.layer_folders, ["a", "b"]);
        assert_eq!(
            s.hyperv.unwrap().utility_vm_path.as_deref(),
            Some(r"C:\uvm")
        );
        let cpu = s.resources.unwrap().cpu.unwrap();
        assert_eq!((cpu.count, cpu.shares), (Some(2), None));
        let net = s.network.unwrap();
        assert_eq!(net.dns_search_list, ["x"]);
        assert!(net.endpoint_list.is_empty());
        assert!(!s.servicing);
    }

    #[test]
    fn reports_unknown_keys_by_path() {
        let value = json!({
            "layerFolders": [],
            "HYPERV": {"utilityVmPath": "ok", "bogus": 1},
            "devices": [{"id": "x", "extra": true}],
            "credentialSpec": {"not": {"checked": 1}},
            "resources": {"cpu": {"percent": 50}},
            "platform": "windows"
        });
        let mut unknown = unknown_fields(&value);
        unknown.sort();
        assert_eq!(
            unknown,
            [
                "windows.HYPERV.bogus",
                "windows.devices[0].extra",
                "windows.platform",
                "windows.resources.cpu.percent",
            ]
        );
    }

    #[test]
    fn type_errors_are_errors() {
        assert!(
            WindowsSection::from_value(json!({"resources": {"cpu": {"shares": 70000}}})).is_err()
        );
        assert!(WindowsSection::from_value(json!({"layerFolders": "C:\\x"})).is_err());
    }

    #[test]
    fn debug_never_shows_the_credential_spec() {
        let s = WindowsSection {
            credential_spec: Some(CredentialSpec::new(json!("hunter2"))),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
