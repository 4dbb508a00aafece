//! The on-disk store.
//!
//! ```text
//! ROOT/
//!   .lock                    shared by every open Store; exclusive to sweep tmp/
//!   index.lock               exclusive around changes to images/ and tags.json
//!   tags.json                {"tags": {"docker.io/library/busybox:latest": "sha256:<id>"}}
//!   images/<id hex>.json     one record per image (id = config digest)
//!   blobs/sha256/<hex>       configs and manifests, as fetched and verified
//!   layers/<chain id hex>/   an unpacked layer: an overlay lower directory
//!   layerdb/<chain id hex>.json   the layer's diff id and size; written last
//!   vhd/<chain id hex>/layer.vhd  the layer as ext4 + fixed-VHD footer
//!   locks/<chain id hex>.lock     flock: one unpacker (or remover) per layer
//!   tmp/                     work in progress; renamed into place when done
//! ```
//!
//! `tmp/` and `locks/` are swept by the first `Store::open` after every
//! process closed the store (each open store holds `.lock` shared).
//!
//! ```text
//! ```
//!
//! A layer folder is named by its chain id, so the compute service's
//! `NameToGuid(folder name)` gives each layer stack a stable id, as the
//! Windows engine's layer folders did. A layer exists once `layerdb/` has its
//! record; a folder without one is an interrupted unpack and is redone.

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Deserialize, Serialize};

use crate::{
    digest::Digest,
    error::{io_err, Error, ErrorKind, Result},
    fsops::FileLock,
    image::ImageConfig,
    reference::Reference,
};

/// An image store rooted at a directory. Cheap to clone; safe to share
/// between threads and processes.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    /// Held shared for the store's life, so no other process sweeps our tmp/.
    _open: FileLock,
}

/// A stored image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The image id: its config's digest.
    pub id: Digest,
    /// The manifest's digest, when the image came with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    /// `name@digest` references the image was pulled by.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
    /// The image config.
    pub config: ImageConfig,
    /// The unpacked size of all layers, in bytes.
    pub size: u64,
    /// The tags naming the image (normalized), from the tag index.
    #[serde(skip)]
    pub repo_tags: Vec<String>,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// The chain id: names the layer's folder.
    pub chain_id: Digest,
    /// The digest of the layer's uncompressed tar.
    pub diff_id: Digest,
    /// Bytes of file content.
    pub size: u64,
}

/// One row of `hcsrun images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// The repository as docker shows it (`busybox`), or `<none>`.
    pub repository: String,
    /// The tag, or `<none>`.
    pub tag: String,
    /// The image id.
    pub id: Digest,
    /// When the image was made (RFC 3339), if known.
    pub created: Option<String>,
    /// Unpacked size in bytes.
    pub size: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Tags {
    pub(crate) tags: BTreeMap<String, Digest>,
}

const DIRS: &[&str] = &[
    "images",
    "blobs/sha256",
    "layers",
    "layerdb",
    "vhd",
    "locks",
    "tmp",
];

impl Store {
    /// Opens (creating if need be) the store at `root`, e.g.
    /// `/var/lib/hcsrun/images`. If no other process has the store open,
    /// what an interrupted pull or load left in `tmp/` is removed.
    ///
    /// `root` must not contain `,` or `:` (overlayfs option syntax).
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let root: PathBuf = root.into();
        let fail = |kind| Error::new("opening the image store", root.display(), kind);
        if root.to_str().is_none_or(|s| s.contains([',', ':', '\\'])) {
            return Err(fail(ErrorKind::Invalid(
                "the store path must be UTF-8 without ',', ':' or '\\' (overlayfs option syntax)"
                    .into(),
            )));
        }
        for dir in DIRS {
            fs::create_dir_all(root.join(dir))
                .map_err(|e| fail(ErrorKind::io(format!("creating {dir}"), e)))?;
        }
        let lock_path = root.join(".lock");
        let open = match FileLock::try_exclusive(&lock_path)
            .map_err(|e| fail(ErrorKind::io("locking", e)))?
        {
            Some(lock) => {
                sweep(&root.join("tmp"));
                // Lock files are never removed while the store may be in
                // use (a waiter could lock an unlinked file); now they can be.
                sweep(&root.join("locks"));
                lock.downgrade()
                    .map_err(|e| fail(ErrorKind::io("locking", e)))?;
                lock
            }
            None => FileLock::acquire(&lock_path, false)
                .map_err(|e| fail(ErrorKind::io("locking", e)))?,
        };
        Ok(Store {
            inner: Arc::new(Inner { root, _open: open }),
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub(crate) fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.inner.root.join(rel)
    }

    /// A new empty directory under `tmp/`, removed when the guard drops
    /// unless it was renamed away.
    pub(crate) fn temp_dir(&self) -> std::io::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix("work-")
            .tempdir_in(self.path("tmp"))
    }

