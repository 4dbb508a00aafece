//! A Linux spec's resources as cgroup values (`create`), `update` and
//! `events` (runc's stats JSON).

use std::{fs, path::Path, thread, time::Duration};

use anyhow::{anyhow, bail, Context as _, Result};
use hcsrun_cgroup::Exact;
use hcsrun_linux_spec::{Limit, LinuxSpec};
use serde_json::{json, Value};

use crate::{
    args::{flag, parse, val, Opt},
    cli::{one_id, Global},
    ops::{cgroup_of, status},
    state::{Dir, Status},
};

fn limit(l: Limit) -> i64 {
    match l {
        Limit::Unlimited => -1,
        Limit::Max(v) => i64::try_from(v).unwrap_or(i64::MAX),
    }
}

/// The exact values `spec`'s `linux.resources` asks for.
pub fn exact_of_spec(spec: &LinuxSpec) -> Exact {
    let r = spec.resources();
    Exact {
        memory_limit: r.memory.limit.map(limit),
        memory_reservation: r.memory.reservation.map(limit),
        memory_swap: r.memory.swap.map(limit),
        memory_swappiness: r.memory.swappiness,
        disable_oom_killer: r.memory.disable_oom_killer,
        cpu_shares: r.cpu.shares,
        cpu_quota: r.cpu.quota.map(limit),
        cpu_period: r.cpu.period,
        cpuset_cpus: r.cpu.cpus.clone(),
        cpuset_mems: r.cpu.mems.clone(),
        pids_limit: r.pids_limit.map(limit),
    }
}

const UPDATE: &[Opt] = &[
    val(&["resources", "r"]),
    val(&["memory"]),
    val(&["memory-reservation"]),
    val(&["memory-swap"]),
    val(&["pids-limit"]),
    val(&["cpu-shares"]),
    val(&["cpu-quota"]),
    val(&["cpu-period"]),
    val(&["cpuset-cpus"]),
    val(&["cpuset-mems"]),
];

/// A size as runc's flags take it: bytes, or with k, m, g (powers of
/// 1024), or -1.
fn size(text: &str) -> Result<i64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (digits, unit) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| anyhow!("invalid size {text:?}"))?;
    Ok(if n < 0 { -1 } else { n * unit })
}

