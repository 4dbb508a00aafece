//! A Linux OCI runtime spec (`config.json` with a `linux` section, as
//! `runc spec`, podman and containerd write it), validated and normalized:
//! every field is either honoured by hcsrun or refused with an error naming
//! it. Nothing is dropped silently.
//!
//! ```no_run
//! use hcsrun_linux_spec::LinuxSpec;
//!
//! let spec = LinuxSpec::from_bundle("/var/lib/bundles/c1")?;
//! for warning in spec.warnings() {
//!     eprintln!("warning: {warning}");
//! }
//! let user = &spec.process().unwrap().user;
//! println!("runs as {}:{} from {}", user.uid, user.gid, spec.root().unwrap().path.display());
//! // What the compute service receives as the init process's OCISpecification:
//! let json = spec.to_json();
//! assert_eq!(LinuxSpec::from_json(&json, "/")?, spec);
//! # Ok::<(), hcsrun_linux_spec::SpecError>(())
//! ```
//!
//! The front ends (`hcsrun --bundle`, a runc-compatible CLI, a containerd
//! shim) read a bundle with [`LinuxSpec::from_bundle`]; the Linux compute
//! service reads the [`LinuxSpec::to_json`] it is sent with
//! [`LinuxSpec::from_json`] and applies the typed view, deciding nothing
//! again. oci-spec reads the JSON; keys it does not know, which it would
//! drop, are found by comparing what it read with the text.

#![warn(missing_docs)]

mod caps;
pub mod docker;
mod error;
mod exec;
mod host;
mod linux;
mod mounts;
mod namespaces;
mod paths;
mod process;
mod raw;
mod resources;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

pub use caps::{cap_name, capability_number, capability_of_number, CapSet, Capability};
pub use error::{SpecError, SpecFieldError};
pub use exec::ExecProcess;
pub use host::{HostProbe, KnownHost, ThisHost};
pub use linux::{sysctl_namespace, Device, DeviceKind, Personality};
pub use mounts::{
    Atime, BindMount, KernelMount, Mount, MountFlags, MountKind, Propagation, StandardMount,
};
pub use namespaces::{Namespace, Namespaces};
pub use oci_spec::runtime::{Hook, Hooks, LinuxSeccomp, PosixRlimitType, Spec as OciSpec};
pub use process::{Capabilities, ConsoleSize, Process, Rlimit, User};
pub use resources::{
    asks_nothing, BlockIo, Cpu, DeviceAccess, DeviceRule, DeviceRuleKind, DeviceValue, Limit,
    Memory, Resources,
};
use serde_json::Value;

use crate::error::FieldResult;

/// A Linux OCI runtime spec hcsrun can run exactly as it says.
#[derive(Clone, Debug, PartialEq)]
pub struct LinuxSpec {
    /// Normalized: what [`LinuxSpec::to_json`] writes.
    oci: OciSpec,
    root: Option<Root>,
    hostname: Option<String>,
    domainname: Option<String>,
    process: Option<Process>,
    mounts: Vec<Mount>,
    section: linux::Section,
    annotations: BTreeMap<String, String>,
    warnings: Vec<String>,
}

/// The container's root file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// The directory, absolute (a relative `root.path` is resolved against
    /// the bundle directory). Used in place, as runc does.
    pub path: PathBuf,
    /// Mounted read-only.
    pub readonly: bool,
}

impl LinuxSpec {
    /// Reads `dir/config.json`; relative paths in it are relative to `dir`.
    /// Judged against this host ([`ThisHost`]).
    pub fn from_bundle(dir: impl AsRef<Path>) -> Result<Self, SpecError> {
        Self::from_bundle_on(dir, &ThisHost)
    }

    /// [`LinuxSpec::from_bundle`], judged against `host`.
    pub fn from_bundle_on(dir: impl AsRef<Path>, host: &dyn HostProbe) -> Result<Self, SpecError> {
        let path = dir.as_ref().join("config.json");
        let text = fs::read_to_string(&path).map_err(|source| SpecError::Read {
            path: path.clone(),
            source,
        })?;
        Self::from_json_on(&text, dir, host).map_err(|e| match e {
            SpecError::Json { source, .. } => SpecError::Json {
                path: Some(path),
                source,
            },
            other => other,
        })
    }

    /// Parses the text of a spec whose relative paths are relative to
    /// `bundle_dir` (itself relative to the current directory if it is
    /// relative). Judged against this host ([`ThisHost`]).
    pub fn from_json(text: &str, bundle_dir: impl AsRef<Path>) -> Result<Self, SpecError> {
        Self::from_json_on(text, bundle_dir, &ThisHost)
    }