    pub(crate) fn lock_index(&self) -> std::io::Result<FileLock> {
        FileLock::acquire(&self.path("index.lock"), true)
    }

    /// Stores a verified blob (a config or manifest) under its digest.
    pub(crate) fn put_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<(), ErrorKind> {
        let actual = Digest::of(bytes);
        if &actual != digest {
            return Err(ErrorKind::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        let path = self.path(format!("blobs/sha256/{}", digest.hex()));
        if path.exists() {
            return Ok(());
        }
        write_atomic(&path, bytes).map_err(io_err(format!("writing blob {digest}")))
    }

    /// Reads a stored blob.
    pub fn blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        fs::read(self.path(format!("blobs/sha256/{}", digest.hex())))
            .map_err(|e| Error::new("reading blob", digest, ErrorKind::io("reading", e)))
    }

    pub(crate) fn read_tags(&self) -> Result<Tags, ErrorKind> {
        match fs::read(self.path("tags.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ErrorKind::Invalid(format!("tags.json is malformed: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Tags::default()),
            Err(e) => Err(ErrorKind::io("reading tags.json", e)),
        }
    }

    pub(crate) fn write_tags(&self, tags: &Tags) -> Result<(), ErrorKind> {
        let bytes = serde_json::to_vec_pretty(tags).expect("tags serialize");
        write_atomic(&self.path("tags.json"), &bytes).map_err(io_err("writing tags.json"))
    }

    pub(crate) fn read_image(&self, id: &Digest) -> Result<Option<Image>, ErrorKind> {
        match fs::read(self.path(format!("images/{}.json", id.hex()))) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ErrorKind::Invalid(format!("image record {id} is malformed: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ErrorKind::io(format!("reading image record {id}"), e)),
        }
    }

    pub(crate) fn all_images(&self) -> Result<Vec<Image>, ErrorKind> {
        let mut out = Vec::new();
        let dir = fs::read_dir(self.path("images")).map_err(io_err("listing images"))?;
        for entry in dir {
            let entry = entry.map_err(io_err("listing images"))?;
            let name = entry.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let Some(id) = Digest::from_hex(hex) else {
                continue;
            };
            if let Some(image) = self.read_image(&id)? {
                out.push(image);
            }
        }
        Ok(out)
    }

    /// Records `image` and points `tags` at it (a tag held by another image
    /// moves, leaving that one untagged). Refused if a layer went missing
    /// meanwhile (a concurrent `remove`); the caller unpacks it again.
    pub(crate) fn commit_image(&self, image: &Image, tags: &[Reference]) -> Result<(), ErrorKind> {
        let _index = self.lock_index().map_err(io_err("locking the index"))?;
        for layer in &image.layers {
            if !self.has_layer(&layer.chain_id) {
                return Err(ErrorKind::NotFound(format!(
                    "layer {} was removed while the image was being stored",
                    layer.chain_id
                )));
            }
        }
        let mut record = image.clone();
        if let Some(old) = self.read_image(&image.id)? {
            for d in old.repo_digests {
                if !record.repo_digests.contains(&d) {
                    record.repo_digests.push(d);
                }
            }
        }
        let bytes = serde_json::to_vec_pretty(&record).expect("image serializes");
        write_atomic(
            &self.path(format!("images/{}.json", image.id.hex())),
            &bytes,
        )
        .map_err(io_err(format!("writing image record {}", image.id)))?;
        if !tags.is_empty() {
            let mut index = self.read_tags()?;
            for tag in tags {
                index.tags.insert(tag.to_string(), image.id.clone());
            }
            self.write_tags(&index)?;
        }
        Ok(())
    }

    /// Finds an image by reference (`busybox`, `busybox:1.36`,
    /// `busybox@sha256:…`), by id (`sha256:…`) or by a unique id prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Image> {
        let fail = |kind| Error::new("looking up image", name_or_id, kind);
        let tags = self.read_tags().map_err(fail)?;
        let id = self.resolve(name_or_id, &tags).map_err(fail)?;
        let mut image = self
            .read_image(&id)
            .map_err(fail)?
            .ok_or_else(|| fail(ErrorKind::NotFound(format!("no such image: {name_or_id}"))))?;
        image.repo_tags = tags_of(&tags, &id);
        Ok(image)
    }

    pub(crate) fn resolve(&self, name_or_id: &str, tags: &Tags) -> Result<Digest, ErrorKind> {
        if let Ok(reference) = Reference::parse(name_or_id) {
            if reference.digest().is_none() || reference.tag().is_some() {
                if let Some(id) = tags.tags.get(&reference.to_string()) {
                    return Ok(id.clone());
                }
            }
            if reference.digest().is_some() {
                let wanted = reference
                    .with_digest(reference.digest().unwrap().clone())
                    .to_string();
                for image in self.all_images()? {
                    if image.repo_digests.contains(&wanted) {
                        return Ok(image.id);
                    }
                }
            }
        }
        let hex = name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id);
        if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let matches: Vec<Digest> = self
                .all_images()?
                .into_iter()
                .map(|i| i.id)
                .filter(|id| id.hex().starts_with(hex))
                .collect();
            match matches.len() {
                1 => return Ok(matches.into_iter().next().unwrap()),
                0 => {}
                _ => return Err(ErrorKind::Conflict(format!("id prefix {hex} is ambiguous"))),
            }
        }
        Err(ErrorKind::NotFound(format!("no such image: {name_or_id}")))
    }

    /// What `hcsrun images` lists: one row per tag, and one `<none>` row per
    /// untagged image; newest first.
    pub fn images(&self) -> Result<Vec<ImageSummary>> {
        let fail = |kind| Error::new("listing", "images", kind);
        let tags = self.read_tags().map_err(fail)?;
        let mut rows = Vec::new();
        for image in self.all_images().map_err(fail)? {
            let names = tags_of(&tags, &image.id);
            let row = |repository: String, tag: String| ImageSummary {
                repository,
                tag,
                id: image.id.clone(),
                created: image.config.created.clone(),
                size: image.size,
            };
            if names.is_empty() {
                rows.push(row("<none>".into(), "<none>".into()));
            }
            for name in names {
                let r = Reference::parse(&name).expect("stored tags parse");
                rows.push(row(
                    r.familiar_name(),
                    r.tag().unwrap_or("<none>").to_owned(),
                ));
            }
        }
        rows.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then(a.repository.cmp(&b.repository))
                .then(a.tag.cmp(&b.tag))
        });
        Ok(rows)
    }

    /// Points `target` at the image `source` names (`hcsrun tag`).
    pub fn tag(&self, source: &str, target: &Reference) -> Result<()> {
        let fail = |kind| Error::new("tagging", format!("{source} as {target}"), kind);
        if target.tag().is_none() {
            return Err(fail(ErrorKind::Invalid(
                "the new name needs a tag, not only a digest".into(),
            )));
        }
        let _index = self
            .lock_index()
            .map_err(|e| fail(ErrorKind::io("locking the index", e)))?;
        let mut tags = self.read_tags().map_err(fail)?;
        let id = self.resolve(source, &tags).map_err(fail)?;
        tags.tags.insert(target.to_string(), id);
        self.write_tags(&tags).map_err(fail)
    }
}

pub(crate) fn tags_of(tags: &Tags, id: &Digest) -> Vec<String> {
    tags.tags
        .iter()
        .filter(|(_, v)| *v == id)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old or the new content, never a part.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("store paths have parents");
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Removes everything in `tmp` (only called while no other process has the
/// store open).
fn sweep(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let removed = match entry.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(&path),
            _ => fs::remove_file(&path),
        };
        if let Err(e) = removed {
            tracing::warn!(path = %path.display(), error = %e, "could not sweep the image store's tmp");
        }
    }
}
