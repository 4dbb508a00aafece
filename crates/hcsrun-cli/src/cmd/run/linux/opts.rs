//! The values of docker's Linux options (`--security-opt`, `--ulimit`,
//! `--device`, `--tmpfs`, `--sysctl`, `--memory-swap`), read as docker
//! reads them and refused with docker's words: each parser is a clap value
//! parser, so a bad value is a usage error (one line, exit 125) before
//! anything else happens.

use std::path::Path;

use hcsrun::translate::read_document;
use hcsrun_seccomp::Profile;

use crate::cmd::run::parse::parse_size;

/// One `--security-opt`.
#[derive(Clone, Debug, PartialEq)]
pub enum SecurityOpt {
    /// `seccomp=unconfined|builtin|PATH`.
    Seccomp(Seccomp),
    /// `no-new-privileges[=BOOL]`.
    NoNewPrivileges(bool),
    /// `systempaths=unconfined`: no masked or read-only paths.
    UnconfinedSystemPaths,
    /// `writable-cgroups=BOOL`.
    WritableCgroups(bool),
    /// `apparmor=unconfined` or `label=disable`: what hcsrun does anyway
    /// (it applies no AppArmor profile and no SELinux label).
    NoLabel,
}

/// Which seccomp filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Seccomp {
    /// docker's default profile (`builtin`).
    Default,
    /// No filter.
    Unconfined,
    /// A profile in docker's format, read from a file.
    Profile(Box<Profile>),
}

/// `--security-opt`, as docker's CLI and daemon read it: `KEY=VALUE`
/// (docker's older `KEY:VALUE` too), or `no-new-privileges` alone.
pub fn parse_security_opt(text: &str) -> Result<SecurityOpt, String> {
    let invalid = || format!("Invalid --security-opt: {text:?}");
    if text == "no-new-privileges" {
        return Ok(SecurityOpt::NoNewPrivileges(true));
    }
    let (key, value) = text
        .split_once('=')
        .or_else(|| text.split_once(':'))
        .filter(|(_, v)| !v.is_empty())
        .ok_or_else(invalid)?;
    Ok(match key {
        "seccomp" => SecurityOpt::Seccomp(match value {
            "unconfined" => Seccomp::Unconfined,
            "builtin" => Seccomp::Default,
            path => Seccomp::Profile(Box::new(read_profile(path)?)),
        }),
        "no-new-privileges" => SecurityOpt::NoNewPrivileges(parse_bool(value).ok_or_else(invalid)?),
        "writable-cgroups" => SecurityOpt::WritableCgroups(parse_bool(value).ok_or_else(invalid)?),
        "systempaths" if value == "unconfined" => SecurityOpt::UnconfinedSystemPaths,
        "apparmor" if value == "unconfined" => SecurityOpt::NoLabel,
        "label" if value == "disable" => SecurityOpt::NoLabel,
        "apparmor" => {
            return Err(format!(
                "--security-opt {text}: hcsrun applies no AppArmor profiles (only \
                 apparmor=unconfined, what it does anyway)"
            ))
        }
        "label" => {
            return Err(format!(
                "--security-opt {text}: hcsrun applies no SELinux labels (only label=disable, \
                 what it does anyway)"
            ))
        }
        _ => return Err(invalid()),
    })
}

/// Go's `strconv.ParseBool`, which docker uses.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A seccomp profile in docker's format, from a file (read up to the
/// 16 MiB any document may have).
fn read_profile(path: &str) -> Result<Profile, String> {
    let text = read_document(Path::new(path))
        .map_err(|e| format!("opening seccomp profile ({path}) failed: {e}"))?;
    Profile::from_json(&text).map_err(|e| format!("seccomp profile {path}: {e}"))
}

/// One `--ulimit NAME=SOFT[:HARD]`: the OCI rlimit type and its limits,
/// `u64::MAX` for unlimited (`-1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ulimit {
    /// `nofile`, ... as given.
    pub name: String,
    /// `RLIMIT_NOFILE`, ...
    pub kind: String,
    pub soft: u64,
    pub hard: u64,
}

/// The names docker's `--ulimit` takes (go-units' list).
const ULIMITS: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `--ulimit`, as docker reads it: one value is both limits; `-1` is
/// unlimited; the soft limit is at most the hard one.
pub fn parse_ulimit(text: &str) -> Result<Ulimit, String> {
    let (name, values) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {text}"))?;
    if !ULIMITS.contains(&name) {
        return Err(format!(
            "invalid ulimit type: {name} (one of {})",
            ULIMITS.join(", ")
        ));
    }
    let value = |v: &str| match v.parse::<i64>() {
        Ok(-1) => Ok(u64::MAX),
        Ok(n) if n >= 0 => Ok(n as u64),
        _ => Err(format!(
            "invalid ulimit value {v:?} in {text}: a number, or -1 for unlimited"
        )),
    };
    let parts: Vec<&str> = values.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [one] => (value(one)?, value(one)?),
        [soft, hard] => (value(soft)?, value(hard)?),
        _ => {
            return Err(format!(
                "too many limit value arguments - {values}, can only have up to two, `soft[:hard]`"
            ))
        }
    };
    if soft > hard {
        let show = |n: u64| {
            if n == u64::MAX {
                "-1".to_owned()
            } else {
                n.to_string()
            }
        };
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {} > {}",
            show(soft),
            show(hard)
        ));
    }
    Ok(Ulimit {
        name: name.to_owned(),
        kind: format!("RLIMIT_{}", name.to_ascii_uppercase()),
        soft,
        hard,
    })
}

