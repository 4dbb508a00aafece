//! The `linux` section, field by field.

use std::{
    collections::BTreeMap,
    path::{Component, Path, PathBuf},
};

use oci_spec::runtime::{
    Linux, LinuxDevice, LinuxDeviceType, LinuxPersonalityDomain, LinuxSeccomp,
};

use crate::{
    error::{FieldResult, SpecFieldError},
    host::{lsm_label, HostProbe},
    mounts::Propagation,
    namespaces::{self, Namespace, Namespaces},
    paths,
    resources::{self, Resources},
};

/// A device node the container gets in its `/dev` (`linux.devices`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// What kind of node.
    pub kind: DeviceKind,
    /// Where, inside the container.
    pub path: PathBuf,
    /// Major number.
    pub major: i64,
    /// Minor number.
    pub minor: i64,
    /// Permission bits (at most 0o7777); `None`: 0o666 as runc.
    pub file_mode: Option<u32>,
    /// Owner; `None`: 0.
    pub uid: Option<u32>,
    /// Group; `None`: 0.
    pub gid: Option<u32>,
}

/// A device node's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// A character device (`c`, or `u` for unbuffered, the same node).
    Char,
    /// A block device (`b`).
    Block,
    /// A FIFO (`p`).
    Fifo,
}

/// The execution domain (`personality(2)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Personality {
    /// `LINUX`.
    Linux,
    /// `LINUX32`.
    Linux32,
}

/// The `linux` section, read.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Section {
    pub namespaces: Namespaces,
    pub devices: Vec<Device>,
    pub resources: Resources,
    pub cgroups_path: Option<PathBuf>,
    pub sysctl: BTreeMap<String, String>,
    pub seccomp: Option<LinuxSeccomp>,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub rootfs_propagation: Option<Propagation>,
    pub personality: Option<Personality>,
}

pub(crate) fn classify(
    l: &Linux,
    host: &dyn HostProbe,
    warnings: &mut Vec<String>,
) -> FieldResult<Section> {
    let unsupported =
        |name: &str, what: &str| Err(SpecFieldError::unsupported(format!("linux.{name}"), what));
    let refused = [
        (l.uid_mappings().is_some(), "uidMappings", "user namespaces"),
        (l.gid_mappings().is_some(), "gidMappings", "user namespaces"),
        (l.intel_rdt().is_some(), "intelRdt", "Intel RDT"),
        (
            l.memory_policy().is_some(),
            "memoryPolicy",
            "NUMA memory policies",
        ),
        (
            l.net_devices().as_ref().is_some_and(|d| !d.is_empty()),
            "netDevices",
            "moving host network devices into the container",
        ),
        (
            l.time_offsets().as_ref().is_some_and(|t| !t.is_empty()),
            "timeOffsets",
            "time namespaces",
        ),
    ];
    if let Some((_, name, what)) = refused.into_iter().find(|(set, ..)| *set) {
        return unsupported(name, what);
    }
    lsm_label(
        "linux.mountLabel",
        l.mount_label().as_deref(),
        "SELinux",
        host.selinux_enforced(),
        warnings,
    )?;
    let namespaces = namespaces::classify(l.namespaces().as_deref())?;
    let sysctl = sysctl(l, &namespaces)?;
    let devices = l
        .devices()
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| device(i, d))
        .collect::<FieldResult<_>>()?;
    let resources = match l.resources() {
        Some(r) => resources::classify(r, host.cgroup2())?,
        None => Resources::default(),
    };
    let seccomp = l.seccomp().clone();
    if let Some(s) = &seccomp {
        if s.listener_path().is_some() || s.listener_metadata().is_some() {
            let name = if s.listener_path().is_some() {
                "listenerPath"
            } else {
                "listenerMetadata"
            };
            return unsupported(&format!("seccomp.{name}"), "seccomp user notification");
        }
    }
    let path_list = |name: &str, list: &Option<Vec<String>>| -> FieldResult<Vec<PathBuf>> {
        list.iter()
            .flatten()
            .enumerate()
            .map(|(i, p)| paths::container_path(&format!("linux.{name}[{i}]"), Path::new(p)))
            .collect()
    };
    let rootfs_propagation = match l.rootfs_propagation().as_deref() {
        None | Some("") => None,
        Some(p) => Some(Propagation::parse(p).ok_or_else(|| {
            SpecFieldError::new(
                "linux.rootfsPropagation",
                format!("{p:?} is not a propagation"),
            )
        })?),
    };
    let personality = match l.personality() {
        None => None,
        Some(p) if p.flags().as_ref().is_some_and(|f| !f.is_empty()) => {
            return unsupported("personality.flags", "personality flags")
        }
        Some(p) => Some(match p.domain() {
            LinuxPersonalityDomain::PerLinux => Personality::Linux,
            LinuxPersonalityDomain::PerLinux32 => Personality::Linux32,
        }),
    };
    Ok(Section {
        namespaces,
        devices,
        resources,
        cgroups_path: cgroups_path(l.cgroups_path().as_deref())?,
        sysctl,
        seccomp,
        masked_paths: path_list("maskedPaths", l.masked_paths())?,
        readonly_paths: path_list("readonlyPaths", l.readonly_paths())?,
        rootfs_propagation,
        personality,
    })
}

