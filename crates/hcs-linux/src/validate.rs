//! What a configuration must satisfy before the service records it. Every
//! refusal names the field and the value, with the HCS code a caller can
//! classify.

use std::{fs, os::unix::fs::FileTypeExt, path::Path};

use hcs::{ErrorCode, HcsError};
use hcs_schema::ContainerConfig;

use hcsrun_shim_protocol::paths::container_path;

use crate::{errors::system_error, id::validate_id};

/// Checks `config` for system `id`.
pub fn validate(id: &str, config: &ContainerConfig) -> Result<(), HcsError> {
    let refuse = |code: ErrorCode, detail: String| Err(system_error(id, "Create", code, detail));
    if !config.system_type.eq_ignore_ascii_case("Container") {
        return refuse(
            ErrorCode::NOT_SUPPORTED,
            format!(
                "SystemType {:?}: the Linux compute service runs containers only",
                config.system_type
            ),
        );
    }
    if config.layers.is_empty() {
        // No layers: the root is VolumePath itself (a Linux bundle's
        // root.path, used in place as runc does). With layers, VolumePath
        // is ignored, as Windows ignores it for Hyper-V isolation.
        if config.volume_path.is_empty() {
            return refuse(
                ErrorCode::INVALID_PARAMETER,
                "the configuration has neither layers nor a VolumePath; the Linux compute \
                 service needs one of them for the container's root"
                    .to_owned(),
            );
        }
        let path = Path::new(&config.volume_path);
        if !path.is_absolute() {
            return refuse(
                ErrorCode::INVALID_PARAMETER,
                format!("VolumePath {}: not an absolute path", path.display()),
            );
        }
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return refuse(
                    ErrorCode::DIRECTORY,
                    format!("VolumePath {} is not a directory", path.display()),
                )
            }
            Err(e) => {
                return refuse(
                    ErrorCode::PATH_NOT_FOUND,
                    format!("VolumePath {}: {e}", path.display()),
                )
            }
        }
    }
    for layer in &config.layers {
        match fs::metadata(&layer.path) {
            Ok(m) if m.is_dir() || m.is_file() => {}
            Ok(_) => {
                return refuse(
                    ErrorCode::INVALID_LAYER,
                    format!(
                        "layer {} is neither a directory nor an image file",
                        layer.path
                    ),
                )
            }
            Err(e) => {
                return refuse(
                    ErrorCode::PATH_NOT_FOUND,
                    format!("layer {}: {e}", layer.path),
                )
            }
        }
    }
    if !config.layer_folder_path.is_empty() {
        let path = Path::new(&config.layer_folder_path);
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return refuse(
                    ErrorCode::DIRECTORY,
                    format!("layer folder {} is not a directory", path.display()),
                )
            }
            Err(e) => {
                return refuse(
                    ErrorCode::PATH_NOT_FOUND,
                    format!("layer folder {}: {e}", path.display()),
                )
            }
        }
        if nix::unistd::access(path, nix::unistd::AccessFlags::W_OK).is_err() {
            return refuse(
                ErrorCode::ACCESS_IS_DENIED,
                format!("layer folder {} is not writable", path.display()),
            );
        }
    }
    for dir in &config.mapped_directories {
        if container_path(&dir.container_path).is_none() {
            return refuse(
                ErrorCode::INVALID_PARAMETER,
                format!(
                    "mapped directory {:?}: the container path must be absolute",
                    dir.container_path
                ),
            );
        }
        // Never created on the host: a missing source is an error.
        if let Err(e) = fs::metadata(&dir.host_path) {
            return refuse(
                ErrorCode::PATH_NOT_FOUND,
                format!("mapped directory source {}: {e}", dir.host_path),
            );
        }
    }
    for pipe in &config.mapped_pipes {
        let name = &pipe.container_pipe_name;
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return refuse(
                ErrorCode::INVALID_PARAMETER,
                format!("mapped pipe name {name:?} is not a valid file name"),
            );
        }
        match fs::metadata(&pipe.host_path) {
            Ok(m) if m.file_type().is_socket() => {}
            Ok(_) => {
                return refuse(
                    ErrorCode::INVALID_PARAMETER,
                    format!("mapped pipe source {} is not a unix socket", pipe.host_path),
                )
            }
            Err(e) => {
                return refuse(
                    ErrorCode::PATH_NOT_FOUND,
                    format!("mapped pipe source {}: {e}", pipe.host_path),
                )
            }
        }
    }
    if !config.endpoint_list.is_empty() {
        return refuse(
            ErrorCode::NOT_SUPPORTED,
            "network endpoints (EndpointList) are not supported by the Linux compute service; \
             a system gets loopback only, or shares another system's network (NetworkSharedContainerName)"
                .to_owned(),
        );
    }
    if !config.network_shared_container_name.is_empty() {
        validate_id(&config.network_shared_container_name, "Create")?;
    }
    if !config.mapped_virtual_disks.is_empty() {
        return refuse(
            ErrorCode::NOT_SUPPORTED,
            "mapped virtual disks are not supported by the Linux compute service".to_owned(),
        );
    }
    if let Some(hv) = &config.hv_runtime {
        if !hv.image_path.is_empty() {
            let image = Path::new(&hv.image_path);
            if !image.exists() {
                return refuse(
                    ErrorCode::PATH_NOT_FOUND,
                    format!("utility VM image {} does not exist", image.display()),
                );
            }
            for file in [&hv.linux_kernel_file, &hv.linux_initrd_file] {
                if !file.is_empty() && !image.join(file).exists() {
                    return refuse(
                        ErrorCode::PATH_NOT_FOUND,
                        format!(
                            "utility VM file {} does not exist",
                            image.join(file).display()
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hcs_schema::{Layer, MappedDir, MappedPipe};

    use super::*;

    fn base() -> ContainerConfig {
        ContainerConfig {
            system_type: "Container".into(),
            name: "c".into(),
            layers: vec![Layer {
                id: String::new(),
                path: "/".into(),
            }],
            ..Default::default()
        }
    }

    fn code(config: &ContainerConfig) -> Option<ErrorCode> {
        validate("c", config).err().map(|e| e.code().unwrap())
    }

    #[test]
    fn a_minimal_config_passes() {
        assert_eq!(code(&base()), None);
    }

    #[test]
    fn a_volume_path_is_a_root_without_layers() {
        let mut c = base();
        c.layers.clear();
        c.container_type = "linux".into();
        c.volume_path = "/".into();
        assert_eq!(code(&c), None);
        // With layers it is not looked at (Windows' VolumePath for Hyper-V).
        let mut c = base();
        c.volume_path = r"\\?\Volume{00000000-0000-0000-0000-000000000000}\".into();
        assert_eq!(code(&c), None);
    }

    #[test]
    fn refusals_carry_codes() {
        let mut c = base();
        c.system_type = "VirtualMachine".into();
        assert_eq!(code(&c), Some(ErrorCode::NOT_SUPPORTED));

        let mut c = base();
        c.layers.clear();
        assert_eq!(code(&c), Some(ErrorCode::INVALID_PARAMETER), "no root");
        c.volume_path = "relative/root".into();
        assert_eq!(code(&c), Some(ErrorCode::INVALID_PARAMETER));
        c.volume_path = "/no/such/root".into();
        assert_eq!(code(&c), Some(ErrorCode::PATH_NOT_FOUND));
        c.volume_path = "/etc/hostname".into();
        assert_eq!(code(&c), Some(ErrorCode::DIRECTORY));

        let mut c = base();
        c.layers[0].path = "/no/such/layer".into();
        assert_eq!(code(&c), Some(ErrorCode::PATH_NOT_FOUND));

        let mut c = base();
        c.layer_folder_path = "/no/such/scratch".into();
        assert_eq!(code(&c), Some(ErrorCode::PATH_NOT_FOUND));

        let mut c = base();
        c.mapped_directories.push(MappedDir {
            host_path: "/no/such/dir".into(),
            container_path: "/d".into(),
            ..Default::default()
        });
        assert_eq!(code(&c), Some(ErrorCode::PATH_NOT_FOUND));

        let mut c = base();
        c.mapped_directories.push(MappedDir {
            host_path: "/".into(),
            container_path: "relative".into(),
            ..Default::default()
        });
        assert_eq!(code(&c), Some(ErrorCode::INVALID_PARAMETER));

        let mut c = base();
        c.mapped_pipes.push(MappedPipe {
            host_path: "/etc/hostname".into(),
            container_pipe_name: "p".into(),
        });
        assert_eq!(code(&c), Some(ErrorCode::INVALID_PARAMETER), "not a socket");

        let mut c = base();
        c.mapped_pipes.push(MappedPipe {
            host_path: "/no/such.sock".into(),
            container_pipe_name: "p".into(),
        });
        assert_eq!(code(&c), Some(ErrorCode::PATH_NOT_FOUND));

        let mut c = base();
        c.endpoint_list.push("e".into());
        assert_eq!(code(&c), Some(ErrorCode::NOT_SUPPORTED));

        let mut c = base();
        c.network_shared_container_name = "../x".into();
        assert_eq!(code(&c), Some(ErrorCode::INVALID_PARAMETER));
    }

    #[test]
    fn messages_name_the_value() {
        let mut c = base();
        c.layers[0].path = "/no/such/layer".into();
        let text = validate("c", &c).unwrap_err().to_string();
        assert!(
            text.starts_with("container c encountered an error during Create"),
            "{text}"
        );
        assert!(text.contains("/no/such/layer"), "{text}");
    }
}
