//! Layers in the store: unpacked once under a per-layer lock, shared by
//! every image that has them, removed only when no image does.

use std::{fs, path::PathBuf};

use serde::{Deserialize, Serialize};

use crate::{
    digest::Digest,
    error::{io_err, Error, ErrorKind, Result},
    fsops::FileLock,
    store::{tags_of, write_atomic, Store},
    unpack::Unpacked,
};

/// Which form of the layers a container needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerFormat {
    /// Unpacked folders: overlay lower directories (process isolation).
    Folder,
    /// Folders holding `layer.vhd` (ext4 + fixed-VHD footer), for Hyper-V
    /// isolated Linux containers; built on first use.
    Vhd,
}

#[derive(Debug, Serialize, Deserialize)]
struct LayerRecord {
    chain_id: Digest,
    diff_id: Digest,
    size: u64,
}

/// The exclusive right to make (or find made) one layer.
#[derive(Debug)]
pub struct LayerLock {
    store: Store,
    chain_id: Digest,
    _lock: FileLock,
}

/// What came of making sure a layer is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerOutcome {
    /// It was already there.
    Existing {
        /// Bytes of file content.
        size: u64,
    },
    /// It was unpacked now.
    Unpacked {
        /// Bytes of file content.
        size: u64,
        /// The blob's digest and size as read.
        blob: (Digest, u64),
    },
}

impl LayerOutcome {
    /// Bytes of file content.
    pub fn size(&self) -> u64 {
        match self {
            LayerOutcome::Existing { size } | LayerOutcome::Unpacked { size, .. } => *size,
        }
    }
}

