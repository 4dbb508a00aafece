//! The Linux OCI spec `hcsrun run`'s flags describe, with docker's
//! defaults for what they leave out: a pure function of the flags, the
//! host's facts and what was looked up on disk before, so that tests can
//! check it whole.

use anyhow::{bail, Context};
use hcsrun_linux_spec::{cap_name, CapSet};
use hcsrun_seccomp::{KernelVersion, Profile};
use serde_json::{json, Map, Value};

use super::{
    accounts::Account,
    caps,
    defaults::{self, MountChoices},
    devices::DeviceNode,
    facts::{cpu_list, Facts},
    mounts::{self, UserMounts},
    opts::{Seccomp, SecurityOpt, Swap},
};
use crate::cmd::run::{args::Args, spec::ConsoleSize};

/// What the spec needs besides the flags and the host's facts: found on
/// disk or in this process's environment beforehand.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// Who the process runs as.
    pub account: Account,
    /// `-e` as given, `KEY` alone already given its value (or left out).
    pub env: Vec<String>,
    /// The nodes `--device` gives.
    pub devices: Vec<DeviceNode>,
    /// With `--privileged`: the host's `/dev` nodes.
    pub host_devices: Vec<DeviceNode>,
    /// `root.path` with `--read-only`: the top-most layer (the compute
    /// service builds the root from the layers).
    pub root: String,
}

/// docker's CFS period (100 ms), in µs.
const CPU_PERIOD: u64 = 100_000;
/// docker's CPU shares range for a Linux container.
const CPU_SHARES: std::ops::RangeInclusive<u64> = 2..=262_144;
/// The kernel's shortest CFS quota, in µs.
const MIN_QUOTA: u64 = 1_000;

/// `--security-opt`s, the last of each kind winning.
struct Security {
    seccomp: Seccomp,
    no_new_privileges: bool,
    system_paths_masked: bool,
    writable_cgroups: bool,
}

fn security(opts: &[SecurityOpt]) -> Security {
    let mut s = Security {
        seccomp: Seccomp::Default,
        no_new_privileges: false,
        system_paths_masked: true,
        writable_cgroups: false,
    };
    for opt in opts {
        match opt {
            SecurityOpt::Seccomp(choice) => s.seccomp = choice.clone(),
            SecurityOpt::NoNewPrivileges(on) => s.no_new_privileges = *on,
            SecurityOpt::UnconfinedSystemPaths => s.system_paths_masked = false,
            SecurityOpt::WritableCgroups(on) => s.writable_cgroups = *on,
            SecurityOpt::NoLabel => {}
        }
    }
    s
}

/// The spec for container `id`.
pub fn build(
    id: &str,
    args: &Args,
    facts: &Facts,
    inputs: &Inputs,
    console: Option<ConsoleSize>,
) -> anyhow::Result<Value> {
    if args.command.is_empty() {
        bail!("no command given: hcsrun run [OPTIONS] -- COMMAND [ARG...]");
    }
    let security = security(&args.security_opt);
    let caps = caps::tweak(
        &args.cap_add,
        &args.cap_drop,
        args.privileged,
        facts.last_cap,
        facts.available_caps,
    )
    .map_err(anyhow::Error::msg)?;
    let hostname = args
        .hostname
        .clone()
        .unwrap_or_else(|| id.chars().take(12).collect());
    let user_mounts = mounts::user_mounts(&UserMounts {
        volumes: &args.volumes,
        tmpfs: &args.tmpfs,
        recursive_readonly: facts.kernel
            >= KernelVersion {
                major: 5,
                minor: 12,
            },
    })?;
    let choices = MountChoices {
        user_destinations: &mounts::destinations(&user_mounts),
        privileged: args.privileged,
        writable_cgroups: security.writable_cgroups,
        read_only: args.read_only,
    };
    let mut linux = Map::new();
    linux.insert(
        "namespaces".into(),
        json!(defaults::namespaces(facts.cgroup2)),
    );
    linux.insert("resources".into(), resources(args, facts, inputs)?);
    let mut nodes: Vec<&DeviceNode> = inputs.devices.iter().collect();
    if args.privileged {
        // The host's nodes, and those --device puts elsewhere.
        nodes.retain(|d| !inputs.host_devices.iter().any(|h| h.path == d.path));
        nodes.extend(&inputs.host_devices);
    }
    if !nodes.is_empty() {
        let list: Vec<Value> = nodes.iter().map(|d| d.spec_device()).collect();
        linux.insert("devices".into(), Value::Array(list));
    }
    if !args.privileged && security.system_paths_masked {
        linux.insert("maskedPaths".into(), json!(defaults::MASKED_PATHS));
        linux.insert("readonlyPaths".into(), json!(defaults::READONLY_PATHS));
    }
    if let Some(seccomp) = seccomp(&security.seccomp, args.privileged, caps, facts)? {
        linux.insert("seccomp".into(), seccomp);
    }
    if !args.sysctl.is_empty() {
        let map: Map<String, Value> = args
            .sysctl
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        linux.insert("sysctl".into(), Value::Object(map));
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": process(args, inputs, &hostname, caps, security.no_new_privileges, console)?,
        "hostname": hostname,
        "mounts": mounts::all(choices, user_mounts),
        "linux": linux,
    });
    if args.read_only {
        // The layers make the root; the spec says only that it is
        // read-only (its path is the top-most layer's, for the record).
        spec["root"] = json!({"path": inputs.root, "readonly": true});
    }
    Ok(spec)
}

