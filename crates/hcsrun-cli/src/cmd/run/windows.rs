//! The Windows-schema OCI spec `hcsrun run` builds where the compute
//! service does not run Linux containers natively (vmcompute.dll,
//! libvmcompute.so): a `windows` section, resources in the Windows
//! schema's units; and a bundle run that way.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hcsrun::translate::read_document;
use serde_json::{json, Map, Value};

use super::{
    args::Args,
    parse::MAX_HOSTNAME,
    spec::ConsoleSize,
    volume::{check_destination, Volume},
};

/// The Windows schema's highest `ProcessorWeight`.
const WINDOWS_MAX_SHARES: u64 = 10_000;

/// `PATH` for a container when the flags give none.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn windows_section(spec: &mut Value) -> &mut Map<String, Value> {
    spec.as_object_mut()
        .expect("a spec is an object")
        .entry("windows")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("windows is an object")
}

/// The spec the flags describe.
pub fn flags_spec(
    id: &str,
    args: &Args,
    host_cpus: u64,
    console: Option<ConsoleSize>,
) -> anyhow::Result<Value> {
    if args.command.is_empty() {
        bail!("no command given: hcsrun run [OPTIONS] -- COMMAND [ARG...]");
    }
    if let Some(shares) = args.cpu_shares.filter(|s| *s > WINDOWS_MAX_SHARES) {
        bail!(
            "--cpu-shares {shares}: the Windows schema's processor weight is 1 to \
             {WINDOWS_MAX_SHARES} (docker's 2 to 262144 is for Linux containers)"
        );
    }
    let mut env = vec![DEFAULT_PATH.to_owned()];
    for e in &args.env {
        match e.split_once('=') {
            Some(_) => env.push(e.clone()),
            // KEY alone passes this process's value, if it has one.
            None => env.extend(std::env::var(e).ok().map(|v| format!("{e}={v}"))),
        }
    }
    if args.tty && !args.env.iter().any(|e| e.starts_with("TERM=")) {
        env.push(format!(
            "TERM={}",
            std::env::var("TERM").unwrap_or_else(|_| "xterm".into())
        ));
    }
    let (height, width) = console.unwrap_or((24, 80));
    let mut process = json!({
        "terminal": args.tty,
        "user": {"uid": 0, "gid": 0},
        "args": args.command,
        "env": env,
        "cwd": args.workdir.as_deref().unwrap_or("/"),
    });
    if args.tty {
        process["consoleSize"] = json!({"height": height, "width": width});
    }
    if let Some(user) = &args.user {
        process["user"]["username"] = json!(user);
    }
    let mut mounts = Vec::new();
    for text in &args.volumes {
        let volume = Volume::parse(text)?;
        if !Path::new(&volume.source).exists() {
            bail!("volume source {} does not exist", volume.source);
        }
        let mut mount = json!({"source": volume.source, "destination": volume.destination});
        if volume.read_only {
            mount["options"] = json!(["ro"]);
        }
        mounts.push(mount);
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": ""},
        "hostname": args.hostname.clone().unwrap_or_else(|| id.chars().take(12).collect()),
        "mounts": mounts,
        "windows": {},
    });
    let resources = resources(args, host_cpus);
    if !resources.is_empty() {
        windows_section(&mut spec).insert("resources".into(), Value::Object(resources));
    }
    Ok(spec)
}