    /// [`LinuxSpec::from_json`], judged against `host`.
    pub fn from_json_on(
        text: &str,
        bundle_dir: impl AsRef<Path>,
        host: &dyn HostProbe,
    ) -> Result<Self, SpecError> {
        let raw: Value =
            serde_json::from_str(text).map_err(|source| SpecError::Json { path: None, source })?;
        let dir = bundle_dir.as_ref();
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let bundle = std::path::absolute(dir).map_err(|source| SpecError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self::from_value(raw, &bundle, host)?)
    }

    fn from_value(raw: Value, bundle: &Path, host: &dyn HostProbe) -> FieldResult<Self> {
        let Value::Object(top) = &raw else {
            return Err(SpecFieldError::new("spec", "a spec is a JSON object"));
        };
        for (key, value) in top.iter().filter(|(_, v)| !v.is_null()) {
            match key.as_str() {
                "solaris" | "windows" | "vm" | "zos" => {
                    return Err(SpecFieldError::unsupported(
                        key.as_str(),
                        "a Linux container's spec has a linux section only",
                    ))
                }
                k if raw::TOP_LEVEL.contains(&k) => {}
                _ => return Err(SpecFieldError::unknown(key.as_str())),
            }
            let _ = value;
        }
        if !raw::has(&raw, "linux") {
            return Err(SpecFieldError::new(
                "linux",
                "required: a Linux container's spec has a linux section",
            ));
        }
        let mut value = raw;
        if let Some(p) = value.get_mut("process") {
            raw::fill_process_zero_values(p);
        }
        let mut oci: OciSpec = raw::deserialize(&value, "")?;
        let written = serde_json::to_value(&oci).expect("a parsed spec serializes");
        if let Some(field) = raw::first_unknown_key(&value, &written, "") {
            return Err(SpecFieldError::unknown(field));
        }
        check_version(oci.version())?;
        let mut warnings = Vec::new();
        let root = match oci.root() {
            Some(r) => Some(Root {
                path: paths::host_path("root.path", bundle, r.path())?,
                readonly: r.readonly().unwrap_or(false),
            }),
            None => None,
        };
        let process = match oci.process() {
            Some(p) => Some(process::classify(
                p,
                "process",
                process::Role::Init,
                host,
                &mut warnings,
            )?),
            None => None,
        };
        let mounts = oci
            .mounts()
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, m)| mounts::classify(i, m, bundle))
            .collect::<FieldResult<Vec<_>>>()?;
        let section = linux::classify(
            oci.linux().as_ref().expect("checked above"),
            host,
            &mut warnings,
        )?;
        let hostname = oci.hostname().clone().filter(|h| !h.is_empty());
        let domainname = oci.domainname().clone().filter(|h| !h.is_empty());
        linux::check_names(
            hostname.as_deref(),
            domainname.as_deref(),
            &section.namespaces.uts,
            &section.sysctl,
        )?;
        check_hooks(&oci)?;
        normalize(&mut oci, root.as_ref(), &mounts);
        Ok(Self {
            annotations: oci
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            oci,
            root,
            hostname,
            domainname,
            process,
            mounts,
            section,
            warnings,
        })
    }

    /// The normalized spec as JSON: paths absolute, nulls and defaults as
    /// oci-spec writes them, capabilities in kernel order. Parsing it again
    /// (against any bundle directory) gives an equal `LinuxSpec`.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::to_value(&self.oci).expect("a parsed spec serializes");
        if let Some(p) = value.get_mut("process") {
            caps::sort_capabilities(p);
        }
        value.to_string()
    }

    /// The normalized spec, as oci-spec holds it.
    pub fn oci(&self) -> &OciSpec {
        &self.oci
    }

    /// `ociVersion`.
    pub fn oci_version(&self) -> &str {
        self.oci.version()
    }

    /// `root`; `None` when the spec has none (the caller then gives layers).
    pub fn root(&self) -> Option<&Root> {
        self.root.as_ref()
    }

    /// `hostname`, set in the container's UTS namespace.
    pub fn hostname(&self) -> Option<&str> {
        self.hostname.as_deref()
    }

    /// `domainname`.
    pub fn domainname(&self) -> Option<&str> {
        self.domainname.as_deref()
    }

    /// The init process.
    pub fn process(&self) -> Option<&Process> {
        self.process.as_ref()
    }

    /// The mounts, in order.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The bind mounts, in order.
    pub fn bind_mounts(&self) -> impl Iterator<Item = &BindMount> {
        self.mounts.iter().filter_map(|m| match m {
            Mount::Bind(b) => Some(b),
            Mount::Kernel(_) => None,
        })
    }

    /// The mount the spec asks for at a standard place, if any.
    pub fn standard_mount(&self, which: StandardMount) -> Option<&KernelMount> {
        self.mounts.iter().find_map(|m| match m {
            Mount::Kernel(k) if k.standard == Some(which) => Some(k),
            _ => None,
        })
    }

    /// `linux.namespaces` (pid and mount are always new).
    pub fn namespaces(&self) -> &Namespaces {
        &self.section.namespaces
    }

    /// `linux.devices`: nodes made in the container's `/dev`.
    pub fn devices(&self) -> &[Device] {
        &self.section.devices
    }

    /// `linux.resources`.
    pub fn resources(&self) -> &Resources {
        &self.section.resources
    }

    /// The device cgroup rules in force, in order: the spec's
    /// `linux.resources.devices`, then (as runc) an allow rule for each of
    /// `linux.devices`. The service's own standard nodes come on top.
    pub fn device_rules(&self) -> Vec<DeviceRule> {
        let rules = self.section.resources.devices.iter().copied();
        let own = self
            .section
            .devices
            .iter()
            .filter(|d| d.kind != DeviceKind::Fifo)
            .map(|d| DeviceRule {
                allow: true,
                kind: match d.kind {
                    DeviceKind::Block => DeviceRuleKind::Block,
                    _ => DeviceRuleKind::Char,
                },
                major: Some(d.major),
                minor: Some(d.minor),
                access: DeviceAccess {
                    read: true,
                    write: true,
                    mknod: true,
                },
            });
        rules.chain(own).collect()
    }

    /// `linux.cgroupsPath`.
    pub fn cgroups_path(&self) -> Option<&Path> {
        self.section.cgroups_path.as_deref()
    }

    /// `linux.sysctl`: namespaced keys only.
    pub fn sysctl(&self) -> &BTreeMap<String, String> {
        &self.section.sysctl
    }

    /// `linux.seccomp`, to be compiled into a filter.
    pub fn seccomp(&self) -> Option<&LinuxSeccomp> {
        self.section.seccomp.as_ref()
    }

    /// `linux.maskedPaths`.
    pub fn masked_paths(&self) -> &[PathBuf] {
        &self.section.masked_paths
    }

    /// `linux.readonlyPaths`.
    pub fn readonly_paths(&self) -> &[PathBuf] {
        &self.section.readonly_paths
    }

    /// `linux.rootfsPropagation`.
    pub fn rootfs_propagation(&self) -> Option<Propagation> {
        self.section.rootfs_propagation
    }

    /// `linux.personality`.
    pub fn personality(&self) -> Option<Personality> {
        self.section.personality
    }

    /// `annotations`.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// `hooks`, for the front end that runs them.
    pub fn hooks(&self) -> Option<&Hooks> {
        self.oci.hooks().as_ref()
    }

    /// Whether any hook is given: a front end that runs none must refuse
    /// such a spec.
    pub fn has_hooks(&self) -> bool {
        self.hooks().is_some_and(|h| {
            #[allow(deprecated)]
            let prestart = h.prestart();
            [
                prestart,
                h.create_runtime(),
                h.create_container(),
                h.start_container(),
                h.poststart(),
                h.poststop(),
            ]
            .into_iter()
            .any(|list| list.as_ref().is_some_and(|l| !l.is_empty()))
        })
    }

    /// What is accepted but has no effect on this host (a security module's
    /// label where it is not enforced, as runc ignores it; an ambient
    /// capability the kernel cannot raise), one line each, naming the field.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