fn process(
    args: &Args,
    inputs: &Inputs,
    hostname: &str,
    caps: CapSet,
    no_new_privileges: bool,
    console: Option<ConsoleSize>,
) -> anyhow::Result<Value> {
    let cwd = args.workdir.as_deref().unwrap_or("/");
    if !cwd.starts_with('/') {
        bail!("the working directory {cwd:?} is invalid: it must be an absolute path");
    }
    let names: Vec<String> = caps.iter().map(cap_name).collect();
    let account = &inputs.account;
    let mut user = json!({"uid": account.uid, "gid": account.gid});
    if !account.additional_gids.is_empty() {
        user["additionalGids"] = json!(account.additional_gids);
    }
    let mut process = json!({
        "terminal": args.tty,
        "user": user,
        "args": args.command,
        "env": environment(args.tty, hostname, &inputs.env, &account.home),
        "cwd": cwd,
        "capabilities": {"bounding": names, "effective": names, "permitted": names},
        "noNewPrivileges": no_new_privileges,
        "oomScoreAdj": 0,
    });
    if args.tty {
        let (height, width) = console.unwrap_or((24, 80));
        process["consoleSize"] = json!({"height": height, "width": width});
    }
    let rlimits = rlimits(args);
    if !rlimits.is_empty() {
        process["rlimits"] = Value::Array(rlimits);
    }
    Ok(process)
}

/// docker's environment: `PATH`, `HOSTNAME`, `TERM` for a terminal, then
/// the user's, each replacing an entry of the same name; `HOME` from the
/// user's account unless given (as runc sets it).
fn environment(tty: bool, hostname: &str, user: &[String], home: &str) -> Vec<String> {
    let mut env = vec![
        format!("PATH={}", defaults::PATH),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        let term = std::env::var("TERM").unwrap_or_else(|_| "xterm".into());
        env.push(format!("TERM={term}"));
    }
    let name = |e: &str| e.split_once('=').map_or(e, |(n, _)| n).to_owned();
    for entry in user {
        match env.iter().position(|e| name(e) == name(entry)) {
            Some(i) => env[i] = entry.clone(),
            None => env.push(entry.clone()),
        }
    }
    if !env.iter().any(|e| name(e) == "HOME") {
        env.push(format!("HOME={home}"));
    }
    env
}

/// `--ulimit`s, one per kind, the last given winning.
fn rlimits(args: &Args) -> Vec<Value> {
    let mut kinds: Vec<&str> = Vec::new();
    for u in &args.ulimit {
        if !kinds.contains(&u.kind.as_str()) {
            kinds.push(&u.kind);
        }
    }
    kinds
        .into_iter()
        .filter_map(|kind| args.ulimit.iter().rev().find(|u| u.kind == kind))
        .map(|u| json!({"type": u.kind, "soft": u.soft, "hard": u.hard}))
        .collect()
}

