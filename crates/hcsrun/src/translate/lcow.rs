//! Linux containers on Windows (the seed's `createLinux`): always in a
//! utility VM, whose layers are `layer.vhd` files.

use hcs_schema::{ContainerConfig, HvRuntime};

use super::{
    error::TranslateError,
    host::HostFacts,
    layers::{join, Layers, NameToGuid},
    network,
    options::{CreateOptions, LcowMode, LcowOption},
    spec::Spec,
};

pub(crate) fn container_config(
    id: &str,
    spec: &Spec,
    options: &CreateOptions,
    lcow: &LcowOption,
    host: &HostFacts,
    name_to_guid: &NameToGuid<'_>,
) -> Result<ContainerConfig, TranslateError> {
    let mut config = ContainerConfig {
        hv_partition: true,
        name: id.to_owned(),
        system_type: "container".to_owned(),
        container_type: "linux".to_owned(),
        owner: host.owner.clone(),
        terminate_on_last_handle_closed: true,
        ..Default::default()
    };
    config.hv_runtime = Some(match lcow.actual_mode {
        LcowMode::Vhdx => HvRuntime {
            image_path: lcow.vhdx.clone(),
            ..Default::default()
        },
        LcowMode::KernelInitrd => HvRuntime {
            image_path: lcow.kird_path.clone(),
            linux_kernel_file: lcow.kernel_file.clone(),
            linux_initrd_file: lcow.initrd_file.clone(),
            linux_boot_parameters: lcow.boot_parameters.clone(),
            ..Default::default()
        },
    });
    let layers = Layers::resolve(id, spec, options)?;
    config.layer_folder_path = layers.folder.to_owned();
    config.layers = layers.to_hcs(id, name_to_guid, |path| join(path, "layer.vhd"))?;
    network::apply(&mut config, spec, options);
    Ok(config)
}

#[cfg(test)]
mod tests;
