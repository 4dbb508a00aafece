//! Linux containers the host runs with its own kernel (the Linux compute
//! service): process-isolated, or with Hyper-V isolation where the service
//! emulates it.
//!
//! The spec travels whole, normalized, as the init process's
//! `OCISpecification`, as seed 000 sent it to LCOW's guest; the
//! `ContainerConfig` carries what HCS has fields for: the root directory
//! (`VolumePath`, used in place as runc does) or the caller's layers, the
//! host name, the bind mounts (`MappedDirectories`), and memory and CPU
//! limits (for HCS's own view; the service takes the exact values from the
//! spec).

use hcs_schema::{ContainerConfig, MappedDir, ProcessConfig};
use hcsrun_linux_spec::{ExecProcess, Limit, LinuxSpec, Namespace, Process, SpecFieldError, User};
use serde_json::value::RawValue;
use tracing::{debug, enabled, warn, Level};

use super::{
    env::environment,
    error::{Operation, TranslateError, TranslateErrorKind},
    host::HostFacts,
    layers::{Layers, NameToGuid},
    options::CreateOptions,
    platform::Platform,
    redact,
};

const MIB: u64 = 1024 * 1024;

/// The configuration that creates the Linux container `id` from `spec`.
///
/// Refused unless [`Platform::of_linux`] is `LinuxNative` for `options` on
/// `host`. The layer option, when given, is the container's root instead
/// of `root.path`.
pub fn container_config(
    id: &str,
    spec: &LinuxSpec,
    options: &CreateOptions,
    host: &HostFacts,
    name_to_guid: &NameToGuid<'_>,
) -> Result<ContainerConfig, TranslateError> {
    let fail = |kind| TranslateError::new(id, Operation::Create, kind);
    let refuse = |e: SpecFieldError| fail(TranslateErrorKind::LinuxSpec(e));
    if enabled!(Level::DEBUG) {
        debug!(container = id, spec = %redact::linux_spec(spec), "translating spec");
    }
    check_platform(id, options, host, Operation::Create)?;
    check_options(options).map_err(refuse)?;
    for warning in spec.warnings() {
        warn!(container = id, "{warning}");
    }
    let mut config = ContainerConfig {
        system_type: "Container".to_owned(),
        name: id.to_owned(),
        owner: host.owner.clone(),
        container_type: "linux".to_owned(),
        host_name: spec.hostname().unwrap_or_default().to_owned(),
        hv_partition: options.hyperv.as_ref().is_some_and(|h| h.is_hyperv),
        ignore_flushes_during_boot: options.ignore_flushes_during_boot.unwrap_or(false),
        ..Default::default()
    };
    match &options.layers {
        Some(option) => {
            let layers = Layers {
                folder: &option.layer_folder_path,
                paths: &option.layer_paths,
            };
            if layers.paths.is_empty() {
                return Err(fail(TranslateErrorKind::NoLayers));
            }
            if let Some(root) = spec.root() {
                debug!(
                    container = id,
                    "root.path {} is not used: the layer option gives the root",
                    root.path.display()
                );
            }
            config.layer_folder_path = layers.folder.to_owned();
            config.layers = layers.to_hcs(id, name_to_guid, str::to_owned)?;
        }
        None => match spec.root() {
            Some(root) => config.volume_path = root.path.to_string_lossy().into_owned(),
            None => {
                return Err(refuse(SpecFieldError::new(
                    "root",
                    "required: no layer option gives the container's root",
                )))
            }
        },
    }
    config.mapped_directories = spec
        .bind_mounts()
        .map(|b| MappedDir {
            host_path: b.source.to_string_lossy().into_owned(),
            container_path: b.destination.to_string_lossy().into_owned(),
            read_only: b.readonly,
            ..Default::default()
        })
        .collect();
    network(&mut config, spec, options).map_err(refuse)?;
    resources(&mut config, spec, host);
    if enabled!(Level::DEBUG) {
        debug!(container = id, config = %redact::config(&config), "ContainerConfig");
    }
    Ok(config)
}

