//! Capabilities by number: the kernel's list (`linux/capability.h`), as
//! sets the service hands to `capset` and `prctl` unchanged.

use std::fmt;

pub use oci_spec::runtime::Capability;
use Capability::*;

/// Every capability oci-spec names, at its kernel number.
const NUMBERED: [Capability; 41] = [
    Chown,             // 0
    DacOverride,       // 1
    DacReadSearch,     // 2
    Fowner,            // 3
    Fsetid,            // 4
    Kill,              // 5
    Setgid,            // 6
    Setuid,            // 7
    Setpcap,           // 8
    LinuxImmutable,    // 9
    NetBindService,    // 10
    NetBroadcast,      // 11
    NetAdmin,          // 12
    NetRaw,            // 13
    IpcLock,           // 14
    IpcOwner,          // 15
    SysModule,         // 16
    SysRawio,          // 17
    SysChroot,         // 18
    SysPtrace,         // 19
    SysPacct,          // 20
    SysAdmin,          // 21
    SysBoot,           // 22
    SysNice,           // 23
    SysResource,       // 24
    SysTime,           // 25
    SysTtyConfig,      // 26
    Mknod,             // 27
    Lease,             // 28
    AuditWrite,        // 29
    AuditControl,      // 30
    Setfcap,           // 31
    MacOverride,       // 32
    MacAdmin,          // 33
    Syslog,            // 34
    WakeAlarm,         // 35
    BlockSuspend,      // 36
    AuditRead,         // 37
    Perfmon,           // 38
    Bpf,               // 39
    CheckpointRestore, // 40
];

/// The kernel's number for `cap` (`CAP_CHOWN` is 0).
pub fn capability_number(cap: Capability) -> u8 {
    NUMBERED
        .iter()
        .position(|c| *c == cap)
        .expect("every oci-spec capability is numbered") as u8
}

/// The capability the kernel numbers `n`, if oci-spec names it.
pub fn capability_of_number(n: u8) -> Option<Capability> {
    NUMBERED.get(usize::from(n)).copied()
}

/// A set of capabilities as the kernel's bit mask (bit N is capability N).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CapSet(u64);

impl CapSet {
    /// No capability.
    pub const EMPTY: CapSet = CapSet(0);

    /// The mask: bit N set for capability N.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// Whether `cap` is in the set.
    pub fn contains(self, cap: Capability) -> bool {
        self.0 & (1 << capability_number(cap)) != 0
    }

    /// Adds `cap`.
    pub fn insert(&mut self, cap: Capability) {
        self.0 |= 1 << capability_number(cap);
    }

    /// Removes `cap`.
    pub fn remove(&mut self, cap: Capability) {
        self.0 &= !(1 << capability_number(cap));
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The capabilities in the set, by number.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        NUMBERED.into_iter().filter(move |c| self.contains(*c))
    }

    /// The highest number in the set.
    pub fn highest(self) -> Option<u8> {
        (self.0 != 0).then(|| 63 - self.0.leading_zeros() as u8)
    }
}

impl FromIterator<Capability> for CapSet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = CapSet::EMPTY;
        for cap in iter {
            set.insert(cap);
        }
        set
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(cap_name)).finish()
    }
}

/// `CAP_CHOWN` and so on, as the spec writes them.
pub fn cap_name(cap: Capability) -> String {
    serde_json::to_value(cap)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Orders the capability lists of a process's JSON by number, so that the
/// text does not depend on the order a hash set yields them in.
pub(crate) fn sort_capabilities(process: &mut serde_json::Value) {
    let Some(serde_json::Value::Object(sets)) = process.get_mut("capabilities") else {
        return;
    };
    for list in sets.values_mut() {
        if let serde_json::Value::Array(items) = list {
            items.sort_by_key(|v| {
                serde_json::from_value::<Capability>(v.clone()).map_or(u8::MAX, capability_number)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashSet, fs};

    use super::*;

    #[test]
    fn numbers_are_a_bijection() {
        let distinct: HashSet<_> = NUMBERED.iter().collect();
        assert_eq!(distinct.len(), NUMBERED.len());
        for (n, cap) in NUMBERED.iter().enumerate() {
            assert_eq!(usize::from(capability_number(*cap)), n);
            assert_eq!(capability_of_number(n as u8), Some(*cap));
        }
        assert_eq!(capability_of_number(41), None);
    }

    /// Checked against the kernel's own header where it is installed.
    #[test]
    fn numbers_match_the_kernel_header() {
        let Ok(header) = fs::read_to_string("/usr/include/linux/capability.h") else {
            eprintln!("SKIPPED: no /usr/include/linux/capability.h");
            return;
        };
        let mut checked = 0;
        for line in header.lines() {
            let mut words = line.split_whitespace();
            let (Some("#define"), Some(name), Some(value)) =
                (words.next(), words.next(), words.next())
            else {
                continue;
            };
            let (Some(_), Ok(n)) = (name.strip_prefix("CAP_"), value.parse::<u8>()) else {
                continue;
            };
            if name == "CAP_LAST_CAP" {
                continue;
            }
            let cap: Capability = serde_json::from_value(name.into()).unwrap();
            assert_eq!(capability_number(cap), n, "{name}");
            checked += 1;
        }
        assert_eq!(checked, NUMBERED.len());
    }

    #[test]
    fn sets_are_masks() {
        let set: CapSet = [Kill, Chown, CheckpointRestore].into_iter().collect();
        assert_eq!(set.bits(), 1 | 1 << 5 | 1 << 40);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Chown, Kill, CheckpointRestore]
        );
        assert_eq!(set.highest(), Some(40));
        assert_eq!(CapSet::EMPTY.highest(), None);
        assert_eq!(
            format!("{set:?}"),
            r#"{"CAP_CHOWN", "CAP_KILL", "CAP_CHECKPOINT_RESTORE"}"#
        );
    }
}
