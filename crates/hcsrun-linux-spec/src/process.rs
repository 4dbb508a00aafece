//! `process`: what the container's init (or an exec'd process) runs, as
//! whom, with which privileges and limits.

use std::{collections::HashSet, path::PathBuf};

use oci_spec::runtime::{LinuxCapabilities, PosixRlimitType, Process as OciProcess};

use crate::{
    caps::{cap_name, CapSet},
    error::{FieldResult, SpecFieldError},
    host::{lsm_label, HostProbe},
    paths,
};

/// A process, validated. `None` fields were absent from the spec: for the
/// init process they mean the defaults named on each field; for an exec'd
/// process, the container's init settings (as `runc exec` does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// The program and its arguments; never empty.
    pub args: Vec<String>,
    /// `NAME=value` entries, in order, each with a non-empty name.
    pub env: Vec<String>,
    /// The working directory: absolute, or empty for an exec'd process that
    /// keeps the init process's.
    pub cwd: PathBuf,
    /// A pseudo-terminal is the process's stdio.
    pub terminal: bool,
    /// The terminal's size.
    pub console_size: Option<ConsoleSize>,
    /// Who the process runs as.
    pub user: User,
    /// Capability sets. `None`: as runc, no set is changed (root keeps
    /// every capability).
    pub capabilities: Option<Capabilities>,
    /// Resource limits, one per kind. `None`: none is changed.
    pub rlimits: Option<Vec<Rlimit>>,
    /// `PR_SET_NO_NEW_PRIVS`. `None`: not set.
    pub no_new_privileges: Option<bool>,
    /// `/proc/self/oom_score_adj`, -1000 to 1000. `None`: inherited.
    /// Always `None` for an exec'd process.
    pub oom_score_adj: Option<i32>,
}

/// A terminal's size in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleSize {
    /// Rows.
    pub height: u64,
    /// Columns.
    pub width: u64,
}

/// The ids a process runs with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// User id (0 when the spec gives none).
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// The umask, 0 to 0o777; `None` keeps the runtime's (runc: 0o022).
    pub umask: Option<u32>,
    /// Supplementary groups, exactly these (no lookup in `/etc/group`).
    pub additional_gids: Vec<u32>,
}

/// The five capability sets. A set the spec leaves out is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The bounding set.
    pub bounding: CapSet,
    /// The effective set.
    pub effective: CapSet,
    /// The inheritable set.
    pub inheritable: CapSet,
    /// The permitted set.
    pub permitted: CapSet,
    /// The ambient set: only capabilities also permitted and inheritable,
    /// the ones the kernel can raise (the others are reported by
    /// [`LinuxSpec::warnings`](crate::LinuxSpec::warnings)).
    pub ambient: CapSet,
}

/// One resource limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    /// Which resource (`RLIMIT_NOFILE`, ...).
    pub kind: PosixRlimitType,
    /// The soft limit, at most `hard`.
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Which process is checked: exec'd processes may leave out the working
/// directory and may not set the container-wide OOM score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Init,
    Exec,
}

/// Checks `p`, found at `base` (`process`).
pub(crate) fn classify(
    p: &OciProcess,
    base: &str,
    role: Role,
    host: &dyn HostProbe,
    warnings: &mut Vec<String>,
) -> FieldResult<Process> {
    let field = |name: &str| format!("{base}.{name}");
    refuse_windows_and_scheduling(p, base)?;
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(SpecFieldError::new(
            field("args"),
            "required: a program to run",
        ));
    }
    let env = p.env().clone().unwrap_or_default();
    for (i, entry) in env.iter().enumerate() {
        match entry.split_once('=') {
            Some((name, _)) if !name.is_empty() => {}
            _ => {
                return Err(SpecFieldError::new(
                    format!("{base}.env[{i}]"),
                    format!("{entry:?} is not NAME=value"),
                ))
            }
        }
    }
    let cwd = p.cwd().clone();
    if !(role == Role::Exec && cwd.as_os_str().is_empty()) {
        paths::container_path(&field("cwd"), &cwd)?;
    }
    let terminal = p.terminal().unwrap_or(false);
    let console_size = p.console_size().map(|b| ConsoleSize {
        height: b.height(),
        width: b.width(),
    });
    if console_size.is_some() && !terminal {
        warnings.push(format!(
            "{}: no terminal is asked for, so there is no console to size",
            field("consoleSize")
        ));
    }
    let user = user(p, base)?;
    let capabilities = match p.capabilities() {
        Some(c) => Some(capabilities(c, &field("capabilities"), host, warnings)?),
        None => None,
    };
    let rlimits = match p.rlimits() {
        Some(r) => Some(rlimits(r, base)?),
        None => None,
    };
    let oom_score_adj = p.oom_score_adj();
    if let Some(adj) = oom_score_adj {
        if !(-1000..=1000).contains(&adj) {
            return Err(SpecFieldError::new(
                field("oomScoreAdj"),
                format!("{adj} is outside -1000..1000"),
            ));
        }
    }
    let apparmor = p.apparmor_profile().as_deref();
    lsm_label(
        &field("apparmorProfile"),
        apparmor,
        "AppArmor",
        host.apparmor_enforced(),
        warnings,
    )?;
    let selinux = p.selinux_label().as_deref();
    lsm_label(
        &field("selinuxLabel"),
        selinux,
        "SELinux",
        host.selinux_enforced(),
        warnings,
    )?;
    Ok(Process {
        args,
        env,
        cwd,
        terminal,
        console_size,
        user,
        capabilities,
        rlimits,
        no_new_privileges: p.no_new_privileges(),
        oom_score_adj,
    })
}