/// The init process of the Linux container `id`: the spec's `process`,
/// with the normalized spec as its `OCISpecification`.
pub fn init_process_config(
    id: &str,
    spec: &LinuxSpec,
    options: &CreateOptions,
) -> Result<ProcessConfig, TranslateError> {
    let fail = |kind| TranslateError::new(id, Operation::Start, kind);
    if options.lcow.is_some() {
        return Err(fail(TranslateErrorKind::LinuxSpec(lcow_refused())));
    }
    let process = spec
        .process()
        .ok_or_else(|| fail(TranslateErrorKind::NoProcess))?;
    let mut config = ProcessConfig {
        working_directory: process.cwd.to_string_lossy().into_owned(),
        user: user(&process.user),
        ..stdio(process)
    };
    config.console_size = process.console_size.map_or([0, 0], |c| [c.height, c.width]);
    config.oci_specification = Some(raw(spec.to_json()));
    log(id, "init", &config);
    Ok(config)
}

/// A process added to the running Linux container `id`, whose spec is
/// `init`. Its working directory falls back to the init process's, its
/// user too when it names none. When it sets capabilities,
/// `noNewPrivileges`, rlimits or user ids, its `OCISpecification` is
/// `{"process": …}`; otherwise it has none and the service applies the init
/// process's settings, as `runc exec` does.
pub fn exec_process_config(id: &str, exec: &ExecProcess, init: &LinuxSpec) -> ProcessConfig {
    let process = exec.process();
    let mut working_directory = process.cwd.to_string_lossy().into_owned();
    if working_directory.is_empty() {
        working_directory = init
            .process()
            .map(|p| p.cwd.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    let mut config = ProcessConfig {
        working_directory,
        user: user(&exec.user(init)),
        ..stdio(process)
    };
    if process.terminal {
        config.console_size = process.console_size.map_or([0, 0], |c| [c.height, c.width]);
    }
    if exec.sets_privileges() {
        config.oci_specification = Some(raw(format!(r#"{{"process":{}}}"#, exec.to_json(init))));
    }
    log(id, "exec", &config);
    config
}

/// Refuses what only `hcsrun-oci` (caller mode, no holder) does, for the
/// client (`hcsrun run --bundle`, the verbs, the containerd shim), naming
/// the field: hooks, which the client does not run, and a pid namespace
/// that is not the container's own (the holder starts pid 1 in a new one).
pub fn refuse_for_client(spec: &LinuxSpec) -> Result<(), SpecFieldError> {
    if spec.has_hooks() {
        return Err(SpecFieldError::new(
            "hooks",
            "not run by hcsrun's client (hcsrun run --bundle, the verbs, the containerd shim); hcsrun-oci runs them",
        ));
    }
    if spec.namespaces().pid != Namespace::New {
        return Err(SpecFieldError::new(
            "linux.namespaces",
            "a new pid namespace is required here: the holder starts the container's init as PID 1 \
             of its own (hcsrun-oci can share the host's or join one)",
        ));
    }
    Ok(())
}

fn check_platform(
    id: &str,
    options: &CreateOptions,
    host: &HostFacts,
    op: Operation,
) -> Result<(), TranslateError> {
    match Platform::linux(id, options, host, op)? {
        Platform::LinuxNative => Ok(()),
        _ => Err(TranslateError::new(
            id,
            op,
            TranslateErrorKind::LinuxSpec(lcow_refused()),
        )),
    }
}

fn lcow_refused() -> SpecFieldError {
    SpecFieldError::unsupported(
        "options.lcow",
        "a Linux container this host runs natively has no utility VM",
    )
}

/// Options that only Windows containers have.
fn check_options(options: &CreateOptions) -> Result<(), SpecFieldError> {
    if options.servicing == Some(true) {
        return Err(SpecFieldError::unsupported(
            "options.servicing",
            "servicing is for Windows images",
        ));
    }
    if options.credentials.is_some() {
        return Err(SpecFieldError::unsupported(
            "options.credentials",
            "credential specs are for Windows containers",
        ));
    }
    Ok(())
}

/// The network option; sharing another container's network stack needs the
/// spec to ask for a network namespace of the container's own, which the
/// shared one then replaces.
fn network(
    config: &mut ContainerConfig,
    spec: &LinuxSpec,
    options: &CreateOptions,
) -> Result<(), SpecFieldError> {
    let Some(n) = &options.network else {
        return Ok(());
    };
    if !n.network_shared_container_id.is_empty() && spec.namespaces().network != Namespace::New {
        return Err(SpecFieldError::new(
            "linux.namespaces",
            format!(
                "the network option shares container {}'s network, and the spec asks for {}",
                n.network_shared_container_id,
                match spec.namespaces().network {
                    Namespace::Host => "the host's".to_owned(),
                    Namespace::Join(ref p) => format!("the one at {}", p.display()),
                    Namespace::New => unreachable!(),
                }
            ),
        ));
    }
    config.endpoint_list = n.endpoints.clone();
    config.allow_unqualified_dns_query = n.allow_unqualified_dns_query;
    config.dns_search_list = n.dns_search_list.join(",");
    config.network_shared_container_name = n.network_shared_container_id.clone();
    Ok(())
}

/// Memory and CPU limits as HCS states them: informational, since HCS's
/// units are coarser than the spec's.
fn resources(config: &mut ContainerConfig, spec: &LinuxSpec, host: &HostFacts) {
    let r = spec.resources();
    if let Some(Limit::Max(bytes)) = r.memory.limit {
        config.memory_maximum_in_mb = i64::try_from(bytes.div_ceil(MIB)).unwrap_or(i64::MAX);
    }
    if let Some(cpus) = &r.cpu.cpus {
        config.processor_count = cpu_count(cpus);
    }
    if let Some(shares) = r.cpu.shares {
        // The inverse of the Linux service's weight → shares mapping.
        config.processor_weight =
            (1 + (shares.saturating_sub(2)) * 9999 / 262_142).clamp(1, 10_000);
    }
    if let Some(Limit::Max(quota)) = r.cpu.quota {
        let period = r.cpu.period.unwrap_or(100_000).max(1);
        let share = quota.saturating_mul(10_000) / period.saturating_mul(host.cpu_count.max(1));
        config.processor_maximum = share.clamp(1, 10_000) as i64;
    }
}

/// How many CPUs a list such as `0-3,6` names.
fn cpu_count(list: &str) -> u32 {
    list.split(',')
        .map(|item| match item.split_once('-') {
            Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => 1,
        })
        .sum()
}

/// Pipes as the seed sets them: stdin and stdout always (logs can always be
/// read), stderr unless a console merges it.
fn stdio(process: &Process) -> ProcessConfig {
    ProcessConfig {
        command_args: process.args.clone(),
        environment: environment(&process.env),
        emulate_console: process.terminal,
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        create_std_err_pipe: !process.terminal,
        ..Default::default()
    }
}

/// `uid:gid`, which the service reads as numbers; the exact ids (groups,
/// umask) are in the `OCISpecification`.
fn user(user: &User) -> String {
    format!("{}:{}", user.uid, user.gid)
}

fn raw(json: String) -> Box<RawValue> {
    RawValue::from_string(json).expect("the spec's JSON is JSON")
}

/// What is logged of a new process: no environment, no spec.
fn log(id: &str, which: &str, config: &ProcessConfig) {
    debug!(
        container = id,
        command_args = ?config.command_args,
        working_directory = %config.working_directory,
        user = %config.user,
        emulate_console = config.emulate_console,
        "{which} process configured"
    );
}

#[cfg(test)]
mod tests;
