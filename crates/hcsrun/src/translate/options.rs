//! Create options: what the embedder knows about a container that the spec
//! does not say (the seed's `CreateOption` types), as one JSON document.
//!
//! ```json
//! {"servicing": false, "ignore_flushes_during_boot": true,
//!  "hyperv": {"is_hyperv": true},
//!  "layers": {"layer_folder_path": "C:\\sandbox", "layer_paths": ["C:\\base"]},
//!  "network": {"endpoints": ["..."], "allow_unqualified_dns_query": true,
//!              "dns_search_list": ["a.com"], "network_shared_container_id": "c0"},
//!  "credentials": "...",
//!  "lcow": {"actual_mode": "vhdx", "vhdx": "C:\\uvm.vhdx"}}
//! ```
//!
//! Every key is optional; a present option overrides what the spec says.
//! Unknown keys are refused: this is hcsrun's own format, and a misspelt
//! option must not silently change a container's isolation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Everything the embedder adds to the spec when creating a container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreateOptions {
    /// The container is created to service (update) an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servicing: Option<bool>,
    /// Optimisation hint: skip flushes while the container boots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_flushes_during_boot: Option<bool>,
    /// Hyper-V isolation, if set; else the spec's `windows.hyperv` decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hyperv: Option<HypervOption>,
    /// The container's layers, if set; else the spec's `windows.layerFolders`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<LayerOption>,
    /// Network endpoints and DNS, if set; else the spec's `windows.network`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkOption>,
    /// Credentials for the container, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    /// Present for a Linux container on Windows (LCOW).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lcow: Option<LcowOption>,
}

impl CreateOptions {
    /// Reads options from their JSON form.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

/// Hyper-V isolation on or off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HypervOption {
    /// The container runs in a utility VM.
    pub is_hyperv: bool,
}

/// The container's storage: its own writable layer folder and the read-only
/// layers below it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerOption {
    /// The container's own (writable) layer folder.
    pub layer_folder_path: String,
    /// Read-only layer folders, top-most first.
    pub layer_paths: Vec<String>,
}

/// Network endpoints and DNS settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkOption {
    /// GUIDs of the network endpoints to attach.
    pub endpoints: Vec<String>,
    /// DNS resolves names without a suffix.
    pub allow_unqualified_dns_query: bool,
    /// DNS suffixes to try.
    pub dns_search_list: Vec<String>,
    /// Share the network stack of this container.
    pub network_shared_container_id: String,
}

/// How a Linux utility VM boots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LcowMode {
    /// From a VHDX image.
    Vhdx,
    /// From a kernel and an initrd. The seed treats every mode other than
    /// VHDX this way, so it is also the default.
    #[default]
    KernelInitrd,
}

/// The Linux utility VM of a Linux container on Windows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LcowOption {
    /// How the utility VM boots.
    pub actual_mode: LcowMode,
    /// The utility VM image, in VHDX mode.
    pub vhdx: String,
    /// The folder holding the kernel and initrd, in kernel/initrd mode.
    pub kird_path: String,
    /// The kernel's file name, in kernel/initrd mode.
    pub kernel_file: String,
    /// The initrd's file name, in kernel/initrd mode.
    pub initrd_file: String,
    /// Extra kernel command line, in kernel/initrd mode.
    pub boot_parameters: String,
}

/// Credentials handed to the compute service (a group managed service
/// account's credential spec). Never shown by `Debug`, so that logging an
/// options value cannot leak them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Credentials(String);

impl Credentials {
    /// Credentials from their text.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The credentials themselves, for the one place that must send them.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_optional() {
        assert_eq!(
            CreateOptions::from_json("{}").unwrap(),
            CreateOptions::default()
        );
        let o = CreateOptions::from_json(r#"{"layers":{},"hyperv":{},"lcow":{}}"#).unwrap();
        assert_eq!(o.layers, Some(LayerOption::default()));
        assert_eq!(o.hyperv, Some(HypervOption { is_hyperv: false }));
        assert_eq!(o.lcow.unwrap().actual_mode, LcowMode::KernelInitrd);
    }

    #[test]
    fn reads_the_design_shape() {
        let o = CreateOptions::from_json(
            r#"{"servicing": true, "ignore_flushes_during_boot": true,
                "hyperv": {"is_hyperv": true},
                "layers": {"layer_folder_path": "C:\\s", "layer_paths": ["C:\\a", "C:\\b"]},
                "network": {"endpoints": ["e1"], "allow_unqualified_dns_query": true,
                            "dns_search_list": ["a.com", "b.com"],
                            "network_shared_container_id": "c0"},
                "credentials": "secret",
                "lcow": {"actual_mode": "vhdx", "vhdx": "v", "kird_path": "k",
                         "kernel_file": "bzImage", "initrd_file": "initrd.img",
                         "boot_parameters": "quiet"}}"#,
        )
        .unwrap();
        assert_eq!(o.servicing, Some(true));
        assert_eq!(o.ignore_flushes_during_boot, Some(true));
        assert!(o.hyperv.unwrap().is_hyperv);
        let layers = o.layers.unwrap();
        assert_eq!(layers.layer_folder_path, r"C:\s");
        assert_eq!(layers.layer_paths, [r"C:\a", r"C:\b"]);
        let net = o.network.unwrap();
        assert_eq!(net.endpoints, ["e1"]);
        assert!(net.allow_unqualified_dns_query);
        assert_eq!(net.dns_search_list, ["a.com", "b.com"]);
        assert_eq!(net.network_shared_container_id, "c0");
        assert_eq!(o.credentials.unwrap().expose(), "secret");
        let lcow = o.lcow.unwrap();
        assert_eq!(lcow.actual_mode, LcowMode::Vhdx);
        assert_eq!((lcow.vhdx.as_str(), lcow.kird_path.as_str()), ("v", "k"));
        assert_eq!(
            (
                lcow.kernel_file.as_str(),
                lcow.initrd_file.as_str(),
                lcow.boot_parameters.as_str()
            ),
            ("bzImage", "initrd.img", "quiet")
        );
    }

    #[test]
    fn unknown_keys_and_modes_are_refused() {
        let err = CreateOptions::from_json(r#"{"hyper_v":{"is_hyperv":true}}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `hyper_v`"), "{err}");
        assert!(CreateOptions::from_json(r#"{"layers":{"layer_path":[]}}"#).is_err());
        assert!(CreateOptions::from_json(r#"{"lcow":{"actual_mode":"iso"}}"#).is_err());
    }

    #[test]
    fn debug_never_shows_credentials() {
        let o = CreateOptions {
            credentials: Some(Credentials::new("hunter2")),
            ..Default::default()
        };
        let shown = format!("{o:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