fn device(i: usize, d: &LinuxDevice) -> FieldResult<Device> {
    let field = |name: &str| format!("linux.devices[{i}].{name}");
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
        LinuxDeviceType::B => DeviceKind::Block,
        LinuxDeviceType::P => DeviceKind::Fifo,
        LinuxDeviceType::A => {
            return Err(SpecFieldError::new(
                field("type"),
                "\"a\" is a cgroup rule type, not a device node",
            ))
        }
    };
    if let Some(mode) = d.file_mode().filter(|m| *m > 0o7777) {
        return Err(SpecFieldError::new(
            field("fileMode"),
            format!("{mode:#o} has more than permission bits"),
        ));
    }
    for (name, n) in [("major", d.major()), ("minor", d.minor())] {
        if n < 0 {
            return Err(SpecFieldError::new(field(name), format!("{n} is negative")));
        }
    }
    Ok(Device {
        kind,
        path: paths::container_path(&field("path"), d.path())?,
        major: d.major(),
        minor: d.minor(),
        file_mode: d.file_mode(),
        uid: d.uid(),
        gid: d.gid(),
    })
}

/// The namespace a sysctl belongs to (`network`, `ipc`, `uts`), if it
/// has one: only those a container may set.
pub fn sysctl_namespace(key: &str) -> Option<&'static str> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if key.starts_with("net.") {
        Some("network")
    } else if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some("ipc")
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some("uts")
    } else {
        None
    }
}

fn sysctl(l: &Linux, ns: &Namespaces) -> FieldResult<BTreeMap<String, String>> {
    let sysctl: BTreeMap<String, String> =
        l.sysctl().clone().unwrap_or_default().into_iter().collect();
    for key in sysctl.keys() {
        let field = format!("linux.sysctl.{key}");
        let Some(which) = sysctl_namespace(key) else {
            return Err(SpecFieldError::unsupported(
                field,
                "a sysctl that no namespace of the container holds would change the host",
            ));
        };
        let private = match which {
            "network" => ns.network.is_private(),
            "ipc" => ns.ipc.is_private(),
            _ => ns.uts.is_private(),
        };
        if !private {
            return Err(SpecFieldError::new(
                field,
                format!("needs the container's own {which} namespace; the spec shares the host's"),
            ));
        }
    }
    Ok(sysctl)
}

fn cgroups_path(path: Option<&Path>) -> FieldResult<Option<PathBuf>> {
    const FIELD: &str = "linux.cgroupsPath";
    let Some(path) = path.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(None);
    };
    if path.to_string_lossy().contains(':') {
        return Err(SpecFieldError::unsupported(
            FIELD,
            "systemd's slice:prefix:name form; hcsrun manages cgroups itself",
        ));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(SpecFieldError::new(
            FIELD,
            "may not leave the cgroup hierarchy (..)",
        ));
    }
    Ok(Some(path.to_path_buf()))
}

/// The host name or domain name may be set only in the container's own UTS
/// namespace, and only once.
pub(crate) fn check_names(
    hostname: Option<&str>,
    domainname: Option<&str>,
    uts: &Namespace,
    sysctl: &BTreeMap<String, String>,
) -> FieldResult<()> {
    for (field, value, key) in [
        ("hostname", hostname, "kernel.hostname"),
        ("domainname", domainname, "kernel.domainname"),
    ] {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        if !uts.is_private() {
            return Err(SpecFieldError::new(
                field,
                "needs the container's own uts namespace; the spec shares the host's",
            ));
        }
        if sysctl.get(key).is_some_and(|v| v != value) {
            return Err(SpecFieldError::new(
                format!("linux.sysctl.{key}"),
                format!("conflicts with {field} {value:?}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
