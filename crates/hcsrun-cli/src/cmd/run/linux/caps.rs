//! The container's capabilities, as docker decides them: its default
//! set, `--cap-add` and `--cap-drop` (names with or without `CAP_`, any
//! case, `ALL`), and `--privileged` (every capability there is to give:
//! the kernel's that hcsrun itself may hold, its bounding set, as moby's
//! `GetAllCapabilities` takes "the capabilities available in the current
//! environment").

use hcsrun_linux_spec::{capability_of_number, CapSet, Capability};

/// docker's default capabilities (moby's `caps.DefaultCapabilities`).
pub const DOCKER_DEFAULT: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// A name of `--cap-add`/`--cap-drop`, read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Name {
    All,
    One(Capability),
}

/// `chown`, `CAP_CHOWN`, `Cap_Chown`, or `ALL`; a capability this kernel
/// does not have (above `cap_last_cap`) is unknown, as to the kernel.
fn read(name: &str, last_cap: u8) -> Result<Name, String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(Name::All);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    serde_json::from_value::<Capability>(serde_json::Value::String(full.clone()))
        .ok()
        .filter(|cap| hcsrun_linux_spec::capability_number(*cap) <= last_cap)
        .map(Name::One)
        .ok_or_else(|| format!("unknown capability: {full:?}"))
}

/// What `ALL` and `--privileged` give: the capabilities of `available`
/// this kernel has.
pub fn all(last_cap: u8, available: CapSet) -> CapSet {
    (0..=last_cap)
        .filter_map(capability_of_number)
        .filter(|c| available.contains(*c))
        .collect()
}

/// The capabilities of a container, as docker's `TweakCapabilities`:
/// privileged gets all (of `available`); `ALL` added gives all but those
/// dropped; `ALL` dropped gives only those added; otherwise the defaults
/// less those dropped, plus those added.
pub fn tweak(
    adds: &[String],
    drops: &[String],
    privileged: bool,
    last_cap: u8,
    available: CapSet,
) -> Result<CapSet, String> {
    if privileged {
        return Ok(all(last_cap, available));
    }
    let adds = adds
        .iter()
        .map(|n| read(n, last_cap))
        .collect::<Result<Vec<_>, _>>()?;
    let drops = drops
        .iter()
        .map(|n| read(n, last_cap))
        .collect::<Result<Vec<_>, _>>()?;
    let named = |list: &[Name]| -> CapSet {
        list.iter()
            .filter_map(|n| match n {
                Name::One(cap) => Some(*cap),
                Name::All => None,
            })
            .collect()
    };
    let (added, dropped) = (named(&adds), named(&drops));
    let mut caps = if adds.contains(&Name::All) {
        all(last_cap, available)
    } else if drops.contains(&Name::All) {
        return Ok(added);
    } else {
        let mut caps: CapSet = DOCKER_DEFAULT.into_iter().collect();
        for cap in added.iter() {
            caps.insert(cap);
        }
        // Dropped from the defaults; what is added again stays.
        for cap in dropped.iter().filter(|c| !added.contains(*c)) {
            caps.remove(cap);
        }
        return Ok(caps);
    };
    for cap in dropped.iter() {
        caps.remove(cap);
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: CapSet) -> Vec<String> {
        set.iter().map(hcsrun_linux_spec::cap_name).collect()
    }

    fn s(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Every capability oci-spec knows.
    fn every() -> CapSet {
        (0..=40).filter_map(capability_of_number).collect()
    }

    fn tweak(
        adds: &[String],
        drops: &[String],
        privileged: bool,
        last: u8,
    ) -> Result<CapSet, String> {
        super::tweak(adds, drops, privileged, last, every())
    }

    #[test]
    fn defaults_are_dockers_fourteen() {
        let caps = tweak(&[], &[], false, 40).unwrap();
        assert_eq!(caps.bits(), 0xa80425fb);
        assert_eq!(names(caps).len(), 14);
    }

    #[test]
    fn names_with_or_without_cap_in_any_case() {
        let caps = tweak(
            &s(&["net_admin", "CAP_SYS_TIME"]),
            &s(&["Chown"]),
            false,
            40,
        )
        .unwrap();
        assert!(caps.contains(Capability::NetAdmin));
        assert!(caps.contains(Capability::SysTime));
        assert!(!caps.contains(Capability::Chown));
        assert_eq!(
            tweak(&s(&["NOPE"]), &[], false, 40),
            Err(r#"unknown capability: "CAP_NOPE""#.to_owned())
        );
        // Known to oci-spec, but above this kernel's last capability.
        assert_eq!(
            tweak(&s(&["checkpoint_restore"]), &[], false, 39),
            Err(r#"unknown capability: "CAP_CHECKPOINT_RESTORE""#.to_owned())
        );
    }

    #[test]
    fn all_as_docker_reads_it() {
        assert_eq!(tweak(&s(&["ALL"]), &[], false, 40).unwrap(), every());
        let caps = tweak(&s(&["all"]), &s(&["sys_admin"]), false, 40).unwrap();
        assert_eq!(caps.iter().count(), 40);
        assert!(!caps.contains(Capability::SysAdmin));
        let caps = tweak(&s(&["kill", "chown"]), &s(&["ALL"]), false, 40).unwrap();
        assert_eq!(names(caps), ["CAP_CHOWN", "CAP_KILL"]);
        assert_eq!(tweak(&[], &s(&["ALL"]), false, 40).unwrap(), CapSet::EMPTY);
        // Added and dropped: docker drops from the defaults, then adds.
        let caps = tweak(&s(&["chown"]), &s(&["chown"]), false, 40).unwrap();
        assert!(caps.contains(Capability::Chown));
    }

    #[test]
    fn privileged_is_every_capability_there_is_to_give() {
        assert_eq!(
            tweak(&[], &s(&["ALL"]), true, 40).unwrap().iter().count(),
            41
        );
        assert_eq!(all(37, every()).highest(), Some(37));
        // Not one that hcsrun's own bounding set lacks.
        let mut available = every();
        available.remove(Capability::SysResource);
        let caps = super::tweak(&[], &[], true, 40, available).unwrap();
        assert_eq!(caps.iter().count(), 40);
        assert!(!caps.contains(Capability::SysResource));
        let caps = super::tweak(&s(&["ALL"]), &s(&["kill"]), false, 40, available).unwrap();
        assert_eq!(caps.iter().count(), 39);
    }
}
