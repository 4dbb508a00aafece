//! Windows containers, process or Hyper-V isolated (the seed's
//! `createWindows`).

use hcs::HypervIsolation;
use hcs_schema::{ContainerConfig, HvRuntime};
use tracing::warn;

use super::{
    error::{Operation, TranslateError, TranslateErrorKind},
    host::HostFacts,
    layers::{find_utility_vm, Layers, NameToGuid},
    mounts, network,
    options::CreateOptions,
    spec::Spec,
    windows_section::WindowsResources,
};

pub(crate) fn container_config(
    id: &str,
    spec: &Spec,
    options: &CreateOptions,
    host: &HostFacts,
    name_to_guid: &NameToGuid<'_>,
) -> Result<ContainerConfig, TranslateError> {
    let fail = |kind| TranslateError::new(id, Operation::Create, kind);
    let windows = spec.windows();
    let mut config = ContainerConfig {
        system_type: "Container".to_owned(),
        name: id.to_owned(),
        owner: host.owner.clone(),
        host_name: spec.oci().hostname().clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(resources) = windows.and_then(|w| w.resources) {
        apply_resources(&mut config, id, &resources, host.cpu_count);
    }
    config.servicing = servicing(spec, options);
    config.ignore_flushes_during_boot = options
        .ignore_flushes_during_boot
        .unwrap_or_else(|| windows.is_some_and(|w| w.ignore_flushes_during_boot));
    config.hv_partition = match &options.hyperv {
        Some(h) => h.is_hyperv,
        None => windows.is_some_and(|w| w.hyperv.is_some()),
    };
    network::apply(&mut config, spec, options);
    config.credentials = credentials(id, spec, options);

    let layers = Layers::resolve(id, spec, options)?;
    if config.hv_partition {
        let explicit = windows
            .and_then(|w| w.hyperv.as_ref())
            .and_then(|h| h.utility_vm_path.clone())
            .filter(|p| !p.is_empty());
        let image_path = match explicit {
            Some(path) => Some(path),
            None => match find_utility_vm(layers.paths).map_err(fail)? {
                Some(found) => Some(found),
                // Without a hypervisor no utility VM runs: none is needed.
                None if host.hyperv == HypervIsolation::Emulated => None,
                None => return Err(fail(TranslateErrorKind::UtilityVmNotFound)),
            },
        };
        config.hv_runtime = image_path.map(|image_path| HvRuntime {
            image_path,
            ..Default::default()
        });
    } else if let Some(root) = spec.oci().root() {
        config.volume_path = root.path().to_string_lossy().into_owned();
    }
    config.layer_folder_path = layers.folder.to_owned();
    config.layers = layers.to_hcs(id, name_to_guid, str::to_owned)?;

    let (dirs, pipes) = mounts::map(spec.oci().mounts().as_deref().unwrap_or_default());
    config.mapped_directories = dirs;
    mounts::check_pipes(&pipes, host).map_err(fail)?;
    config.mapped_pipes = pipes;
    Ok(config)
}

/// The container services an image: the option, else `windows.servicing`.
pub(crate) fn servicing(spec: &Spec, options: &CreateOptions) -> bool {
    options
        .servicing
        .unwrap_or_else(|| spec.windows().is_some_and(|w| w.servicing))
}

fn apply_resources(config: &mut ContainerConfig, id: &str, r: &WindowsResources, host_cpus: u64) {
    if let Some(cpu) = r.cpu {
        if let Some(mut count) = cpu.count {
            // Clamped here rather than when the spec is written, so that the
            // container keeps its request on a host with more processors.
            if count > host_cpus {
                warn!(
                    container = id,
                    "Changing requested CPUCount of {count} to current number of processors, {host_cpus}"
                );
                count = host_cpus;
            }
            config.processor_count = u32::try_from(count).unwrap_or(u32::MAX);
        }
        if let Some(shares) = cpu.shares {
            config.processor_weight = shares.into();
        }
        if let Some(maximum) = cpu.maximum {
            config.processor_maximum = maximum.into();
        }
    }
    if let Some(limit) = r.memory.and_then(|m| m.limit) {
        config.memory_maximum_in_mb = i64::try_from(limit / 1024 / 1024).unwrap_or(i64::MAX);
    }
    if let Some(storage) = r.storage {
        if let Some(bps) = storage.bps {
            config.storage_bandwidth_maximum = bps;
        }
        if let Some(iops) = storage.iops {
            config.storage_iops_maximum = iops;
        }
    }
}

/// The credentials option, else `windows.credentialSpec` when it is a JSON
/// string (as moby sends it). Never logged.
fn credentials(id: &str, spec: &Spec, options: &CreateOptions) -> String {
    if let Some(c) = &options.credentials {
        return c.expose().to_owned();
    }
    match spec.windows().and_then(|w| w.credential_spec.as_ref()) {
        Some(cs) => match cs.as_str() {
            Some(text) => text.to_owned(),
            None => {
                warn!(
                    container = id,
                    "windows.credentialSpec is not a JSON string; it is not passed on"
                );
                String::new()
            }
        },
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
