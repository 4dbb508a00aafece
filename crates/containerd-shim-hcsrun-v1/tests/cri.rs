//! Kubernetes' CRI, through containerd's CRI plugin with a runtime
//! handler for the shim: a pod sandbox and a container in it created,
//! started, exec'd into, stopped and removed from Rust (k8s-cri).

mod common;

use common::{Containerd, IMAGE};
use k8s_cri::v1::{
    runtime_service_client::RuntimeServiceClient, ContainerConfig, ContainerMetadata,
    ContainerStatusRequest, CreateContainerRequest, ExecSyncRequest, ImageSpec,
    LinuxContainerConfig, LinuxContainerSecurityContext, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata, RemoveContainerRequest, RemovePodSandboxRequest, RunPodSandboxRequest,
    StartContainerRequest, StopContainerRequest, StopPodSandboxRequest,
};

#[test]
#[ignore = "needs root"]
fn a_pod_runs_through_cri() {
    let ctd = Containerd::start_with(true);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let channel = containerd_client::connect(ctd.socket()).await.unwrap();
        let mut cri = RuntimeServiceClient::new(channel);
        let sandbox_config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: "pod".into(),
                uid: "pod-uid-1".into(),
                namespace: "default".into(),
                attempt: 0,
            }),
            linux: Some(LinuxPodSandboxConfig {
                security_context: Some(LinuxSandboxSecurityContext {
                    // The host's network: no CNI configuration needed.
                    namespace_options: Some(NamespaceOption {
                        network: NamespaceMode::Node as i32,
                        // kubelet's default: a pid namespace per container
                        // (a pid namespace cannot be joined: each init is
                        // its own PID 1).
                        pid: NamespaceMode::Container as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let sandbox = cri
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(sandbox_config.clone()),
                runtime_handler: "hcsrun".into(),
            })
            .await
            .unwrap_or_else(|e| panic!("RunPodSandbox: {e}\n{}", ctd.log()))
            .into_inner()
            .pod_sandbox_id;
        // The sandbox runs in the shim: the task is ours.
        assert!(ctd.trace().contains(&format!("Create id={sandbox}")));

        let container = cri
            .create_container(CreateContainerRequest {
                pod_sandbox_id: sandbox.clone(),
                config: Some(ContainerConfig {
                    metadata: Some(ContainerMetadata {
                        name: "app".into(),
                        attempt: 0,
                    }),
                    image: Some(ImageSpec {
                        image: IMAGE.into(),
                        ..Default::default()
                    }),
                    command: vec!["sleep".into(), "1000".into()],
                    linux: Some(LinuxContainerConfig {
                        security_context: Some(LinuxContainerSecurityContext {
                            namespace_options: Some(NamespaceOption {
                                network: NamespaceMode::Node as i32,
                                pid: NamespaceMode::Container as i32,
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                sandbox_config: Some(sandbox_config),
            })
            .await
            .unwrap_or_else(|e| panic!("CreateContainer: {e}\n{}", ctd.log()))
            .into_inner()
            .container_id;
        cri.start_container(StartContainerRequest {
            container_id: container.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("StartContainer: {e}\n{}", ctd.log()));
        // CRI groups a pod's containers into its sandbox's shim.
        let shims = ctd
            .leftover_processes()
            .into_iter()
            .filter(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).contains("containerd-shim-hcsrun-v1"))
                    .unwrap_or(false)
            })
            .count();
        assert_eq!(shims, 1, "one shim for the pod");

        let exec = cri
            .exec_sync(ExecSyncRequest {
                container_id: container.clone(),
                cmd: vec![
                    "sh".into(),
                    "-c".into(),
                    "echo hi from $(id -u); exit 3".into(),
                ],
                timeout: 10,
            })
            .await
            .unwrap_or_else(|e| panic!("ExecSync: {e}\n{}", ctd.log()))
            .into_inner();
        assert_eq!(String::from_utf8_lossy(&exec.stdout), "hi from 0\n");
        assert_eq!(exec.exit_code, 3);

        cri.stop_container(StopContainerRequest {
            container_id: container.clone(),
            timeout: 1,
        })
        .await
        .unwrap();
        let status = cri
            .container_status(ContainerStatusRequest {
                container_id: container.clone(),
                verbose: false,
            })
            .await
            .unwrap()
            .into_inner()
            .status
            .unwrap();
        // sleep ignores SIGTERM as a pid 1: killed after the timeout.
        assert_eq!(status.exit_code, 137);
        cri.remove_container(RemoveContainerRequest {
            container_id: container,
        })
        .await
        .unwrap();
        cri.stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: sandbox.clone(),
        })
        .await
        .unwrap();
        cri.remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: sandbox,
        })
        .await
        .unwrap();
    });
    assert!(ctd.task_in("k8s.io", "x").is_none());
    assert_eq!(ctd.leftover_cgroups(), Vec::<std::path::PathBuf>::new());
}