/// One `--device HOST[:CONTAINER][:PERMS]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceMapping {
    pub host: String,
    pub container: String,
    /// Some of `r`, `w`, `m`, each once.
    pub permissions: String,
}

/// `--device`, as docker's CLI reads it: the container path defaults to
/// the host's, the permissions to `rwm`; a second part that is valid
/// permissions is the permissions.
pub fn parse_device(text: &str) -> Result<DeviceMapping, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let bad = || format!("bad format for path: {text}");
    if parts.len() > 3 || parts[0].is_empty() {
        return Err(bad());
    }
    let (container, permissions) = match parts.as_slice() {
        [_] => (parts[0], "rwm"),
        [_, second] if valid_device_mode(second) => (parts[0], *second),
        [_, second] => (*second, "rwm"),
        [_, second, mode] if valid_device_mode(mode) => (*second, *mode),
        [_, _, mode] => return Err(format!("bad mode specified: {mode}")),
        _ => return Err(bad()),
    };
    if !container.starts_with('/') {
        return Err(format!("{container} is not an absolute path"));
    }
    Ok(DeviceMapping {
        host: parts[0].to_owned(),
        container: super::super::volume::normalize(container),
        permissions: permissions.to_owned(),
    })
}

/// `r`, `w` and `m`, each at most once, at least one.
fn valid_device_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
        && ['r', 'w', 'm']
            .iter()
            .all(|c| mode.chars().filter(|m| m == c).count() <= 1)
}

/// One `--tmpfs PATH[:OPTIONS]`, its options merged with docker's
/// defaults (`noexec`, `nosuid`, `nodev`, `rprivate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tmpfs {
    pub destination: String,
    pub options: Vec<String>,
}

/// `--tmpfs`: an absolute path other than `/`, and mount options docker
/// takes for a tmpfs (flags, `size`, `mode`, `uid`, `gid`, `nr_inodes`,
/// `nr_blocks`, `mpol`), a later one overriding an earlier one of its kind.
pub fn parse_tmpfs(text: &str) -> Result<Tmpfs, String> {
    let (destination, data) = text.split_once(':').unwrap_or((text, ""));
    if !destination.starts_with('/') {
        return Err(format!(
            "invalid mount path: '{destination}' mount path must be absolute"
        ));
    }
    if let Err(why) = super::super::volume::check_destination(destination) {
        return Err(format!("--tmpfs {text}: {why}"));
    }
    let mut options = vec!["noexec", "nosuid", "nodev", "rprivate"];
    options.extend(data.split(',').filter(|o| !o.is_empty()));
    Ok(Tmpfs {
        destination: super::super::volume::normalize(destination),
        options: merge_tmpfs_options(&options)?,
    })
}

/// The flags a tmpfs option may be, by what they set: a later flag of a
/// kind replaces an earlier one (`exec` after the default `noexec`).
const TMPFS_FLAGS: [(&str, &[&str]); 10] = [
    ("ro", &["ro", "rw"]),
    ("exec", &["exec", "noexec"]),
    ("suid", &["suid", "nosuid"]),
    ("dev", &["dev", "nodev"]),
    ("sync", &["sync", "async"]),
    ("dirsync", &["dirsync"]),
    (
        "atime",
        &[
            "atime",
            "noatime",
            "relatime",
            "norelatime",
            "strictatime",
            "nostrictatime",
        ],
    ),
    ("diratime", &["diratime", "nodiratime"]),
    (
        "propagation",
        &[
            "private",
            "rprivate",
            "shared",
            "rshared",
            "slave",
            "rslave",
            "unbindable",
            "runbindable",
        ],
    ),
    ("mand", &["mand", "nomand"]),
];

/// The data options docker takes for a tmpfs.
const TMPFS_DATA: [&str; 7] = [
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// docker's `MergeTmpfsOptions`: the last option of each kind wins, in
/// the order the survivors were given.
fn merge_tmpfs_options(options: &[&str]) -> Result<Vec<String>, String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    for option in options.iter().rev() {
        if *option == "defaults" {
            continue;
        }
        let kind = match TMPFS_FLAGS.iter().find(|(_, names)| names.contains(option)) {
            Some((kind, _)) => *kind,
            None => match option.split_once('=') {
                Some((key, _)) if TMPFS_DATA.contains(&key) => key,
                _ => return Err(format!("invalid tmpfs option {option:?}")),
            },
        };
        if !seen.contains(&kind) {
            seen.push(kind);
            kept.insert(0, (*option).to_owned());
        }
    }
    Ok(kept)
}

/// `--sysctl KEY=VALUE`: a namespaced key, as docker allows them (`net.*`,
/// `fs.mqueue.*`, the IPC keys).
pub fn parse_sysctl(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        // Those of the network and IPC namespaces (docker refuses the UTS
        // ones, which --hostname and --domainname set).
        Some((key, value))
            if matches!(
                hcsrun_linux_spec::sysctl_namespace(key),
                Some("network" | "ipc")
            ) =>
        {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "sysctl '{text}' is not allowed: only namespaced keys (net.*, fs.mqueue.*, the IPC \
             kernel.msg*/sem/shm* keys) as KEY=VALUE"
        )),
    }
}

/// `--memory-swap`: memory plus swap, or unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Swap {
    /// `-1`.
    Unlimited,
    /// Bytes of memory and swap together.
    Limit(u64),
}

/// `--memory-swap SIZE` or `-1`, as docker reads it (`0` leaves it unset).
pub fn parse_memory_swap(text: &str) -> Result<Swap, String> {
    if text.trim() == "-1" {
        return Ok(Swap::Unlimited);
    }
    parse_size(text).map(Swap::Limit)
}

#[cfg(test)]
#[path = "opts_tests.rs"]
mod tests;