fn resources(args: &Args, facts: &Facts, inputs: &Inputs) -> anyhow::Result<Value> {
    let mut r = Map::new();
    let devices = if args.privileged {
        defaults::privileged_device_rules()
    } else {
        let mut rules = defaults::device_rules();
        rules.extend(inputs.devices.iter().map(DeviceNode::allow_rule));
        rules
    };
    r.insert("devices".into(), Value::Array(devices));
    let mut memory = Map::new();
    if let Some(limit) = args.memory {
        memory.insert("limit".into(), json!(limit));
    }
    if let Some(swap) = swap(args.memory, args.memory_swap, facts.swap_limit)? {
        memory.insert("swap".into(), json!(swap));
    }
    if !memory.is_empty() {
        r.insert("memory".into(), Value::Object(memory));
    }
    let cpu = cpu(args, facts)?;
    if !cpu.is_empty() {
        r.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(n) = args.pids_limit {
        // docker: 0 and below are unlimited.
        r.insert("pids".into(), json!({"limit": if n > 0 { n } else { -1 }}));
    }
    Ok(Value::Object(r))
}

/// `linux.resources.memory.swap` (memory and swap together), as docker
/// decides it: twice the memory limit by default where swap is limited.
fn swap(memory: Option<u64>, swap: Option<Swap>, limited: bool) -> anyhow::Result<Option<i64>> {
    let swap = swap.filter(|s| *s != Swap::Limit(0));
    let bytes = |n: u64| i64::try_from(n).context("--memory-swap is too large");
    Ok(match (memory, swap) {
        (None, Some(Swap::Limit(_))) => {
            bail!("You should always set the Memory limit when using Memoryswap limit, see usage")
        }
        (Some(m), Some(Swap::Limit(s))) if s < m => {
            bail!("Minimum memoryswap limit should be larger than memory limit, see usage")
        }
        (_, Some(_)) if !limited => {
            tracing::warn!(
                "Your kernel does not support swap limit capabilities or the cgroup is not \
                 mounted. Memory limited without swap."
            );
            None
        }
        (_, Some(Swap::Unlimited)) => Some(-1),
        (_, Some(Swap::Limit(s))) => Some(bytes(s)?),
        (Some(m), None) if limited => Some(bytes(m.saturating_mul(2))?),
        _ => None,
    })
}

fn cpu(args: &Args, facts: &Facts) -> anyhow::Result<Map<String, Value>> {
    let mut cpu = Map::new();
    if let Some(shares) = args.cpu_shares {
        if !CPU_SHARES.contains(&shares) {
            bail!(
                "--cpu-shares {shares}: a Linux container's CPU shares are 2 to 262144 (docker's \
                 range)"
            );
        }
        cpu.insert("shares".into(), json!(shares));
    }
    // --cpus is CPUs' worth of time per period, as docker's; --cpu-maximum
    // a share of the host's, in hundredths of a percent.
    let quota = match (args.cpus, args.cpu_maximum) {
        (Some(n), _) => Some((n * CPU_PERIOD as f64).round() as u64),
        (None, Some(m)) => Some(u64::from(m) * facts.host_cpus * CPU_PERIOD / 10_000),
        (None, None) => None,
    };
    if let Some(quota) = quota {
        cpu.insert("quota".into(), json!(quota.max(MIN_QUOTA)));
        cpu.insert("period".into(), json!(CPU_PERIOD));
    }
    if let Some(list) = args.cpu_count.and_then(|n| cpu_list(&facts.cpus, n)) {
        cpu.insert("cpus".into(), json!(list));
    }
    Ok(cpu)
}

/// The seccomp filter: none for `--privileged` or `seccomp=unconfined`,
/// else the profile (docker's by default) resolved for `caps`.
fn seccomp(
    choice: &Seccomp,
    privileged: bool,
    caps: CapSet,
    facts: &Facts,
) -> anyhow::Result<Option<Value>> {
    let profile = match choice {
        _ if privileged => return Ok(None),
        Seccomp::Unconfined => return Ok(None),
        Seccomp::Default => Profile::docker_default(),
        Seccomp::Profile(p) => (**p).clone(),
    };
    let names: Vec<String> = caps.iter().map(cap_name).collect();
    let resolved = profile
        .resolve_for_kernel(&names, facts.arch, facts.kernel)
        .context("the seccomp profile")?;
    Ok(Some(serde_json::to_value(resolved)?))
}

#[cfg(test)]
#[path = "spec_tests/mod.rs"]
mod tests;
