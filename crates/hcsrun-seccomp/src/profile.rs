//! Docker's seccomp profile format: what `docker run --security-opt
//! seccomp=PATH` and the daemon's `seccomp-profile` read.
//!
//! It is the OCI `linux.seccomp` object with three additions: `archMap`
//! (architectures chosen by the host's native one), rule `includes` and
//! `excludes` (conditions on capabilities, architecture and kernel version),
//! and the legacy per-rule `name`. [`Profile::resolve`](crate::Profile::resolve)
//! turns it into the OCI form for one container.

use std::fmt;
use std::str::FromStr;

use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ProfileError;

/// Syscalls take at most six arguments, numbered 0 to 5.
pub(crate) const MAX_SYSCALL_ARGS: u32 = 6;

/// A docker seccomp profile.
///
/// Read one with [`Profile::from_json`] (or serde); the built-in default is
/// [`Profile::docker_default`]. Serializing writes docker's format back, with
/// legacy `name` fields turned into `names`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawProfile")]
pub struct Profile {
    /// What happens to a syscall no rule matches.
    pub default_action: LinuxSeccompAction,
    /// The errno of an `SCMP_ACT_ERRNO` (or message of `SCMP_ACT_TRACE`)
    /// default action; `EPERM` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// Architectures to filter for, used as they are; excludes `arch_map`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<Arch>,
    /// Architectures by native architecture; excludes `architectures`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMapEntry>,
    /// `SECCOMP_FILTER_FLAG_*` flags for loading the filter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<LinuxSeccompFilterFlag>,
    /// The rules, in order.
    #[serde(default)]
    pub syscalls: Vec<SyscallRule>,
}

/// One `archMap` entry: when the host's native architecture is
/// `architecture`, filter for it and for `sub_architectures`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchMapEntry {
    /// The native architecture this entry is for.
    pub architecture: Arch,
    /// The other ABIs the native one runs (`null` in docker's JSON when
    /// there are none).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        serialize_with = "empty_as_null"
    )]
    pub sub_architectures: Vec<Arch>,
}

/// One syscall rule: an action for some syscalls, possibly only when their
/// arguments match, possibly only for some containers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    /// The syscalls, by name. Never empty in a validated profile.
    pub names: Vec<String>,
    /// What happens when the rule matches.
    pub action: LinuxSeccompAction,
    /// The errno of `SCMP_ACT_ERRNO` or message of `SCMP_ACT_TRACE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// Argument conditions, all of which must hold (see
    /// [`Filter::compile`](crate::Filter::compile) for repeated indexes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<SyscallArg>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The rule applies only if all of these hold.
    #[serde(skip_serializing_if = "Condition::is_empty")]
    pub includes: Condition,
    /// The rule is dropped if any of these holds.
    #[serde(skip_serializing_if = "Condition::is_empty")]
    pub excludes: Condition,
}

/// A condition on the container of `includes` or `excludes`.
///
/// In `includes` every part that is set must hold (all the capabilities, one
/// of the architectures, at least the kernel version); in `excludes` any
/// part that holds drops the rule (any one capability, one of the
/// architectures, at least the kernel version). This is docker's reading.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    /// Capability names, `CAP_` prefixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    /// Docker's architecture names: `amd64`, `x86`, `x32`, `arm64`, `arm`,
    /// `ppc64le`, `s390x`, `riscv64`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    /// A kernel version, compared with the running kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<KernelVersion>,
}

impl Condition {
    /// Whether nothing is set (docker's absent `includes`/`excludes`).
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// A condition on one syscall argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyscallArg {
    /// Which argument, 0 to 5.
    pub index: u32,
    /// The value compared with; the mask for `SCMP_CMP_MASKED_EQ`.
    pub value: u64,
    /// The value the masked argument must equal, for `SCMP_CMP_MASKED_EQ`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value_two: u64,
    /// The comparison.
    pub op: LinuxSeccompOperator,
}

/// A kernel version `MAJOR.MINOR`, written as a string in profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    /// The major version.
    pub major: u32,
    /// The minor version.
    pub minor: u32,
}

impl KernelVersion {
    /// The version of a kernel release string such as `6.18.44-generic`.
    pub fn from_release(release: &str) -> Option<Self> {
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self { major, minor })
    }
}