fn refuse_windows_and_scheduling(p: &OciProcess, base: &str) -> FieldResult<()> {
    let refused = [
        (
            p.command_line().is_some(),
            "commandLine",
            "a Windows command line; a Linux process gives args",
        ),
        (
            p.io_priority().is_some(),
            "ioPriority",
            "I/O priority classes",
        ),
        (p.scheduler().is_some(), "scheduler", "scheduling policies"),
        (
            p.exec_cpu_affinity().is_some(),
            "execCPUAffinity",
            "CPU affinity at exec",
        ),
    ];
    match refused.into_iter().find(|(present, ..)| *present) {
        Some((_, name, what)) => Err(SpecFieldError::unsupported(format!("{base}.{name}"), what)),
        None => Ok(()),
    }
}

fn user(p: &OciProcess, base: &str) -> FieldResult<User> {
    let u = p.user();
    if u.username().as_deref().is_some_and(|n| !n.is_empty()) {
        return Err(SpecFieldError::unsupported(
            format!("{base}.user.username"),
            "user names are Windows'; a Linux process gives uid and gid",
        ));
    }
    if let Some(umask) = u.umask() {
        if umask > 0o777 {
            return Err(SpecFieldError::new(
                format!("{base}.user.umask"),
                format!("{umask:#o} is more than 0o777"),
            ));
        }
    }
    Ok(User {
        uid: u.uid(),
        gid: u.gid(),
        umask: u.umask(),
        additional_gids: u.additional_gids().clone().unwrap_or_default(),
    })
}

fn capabilities(
    c: &LinuxCapabilities,
    base: &str,
    host: &dyn HostProbe,
    warnings: &mut Vec<String>,
) -> FieldResult<Capabilities> {
    let set = |name: &str, caps: &Option<HashSet<oci_spec::runtime::Capability>>| {
        let set: CapSet = caps.iter().flatten().copied().collect();
        match (set.highest(), host.last_capability()) {
            (Some(high), Some(last)) if high > last => {
                let cap = crate::caps::capability_of_number(high).map(cap_name);
                Err(SpecFieldError::new(
                    format!("{base}.{name}"),
                    format!(
                        "{} is not known to this kernel (its last capability is number {last})",
                        cap.unwrap_or_default()
                    ),
                ))
            }
            _ => Ok(set),
        }
    };
    let mut caps = Capabilities {
        bounding: set("bounding", c.bounding())?,
        effective: set("effective", c.effective())?,
        inheritable: set("inheritable", c.inheritable())?,
        permitted: set("permitted", c.permitted())?,
        ambient: set("ambient", c.ambient())?,
    };
    for cap in caps.ambient.iter() {
        if !(caps.permitted.contains(cap) && caps.inheritable.contains(cap)) {
            caps.ambient.remove(cap);
            warnings.push(format!(
                "{base}.ambient: {} is not raised: the kernel raises only capabilities that are \
                 also permitted and inheritable",
                cap_name(cap)
            ));
        }
    }
    Ok(caps)
}

fn rlimits(list: &[oci_spec::runtime::PosixRlimit], base: &str) -> FieldResult<Vec<Rlimit>> {
    let mut out: Vec<Rlimit> = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let field = format!("{base}.rlimits[{i}]");
        if r.soft() > r.hard() {
            return Err(SpecFieldError::new(
                field,
                format!("soft limit {} is above hard limit {}", r.soft(), r.hard()),
            ));
        }
        if out.iter().any(|o| o.kind == r.typ()) {
            return Err(SpecFieldError::new(
                field,
                format!("{} is given twice", r.typ()),
            ));
        }
        out.push(Rlimit {
            kind: r.typ(),
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
