//! An OCI image layout tarball for `ctr image import`, made from the host's
//! busybox-static: one layer (bin/busybox, its applets as symlinks, the
//! directories runtimes expect), a config, a manifest and an index whose
//! `io.containerd.image.name` annotation names the image.

use std::{io, path::Path};

use sha2::{Digest, Sha256};

fn digest(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

fn add(t: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32) -> io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    t.append_data(&mut h, path, data)
}

fn layer() -> io::Result<Vec<u8>> {
    let busybox = std::fs::read("/bin/busybox")
        .map_err(|e| io::Error::new(e.kind(), format!("/bin/busybox (busybox-static): {e}")))?;
    let mut t = tar::Builder::new(Vec::new());
    for dir in ["bin", "etc", "proc", "sys", "dev", "tmp", "run"] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_mtime(0);
        h.set_size(0);
        t.append_data(&mut h, dir, io::empty())?;
    }
    add(&mut t, "bin/busybox", &busybox, 0o755)?;
    for applet in [
        "sh", "true", "false", "echo", "cat", "sleep", "ls", "ps", "id", "env", "yes", "head",
        "tty", "stty", "grep", "readlink", "hostname", "wc", "kill", "dd", "seq",
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_mtime(0);
        h.set_size(0);
        t.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
    }
    add(
        &mut t,
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\n",
        0o644,
    )?;
    add(&mut t, "etc/group", b"root:x:0:\n", 0o644)?;
    t.into_inner()
}

/// Writes the image `name` running `cmd` to `out`.
pub fn write(out: &Path, name: &str, cmd: &[&str]) -> io::Result<()> {
    let layer_tar = layer()?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    io::Write::write_all(&mut gz, &layer_tar)?;
    let layer_gz = gz.finish()?;
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": cmd},
        "rootfs": {"type": "layers", "diff_ids": [digest(&layer_tar)]},
    })
    .to_string();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(config.as_bytes()), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest(&layer_gz), "size": layer_gz.len()}],
    })
    .to_string();
    let tag = name.rsplit_once(':').map_or("latest", |(_, t)| t);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": digest(manifest.as_bytes()), "size": manifest.len(),
                       "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"io.containerd.image.name": name,
                                       "org.opencontainers.image.ref.name": tag}}],
    })
    .to_string();
    let mut t = tar::Builder::new(std::fs::File::create(out)?);
    let mut file = |path: &str, data: &[u8]| -> io::Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        t.append_data(&mut h, path, data)
    };
    file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    file("index.json", index.as_bytes())?;
    for blob in [&layer_gz[..], config.as_bytes(), manifest.as_bytes()] {
        file(&format!("blobs/sha256/{}", &digest(blob)[7..]), blob)?;
    }
    t.finish()
}
