//! What a spec's validity depends on about the host: which Linux security
//! modules it enforces, its cgroup version, and its kernel's capabilities.

use std::{fs, path::Path};

use crate::error::{FieldResult, SpecFieldError};

/// The facts about a host that decide whether a spec is accepted. The
/// running machine is [`ThisHost`]; [`KnownHost`] states them, for tests
/// or for judging a spec meant for another host.
pub trait HostProbe {
    /// AppArmor is enabled (`/sys/module/apparmor/parameters/enabled` is
    /// `Y`).
    fn apparmor_enforced(&self) -> bool;
    /// SELinux is enforcing (`/sys/fs/selinux/enforce` is `1`).
    fn selinux_enforced(&self) -> bool;
    /// The cgroup hierarchy is cgroup v2 only (`/sys/fs/cgroup` is the
    /// unified hierarchy).
    fn cgroup2(&self) -> bool;
    /// The kernel's highest capability number
    /// (`/proc/sys/kernel/cap_last_cap`), when known.
    fn last_capability(&self) -> Option<u8>;
}

/// The machine this runs on, read from `/sys` and `/proc` at each call.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThisHost;

impl HostProbe for ThisHost {
    fn apparmor_enforced(&self) -> bool {
        read_trimmed("/sys/module/apparmor/parameters/enabled").is_some_and(|s| s == "Y")
    }

    fn selinux_enforced(&self) -> bool {
        read_trimmed("/sys/fs/selinux/enforce").is_some_and(|s| s == "1")
    }

    fn cgroup2(&self) -> bool {
        Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
    }

    fn last_capability(&self) -> Option<u8> {
        read_trimmed("/proc/sys/kernel/cap_last_cap")?.parse().ok()
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// A host described by its facts. The default enforces no security module,
/// uses cgroup v1 and knows every capability oci-spec names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KnownHost {
    /// AppArmor is enabled.
    pub apparmor: bool,
    /// SELinux is enforcing.
    pub selinux: bool,
    /// cgroup v2 only.
    pub cgroup2: bool,
    /// The kernel's highest capability number; `None` accepts every
    /// capability oci-spec knows.
    pub last_capability: Option<u8>,
}

impl KnownHost {
    /// The facts `probe` reports now.
    pub fn of(probe: &dyn HostProbe) -> Self {
        Self {
            apparmor: probe.apparmor_enforced(),
            selinux: probe.selinux_enforced(),
            cgroup2: probe.cgroup2(),
            last_capability: probe.last_capability(),
        }
    }
}

impl HostProbe for KnownHost {
    fn apparmor_enforced(&self) -> bool {
        self.apparmor
    }
    fn selinux_enforced(&self) -> bool {
        self.selinux
    }
    fn cgroup2(&self) -> bool {
        self.cgroup2
    }
    fn last_capability(&self) -> Option<u8> {
        self.last_capability
    }
}

/// A security module's label in `field`: refused where the module is
/// enforced (hcsrun applies no labels), otherwise accepted with a warning,
/// as runc ignores it then.
pub(crate) fn lsm_label(
    field: &str,
    label: Option<&str>,
    module: &str,
    enforced: bool,
    warnings: &mut Vec<String>,
) -> FieldResult<()> {
    match label {
        None | Some("") => Ok(()),
        Some(_) if enforced => Err(SpecFieldError::unsupported(
            field,
            format!("{module} is enforced on this host, and hcsrun applies no {module} labels"),
        )),
        Some(label) => {
            warnings.push(format!(
                "{field}: {label:?} is not applied: {module} is not enforced on this host"
            ));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_refused_only_where_enforced() {
        let mut w = Vec::new();
        lsm_label("process.apparmorProfile", None, "AppArmor", true, &mut w).unwrap();
        lsm_label(
            "process.apparmorProfile",
            Some(""),
            "AppArmor",
            true,
            &mut w,
        )
        .unwrap();
        assert!(w.is_empty());
        let e = lsm_label("linux.mountLabel", Some("x"), "SELinux", true, &mut w).unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.mountLabel: not supported by hcsrun \
             (SELinux is enforced on this host, and hcsrun applies no SELinux labels)"
        );
        lsm_label("linux.mountLabel", Some("x"), "SELinux", false, &mut w).unwrap();
        assert_eq!(
            w,
            [r#"linux.mountLabel: "x" is not applied: SELinux is not enforced on this host"#]
        );
    }

    #[test]
    fn this_host_answers() {
        let known = KnownHost::of(&ThisHost);
        if Path::new("/proc/sys/kernel/cap_last_cap").exists() {
            assert!(known.last_capability.is_some_and(|n| n >= 36));
        }
    }
}
