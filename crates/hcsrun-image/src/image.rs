//! Image documents: the image config (what `run` applies: Entrypoint, Cmd,
//! Env, WorkingDir, User), manifests, indexes and platforms.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{digest::Digest, error::ErrorKind};

/// The image config blob (OCI `application/vnd.oci.image.config.v1+json`,
/// docker's `container.image.v1+json`); fields this store does not use are
/// left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// CPU architecture (`amd64`, `arm64`).
    #[serde(default)]
    pub architecture: String,
    /// Operating system (`linux`, `windows`).
    #[serde(default)]
    pub os: String,
    /// CPU variant (`v8`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// When the image was made (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// How a container of the image runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RunConfig>,
    /// The layers' diff ids, bottom first.
    pub rootfs: RootFs,
}

/// The part of the image config that `run` applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    /// The entry point; `--entrypoint` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// The default command (arguments to the entry point, if one is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `NAME=value` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The working directory; empty means `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `user[:group]` by name or number; empty means root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The signal that stops a container, if not SIGTERM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// The config's `rootfs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The digests of the layers' uncompressed tars, bottom first.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

impl ImageConfig {
    /// Parses a config blob and checks what the store relies on.
    pub fn parse(bytes: &[u8]) -> Result<Self, ErrorKind> {
        let config: ImageConfig = serde_json::from_slice(bytes)
            .map_err(|e| ErrorKind::Invalid(format!("the image config is malformed: {e}")))?;
        if !config.rootfs.kind.is_empty() && config.rootfs.kind != "layers" {
            return Err(ErrorKind::Unsupported(format!(
                "rootfs type {:?}",
                config.rootfs.kind
            )));
        }
        Ok(config)
    }

    /// The platform the config names.
    pub fn platform(&self) -> Platform {
        Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
        }
    }
}

/// An operating system and CPU: `linux/amd64`, `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// Operating system.
    pub os: String,
    /// CPU architecture, in Go's names.
    pub architecture: String,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Self, ErrorKind> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts[..] {
            [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_owned(),
                architecture: arch.to_owned(),
                variant: parts
                    .get(2)
                    .filter(|v| !v.is_empty())
                    .map(|v| v.to_string()),
            }),
            _ => Err(ErrorKind::Invalid(format!(
                "platform {s:?} is not os/arch[/variant]"
            ))),
        }
    }

    /// This host's: `linux` and the CPU in Go's names.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// Whether an index entry for `other` serves this platform: same OS and
    /// architecture, and the same variant when this one names a variant.
    pub fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.variant == other.variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The content's media type.
    #[serde(default)]
    pub media_type: String,
    /// The content's digest.
    pub digest: Digest,
    /// The content's size in bytes.
    #[serde(default)]
    pub size: u64,
    /// For index entries: the platform served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations (OCI layouts name images with them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Foreign-layer URLs; such layers are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

/// A manifest document: one image, or an index of them.
#[derive(Debug, Clone)]
pub enum ManifestDoc {
    /// An image manifest: config and layers.
    Image {
        /// The config blob.
        config: Descriptor,
        /// The layer blobs, bottom first.
        layers: Vec<Descriptor>,
    },
    /// An OCI index or docker manifest list.
    Index(Vec<Descriptor>),
}

/// Media types of the manifests this store reads.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    schema_version: u32,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

impl ManifestDoc {
    /// Parses a manifest or index.
    pub fn parse(bytes: &[u8]) -> Result<Self, ErrorKind> {
        let raw: RawManifest = serde_json::from_slice(bytes)
            .map_err(|e| ErrorKind::Invalid(format!("the manifest is malformed: {e}")))?;
        if raw.schema_version != 2 {
            return Err(ErrorKind::Unsupported(format!(
                "manifest schema version {} (only schema 2 and OCI manifests are supported)",
                raw.schema_version
            )));
        }
        if let Some(mt) = &raw.media_type {
            if !MANIFEST_MEDIA_TYPES.contains(&mt.as_str()) {
                return Err(ErrorKind::Unsupported(format!("manifest media type {mt}")));
            }
        }
        match (raw.manifests, raw.config, raw.layers) {
            (Some(list), None, _) => Ok(ManifestDoc::Index(list)),
            (None, Some(config), Some(layers)) => {
                for layer in &layers {
                    check_layer_type(layer)?;
                }
                Ok(ManifestDoc::Image { config, layers })
            }
            _ => Err(ErrorKind::Invalid(
                "the manifest is neither an image manifest nor an index".into(),
            )),
        }
    }

