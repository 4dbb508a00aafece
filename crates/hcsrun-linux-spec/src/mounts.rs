//! `mounts`: each one a bind mount of a host path or a kernel file system,
//! with its options read into flags; nothing the kernel would not apply
//! is accepted.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount as OciMount;

use crate::{
    error::{FieldResult, SpecFieldError},
    paths,
};

/// A mount, in the order the spec gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mount {
    /// A host file or directory bound into the container.
    Bind(BindMount),
    /// A kernel file system mounted in the container.
    Kernel(KernelMount),
}

impl Mount {
    /// Where the container sees it.
    pub fn destination(&self) -> &Path {
        match self {
            Mount::Bind(b) => &b.destination,
            Mount::Kernel(k) => &k.destination,
        }
    }
}

/// A bind mount (`bind`/`rbind` option, or type `bind`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindMount {
    /// The host path, absolute (a relative source is resolved against the
    /// bundle directory).
    pub source: PathBuf,
    /// The container path, absolute.
    pub destination: PathBuf,
    /// Read-only (`ro`).
    pub readonly: bool,
    /// Read-only all the way down, submounts included (`rro`).
    pub recursive_readonly: bool,
    /// Submounts of the source come along (`rbind`); `bind` alone binds the
    /// source's own mount only.
    pub recursive: bool,
    /// Other flags, applied by remounting the bind.
    pub flags: MountFlags,
    /// Mount propagation of the bind, when the spec sets one.
    pub propagation: Option<Propagation>,
}

/// A kernel file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelMount {
    /// Which file system.
    pub kind: MountKind,
    /// The source name shown in `/proc/mounts` (the spec's `source`, else
    /// the type's name).
    pub source: String,
    /// The container path, absolute.
    pub destination: PathBuf,
    /// Read-only (`ro`).
    pub readonly: bool,
    /// Mount flags.
    pub flags: MountFlags,
    /// Mount propagation, when the spec sets one.
    pub propagation: Option<Propagation>,
    /// The options that are not flags, in order, for the file system
    /// (`mode=755`, `size=65536k`, `newinstance`, ...), joined with `,` as
    /// mount(2)'s data.
    pub data: Vec<String>,
    /// `tmpcopyup`: a tmpfs starts with a copy of what the image has at its
    /// destination (tmpfs only).
    pub copy_up: bool,
    /// The mount is one of the standard ones, which the service makes
    /// itself (with these flags and data).
    pub standard: Option<StandardMount>,
}

/// The kernel file systems a container may mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// `proc`.
    Proc,
    /// `sysfs`.
    Sysfs,
    /// `tmpfs`.
    Tmpfs,
    /// `devpts`.
    Devpts,
    /// `mqueue`.
    Mqueue,
    /// `cgroup` (v1; the service mounts what the host has).
    Cgroup,
    /// `cgroup2`.
    Cgroup2,
}

impl MountKind {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "proc" => Self::Proc,
            "sysfs" => Self::Sysfs,
            "tmpfs" => Self::Tmpfs,
            "devpts" => Self::Devpts,
            "mqueue" => Self::Mqueue,
            "cgroup" => Self::Cgroup,
            "cgroup2" => Self::Cgroup2,
            _ => return None,
        })
    }

    /// The file system's name, as mount(2) takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Proc => "proc",
            Self::Sysfs => "sysfs",
            Self::Tmpfs => "tmpfs",
            Self::Devpts => "devpts",
            Self::Mqueue => "mqueue",
            Self::Cgroup => "cgroup",
            Self::Cgroup2 => "cgroup2",
        }
    }
}

/// The mounts every container has, which the service sets up itself when
/// the spec asks for them with the expected type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandardMount {
    /// `/proc` (proc).
    Proc,
    /// `/dev` (tmpfs).
    Dev,
    /// `/dev/pts` (devpts).
    DevPts,
    /// `/dev/shm` (tmpfs).
    DevShm,
    /// `/dev/mqueue` (mqueue).
    DevMqueue,
    /// `/sys` (sysfs).
    Sys,
    /// `/sys/fs/cgroup` (cgroup or cgroup2).
    SysFsCgroup,
}

