//! The container's device allow-list, enforced by the kernel: which device
//! nodes its processes may open (read, write) or make (`mknod`), whatever
//! nodes a layer, a volume or `CAP_MKNOD` puts in front of them. Without
//! it, a character device shipped in an image (`kmsg`, c 1 11) would reach
//! the host's kernel.
//!
//! The rules are docker's: everything denied, then `mknod` of any node
//! (harmless without the right to open it) and the standard nodes (null,
//! zero, full, random, urandom, tty, console, ptmx, the ptys) and
//! `/dev/net/tun` (c 10:200), which docker allows by default (runc's
//! built-in list; removed in runc 1.2.0, back in 1.2.4 because users
//! depended on it). A Linux spec's rules (`linux.resources.devices`, then an
//! allow rule for each of `linux.devices`) come before docker's allow
//! rules, as runc orders them.
//!
//! On cgroup v1 they are the devices cgroup's `devices.deny` and
//! `devices.allow`; on cgroup v2 an eBPF program of type
//! `BPF_PROG_TYPE_CGROUP_DEVICE` attached to the container's cgroup
//! ([`bpf`]). The holder writes or loads them while the system's pid 1
//! builds the root, and puts them in force (pid 1 moved into the devices
//! cgroup, or the program attached) once the root is built, since building
//! it opens loop devices.

pub mod bpf;

use std::{
    fs::OpenOptions,
    io::{self, Write},
    path::Path,
};

use hcsrun_linux_spec::{DeviceRule, DeviceRuleKind, LinuxSpec};
use serde::{Deserialize, Serialize};

/// Access bits, as the kernel's `BPF_DEVCG_ACC_*`.
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;
pub const RWM: u8 = MKNOD | READ | WRITE;

/// Which devices a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    All,
    Char,
    Block,
}

/// One rule. `None` numbers match any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub allow: bool,
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

const fn allow(kind: Kind, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
    Rule {
        allow: true,
        kind,
        major,
        minor,
        access,
    }
}

const fn char_rwm(major: u32, minor: Option<u32>) -> Rule {
    allow(Kind::Char, Some(major), minor, RWM)
}

/// Everything denied: where every list starts.
pub const DENY_ALL: Rule = Rule {
    allow: false,
    kind: Kind::All,
    major: None,
    minor: None,
    access: RWM,
};

/// Docker's allow rules (runc's built-in list).
pub const DOCKER_ALLOWED: &[Rule] = &[
    allow(Kind::Char, None, None, MKNOD),
    allow(Kind::Block, None, None, MKNOD),
    char_rwm(1, Some(3)),    // null
    char_rwm(1, Some(5)),    // zero
    char_rwm(1, Some(7)),    // full
    char_rwm(1, Some(8)),    // random
    char_rwm(1, Some(9)),    // urandom
    char_rwm(5, Some(0)),    // tty
    char_rwm(5, Some(1)),    // console
    char_rwm(5, Some(2)),    // ptmx
    char_rwm(136, None),     // pts/*
    char_rwm(10, Some(200)), // net/tun
];

/// Docker's list: everything denied, then [`DOCKER_ALLOWED`].
pub fn docker_default() -> Vec<Rule> {
    std::iter::once(DENY_ALL)
        .chain(DOCKER_ALLOWED.iter().copied())
        .collect()
}

/// A Linux spec's list: everything denied, its own rules in order, then
/// docker's allow rules (runc appends its built-in list the same way).
pub fn of_spec(spec: &LinuxSpec) -> Result<Vec<Rule>, String> {
    let mut rules = vec![DENY_ALL];
    for (i, rule) in spec.device_rules().iter().enumerate() {
        rules.push(of_spec_rule(rule).map_err(|e| format!("device rule {i}: {e}"))?);
    }
    rules.extend_from_slice(DOCKER_ALLOWED);
    Ok(rules)
}

fn of_spec_rule(rule: &DeviceRule) -> Result<Rule, String> {
    let number = |n: Option<i64>| {
        n.map(|n| u32::try_from(n).map_err(|_| format!("device number {n} is out of range")))
            .transpose()
    };
    let a = rule.access;
    Ok(Rule {
        allow: rule.allow,
        kind: match rule.kind {
            DeviceRuleKind::All => Kind::All,
            DeviceRuleKind::Char => Kind::Char,
            DeviceRuleKind::Block => Kind::Block,
        },
        major: number(rule.major)?,
        minor: number(rule.minor)?,
        access: [(a.mknod, MKNOD), (a.read, READ), (a.write, WRITE)]
            .into_iter()
            .filter(|(on, _)| *on)
            .fold(0, |bits, (_, bit)| bits | bit),
    })
}

impl Rule {
    /// The rule as cgroup v1's `devices.allow`/`devices.deny` take it:
    /// `c 1:3 rwm`, `a *:* rwm`.
    pub fn v1_line(&self) -> String {
        let kind = match self.kind {
            Kind::All => 'a',
            Kind::Char => 'c',
            Kind::Block => 'b',
        };
        let number = |n: Option<u32>| n.map_or("*".to_owned(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!(
            "{kind} {}:{} {access}",
            number(self.major),
            number(self.minor)
        )
    }
}

/// Writes `rules` (which start with [`DENY_ALL`]) into the v1 devices
/// cgroup `dir`: `a` denied first, which also clears any earlier list,
/// then each rule to `devices.allow` or `devices.deny`, one write each.
pub fn write_v1(dir: &Path, rules: &[Rule]) -> io::Result<()> {
    let open = |name: &str| {
        let path = dir.join(name);
        OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    };
    let (mut allow, mut deny) = (open("devices.allow")?, open("devices.deny")?);
    deny.write_all(b"a")?;
    for rule in rules.iter().skip_while(|r| **r == DENY_ALL) {
        let file = if rule.allow { &mut allow } else { &mut deny };
        file.write_all(rule.v1_line().as_bytes()).map_err(|e| {
            io::Error::new(e.kind(), format!("device rule {:?}: {e}", rule.v1_line()))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_list_as_cgroup_v1_lines() {
        let lines: Vec<String> = docker_default().iter().map(Rule::v1_line).collect();
        assert_eq!(
            lines,
            [
                "a *:* rwm",
                "c *:* m",
                "b *:* m",
                "c 1:3 rwm",
                "c 1:5 rwm",
                "c 1:7 rwm",
                "c 1:8 rwm",
                "c 1:9 rwm",
                "c 5:0 rwm",
                "c 5:1 rwm",
                "c 5:2 rwm",
                "c 136:* rwm",
                "c 10:200 rwm",
            ]
        );
        assert!(!docker_default()[0].allow);
    }

    #[test]
    fn a_specs_rules_come_before_dockers() {
        let text = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"args": ["sh"], "cwd": "/"},
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "mount"}],
                "devices": [{"type": "c", "path": "/dev/kmsg", "major": 1, "minor": 11}],
                "resources": {"devices": [{"allow": false, "access": "rwm"},
                                          {"allow": true, "type": "b", "major": 7, "access": "r"}]}
            }
        });
        let spec = LinuxSpec::from_json(&text.to_string(), "/").unwrap();
        let lines: Vec<String> = of_spec(&spec)
            .unwrap()
            .iter()
            .map(Rule::v1_line)
            .take(5)
            .collect();
        assert_eq!(
            lines,
            ["a *:* rwm", "a *:* rwm", "b 7:* r", "c 1:11 rwm", "c *:* m"]
        );
    }
}
