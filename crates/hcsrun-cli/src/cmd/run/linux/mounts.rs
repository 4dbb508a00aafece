//! The mounts of a Linux container: docker's standard ones, the user's
//! volumes (`-v`) and tmpfs mounts (`--tmpfs`).

use std::path::Path;

use anyhow::bail;
use serde_json::{json, Value};

use super::{
    defaults::{self, MountChoices},
    opts::Tmpfs,
};
use crate::cmd::run::volume::Volume;

/// Where a Windows named-pipe destination (`\\.\pipe\NAME`) shows in a
/// Linux container, as the Linux compute service maps pipes.
const PIPE_DIR: &str = "/run/pipe";

/// What the user's mounts need to know.
pub struct UserMounts<'a> {
    pub volumes: &'a [String],
    pub tmpfs: &'a [Tmpfs],
    /// Read-only binds are read-only all the way down (`rro`, kernel 5.12
    /// and later), as docker's since API 1.44.
    pub recursive_readonly: bool,
}

/// The user's mounts, parents before children (docker's order), each
/// destination once.
pub fn user_mounts(user: &UserMounts<'_>) -> anyhow::Result<Vec<Value>> {
    let mut mounts: Vec<(String, Value)> = Vec::new();
    for text in user.volumes {
        let volume = Volume::parse(text)?;
        let destination = linux_destination(text, &volume)?;
        if !Path::new(&volume.source).exists() {
            bail!("volume source {} does not exist", volume.source);
        }
        let mut options = vec!["rbind"];
        if volume.read_only {
            options.push(if user.recursive_readonly { "rro" } else { "ro" });
        }
        options.push("rprivate");
        let mount = json!({"destination": destination, "type": "bind", "source": volume.source,
                           "options": options});
        mounts.push((destination, mount));
    }
    for tmpfs in user.tmpfs {
        let mount = json!({"destination": tmpfs.destination, "type": "tmpfs", "source": "tmpfs",
                           "options": tmpfs.options});
        mounts.push((tmpfs.destination.clone(), mount));
    }
    for (i, (destination, _)) in mounts.iter().enumerate() {
        if mounts[..i].iter().any(|(d, _)| d == destination) {
            bail!("Duplicate mount point: {destination}");
        }
    }
    mounts.sort_by_key(|(destination, _)| destination.split('/').filter(|p| !p.is_empty()).count());
    Ok(mounts.into_iter().map(|(_, m)| m).collect())
}

/// A volume's destination in a Linux container: a Linux path, or a named
/// pipe's place under [`PIPE_DIR`] (its source a unix socket).
fn linux_destination(text: &str, volume: &Volume) -> anyhow::Result<String> {
    if let Some(name) = volume.destination.strip_prefix(r"\\.\pipe\") {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            bail!("volume {text:?}: {name:?} is not a pipe name");
        }
        let is_socket = std::fs::metadata(&volume.source)
            .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()));
        if !is_socket {
            bail!("volume {text:?}: a named pipe's source must be a unix socket");
        }
        return Ok(format!("{PIPE_DIR}/{name}"));
    }
    if !volume.destination.starts_with('/') {
        bail!(
            "volume {text:?}: {} is not a path in a Linux container (it starts with /)",
            volume.destination
        );
    }
    Ok(crate::cmd::run::volume::normalize(&volume.destination))
}

/// docker's standard mounts, then the user's.
pub fn all(choices: MountChoices<'_>, user: Vec<Value>) -> Vec<Value> {
    let mut mounts = defaults::mounts(&choices);
    mounts.extend(user);
    mounts
}

/// The destinations of `mounts`.
pub fn destinations(mounts: &[Value]) -> Vec<String> {
    mounts
        .iter()
        .filter_map(|m| m["destination"].as_str().map(str::to_owned))
        .collect()
}