impl Store {
    /// The folder of the layer with `chain_id` (whether or not present).
    pub fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.path(format!("layers/{}", chain_id.hex()))
    }

    /// Whether the layer is present (its record is written last).
    pub fn has_layer(&self, chain_id: &Digest) -> bool {
        self.path(format!("layerdb/{}.json", chain_id.hex()))
            .is_file()
            && self.layer_dir(chain_id).is_dir()
    }

    fn layer_size(&self, chain_id: &Digest) -> Option<u64> {
        let bytes = fs::read(self.path(format!("layerdb/{}.json", chain_id.hex()))).ok()?;
        serde_json::from_slice::<LayerRecord>(&bytes)
            .ok()
            .map(|r| r.size)
    }

    /// Waits for the layer's lock (blocking: call from a thread that may
    /// block). Whoever holds it is the only one unpacking or removing it.
    pub fn lock_layer(&self, chain_id: &Digest) -> Result<LayerLock> {
        let lock = FileLock::acquire(&self.path(format!("locks/{}.lock", chain_id.hex())), true)
            .map_err(|e| Error::new("locking layer", chain_id, ErrorKind::io("flock", e)))?;
        Ok(LayerLock {
            store: self.clone(),
            chain_id: chain_id.clone(),
            _lock: lock,
        })
    }

    /// The image's layer paths, top-most first, as `LayerOption.LayerPaths`
    /// wants them; with [`LayerFormat::Vhd`], each folder's `layer.vhd` is
    /// built first if missing (blocking).
    pub fn layer_paths(&self, image: &crate::Image, format: LayerFormat) -> Result<Vec<PathBuf>> {
        let mut out = Vec::with_capacity(image.layers.len());
        for layer in image.layers.iter().rev() {
            let fail = |kind| Error::new("finding layer", &layer.chain_id, kind);
            if !self.has_layer(&layer.chain_id) {
                return Err(fail(ErrorKind::NotFound(format!(
                    "layer of image {} is missing",
                    image.id
                ))));
            }
            out.push(match format {
                LayerFormat::Folder => self.layer_dir(&layer.chain_id),
                LayerFormat::Vhd => self.vhd_dir(&layer.chain_id)?,
            });
        }
        Ok(out)
    }

    fn vhd_dir(&self, chain_id: &Digest) -> Result<PathBuf> {
        let dir = self.path(format!("vhd/{}", chain_id.hex()));
        if dir.join(crate::vhd::FILE_NAME).is_file() {
            return Ok(dir);
        }
        let _lock = self.lock_layer(chain_id)?;
        if dir.join(crate::vhd::FILE_NAME).is_file() {
            return Ok(dir);
        }
        let fail = |kind| Error::new("building layer.vhd of layer", chain_id, kind);
        let tmp = self
            .temp_dir()
            .map_err(|e| fail(ErrorKind::io("creating a work directory", e)))?;
        crate::vhd::build(
            &self.layer_dir(chain_id),
            &tmp.path().join(crate::vhd::FILE_NAME),
        )
        .map_err(fail)?;
        let _ = fs::remove_dir_all(&dir);
        fs::rename(tmp.keep(), &dir).map_err(|e| fail(ErrorKind::io("moving it into place", e)))?;
        Ok(dir)
    }

    /// Removes the layer `chain_id`, refused while an image uses it.
    pub fn remove_layer(&self, chain_id: &Digest) -> Result<()> {
        let fail = |kind| Error::new("removing layer", chain_id, kind);
        let _index = self
            .lock_index()
            .map_err(|e| fail(ErrorKind::io("locking the index", e)))?;
        let users: Vec<String> = self
            .all_images()
            .map_err(fail)?
            .iter()
            .filter(|i| i.layers.iter().any(|l| &l.chain_id == chain_id))
            .map(|i| i.id.short().to_owned())
            .collect();
        if !users.is_empty() {
            return Err(fail(ErrorKind::Conflict(format!(
                "it is used by image(s) {}",
                users.join(", ")
            ))));
        }
        self.delete_layer(chain_id).map_err(fail)
    }

    /// Deletes a layer's record, folder and VHD (caller holds the index
    /// lock and has checked no image uses it).
    pub(crate) fn delete_layer(&self, chain_id: &Digest) -> Result<(), ErrorKind> {
        let lock = self.lock_layer(chain_id).map_err(|e| e.kind)?;
        let record = self.path(format!("layerdb/{}.json", chain_id.hex()));
        match fs::remove_file(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(ErrorKind::io("removing its record", e))
            }
            _ => {}
        }
        for dir in [
            lock.store.layer_dir(chain_id),
            self.path(format!("vhd/{}", chain_id.hex())),
        ] {
            if dir.exists() {
                // Renamed first, so a half-removed folder is never taken for a layer.
                let trash = self
                    .temp_dir()
                    .map_err(io_err("creating a work directory"))?;
                fs::rename(&dir, trash.path().join("gone"))
                    .map_err(io_err(format!("removing {}", dir.display())))?;
            }
        }
        Ok(())
    }

    /// Removes an image (`hcsrun rmi`). A reference removes that tag, and
    /// the image with it when it was the last; an id removes the image,
    /// refused while it has several tags unless `force`. Layers no other
    /// image uses are deleted. The caller checks that no container uses the
    /// image.
    pub fn remove(&self, name_or_id: &str, force: bool) -> Result<Removed> {
        let fail = |kind| Error::new("removing image", name_or_id, kind);
        let _index = self
            .lock_index()
            .map_err(|e| fail(ErrorKind::io("locking the index", e)))?;
        let mut tags = self.read_tags().map_err(fail)?;
        let id = self.resolve(name_or_id, &tags).map_err(fail)?;
        let names = tags_of(&tags, &id);
        let by_tag = crate::Reference::parse(name_or_id)
            .ok()
            .filter(|r| r.tag().is_some())
            .map(|r| r.to_string())
            .filter(|r| names.contains(r));
        let mut removed = Removed::default();
        let untag: Vec<String> = match by_tag {
            Some(tag) => vec![tag],
            None if names.len() > 1 && !force => {
                return Err(fail(ErrorKind::Conflict(format!(
                    "image {} is referenced by {} tags; remove them by name or use force",
                    id.short(),
                    names.len()
                ))))
            }
            None => names.clone(),
        };
        for tag in &untag {
            tags.tags.remove(tag);
        }
        removed.untagged = untag;
        self.write_tags(&tags).map_err(fail)?;
        if !tags_of(&tags, &id).is_empty() {
            return Ok(removed);
        }
        let image = self.read_image(&id).map_err(fail)?;
        let others: Vec<crate::Image> = self
            .all_images()
            .map_err(fail)?
            .into_iter()
            .filter(|i| i.id != id)
            .collect();
        fs::remove_file(self.path(format!("images/{}.json", id.hex())))
            .map_err(|e| fail(ErrorKind::io("removing its record", e)))?;
        removed.deleted = Some(id.clone());
        if let Some(image) = image {
            let _ = fs::remove_file(self.path(format!("blobs/sha256/{}", id.hex())));
            if let Some(m) = &image.manifest_digest {
                if !others.iter().any(|o| o.manifest_digest.as_ref() == Some(m)) {
                    let _ = fs::remove_file(self.path(format!("blobs/sha256/{}", m.hex())));
                }
            }
            for layer in image.layers.iter().rev() {
                if others
                    .iter()
                    .any(|o| o.layers.iter().any(|l| l.chain_id == layer.chain_id))
                {
                    continue;
                }
                self.delete_layer(&layer.chain_id).map_err(fail)?;
                removed.layers.push(layer.chain_id.clone());
            }
        }
        Ok(removed)
    }
}

