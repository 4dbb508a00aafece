//! `linux.resources`: the cgroup limits hcsrun applies, with the spec's
//! "zero means unset" and "-1 means unlimited" conventions read once here.

use std::collections::BTreeMap;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory, LinuxResources,
    LinuxThrottleDevice,
};

use crate::error::{FieldResult, SpecFieldError};

/// The limits of the container's cgroup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Memory.
    pub memory: Memory,
    /// CPU.
    pub cpu: Cpu,
    /// Most tasks at once (`pids.max`). `None`: not set.
    pub pids_limit: Option<Limit>,
    /// The device rules, in order (later rules override earlier ones).
    pub devices: Vec<DeviceRule>,
    /// Block I/O.
    pub block_io: BlockIo,
    /// cgroup v2 files and their values (`unified`), on a cgroup v2 host.
    pub unified: BTreeMap<String, String>,
}

/// A limit that may be lifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// No limit (`-1`; `max` on cgroup v2).
    Unlimited,
    /// At most this much.
    Max(u64),
}

/// `linux.resources.memory`; `None` leaves the default. Bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// `memory.limit_in_bytes` / `memory.max`.
    pub limit: Option<Limit>,
    /// `memory.soft_limit_in_bytes` / `memory.low`.
    pub reservation: Option<Limit>,
    /// Memory plus swap (`memory.memsw.limit_in_bytes`; on v2 the swap part,
    /// `swap - limit`, goes to `memory.swap.max`); at least `limit`.
    pub swap: Option<Limit>,
    /// 0 to 100.
    pub swappiness: Option<u64>,
    /// `memory.oom_control` = 1.
    pub disable_oom_killer: bool,
}

/// `linux.resources.cpu`; `None` leaves the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cpu {
    /// `cpu.shares`, 2 to 262144 (on v2 converted to `cpu.weight`).
    pub shares: Option<u64>,
    /// Microseconds per period (`cpu.cfs_quota_us`), at least 1000.
    pub quota: Option<Limit>,
    /// Microseconds (`cpu.cfs_period_us`), 1000 to 1000000.
    pub period: Option<u64>,
    /// `cpuset.cpus`, as `0-3,6`.
    pub cpus: Option<String>,
    /// `cpuset.mems`, as `0-1`.
    pub mems: Option<String>,
}

/// One rule of the device cgroup (its v2 eBPF equivalent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    /// Allow, or deny.
    pub allow: bool,
    /// Which devices.
    pub kind: DeviceRuleKind,
    /// The major number; `None` is any.
    pub major: Option<i64>,
    /// The minor number; `None` is any.
    pub minor: Option<i64>,
    /// What access; a rule that names none means all three (`rwm`).
    pub access: DeviceAccess,
}

/// The devices a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRuleKind {
    /// Every device (`a`).
    All,
    /// Character devices (`c`).
    Char,
    /// Block devices (`b`).
    Block,
}

/// Device access: `r`, `w`, `m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceAccess {
    /// Read.
    pub read: bool,
    /// Write.
    pub write: bool,
    /// Make the node (`mknod`).
    pub mknod: bool,
}

/// `linux.resources.blockIO`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockIo {
    /// 10 to 1000.
    pub weight: Option<u16>,
    /// Per-device weights.
    pub weight_devices: Vec<DeviceValue>,
    /// Bytes per second read, per device.
    pub throttle_read_bps: Vec<DeviceValue>,
    /// Bytes per second written, per device.
    pub throttle_write_bps: Vec<DeviceValue>,
    /// Reads per second, per device.
    pub throttle_read_iops: Vec<DeviceValue>,
    /// Writes per second, per device.
    pub throttle_write_iops: Vec<DeviceValue>,
}

/// A value for one block device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceValue {
    /// Major number.
    pub major: i64,
    /// Minor number.
    pub minor: i64,
    /// The weight or rate.
    pub value: u64,
}

const BASE: &str = "linux.resources";

/// Whether a `linux.resources` field asks for nothing: absent, empty, or
/// all zeros (docker sends `"blockIO": {"weight": 0}` when no weight was
/// asked for; runc reads 0 as unset). What an update may pass over.
pub fn asks_nothing(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(asks_nothing),
        Value::Bool(_) | Value::String(_) => false,
    }
}