impl FromStr for KernelVersion {
    type Err = ProfileError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || ProfileError::KernelVersion {
            text: text.to_owned(),
        };
        let (major, minor) = text.split_once('.').ok_or_else(err)?;
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            s.parse().map_err(|_| err())
        };
        Ok(Self {
            major: number(major)?,
            minor: number(minor)?,
        })
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for KernelVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KernelVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Profile {
    /// Reads a profile from docker's JSON. Unknown fields, `listenerPath`,
    /// `SCMP_ACT_NOTIFY` and rules without syscall names are refused.
    pub fn from_json(text: &str) -> Result<Self, ProfileError> {
        Self::from_slice(text.as_bytes())
    }

    /// [`Profile::from_json`] on bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ProfileError> {
        let raw: RawProfile =
            serde_json::from_slice(bytes).map_err(|cause| ProfileError::Parse { cause })?;
        raw.into_profile()
    }

    /// Docker's JSON for this profile.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a profile always serializes")
    }

    /// Checks what serde cannot: every rule names syscalls, errnos go with
    /// actions that return them, argument indexes exist, no notify action,
    /// not both `architectures` and `archMap`.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if !self.architectures.is_empty() && !self.arch_map.is_empty() {
            return Err(ProfileError::ArchitecturesAndArchMap);
        }
        if self.default_action == LinuxSeccompAction::ScmpActNotify {
            return Err(ProfileError::Notify {
                subject: "defaultAction".to_owned(),
            });
        }
        for (rule, call) in self.syscalls.iter().enumerate() {
            let Some(name) = call.names.first() else {
                return Err(ProfileError::NoNames { rule });
            };
            if call.names.iter().any(String::is_empty) {
                return Err(ProfileError::EmptyName { rule });
            }
            if call.action == LinuxSeccompAction::ScmpActNotify {
                return Err(ProfileError::Notify {
                    subject: format!("syscall rule {rule} ({name})"),
                });
            }
            let returns_errno = matches!(
                call.action,
                LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
            );
            if call.errno_ret.is_some() && !returns_errno {
                return Err(ProfileError::ErrnoRetWithoutErrno {
                    rule,
                    name: name.clone(),
                    action: call.action,
                });
            }
            if let Some(arg) = call.args.iter().find(|a| a.index >= MAX_SYSCALL_ARGS) {
                return Err(ProfileError::ArgIndex {
                    rule,
                    name: name.clone(),
                    index: arg.index,
                });
            }
        }
        Ok(())
    }
}

impl FromStr for Profile {
    type Err = ProfileError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_json(text)
    }
}

/// The profile as written, before the checks and the `name` → `names` step.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawProfile {
    default_action: LinuxSeccompAction,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_as_empty")]
    architectures: Vec<Arch>,
    #[serde(default, deserialize_with = "null_as_empty")]
    arch_map: Vec<ArchMapEntry>,
    #[serde(default, deserialize_with = "null_as_empty")]
    flags: Vec<LinuxSeccompFilterFlag>,
    #[serde(default)]
    listener_path: Option<String>,
    #[serde(default)]
    listener_metadata: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    syscalls: Vec<RawSyscall>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSyscall {
    #[serde(default, deserialize_with = "null_as_empty")]
    names: Vec<String>,
    #[serde(default)]
    name: Option<String>,
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_as_empty")]
    args: Vec<SyscallArg>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    includes: Condition,
    #[serde(default, deserialize_with = "null_as_default")]
    excludes: Condition,
}

impl RawProfile {
    fn into_profile(self) -> Result<Profile, ProfileError> {
        if let Some(path) = self.listener_path.filter(|p| !p.is_empty()) {
            return Err(ProfileError::ListenerPath { path });
        }
        if self.listener_metadata.is_some_and(|m| !m.is_empty()) {
            return Err(ProfileError::ListenerMetadata);
        }
        let mut syscalls = Vec::with_capacity(self.syscalls.len());
        for (rule, raw) in self.syscalls.into_iter().enumerate() {
            let mut names = raw.names;
            if let Some(name) = raw.name.filter(|n| !n.is_empty()) {
                if !names.is_empty() {
                    return Err(ProfileError::NameAndNames { rule, name });
                }
                names.push(name);
            }
            syscalls.push(SyscallRule {
                names,
                action: raw.action,
                errno_ret: raw.errno_ret,
                args: raw.args,
                comment: raw.comment.filter(|c| !c.is_empty()),
                includes: raw.includes,
                excludes: raw.excludes,
            });
        }
        let profile = Profile {
            default_action: self.default_action,
            default_errno_ret: self.default_errno_ret,
            architectures: self.architectures,
            arch_map: self.arch_map,
            flags: self.flags,
            syscalls,
        };
        profile.validate()?;
        Ok(profile)
    }
}

impl TryFrom<RawProfile> for Profile {
    type Error = ProfileError;

    fn try_from(raw: RawProfile) -> Result<Self, Self::Error> {
        raw.into_profile()
    }
}

/// Go's `null` slices: `null` reads as empty.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Docker writes an architecture without sub-architectures as `null`.
fn empty_as_null<S: Serializer>(arches: &[Arch], serializer: S) -> Result<S::Ok, S::Error> {
    if arches.is_empty() {
        serializer.serialize_none()
    } else {
        serializer.collect_seq(arches)
    }
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}
