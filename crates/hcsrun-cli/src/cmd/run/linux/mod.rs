//! `hcsrun run` on a service that runs Linux containers natively: a Linux
//! OCI spec from the flags, with docker's defaults and docker's security
//! options (`spec.rs`), or a Linux bundle honoured as it is; both
//! validated by `hcsrun_linux_spec::LinuxSpec`, which names any field
//! hcsrun cannot honour.

pub(crate) mod accounts;
mod caps;
mod defaults;
mod devices;
mod facts;
mod mounts;
pub mod opts;
mod spec;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
pub use facts::Facts;
use hcsrun::translate::{LayerOption, LinuxSpec};
use serde_json::json;

use self::{accounts::RootFiles, spec::Inputs};
use super::{args::Args, spec::ConsoleSize, windows::Bundle};

/// The Linux spec for container `id` from the flags; the container's
/// root is made of `layers` (the user's account is looked up there).
pub fn flags_spec(
    id: &str,
    args: &Args,
    facts: &Facts,
    layers: Option<&LayerOption>,
    console: Option<ConsoleSize>,
) -> anyhow::Result<LinuxSpec> {
    let layer_paths: Vec<PathBuf> = layers
        .map(|l| l.layer_paths.iter().map(PathBuf::from).collect())
        .unwrap_or_default();
    let mut folders = Vec::new();
    if let Some(scratch) = layers.map(|l| Path::new(&l.layer_folder_path).join("upper")) {
        if scratch.is_dir() {
            folders.push(scratch);
        }
    }
    folders.extend(layer_paths.iter().cloned());
    let account = accounts::resolve(
        args.user.as_deref(),
        &args.group_add,
        &RootFiles { folders },
    )
    .map_err(anyhow::Error::msg)?;
    let mut devices = Vec::new();
    for mapping in &args.device {
        devices.extend(devices::from_mapping(mapping).map_err(anyhow::Error::msg)?);
    }
    let host_devices = if args.privileged {
        devices::host_devices().map_err(anyhow::Error::msg)?
    } else {
        Vec::new()
    };
    let env = args
        .env
        .iter()
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e.clone()),
            // KEY alone passes this process's value, if it has one.
            None => std::env::var(e).ok().map(|v| format!("{e}={v}")),
        })
        .collect();
    let inputs = Inputs {
        account,
        env,
        devices,
        host_devices,
        root: layer_paths
            .first()
            .map_or_else(|| "/".to_owned(), |p| p.to_string_lossy().into_owned()),
    };
    let spec = spec::build(id, args, facts, &inputs, console)?;
    LinuxSpec::from_json(&spec.to_string(), ".")
        .map_err(|e| anyhow!(e).context("the Linux spec the flags describe"))
}

/// A Linux bundle's spec, honoured as it is: COMMAND replaces its
/// `process.args`, `-t` asks for a terminal (as `terminal: true` does);
/// relative paths are the bundle's.
pub fn bundle_spec(
    bundle: &Bundle,
    args: &Args,
    console: Option<ConsoleSize>,
) -> anyhow::Result<LinuxSpec> {
    let path = bundle.config_path();
    let mut value = bundle.spec.clone();
    let object = value
        .as_object_mut()
        .with_context(|| format!("{} is not a JSON object", path.display()))?;
    let process = object.entry("process");
    if !args.command.is_empty() || args.tty {
        let process = process.or_insert_with(|| json!({"cwd": "/", "user": {"uid": 0, "gid": 0}}));
        if !args.command.is_empty() {
            process["args"] = json!(args.command);
        }
        if args.tty {
            process["terminal"] = json!(true);
            if let Some((height, width)) = console {
                process["consoleSize"] = json!({"height": height, "width": width});
            }
        }
    }
    let spec = LinuxSpec::from_json(&value.to_string(), &bundle.dir)
        .map_err(|e| anyhow!(e).context(path.display().to_string()))?;
    if spec.has_hooks() {
        bail!(
            "{}: hooks: not supported by hcsrun run, which runs no hooks",
            path.display()
        );
    }
    // What only hcsrun-oci can do (a pid namespace not the container's
    // own): refused here too, since `create` and `run -d` make the system
    // without the client's check.
    hcsrun::translate::linux::refuse_for_client(&spec)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if let Some(root) = spec.root() {
        if !root.path.exists() {
            bail!(
                "{}: root.path: {} does not exist",
                path.display(),
                root.path.display()
            );
        }
    }
    Ok(spec)
}

/// The flags that set what a spec says (its process, resources or
/// security), by name, where `args` gives them.
fn spec_flags(args: &Args) -> Vec<&'static str> {
    let given = [
        (!args.env.is_empty(), "-e"),
        (args.workdir.is_some(), "-w"),
        (args.user.is_some(), "-u"),
        (args.hostname.is_some(), "--hostname"),
        (!args.volumes.is_empty(), "-v"),
        (args.memory.is_some(), "--memory"),
        (args.cpus.is_some(), "--cpus"),
        (args.cpu_count.is_some(), "--cpu-count"),
        (args.cpu_shares.is_some(), "--cpu-shares"),
        (args.cpu_maximum.is_some(), "--cpu-maximum"),
    ];
    given
        .into_iter()
        .chain(linux_flags(args))
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
}

/// The flags only a Linux spec can carry.
fn linux_flags(args: &Args) -> [(bool, &'static str); 12] {
    [
        (!args.cap_add.is_empty(), "--cap-add"),
        (!args.cap_drop.is_empty(), "--cap-drop"),
        (args.privileged, "--privileged"),
        (!args.security_opt.is_empty(), "--security-opt"),
        (args.pids_limit.is_some(), "--pids-limit"),
        (args.read_only, "--read-only"),
        (!args.ulimit.is_empty(), "--ulimit"),
        (!args.device.is_empty(), "--device"),
        (args.memory_swap.is_some(), "--memory-swap"),
        (!args.group_add.is_empty(), "--group-add"),
        (!args.tmpfs.is_empty(), "--tmpfs"),
        (!args.sysctl.is_empty(), "--sysctl"),
    ]
}

/// A bundle says what its container is: flags that would change that are
/// refused, as are `--layer` and `--scratch` for a Linux bundle, whose
/// `root.path` is its root.
pub fn refuse_with_bundle(args: &Args, linux: bool) -> anyhow::Result<()> {
    if let Some(flag) = spec_flags(args).first() {
        bail!("{flag} cannot be used with --bundle: set it in the bundle's config.json");
    }
    if linux {
        for (set, flag) in [
            (!args.layers.is_empty(), "--layer"),
            (args.scratch.is_some(), "--scratch"),
        ] {
            if set {
                bail!(
                    "{flag} cannot be used with a Linux --bundle: its root.path is its root (set \
                     it in the bundle's config.json)"
                );
            }
        }
    }
    Ok(())
}

/// Linux options on a service that runs Windows-schema containers.
pub fn refuse_without_linux(args: &Args, service: &str) -> anyhow::Result<()> {
    if let Some((_, flag)) = linux_flags(args).into_iter().find(|(set, _)| *set) {
        bail!(
            "{flag} is for Linux containers: the {service} compute service runs Windows-schema \
             containers (use --service linux)"
        );
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