/// `windows.resources` from the limit flags.
fn resources(args: &Args, host_cpus: u64) -> Map<String, Value> {
    let mut cpu = Map::new();
    if let Some(count) = args.cpu_count {
        cpu.insert("count".into(), json!(count));
    }
    if let Some(shares) = args.cpu_shares {
        cpu.insert("shares".into(), json!(shares));
    }
    // --cpus is a share of the host's processors, as docker maps it on
    // Windows; --cpu-maximum says the same directly.
    let maximum = args.cpu_maximum.map(u64::from).or_else(|| {
        args.cpus.map(|n| {
            ((n / host_cpus.max(1) as f64) * 10_000.0)
                .round()
                .clamp(1.0, 10_000.0) as u64
        })
    });
    if let Some(maximum) = maximum {
        cpu.insert("maximum".into(), json!(maximum));
    }
    let mut resources = Map::new();
    if !cpu.is_empty() {
        resources.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(bytes) = args.memory {
        // The Windows schema's limit is whole MiB (MemoryMaximumInMB), which
        // translation reaches by rounding down: round up here, so that the
        // container never gets less than asked.
        let limit = bytes.div_ceil(1 << 20) << 20;
        if limit != bytes {
            tracing::debug!(asked = bytes, limit, "memory limit rounded up to whole MiB");
        }
        resources.insert("memory".into(), json!({"limit": limit}));
    }
    resources
}

/// Keeps a bundle's bind mounts, whose destinations must be allowed, and
/// drops the file systems a `runc spec` lists (`proc`, `tmpfs`, `sysfs`,
/// ...): the Linux compute service makes a container's own `/proc`, `/dev`
/// and `/sys` itself.
fn bundle_mounts(mounts: &mut Vec<Value>) -> anyhow::Result<()> {
    let is_bind = |mount: &Value| {
        mount.get("type").and_then(Value::as_str) == Some("bind")
            || mount
                .get("options")
                .and_then(Value::as_array)
                .is_some_and(|o| o.iter().any(|o| o == "bind" || o == "rbind"))
            || mount.get("type").is_none_or(Value::is_null)
    };
    let mut kept = Vec::new();
    for mount in mounts.drain(..) {
        let destination = mount
            .get("destination")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !is_bind(&mount) {
            tracing::debug!(destination, "leaving a typed mount to the compute service");
            continue;
        }
        check_destination(&destination)
            .map_err(|why| anyhow::anyhow!("mount {destination}: {why}"))?;
        kept.push(mount);
    }
    *mounts = kept;
    Ok(())
}

/// A bundle's spec run as a Windows-schema container, and its root folder
/// (`root.path`, relative to the bundle) if that is a directory. Where the
/// service does not run Linux containers natively, a Linux bundle (one
/// made by `runc spec`) runs this way too, without its `linux` section.
pub fn bundle_spec(bundle: &Bundle, args: &Args) -> anyhow::Result<(Value, Option<PathBuf>)> {
    let mut spec = bundle.spec.clone();
    let path = bundle.config_path();
    let object = spec
        .as_object_mut()
        .with_context(|| format!("{} is not a JSON object", path.display()))?;
    if object.remove("linux").is_some() {
        tracing::debug!("running the Linux bundle as a Windows-schema container");
    }
    if let Some(mounts) = object.get_mut("mounts").and_then(Value::as_array_mut) {
        bundle_mounts(mounts).with_context(|| path.display().to_string())?;
    }
    if !args.command.is_empty() {
        object
            .entry("process")
            .or_insert_with(|| json!({"cwd": "/", "user": {"uid": 0, "gid": 0}}))["args"] =
            json!(args.command);
    }
    let root = object
        .get("root")
        .and_then(|r| r.get("path"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(|p| bundle.dir.join(p))
        .filter(|p| p.is_dir());
    Ok((spec, root))
}

/// A bundle's `config.json`, read (at most 16 MiB) and parsed.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Value,
}

impl Bundle {
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("config.json");
        let text = read_document(&path).with_context(|| format!("reading {}", path.display()))?;
        let spec: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        if let Some(hostname) = spec.get("hostname").and_then(Value::as_str) {
            if hostname.contains('\0') || hostname.len() > MAX_HOSTNAME {
                bail!(
                    "{}: the hostname {hostname:?} is not one the kernel takes (no NUL, at most \
                     {MAX_HOSTNAME} bytes)",
                    path.display()
                );
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            spec,
        })
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// It has a `linux` section: a Linux container's bundle.
    pub fn is_linux(&self) -> bool {
        self.spec.get("linux").is_some_and(|l| !l.is_null())
    }
}