    /// The entry of an index that serves `platform` (the first that does,
    /// preferring one without a variant when none is asked for).
    pub fn select<'a>(
        entries: &'a [Descriptor],
        platform: &Platform,
    ) -> Result<&'a Descriptor, ErrorKind> {
        let candidates = entries
            .iter()
            .filter(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)));
        let mut best = None;
        for d in candidates {
            if best.is_none() || d.platform.as_ref().is_some_and(|p| p.variant.is_none()) {
                best = Some(d);
            }
        }
        best.ok_or_else(|| {
            let offered: Vec<String> = entries
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
                .collect();
            ErrorKind::NotFound(format!(
                "no image for platform {platform} in the index (it has {})",
                if offered.is_empty() {
                    "none".to_owned()
                } else {
                    offered.join(", ")
                }
            ))
        })
    }
}

fn check_layer_type(layer: &Descriptor) -> Result<(), ErrorKind> {
    let mt = layer.media_type.as_str();
    if mt.contains("foreign") || mt.contains("nondistributable") || layer.urls.is_some() {
        return Err(ErrorKind::Unsupported(format!(
            "layer {} is a foreign layer ({mt}); foreign layers are not fetched",
            layer.digest
        )));
    }
    if mt.contains("encrypted") || !(mt.is_empty() || mt.contains("tar")) {
        return Err(ErrorKind::Unsupported(format!(
            "layer {} has media type {mt}",
            layer.digest
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_fields() {
        let json = br#"{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
            "config":{"Entrypoint":null,"Cmd":["sh"],"Env":["PATH=/bin"],"WorkingDir":"/w","User":"1:2"},
            "rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}}"#;
        let c = ImageConfig::parse(json).unwrap();
        let run = c.config.unwrap();
        assert_eq!(run.entrypoint, None);
        assert_eq!(run.cmd.unwrap(), ["sh"]);
        assert_eq!(run.working_dir.as_deref(), Some("/w"));
        assert_eq!(run.user.as_deref(), Some("1:2"));
        assert_eq!(c.rootfs.diff_ids.len(), 1);
    }

    #[test]
    fn platforms_select() {
        let d = |p: &str| Descriptor {
            media_type: String::new(),
            digest: Digest::of(p.as_bytes()),
            size: 0,
            platform: Some(Platform::parse(p).unwrap()),
            annotations: None,
            urls: None,
        };
        let entries = [
            d("linux/arm/v7"),
            d("linux/arm64/v8"),
            d("linux/amd64"),
            d("windows/amd64"),
        ];
        let pick = |p: &str| {
            ManifestDoc::select(&entries, &Platform::parse(p).unwrap()).map(|e| e.digest.clone())
        };
        assert_eq!(pick("linux/amd64").unwrap(), entries[2].digest);
        assert_eq!(pick("linux/arm64").unwrap(), entries[1].digest);
        assert_eq!(pick("linux/arm/v7").unwrap(), entries[0].digest);
        let err = pick("linux/s390x").unwrap_err().to_string();
        assert!(
            err.contains("linux/s390x") && err.contains("linux/arm/v7"),
            "{err}"
        );
        assert!(Platform::parse("linux").is_err());
    }

    #[test]
    fn manifests_parse_and_refuse() {
        assert!(matches!(
            ManifestDoc::parse(br#"{"schemaVersion":1}"#),
            Err(ErrorKind::Unsupported(_))
        ));
        let foreign = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"{0}","size":1}},
            "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{0}","size":1,"urls":["https://x"]}}]}}"#,
            Digest::of(b"")
        );
        let err = ManifestDoc::parse(foreign.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("foreign"), "{err}");
    }
}