/// Reads `linux.resources`; `cgroup2` says whether `unified` can apply.
pub(crate) fn classify(r: &LinuxResources, cgroup2: bool) -> FieldResult<Resources> {
    let unsupported =
        |name: &str, what: &str| Err(SpecFieldError::unsupported(format!("{BASE}.{name}"), what));
    if r.hugepage_limits().as_ref().is_some_and(|l| !l.is_empty()) {
        return unsupported("hugepageLimits", "hugepage limits");
    }
    if r.network().as_ref().is_some_and(|n| {
        n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty())
    }) {
        return unsupported("network", "net_cls classes and net_prio priorities");
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return unsupported("rdma", "RDMA limits");
    }
    let unified: BTreeMap<String, String> = r
        .unified()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    if !unified.is_empty() && !cgroup2 {
        return unsupported("unified", "cgroup v2 files on this cgroup v1 host");
    }
    for key in unified.keys() {
        let field = format!("{BASE}.unified.{key}");
        if key.contains('/') || !key.contains('.') || key.starts_with('.') {
            return Err(SpecFieldError::new(field, "not a cgroup file name"));
        }
        if key.starts_with("cgroup.") {
            return Err(SpecFieldError::unsupported(
                field,
                "the service manages the cgroup's own files",
            ));
        }
    }
    Ok(Resources {
        memory: r
            .memory()
            .as_ref()
            .map(memory)
            .transpose()?
            .unwrap_or_default(),
        cpu: r.cpu().as_ref().map(cpu).transpose()?.unwrap_or_default(),
        pids_limit: r.pids().as_ref().and_then(|p| match p.limit() {
            0 => None,
            n if n < 0 => Some(Limit::Unlimited),
            n => Some(Limit::Max(n as u64)),
        }),
        devices: r
            .devices()
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, d)| device_rule(i, d))
            .collect::<FieldResult<_>>()?,
        block_io: r
            .block_io()
            .as_ref()
            .map(block_io)
            .transpose()?
            .unwrap_or_default(),
        unified,
    })
}

/// A byte count where 0 is unset and -1 unlimited.
fn limit(field: &str, value: Option<i64>) -> FieldResult<Option<Limit>> {
    match value {
        None | Some(0) => Ok(None),
        Some(-1) => Ok(Some(Limit::Unlimited)),
        Some(n) if n > 0 => Ok(Some(Limit::Max(n as u64))),
        Some(n) => Err(SpecFieldError::new(
            field,
            format!("{n}: a limit is positive, or -1 for none"),
        )),
    }
}

fn memory(m: &LinuxMemory) -> FieldResult<Memory> {
    let field = |name: &str| format!("{BASE}.memory.{name}");
    let refused = [
        (
            m.kernel().is_some(),
            "kernel",
            "kernel memory limits, which Linux no longer enforces",
        ),
        (
            m.kernel_tcp().is_some(),
            "kernelTCP",
            "kernel TCP buffer limits",
        ),
        (
            m.use_hierarchy().is_some(),
            "useHierarchy",
            "memory.use_hierarchy",
        ),
        (
            m.check_before_update().is_some(),
            "checkBeforeUpdate",
            "a check made by `runc update`",
        ),
    ];
    if let Some((_, name, what)) = refused.into_iter().find(|(set, ..)| *set) {
        return Err(SpecFieldError::unsupported(field(name), what));
    }
    let out = Memory {
        limit: limit(&field("limit"), m.limit())?,
        reservation: limit(&field("reservation"), m.reservation())?,
        swap: limit(&field("swap"), m.swap())?,
        swappiness: m.swappiness(),
        disable_oom_killer: m.disable_oom_killer().unwrap_or(false),
    };
    if let (Some(Limit::Max(swap)), Some(Limit::Max(limit))) = (out.swap, out.limit) {
        if swap < limit {
            return Err(SpecFieldError::new(
                field("swap"),
                format!("{swap} is below the memory limit {limit}: swap counts memory and swap together"),
            ));
        }
    }
    if let Some(s) = out.swappiness.filter(|s| *s > 100) {
        return Err(SpecFieldError::new(
            field("swappiness"),
            format!("{s} is above 100"),
        ));
    }
    Ok(out)
}

fn cpu(c: &LinuxCpu) -> FieldResult<Cpu> {
    let field = |name: &str| format!("{BASE}.cpu.{name}");
    let refused = [
        (c.idle().is_some(), "idle", "SCHED_IDLE cgroups"),
        (c.burst().is_some(), "burst", "CPU burst"),
        (
            c.realtime_runtime().is_some(),
            "realtimeRuntime",
            "real-time scheduling budgets",
        ),
        (
            c.realtime_period().is_some(),
            "realtimePeriod",
            "real-time scheduling budgets",
        ),
    ];
    if let Some((_, name, what)) = refused.into_iter().find(|(set, ..)| *set) {
        return Err(SpecFieldError::unsupported(field(name), what));
    }
    let shares = c.shares().filter(|s| *s != 0);
    if let Some(s) = shares.filter(|s| !(2..=262_144).contains(s)) {
        return Err(SpecFieldError::new(
            field("shares"),
            format!("{s} is outside 2..262144"),
        ));
    }
    let quota = limit(&field("quota"), c.quota())?;
    if let Some(Limit::Max(q)) = quota.filter(|q| matches!(q, Limit::Max(q) if *q < 1000)) {
        return Err(SpecFieldError::new(
            field("quota"),
            format!("{q} µs is below the kernel's 1000"),
        ));
    }
    let period = c.period().filter(|p| *p != 0);
    if let Some(p) = period.filter(|p| !(1000..=1_000_000).contains(p)) {
        return Err(SpecFieldError::new(
            field("period"),
            format!("{p} µs is outside 1000..1000000"),
        ));
    }
    let list = |name: &str, v: &Option<String>| -> FieldResult<Option<String>> {
        match v.as_deref() {
            None | Some("") => Ok(None),
            Some(s) if is_cpu_list(s) => Ok(Some(s.to_owned())),
            Some(s) => Err(SpecFieldError::new(
                field(name),
                format!("{s:?} is not a list such as 0-3,6"),
            )),
        }
    };
    Ok(Cpu {
        shares,
        quota,
        period,
        cpus: list("cpus", c.cpus())?,
        mems: list("mems", c.mems())?,
    })
}