impl StandardMount {
    fn of(destination: &Path, kind: MountKind) -> Option<Self> {
        use MountKind::*;
        let standard = match destination.to_str()? {
            "/proc" => (Self::Proc, kind == Proc),
            "/dev" => (Self::Dev, kind == Tmpfs),
            "/dev/pts" => (Self::DevPts, kind == Devpts),
            "/dev/shm" => (Self::DevShm, kind == Tmpfs),
            "/dev/mqueue" => (Self::DevMqueue, kind == Mqueue),
            "/sys" => (Self::Sys, kind == Sysfs),
            "/sys/fs/cgroup" => (Self::SysFsCgroup, matches!(kind, Cgroup | Cgroup2)),
            _ => return None,
        };
        standard.1.then_some(standard.0)
    }
}

/// Flags other than read-only. All off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountFlags {
    /// `nosuid`.
    pub nosuid: bool,
    /// `nodev`.
    pub nodev: bool,
    /// `noexec`.
    pub noexec: bool,
    /// `sync`.
    pub sync: bool,
    /// `dirsync`.
    pub dirsync: bool,
    /// `noatime`, `relatime` or `strictatime`; `None` is the kernel's
    /// default (relatime).
    pub atime: Option<Atime>,
    /// `nodiratime`.
    pub nodiratime: bool,
    /// `lazytime`.
    pub lazytime: bool,
    /// `nosymfollow`.
    pub nosymfollow: bool,
    /// `silent`.
    pub silent: bool,
}

/// How access times are updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Atime {
    /// `noatime`.
    Noatime,
    /// `relatime`.
    Relatime,
    /// `strictatime`.
    Strictatime,
}

/// Mount propagation (`rootfsPropagation`, or a mount's option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// `private`.
    Private,
    /// `rprivate`.
    RPrivate,
    /// `shared`.
    Shared,
    /// `rshared`.
    RShared,
    /// `slave`.
    Slave,
    /// `rslave`.
    RSlave,
    /// `unbindable`.
    Unbindable,
    /// `runbindable`.
    RUnbindable,
}

impl Propagation {
    /// Reads a propagation option.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "private" => Self::Private,
            "rprivate" => Self::RPrivate,
            "shared" => Self::Shared,
            "rshared" => Self::RShared,
            "slave" => Self::Slave,
            "rslave" => Self::RSlave,
            "unbindable" => Self::Unbindable,
            "runbindable" => Self::RUnbindable,
            _ => return None,
        })
    }

    /// Whether it applies to submounts too.
    pub fn recursive(self) -> bool {
        matches!(
            self,
            Self::RPrivate | Self::RShared | Self::RSlave | Self::RUnbindable
        )
    }
}

/// A mount's options, read.
#[derive(Default)]
struct Options {
    flags: MountFlags,
    readonly: bool,
    recursive_readonly: bool,
    /// `Some(recursive)` for `bind`/`rbind`.
    bind: Option<bool>,
    propagation: Option<Propagation>,
    copy_up: bool,
    /// The rest, with their index.
    data: Vec<(usize, String)>,
}

fn options(list: &[String], base: &str) -> FieldResult<Options> {
    let mut o = Options::default();
    for (j, opt) in list.iter().enumerate() {
        let field = || format!("{base}.options[{j}]");
        let f = &mut o.flags;
        match opt.as_str() {
            "defaults" | "nomand" => {}
            "ro" => o.readonly = true,
            "rw" => o.readonly = false,
            "rro" => (o.readonly, o.recursive_readonly) = (true, true),
            "rrw" => o.recursive_readonly = false,
            "bind" => o.bind = Some(o.bind == Some(true)),
            "rbind" => o.bind = Some(true),
            "nosuid" | "suid" => f.nosuid = opt == "nosuid",
            "nodev" | "dev" => f.nodev = opt == "nodev",
            "noexec" | "exec" => f.noexec = opt == "noexec",
            "sync" | "async" => f.sync = opt == "sync",
            "dirsync" => f.dirsync = true,
            "nodiratime" | "diratime" => f.nodiratime = opt == "nodiratime",
            "lazytime" | "nolazytime" => f.lazytime = opt == "lazytime",
            "nosymfollow" | "symfollow" => f.nosymfollow = opt == "nosymfollow",
            "silent" | "loud" => f.silent = opt == "silent",
            "noatime" => f.atime = Some(Atime::Noatime),
            "relatime" => f.atime = Some(Atime::Relatime),
            "strictatime" => f.atime = Some(Atime::Strictatime),
            "atime" | "norelatime" | "nostrictatime" => f.atime = None,
            "tmpcopyup" => o.copy_up = true,
            "mand" => {
                return Err(SpecFieldError::unsupported(
                    field(),
                    "mandatory locking, which Linux removed in 5.15",
                ))
            }
            "remount" => {
                return Err(SpecFieldError::new(
                    field(),
                    "a spec's mount is never a remount",
                ))
            }
            "idmap" | "ridmap" => {
                return Err(SpecFieldError::unsupported(field(), "idmapped mounts"))
            }
            other => match Propagation::parse(other) {
                Some(p) if o.propagation.is_some_and(|q| q != p) => {
                    return Err(SpecFieldError::new(
                        field(),
                        "a second, different propagation option",
                    ))
                }
                Some(p) => o.propagation = Some(p),
                None if is_recursive_attribute(other) => {
                    return Err(SpecFieldError::unsupported(
                        field(),
                        format!("recursive mount attribute {other:?}; only rro is"),
                    ))
                }
                None => o.data.push((j, other.to_owned())),
            },
        }
    }
    Ok(o)
}

