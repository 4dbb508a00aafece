//! Host device nodes a container is given: `--device HOST[:CONTAINER]`
//! (a node, or a folder of them), and with `--privileged` every node of the
//! host's `/dev`, as docker gives them.

use std::{
    fs,
    os::unix::fs::{FileTypeExt, MetadataExt},
    path::Path,
};

use serde_json::{json, Value};

use super::opts::DeviceMapping;

/// A device node to make in the container, and the access its cgroup
/// rule allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceNode {
    /// In the container.
    pub path: String,
    /// `c` or `b`.
    pub kind: &'static str,
    pub major: u64,
    pub minor: u64,
    /// Permission bits (with set-id and sticky bits).
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// `rwm` or some of it.
    pub access: String,
}

impl DeviceNode {
    /// The node at `host`, not following a symbolic link; `None` if it is
    /// no block or character device.
    fn at(host: &Path, path: String, access: &str) -> std::io::Result<Option<Self>> {
        let meta = fs::symlink_metadata(host)?;
        let kind = match meta.file_type() {
            t if t.is_char_device() => "c",
            t if t.is_block_device() => "b",
            _ => return Ok(None),
        };
        let rdev = meta.rdev();
        Ok(Some(Self {
            path,
            kind,
            major: nix::sys::stat::major(rdev),
            minor: nix::sys::stat::minor(rdev),
            file_mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            access: access.to_owned(),
        }))
    }

    /// The `linux.devices` entry.
    pub fn spec_device(&self) -> Value {
        json!({
            "path": self.path,
            "type": self.kind,
            "major": self.major,
            "minor": self.minor,
            "fileMode": self.file_mode,
            "uid": self.uid,
            "gid": self.gid,
        })
    }

    /// The `linux.resources.devices` rule that allows it.
    pub fn allow_rule(&self) -> Value {
        json!({
            "allow": true,
            "type": self.kind,
            "major": self.major,
            "minor": self.minor,
            "access": self.access,
        })
    }
}

/// The nodes one `--device` gives, as docker's `DevicesFromPath`: a
/// symbolic link is followed; a node is given at the container path; a
/// folder gives every node under it, at the same place under the
/// container path.
pub fn from_mapping(mapping: &DeviceMapping) -> Result<Vec<DeviceNode>, String> {
    let failed = |why: &dyn std::fmt::Display| {
        format!(
            "error gathering device information while adding custom device {:?}: {why}",
            mapping.host
        )
    };
    let host = fs::canonicalize(&mapping.host).map_err(|e| failed(&e))?;
    if let Some(node) = DeviceNode::at(&host, mapping.container.clone(), &mapping.permissions)
        .map_err(|e| failed(&e))?
    {
        return Ok(vec![node]);
    }
    if !host.is_dir() {
        return Err(failed(&"not a device node"));
    }
    let mut nodes = Vec::new();
    walk(
        &host,
        &mapping.container,
        &mapping.permissions,
        &[],
        &mut nodes,
    )
    .map_err(|e| failed(&e))?;
    if nodes.is_empty() {
        return Err(failed(&"no device nodes in that folder"));
    }
    Ok(nodes)
}

/// Every node of the host's `/dev`, as containerd's `HostDevices` (which
/// docker uses for `--privileged`): not the container's own folders
/// (`pts`, `shm`, `mqueue`, `fd`) nor `console`.
pub fn host_devices() -> Result<Vec<DeviceNode>, String> {
    const SKIPPED: [&str; 8] = [
        "pts",
        "shm",
        "fd",
        "mqueue",
        ".lxc",
        ".lxd-mounts",
        ".udev",
        "console",
    ];
    let mut nodes = Vec::new();
    walk(Path::new("/dev"), "/dev", "rwm", &SKIPPED, &mut nodes)
        .map_err(|e| format!("listing the host's devices for --privileged: {e}"))?;
    Ok(nodes)
}

/// Adds the nodes under `host` to `nodes`, at the same place under
/// `container`; names in `skip` are left out, and nodes that go away
/// meanwhile are no error.
fn walk(
    host: &Path,
    container: &str,
    access: &str,
    skip: &[&str],
    nodes: &mut Vec<DeviceNode>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(host)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if skip.contains(&name.as_str()) {
            continue;
        }
        let inside = format!("{}/{name}", container.trim_end_matches('/'));
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            walk(&entry.path(), &inside, access, &[], nodes)?;
        } else if let Ok(Some(node)) = DeviceNode::at(&entry.path(), inside, access) {
            nodes.push(node);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host: &str, container: &str, permissions: &str) -> DeviceMapping {
        DeviceMapping {
            host: host.into(),
            container: container.into(),
            permissions: permissions.into(),
        }
    }

    #[test]
    fn a_node_is_given_at_the_container_path() {
        let nodes = from_mapping(&mapping("/dev/null", "/dev/mynull", "rw")).unwrap();
        assert_eq!(nodes.len(), 1);
        let n = &nodes[0];
        assert_eq!((n.kind, n.major, n.minor), ("c", 1, 3));
        assert_eq!((n.path.as_str(), n.access.as_str()), ("/dev/mynull", "rw"));
        assert_eq!(
            n.allow_rule(),
            json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"})
        );
        assert_eq!(n.spec_device()["fileMode"], json!(0o666));
    }

    #[test]
    fn what_is_no_device_is_refused() {
        let e = from_mapping(&mapping("/etc/hostname", "/x", "rwm")).unwrap_err();
        assert_eq!(
            e,
            "error gathering device information while adding custom device \"/etc/hostname\": \
             not a device node"
        );
        let e = from_mapping(&mapping("/no/such", "/x", "rwm")).unwrap_err();
        assert!(e.contains("No such file or directory"), "{e}");
    }

    #[test]
    fn a_folder_gives_its_nodes() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.path().join("link")).unwrap();
        fs::write(dir.path().join("file"), "").unwrap();
        // A folder of no nodes (links are not followed inside one).
        assert!(from_mapping(&mapping(dir.path().to_str().unwrap(), "/d", "r")).is_err());
        let nodes = host_devices().unwrap();
        assert!(nodes.iter().any(|n| n.path == "/dev/null"));
        assert!(!nodes.iter().any(|n| n.path.starts_with("/dev/pts/")));
        assert!(!nodes.iter().any(|n| n.path == "/dev/console"));
    }
}