/// `0-3,6`: numbers and ascending ranges, comma separated.
fn is_cpu_list(s: &str) -> bool {
    let number = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u32>().is_ok()
    };
    s.split(',').all(|item| match item.split_once('-') {
        Some((a, b)) => number(a) && number(b) && a.parse::<u32>().ok() <= b.parse::<u32>().ok(),
        None => number(item),
    })
}

fn device_rule(i: usize, d: &LinuxDeviceCgroup) -> FieldResult<DeviceRule> {
    let field = |name: &str| format!("{BASE}.devices[{i}].{name}");
    let kind = match d.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => DeviceRuleKind::All,
        LinuxDeviceType::C => DeviceRuleKind::Char,
        LinuxDeviceType::B => DeviceRuleKind::Block,
        other => {
            return Err(SpecFieldError::new(
                field("type"),
                format!(
                    "{:?} is not a device cgroup type (a, b or c)",
                    other.as_str()
                ),
            ))
        }
    };
    let number = |name: &str, n: Option<i64>| match n {
        None | Some(-1) => Ok(None),
        Some(n) if n >= 0 => Ok(Some(n)),
        Some(n) => Err(SpecFieldError::new(
            field(name),
            format!("{n}: a device number, or -1 for any"),
        )),
    };
    let access = d.access().as_deref().unwrap_or("");
    if let Some(bad) = access.chars().find(|c| !"rwm".contains(*c)) {
        return Err(SpecFieldError::new(
            field("access"),
            format!("{bad:?} is not r, w or m"),
        ));
    }
    let all = access.is_empty();
    Ok(DeviceRule {
        allow: d.allow(),
        kind,
        major: number("major", d.major())?,
        minor: number("minor", d.minor())?,
        access: DeviceAccess {
            read: all || access.contains('r'),
            write: all || access.contains('w'),
            mknod: all || access.contains('m'),
        },
    })
}

fn block_io(b: &LinuxBlockIo) -> FieldResult<BlockIo> {
    let field = |name: &str| format!("{BASE}.blockIO.{name}");
    let weight_ok = |name: String, w: u16| {
        if (10..=1000).contains(&w) {
            Ok(w)
        } else {
            Err(SpecFieldError::new(
                name,
                format!("{w} is outside 10..1000"),
            ))
        }
    };
    let leaf = "CFQ leaf weights, which Linux removed in 5.0";
    if b.leaf_weight().is_some() {
        return Err(SpecFieldError::unsupported(field("leafWeight"), leaf));
    }
    let mut weight_devices = Vec::new();
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let at = |name: &str| field(&format!("weightDevice[{i}].{name}"));
        if d.leaf_weight().is_some() {
            return Err(SpecFieldError::unsupported(at("leafWeight"), leaf));
        }
        // No weight, or 0, is no weight (docker sends 0), as with runc.
        let Some(w) = d.weight().filter(|w| *w != 0) else {
            continue;
        };
        weight_devices.push(DeviceValue {
            major: d.major(),
            minor: d.minor(),
            value: weight_ok(at("weight"), w)?.into(),
        });
    }
    let throttle = |list: &Option<Vec<LinuxThrottleDevice>>| {
        list.iter()
            .flatten()
            .map(|d| DeviceValue {
                major: d.major(),
                minor: d.minor(),
                value: d.rate(),
            })
            .collect()
    };
    Ok(BlockIo {
        // Docker always sends a weight, 0 when none was asked for: runc
        // reads 0 as unset.
        weight: b
            .weight()
            .filter(|w| *w != 0)
            .map(|w| weight_ok(field("weight"), w))
            .transpose()?,
        weight_devices,
        throttle_read_bps: throttle(b.throttle_read_bps_device()),
        throttle_write_bps: throttle(b.throttle_write_bps_device()),
        throttle_read_iops: throttle(b.throttle_read_iops_device()),
        throttle_write_iops: throttle(b.throttle_write_iops_device()),
    })
}

#[cfg(test)]
mod tests;
