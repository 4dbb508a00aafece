//! Kubernetes' CRI, through containerd's CRI plugin with a runtime
//! handler for the shim: a pod sandbox (its network namespace made by CRI
//! and a CNI bridge) and a container in it created, started, exec'd into,
//! stopped and removed from Rust (k8s-cri), the container in the
//! sandbox's network namespace.
//! Every CRI sandbox and container names namespaces to join (the pod's
//! network namespace, the sandbox's IPC and UTS ones): the Linux service
//! joins them as the first process starts.

mod common;

use std::{os::unix::fs::MetadataExt, path::Path};

use common::{Containerd, CNI_BRIDGE, CNI_SUBNET_PREFIX, IMAGE};
use k8s_cri::v1::{
    runtime_service_client::RuntimeServiceClient, ContainerConfig, ContainerMetadata,
    ContainerStatusRequest, CreateContainerRequest, ExecSyncRequest, ImageSpec,
    LinuxContainerConfig, LinuxContainerSecurityContext, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata, PodSandboxStatusRequest, RemoveContainerRequest, RemovePodSandboxRequest,
    RunPodSandboxRequest, StartContainerRequest, StopContainerRequest, StopPodSandboxRequest,
};

/// kubelet's default: the pod's network and IPC, a pid namespace per
/// container (hcsrun's init is PID 1 of a new one; a pid namespace cannot
/// be joined).
fn per_container_pids() -> NamespaceOption {
    NamespaceOption {
        network: NamespaceMode::Pod as i32,
        pid: NamespaceMode::Container as i32,
        ipc: NamespaceMode::Pod as i32,
        ..Default::default()
    }
}

/// The (device, inode) of a namespace file.
fn ns_identity(path: &Path) -> (u64, u64) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.dev(), m.ino())
}

/// The network namespace path in the sandbox's bundle (CRI's netns file).
fn sandbox_netns(ctd: &Containerd, sandbox: &str) -> String {
    let config = ctd
        .state()
        .join("io.containerd.runtime.v2.task/k8s.io")
        .join(sandbox)
        .join("config.json");
    let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    spec["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "network")
        .and_then(|n| n["path"].as_str())
        .expect("the sandbox's network namespace path")
        .to_owned()
}

/// The bridge and its addresses, gone after the test whatever happens.
struct BridgeCleanup;

impl Drop for BridgeCleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", CNI_BRIDGE])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
#[ignore = "needs root and containerd 1.6 with its CRI plugin (scripts/setup.sh)"]
fn a_pod_runs_through_cri_its_container_in_the_pods_network() {
    let ctd = Containerd::start_with(true);
    let _bridge = BridgeCleanup;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let channel = containerd_client::connect(ctd.socket()).await.unwrap();
        let mut cri = RuntimeServiceClient::new(channel);
        // CRI's defaults: the pod's network (CNI), a pid namespace per
        // container; the sandbox's IPC and UTS namespaces shared.
        let sandbox_config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: "pod".into(),
                uid: "pod-uid-1".into(),
                namespace: "default".into(),
                attempt: 0,
            }),
            hostname: "pod-host".into(),
            linux: Some(LinuxPodSandboxConfig {
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(per_container_pids()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let run = cri
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(sandbox_config.clone()),
                runtime_handler: "hcsrun".into(),
            })
            .await;
        // The sandbox reached the shim either way.
        assert!(ctd.trace().contains("Create id="), "{}", ctd.trace());
        let sandbox = run
            .unwrap_or_else(|e| panic!("RunPodSandbox: {e}\n{}", ctd.log()))
            .into_inner()
            .pod_sandbox_id;
        let netns = sandbox_netns(&ctd, &sandbox);
        let (sandbox_pid, _) = ctd.task_in("k8s.io", &sandbox).unwrap();
        assert_eq!(
            ns_identity(Path::new(&format!("/proc/{sandbox_pid}/ns/net"))),
            ns_identity(Path::new(&netns)),
            "the sandbox is in CRI's network namespace {netns}"
        );
        let pod_ip = cri
            .pod_sandbox_status(PodSandboxStatusRequest {
                pod_sandbox_id: sandbox.clone(),
                verbose: false,
            })
            .await
            .unwrap()
            .into_inner()
            .status
            .unwrap()
            .network
            .unwrap()
            .ip;
        assert!(pod_ip.starts_with(CNI_SUBNET_PREFIX), "{pod_ip}");

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
                            namespace_options: Some(per_container_pids()),
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
        let (pid, _) = ctd.task_in("k8s.io", &container).unwrap();
        assert_eq!(
            ns_identity(Path::new(&format!("/proc/{pid}/ns/net"))),
            ns_identity(Path::new(&netns)),
            "the container joined the pod's network namespace"
        );

        let exec = cri
            .exec_sync(ExecSyncRequest {
                container_id: container.clone(),
                cmd: vec![
                    "sh".into(),
                    "-c".into(),
                    "echo hi from $(id -u) on $(hostname); cat /proc/net/fib_trie; exit 3".into(),
                ],
                timeout: 10,
            })
            .await
            .unwrap_or_else(|e| panic!("ExecSync: {e}\n{}", ctd.log()))
            .into_inner();
        let out = String::from_utf8_lossy(&exec.stdout);
        assert!(out.starts_with("hi from 0 on pod-host\n"), "{out}");
        assert!(
            out.contains(&pod_ip),
            "the pod's address is the container's: {out}"
        );
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
            pod_sandbox_id: sandbox.clone(),
        })
        .await
        .unwrap();
        assert!(ctd.task_in("k8s.io", &sandbox).is_none());
        assert!(!Path::new(&netns).exists(), "CRI removed {netns}");
    });
    assert_eq!(ctd.leftover_mounts(), Vec::<String>::new());
    assert_eq!(ctd.leftover_cgroups(), Vec::<std::path::PathBuf>::new());
}
