//! Which containers use which image: `hcsrun run IMAGE` writes a record,
//! `<store>/containers/<id>.json`, and `hcsrun rmi` refuses an image a
//! live record names. A record is live while the hcsrun that wrote it
//! runs, while the container's system exists (`/run/hcsrun/<id>`), or
//! while the scratch folder hcsrun made for it is there (a kept or
//! detached container: removing the container removes that folder). Stale
//! records are swept by `rmi`; `hcsrun rm` removes a container's own.
//!
//! `containers.lock` in the store orders the two: a run holds it shared
//! from finding its image until its record is written, `rmi` exclusive
//! from checking the records until the image is gone.

use std::{
    fs::File,
    path::{Path, PathBuf},
};

use anyhow::Context;
use hcsrun_image::{Digest, Reference, Store};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

/// What a run records of the image its container uses.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// The container's id.
    pub id: String,
    /// The image's id.
    pub image: Digest,
    /// The image as the run named it (`busybox`).
    pub name: String,
    /// The container's scratch folder, if any.
    pub scratch: Option<PathBuf>,
    /// Whether hcsrun made that folder (and removes it with the container).
    pub scratch_is_ours: bool,
    /// The hcsrun process that wrote the record.
    pub pid: u32,
}

fn dir(store: &Store) -> PathBuf {
    store.root().join("containers")
}

fn path(store: &Store, id: &str) -> PathBuf {
    dir(store).join(format!("{id}.json"))
}

/// The store's container lock, shared (a run) or exclusive (`rmi`).
pub fn lock(store: &Store, exclusive: bool) -> anyhow::Result<Flock<File>> {
    let path = store.root().join("containers.lock");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let arg = if exclusive {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockShared
    };
    Flock::lock(file, arg).map_err(|(_, e)| anyhow::anyhow!("locking {}: {e}", path.display()))
}

/// Writes `record` (the caller holds the lock).
pub fn write(store: &Store, record: &Record) -> anyhow::Result<PathBuf> {
    let dir = dir(store);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = path(store, &record.id);
    let tmp = dir.join(format!(".{}.tmp", record.id));
    std::fs::write(&tmp, serde_json::to_vec(record)?)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .with_context(|| {
            format!(
                "recording that container {} uses image {}",
                record.id, record.image
            )
        })?;
    Ok(path)
}

/// Forgets container `id`'s use of an image (`hcsrun rm`): its record goes,
/// if the store has one. Without the store's lock: `rmi` would find the
/// record stale anyway, the container being gone.
#[allow(dead_code)] // for `hcsrun rm`, whose verbs are built separately
pub fn forget(id: &str) -> anyhow::Result<()> {
    let path = super::root().join("containers").join(format!("{id}.json"));
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("container {id}: removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The image container `id` was run from, as it was named, if a record of
/// the store says (for listings).
#[allow(dead_code)] // for `hcsrun ps`, whose verbs are built separately
pub fn container_image(id: &str) -> Option<String> {
    let store = super::open_store().ok()?;
    let bytes = std::fs::read(path(&store, id)).ok()?;
    serde_json::from_slice::<Record>(&bytes)
        .ok()
        .map(|r| r.name)
}

/// Whether the container a record names still exists; `Some(true)` if it
/// runs.
fn liveness(record: &Record) -> Option<bool> {
    if Path::new(crate::containers::LINUX_SYSTEMS)
        .join(&record.id)
        .exists()
    {
        return Some(true);
    }
    if record.pid != std::process::id() && Path::new(&format!("/proc/{}", record.pid)).exists() {
        return Some(true);
    }
    // A container the verbs keep (`run -d`, `create`) until `hcsrun rm`.
    if crate::containers::store::dir(&record.id).exists() {
        return Some(false);
    }
    let kept = record.scratch_is_ours && record.scratch.as_deref().is_some_and(Path::exists);
    kept.then_some(false)
}

/// The containers that use image `id`: (running, stopped). Stale records
/// are removed.
fn users(store: &Store, id: &Digest) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (mut running, mut stopped) = (Vec::new(), Vec::new());
    let entries = match std::fs::read_dir(dir(store)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((running, stopped)),
        Err(e) => return Err(e).context("reading the container records"),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(record) = std::fs::read(&path)
            .map_err(anyhow::Error::from)
            .and_then(|b| Ok(serde_json::from_slice::<Record>(&b)?))
        else {
            continue;
        };
        match liveness(&record) {
            None => {
                let _ = std::fs::remove_file(&path);
            }
            Some(_) if record.image != *id => {}
            Some(true) => running.push(record.id),
            Some(false) => stopped.push(record.id),
        }
    }
    Ok((running, stopped))
}

/// `hcsrun rmi NAME`: docker's lines (`Untagged: …`, `Deleted: …`), or a
/// conflict while a container uses the image that would be deleted.
pub fn remove(store: &Store, name: &str, force: bool) -> anyhow::Result<Vec<String>> {
    let _lock = lock(store, true)?;
    let image = store.get(name)?;
    let only_untag = Reference::parse(name).ok().is_some_and(|r| {
        r.tag().is_some() && image.repo_tags.contains(&r.to_string()) && image.repo_tags.len() > 1
    });
    if !only_untag {
        let (running, stopped) = users(store, &image.id)?;
        if let Some(c) = running.first() {
            anyhow::bail!(
                "conflict: unable to delete {} (cannot be forced) - image is being used by \
                 running container {c}",
                image.id.short()
            );
        }
        if let Some(c) = stopped.first() {
            anyhow::bail!(
                "conflict: unable to remove repository reference {name:?} - container {c} is \
                 using its referenced image {}: remove the container first",
                image.id.short()
            );
        }
    }
    let removed = store.remove(name, force)?;
    let mut lines: Vec<String> = removed
        .untagged
        .iter()
        .map(|t| format!("Untagged: {}", super::familiar(t)))
        .collect();
    if let Some(id) = &removed.deleted {
        lines.push(format!("Deleted: {id}"));
    }
    lines.extend(removed.layers.iter().map(|l| format!("Deleted: {l}")));
    Ok(lines)
}
