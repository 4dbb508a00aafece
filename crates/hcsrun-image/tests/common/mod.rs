//! Images built in the tests: layers, configs, manifests, OCI layouts and
//! `docker save` archives, from busybox-static and hand-made tars.
#![allow(dead_code)]

pub mod registry;
pub mod tars;

use std::path::Path;

use hcsrun_image::Digest;
use serde_json::json;

#[allow(unused_imports)]
pub use tars::{gzip, tree, TarBuf};

/// A layer: `bin/busybox` from the host's busybox-static, `bin/sh` and
/// `bin/echo` linking to it, and `etc/motd` saying `motd`.
pub fn busybox_layer(motd: &str) -> Vec<u8> {
    let busybox =
        std::fs::read("/bin/busybox").expect("busybox-static is installed (scripts/setup.sh)");
    let mut t = TarBuf::new()
        .dir("bin")
        .file_mode("bin/busybox", &busybox, 0o755);
    for applet in ["sh", "echo", "cat", "ls", "true"] {
        t = t.symlink(&format!("bin/{applet}"), "busybox");
    }
    t.dir("etc").file("etc/motd", motd.as_bytes()).finish()
}

/// One image: its config, its layers (blobs as stored, gzip), their diff
/// ids, and its manifest.
pub struct Built {
    pub config: Vec<u8>,
    pub layers: Vec<Vec<u8>>,
    pub diff_ids: Vec<Digest>,
    pub manifest: Vec<u8>,
}

impl Built {
    pub fn id(&self) -> Digest {
        Digest::of(&self.config)
    }
    pub fn manifest_digest(&self) -> Digest {
        Digest::of(&self.manifest)
    }
}

/// Builds an image of uncompressed layer tars for `arch`.
pub fn build(tars: &[Vec<u8>], arch: &str) -> Built {
    let diff_ids: Vec<Digest> = tars.iter().map(|t| Digest::of(t)).collect();
    let layers: Vec<Vec<u8>> = tars.iter().map(|t| gzip(t)).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux", "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/", "User": "0"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::of(&config).to_string(), "size": config.len()},
        "layers": layers.iter().map(|l| json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": Digest::of(l).to_string(), "size": l.len()})).collect::<Vec<_>>(),
    }))
    .unwrap();
    Built {
        config,
        layers,
        diff_ids,
        manifest,
    }
}

fn put(dir: &Path, bytes: &[u8]) -> Digest {
    let d = Digest::of(bytes);
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("blobs/sha256").join(d.hex()), bytes).unwrap();
    d
}

/// Writes an OCI image layout at `dir`: each image under its `ref.name`;
/// `list` (name, images) adds an index of several platforms.
pub fn oci_layout(dir: &Path, images: &[(&str, &Built)], list: Option<(&str, &[(&Built, &str)])>) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut entries = Vec::new();
    let write_image = |b: &Built| {
        put(dir, &b.config);
        for l in &b.layers {
            put(dir, l);
        }
        put(dir, &b.manifest)
    };
    for (name, b) in images {
        let d = write_image(b);
        entries.push(
            json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": d.to_string(), "size": b.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": name}}),
        );
    }
    if let Some((name, members)) = list {
        let manifests: Vec<_> = members
            .iter()
            .map(|(b, arch)| {
                let d = write_image(b);
                json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": d.to_string(), "size": b.manifest.len(),
                    "platform": {"os": "linux", "architecture": arch}})
            })
            .collect();
        let index = serde_json::to_vec(&json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}))
        .unwrap();
        let d = put(dir, &index);
        entries.push(
            json!({"mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": d.to_string(), "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": name}}),
        );
    }
    let index = json!({"schemaVersion": 2, "manifests": entries});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// A tar of every file under `dir` (an OCI layout as an archive).
pub fn tar_dir(dir: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all(".", dir).unwrap();
    b.into_inner().unwrap()
}

/// A `docker save` archive of `image` tagged `tags`, layers uncompressed
/// under `<n>/layer.tar`, the config under `<id hex>.json`.
pub fn docker_save(image: &Built, tars: &[Vec<u8>], tags: &[&str]) -> Vec<u8> {
    let mut t = TarBuf::new();
    let config_name = format!("{}.json", image.id().hex());
    t = t.file(&config_name, &image.config);
    let mut layer_names = Vec::new();
    for (i, tar) in tars.iter().enumerate() {
        let name = format!("l{i}/layer.tar");
        t = t.dir(&format!("l{i}")).file(&name, tar);
        layer_names.push(name);
    }
    let manifest = json!([{"Config": config_name, "RepoTags": tags, "Layers": layer_names}]);
    t.file("manifest.json", &serde_json::to_vec(&manifest).unwrap())
        .finish()
}