/// The values of `linux.resources`-shaped JSON (`update --resources`).
/// 0 is no change, as runc reads it (docker's update sends every field,
/// 0 where nothing is asked).
fn exact_of_json(v: &Value) -> Result<Exact> {
    let int = |v: &Value| v.as_i64().filter(|n| *n != 0);
    let mut e = Exact::default();
    let m = &v["memory"];
    e.memory_limit = int(&m["limit"]);
    e.memory_reservation = int(&m["reservation"]);
    e.memory_swap = int(&m["swap"]);
    e.memory_swappiness = m["swappiness"].as_u64();
    let c = &v["cpu"];
    e.cpu_shares = c["shares"].as_u64().filter(|n| *n != 0);
    e.cpu_quota = int(&c["quota"]);
    e.cpu_period = c["period"].as_u64().filter(|n| *n != 0);
    e.cpuset_cpus = c["cpus"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    e.cpuset_mems = c["mems"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    e.pids_limit = int(&v["pids"]["limit"]);
    for unsupported in ["blockIO", "hugepageLimits", "network", "rdma", "unified"] {
        if !hcsrun_linux_spec::asks_nothing(&v[unsupported]) {
            bail!("linux.resources.{unsupported}: not supported by hcsrun-oci update");
        }
    }
    Ok(e)
}

/// `update [--resources FILE|-] [--memory …] … ID`.
pub fn update_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let p = parse(rest, UPDATE)?;
    let id = one_id(&p.rest, "update")?;
    let dir = Dir::new(&g.root, &id)?;
    let record = dir.load(&id)?;
    if status(&dir, &record) == Status::Stopped {
        bail!("cannot update container {id}: it has stopped");
    }
    let mut e = match p.get("resources") {
        Some("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            exact_of_json(&serde_json::from_str(&text)?)?
        }
        Some(file) => exact_of_json(&serde_json::from_str(
            &fs::read_to_string(file).with_context(|| format!("update {id}: {file}"))?,
        )?)?,
        None => Exact::default(),
    };
    if let Some(v) = p.get("memory") {
        e.memory_limit = Some(size(v)?);
    }
    if let Some(v) = p.get("memory-reservation") {
        e.memory_reservation = Some(size(v)?);
    }
    if let Some(v) = p.get("memory-swap") {
        e.memory_swap = Some(size(v)?);
    }
    e.pids_limit = p.number("pids-limit")?.or(e.pids_limit);
    e.cpu_shares = p.number("cpu-shares")?.or(e.cpu_shares);
    e.cpu_quota = p.number("cpu-quota")?.or(e.cpu_quota);
    e.cpu_period = p.number("cpu-period")?.or(e.cpu_period);
    if let Some(v) = p.get("cpuset-cpus") {
        e.cpuset_cpus = Some(v.to_owned());
    }
    if let Some(v) = p.get("cpuset-mems") {
        e.cpuset_mems = Some(v.to_owned());
    }
    let cgroup = cgroup_of(&record)?;
    let missing = [
        ("pids", e.pids_limit.is_some()),
        (
            "cpu",
            e.cpu_shares.is_some() || e.cpu_quota.is_some() || e.cpu_period.is_some(),
        ),
        ("cpuset", e.cpuset_cpus.is_some() || e.cpuset_mems.is_some()),
    ]
    .into_iter()
    .find(|(c, wanted)| *wanted && cgroup.dir(c).is_none());
    if let Some((controller, _)) = missing {
        bail!("update {id}: the container has no {controller} cgroup (its spec set no {controller} limit at create)");
    }
    cgroup
        .apply_exact(&e)
        .with_context(|| format!("update {id}: writing its cgroup limits"))
}

fn read_num(dir: Option<&Path>, file: &str) -> u64 {
    dir.and_then(|d| fs::read_to_string(d.join(file)).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// runc's stats event for container `id`.
fn stats(g: &Global, id: &str) -> Result<Value> {
    let dir = Dir::new(&g.root, id)?;
    let record = dir.load(id)?;
    if status(&dir, &record) == Status::Stopped {
        bail!("container {id} is not running");
    }
    let cgroup = cgroup_of(&record)?;
    let s = cgroup.stats()?;
    let mem = cgroup.dir("memory");
    let pids = cgroup.dir("pids");
    let percpu: Vec<u64> = cgroup
        .dir("cpuacct")
        .and_then(|d| fs::read_to_string(d.join("cpuacct.usage_percpu")).ok())
        .map(|t| {
            t.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({
        "type": "stats",
        "id": id,
        "data": {
            "cpu": {
                "usage": {
                    "total": s.cpu_total_ns, "percpu": percpu,
                    "kernel": s.cpu_kernel_ns, "user": s.cpu_user_ns
                },
                "throttling": {}
            },
            "memory": {
                "usage": {
                    "usage": s.memory_usage, "max": s.memory_peak,
                    "failcnt": read_num(mem, "memory.failcnt"),
                    "limit": read_num(mem, "memory.limit_in_bytes")
                },
                "swap": {
                    "usage": read_num(mem, "memory.memsw.usage_in_bytes"),
                    "limit": read_num(mem, "memory.memsw.limit_in_bytes")
                },
                "cache": 0,
                "raw": {}
            },
            "pids": {
                "current": read_num(pids, "pids.current"),
                "limit": read_num(pids, "pids.max")
            },
            "blkio": {
                "ioServiceBytesRecursive": [
                    {"op": "Read", "value": s.io_read_bytes},
                    {"op": "Write", "value": s.io_write_bytes}
                ],
                "ioServicedRecursive": [
                    {"op": "Read", "value": s.io_reads},
                    {"op": "Write", "value": s.io_writes}
                ]
            }
        }
    }))
}

fn oom_kills(g: &Global, id: &str) -> u64 {
    let Ok(dir) = Dir::new(&g.root, id) else {
        return 0;
    };
    let Ok(record) = dir.load(id) else {
        return 0;
    };
    let Ok(cgroup) = cgroup_of(&record) else {
        return 0;
    };
    cgroup
        .dir("memory")
        .and_then(|d| fs::read_to_string(d.join("memory.oom_control")).ok())
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `events [--stats] [--interval DURATION] ID`: one stats event with
/// `--stats`; otherwise a stats event each interval and an `oom` event
/// when the OOM killer strikes, until the container stops.
pub fn events_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let p = parse(rest, &[flag(&["stats"]), val(&["interval"])])?;
    let id = one_id(&p.rest, "events")?;
    if p.flag("stats") {
        println!("{}", stats(g, &id)?);
        return Ok(());
    }
    let interval = p
        .get("interval")
        .map(|t| {
            let secs = t.trim_end_matches('s');
            secs.parse::<f64>()
                .map_err(|_| anyhow!("events: --interval {t:?}: seconds, as 5s"))
        })
        .transpose()?
        .unwrap_or(5.0);
    let mut ooms = oom_kills(g, &id);
    loop {
        let Ok(event) = stats(g, &id) else {
            return Ok(());
        };
        println!("{event}");
        let now = oom_kills(g, &id);
        if now > ooms {
            println!("{}", json!({"type": "oom", "id": id}));
            ooms = now;
        }
        thread::sleep(Duration::from_secs_f64(interval.max(0.01)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_runc_reads_them() {
        assert_eq!(size("512").unwrap(), 512);
        assert_eq!(size("64m").unwrap(), 64 << 20);
        assert_eq!(size("1G").unwrap(), 1 << 30);
        assert_eq!(size("-1").unwrap(), -1);
        assert!(size("lots").is_err());
    }

    #[test]
    fn resources_json_and_its_refusals() {
        let e = exact_of_json(&json!({"memory": {"limit": 1024}, "pids": {"limit": 5}})).unwrap();
        assert_eq!(e.memory_limit, Some(1024));
        assert_eq!(e.pids_limit, Some(5));
        // What docker's update sends for a new memory limit alone.
        let docker = json!({"memory": {"limit": 67108864, "reservation": 0, "swap": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
            "pids": {"limit": 0}, "blockIO": {"weight": 0}});
        let e = exact_of_json(&docker).unwrap();
        assert_eq!(e.memory_limit, Some(64 << 20));
        assert_eq!(
            (e.cpu_shares, e.cpu_quota, e.cpu_period),
            (None, None, None)
        );
        assert_eq!((e.memory_swap, e.pids_limit), (None, None));
        // What docker sends when no weight was asked for is no request.
        assert!(exact_of_json(&json!({"blockIO": {"weight": 0, "weightDevice": []}})).is_ok());
        let err = exact_of_json(&json!({"blockIO": {"weight": 300}})).unwrap_err();
        assert!(err.to_string().contains("blockIO"), "{err}");
    }
}