/// What `remove` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// Tags removed (normalized).
    pub untagged: Vec<String>,
    /// The image deleted, if it was.
    pub deleted: Option<Digest>,
    /// Layers deleted (chain ids), top-most first.
    pub layers: Vec<Digest>,
}

impl LayerLock {
    /// Whether the layer is already present.
    pub fn is_present(&self) -> bool {
        self.store.has_layer(&self.chain_id)
    }

    /// The present layer's size in bytes (0 if unknown).
    pub fn existing_size(&self) -> u64 {
        self.store.layer_size(&self.chain_id).unwrap_or(0)
    }

    /// Makes the layer present: if it is not, `unpack` fills an empty work
    /// directory, whose result must have `diff_id`; the directory is renamed
    /// into place and the layer's record written. On any failure nothing is
    /// left in the store.
    pub(crate) fn ensure(
        &self,
        diff_id: &Digest,
        unpack: impl FnOnce(&std::path::Path) -> Result<Unpacked, ErrorKind>,
    ) -> Result<LayerOutcome, ErrorKind> {
        let store = &self.store;
        if self.is_present() {
            return Ok(LayerOutcome::Existing {
                size: store.layer_size(&self.chain_id).unwrap_or(0),
            });
        }
        let work = store
            .temp_dir()
            .map_err(io_err("creating a work directory"))?;
        let dest = work.path().join("layer");
        fs::create_dir(&dest).map_err(io_err("creating a work directory"))?;
        let unpacked = unpack(&dest)?;
        if &unpacked.diff_id != diff_id {
            return Err(ErrorKind::DigestMismatch {
                expected: diff_id.clone(),
                actual: unpacked.diff_id,
            });
        }
        let final_dir = store.layer_dir(&self.chain_id);
        if final_dir.exists() {
            // Left by an interrupted unpack (no record): replace it.
            fs::rename(&final_dir, work.path().join("stale"))
                .map_err(io_err("moving a stale folder away"))?;
        }
        fs::rename(&dest, &final_dir).map_err(io_err("moving the layer into place"))?;
        let record = LayerRecord {
            chain_id: self.chain_id.clone(),
            diff_id: diff_id.clone(),
            size: unpacked.size,
        };
        write_atomic(
            &store.path(format!("layerdb/{}.json", self.chain_id.hex())),
            &serde_json::to_vec(&record).expect("record serializes"),
        )
        .map_err(io_err("writing the layer record"))?;
        Ok(LayerOutcome::Unpacked {
            size: unpacked.size,
            blob: unpacked.blob,
        })
    }
}