fn check_version(version: &str) -> FieldResult<()> {
    if version.is_empty() || version.starts_with("1.") {
        Ok(())
    } else {
        Err(SpecFieldError::new(
            "ociVersion",
            format!("{version:?} is not a 1.x version of the runtime spec"),
        ))
    }
}

fn check_hooks(oci: &OciSpec) -> FieldResult<()> {
    let Some(h) = oci.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)]
    let prestart = h.prestart();
    let lists = [
        ("prestart", prestart),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ];
    for (name, list) in lists {
        for (i, hook) in list.iter().flatten().enumerate() {
            if !paths::is_absolute(hook.path()) {
                return Err(SpecFieldError::new(
                    format!("hooks.{name}[{i}].path"),
                    format!("{:?} is not an absolute path", hook.path()),
                ));
            }
        }
    }
    Ok(())
}

/// Writes the resolved paths back, so that the JSON needs no bundle.
fn normalize(oci: &mut OciSpec, root: Option<&Root>, mounts: &[Mount]) {
    if let (Some(r), Some(root)) = (oci.root_mut().as_mut(), root) {
        r.set_path(root.path.clone());
    }
    if let Some(list) = oci.mounts_mut().as_mut() {
        for (m, typed) in list.iter_mut().zip(mounts) {
            if let Mount::Bind(b) = typed {
                m.set_source(Some(b.source.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests;