/// runc's recursive attributes other than `rro`/`rrw`.
fn is_recursive_attribute(opt: &str) -> bool {
    const FLAGS: &[&str] = &[
        "nosuid",
        "suid",
        "nodev",
        "dev",
        "noexec",
        "exec",
        "nodiratime",
        "diratime",
        "relatime",
        "norelatime",
        "noatime",
        "atime",
        "strictatime",
        "nostrictatime",
        "nosymfollow",
        "symfollow",
    ];
    opt.strip_prefix('r').is_some_and(|f| FLAGS.contains(&f))
}

/// Reads `mounts[i]`; relative bind sources resolve against `bundle`.
pub(crate) fn classify(i: usize, m: &OciMount, bundle: &Path) -> FieldResult<Mount> {
    let base = format!("mounts[{i}]");
    let field = |name: &str| format!("{base}.{name}");
    if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
        let name = if m.uid_mappings().is_some() {
            "uidMappings"
        } else {
            "gidMappings"
        };
        return Err(SpecFieldError::unsupported(field(name), "idmapped mounts"));
    }
    let destination = paths::container_path(&field("destination"), m.destination())?;
    if destination.parent().is_none() {
        return Err(SpecFieldError::new(
            field("destination"),
            "the container's root is root.path, not a mount",
        ));
    }
    let o = options(m.options().as_deref().unwrap_or_default(), &base)?;
    let typ = m.typ().as_deref().filter(|t| !t.is_empty());
    if typ == Some("bind") || o.bind.is_some() {
        if let Some((j, opt)) = o.data.first() {
            return Err(SpecFieldError::new(
                format!("{base}.options[{j}]"),
                format!("{opt:?} has no meaning for a bind mount"),
            ));
        }
        if o.copy_up {
            return Err(SpecFieldError::new(
                field("options"),
                "tmpcopyup is for tmpfs mounts",
            ));
        }
        let source = m.source().as_deref().unwrap_or(Path::new(""));
        return Ok(Mount::Bind(BindMount {
            source: paths::host_path(&field("source"), bundle, source)?,
            destination,
            readonly: o.readonly,
            recursive_readonly: o.recursive_readonly,
            recursive: o.bind == Some(true),
            flags: o.flags,
            propagation: o.propagation,
        }));
    }
    let Some(typ) = typ else {
        return Err(SpecFieldError::new(
            field("type"),
            "required for a mount that is not a bind mount",
        ));
    };
    let Some(kind) = MountKind::of(typ) else {
        return Err(SpecFieldError::unsupported(
            field("type"),
            format!("{typ} mounts; a container may mount proc, sysfs, tmpfs, devpts, mqueue, cgroup, cgroup2, or bind host paths"),
        ));
    };
    if o.recursive_readonly {
        return Err(SpecFieldError::new(
            field("options"),
            "rro is for bind mounts",
        ));
    }
    if o.copy_up && kind != MountKind::Tmpfs {
        return Err(SpecFieldError::new(
            field("options"),
            "tmpcopyup is for tmpfs mounts",
        ));
    }
    let source = m
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| kind.name().to_owned());
    Ok(Mount::Kernel(KernelMount {
        kind,
        source,
        standard: StandardMount::of(&destination, kind),
        destination,
        readonly: o.readonly,
        flags: o.flags,
        propagation: o.propagation,
        data: o.data.into_iter().map(|(_, d)| d).collect(),
        copy_up: o.copy_up,
    }))
}

#[cfg(test)]
mod tests;
