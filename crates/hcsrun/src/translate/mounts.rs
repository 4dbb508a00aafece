//! Mounts of a Windows container: host directories and named pipes.

use hcs_schema::{MappedDir, MappedPipe};
use oci_spec::runtime::Mount;

use super::{
    error::TranslateErrorKind,
    host::{HostFacts, NAMED_PIPE_MIN_BUILD},
};

/// Where a container sees a mapped named pipe.
const PIPE_PREFIX: &str = r"\\.\pipe\";

/// The spec's mounts as mapped directories and mapped pipes: a destination
/// `\\.\pipe\NAME` maps the host pipe `source` as `NAME`; any other mount
/// maps a directory, read-only if an option is `ro` in any case.
pub(crate) fn map(mounts: &[Mount]) -> (Vec<MappedDir>, Vec<MappedPipe>) {
    let mut dirs = Vec::new();
    let mut pipes = Vec::new();
    for mount in mounts {
        let source = mount
            .source()
            .as_ref()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let destination = mount.destination().to_string_lossy();
        if let Some(name) = destination.strip_prefix(PIPE_PREFIX) {
            pipes.push(MappedPipe {
                host_path: source,
                container_pipe_name: name.to_owned(),
            });
        } else {
            let read_only = mount
                .options()
                .iter()
                .flatten()
                .any(|o| o.eq_ignore_ascii_case("ro"));
            dirs.push(MappedDir {
                host_path: source,
                container_path: destination.into_owned(),
                read_only,
                ..Default::default()
            });
        }
    }
    (dirs, pipes)
}

/// Refuses named pipe mounts where the host cannot map them.
pub(crate) fn check_pipes(
    pipes: &[MappedPipe],
    host: &HostFacts,
) -> Result<(), TranslateErrorKind> {
    if pipes.is_empty() {
        return Ok(());
    }
    match host.os_build {
        Some(build) if build < NAMED_PIPE_MIN_BUILD => {
            Err(TranslateErrorKind::NamedPipesUnsupportedBuild { build })
        }
        _ if !host.named_pipe_mounts => Err(TranslateErrorKind::NamedPipesUnsupportedService {
            service: host.service.clone(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounts(json: &str) -> Vec<Mount> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn pipes_and_directories() {
        let (dirs, pipes) = map(&mounts(
            r#"[{"destination":"\\\\.\\pipe\\docker_engine","source":"\\\\.\\pipe\\docker_engine"},
                {"destination":"C:\\data","source":"C:\\host\\data","options":["rbind","RO"]},
                {"destination":"C:\\rw","source":"C:\\host\\rw","options":["rw","ro-ish"]},
                {"destination":"C:\\nosource"},
                {"destination":"\\\\.\\PIPE\\upper","source":"s"}]"#,
        ));
        assert_eq!(
            pipes,
            [MappedPipe {
                host_path: r"\\.\pipe\docker_engine".into(),
                container_pipe_name: "docker_engine".into(),
            }]
        );
        let dir = |host: &str, container: &str, read_only| MappedDir {
            host_path: host.into(),
            container_path: container.into(),
            read_only,
            ..Default::default()
        };
        assert_eq!(
            dirs,
            [
                dir(r"C:\host\data", r"C:\data", true),
                dir(r"C:\host\rw", r"C:\rw", false),
                dir("", r"C:\nosource", false),
                // The prefix is matched exactly, as the seed does.
                dir("s", r"\\.\PIPE\upper", false),
            ]
        );
    }

    fn host(os_build: Option<u32>, named_pipe_mounts: bool) -> HostFacts {
        HostFacts {
            service: "svc".into(),
            cpu_count: 1,
            os_build,
            named_pipe_mounts,
            owner: "o".into(),
            native_linux: false,
            hyperv: hcs::HypervIsolation::Hypervisor,
        }
    }

    #[test]
    fn pipes_need_build_16210_and_a_willing_service() {
        let pipe = [MappedPipe::default()];
        assert!(check_pipes(&pipe, &host(Some(16210), true)).is_ok());
        assert!(check_pipes(&pipe, &host(None, true)).is_ok());
        assert!(matches!(
            check_pipes(&pipe, &host(Some(16209), true)),
            Err(TranslateErrorKind::NamedPipesUnsupportedBuild { build: 16209 })
        ));
        assert!(matches!(
            check_pipes(&pipe, &host(Some(17763), false)),
            Err(TranslateErrorKind::NamedPipesUnsupportedService { .. })
        ));
        assert!(check_pipes(&[], &host(Some(14393), false)).is_ok());
    }
}
