//! The `Shim` side: the binary's three lives (start / daemon / delete) and
//! the compute service and client the daemon embeds.

use std::{
    collections::HashMap,
    error::Error as StdError,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use containerd_shim::{
    asynchronous::{spawn, ExitSignal, Shim},
    publisher::RemotePublisher,
    util::{timestamp, write_str_to_file},
    Config, DeleteResponse, Error, Flags, StartOpts,
};
use hcs::ComputeService;
use hcsrun::client::{Backend, Client, StateInfo};

use crate::{
    backend::{EventBackend, Shared},
    events::EventSender,
    rootfs,
    task::TaskService,
    tasks::{blocking, containerd_state, Tasks},
    trace,
};

/// Spec annotations that put several containers into one shim daemon (as
/// containerd's runc shims do): CRI puts every container of a pod into its
/// sandbox's shim.
const GROUP_LABELS: [&str; 2] = [
    "io.containerd.runc.v2.group",
    "io.kubernetes.cri.sandbox-id",
];

/// The file in a bundle that keeps the init's host pid for `shim delete`.
pub const INIT_PID_FILE: &str = "init.pid";

/// Where a containerd namespace's containers live in the Linux compute
/// service: a runtime directory under containerd's state directory (so two
/// containerd instances, or two namespaces with the same container id,
/// never share one) and a cgroup parent named after the namespace (and the
/// state directory, unless it is containerd's default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The Linux service's runtime directory (its systems' records).
    pub runtime_dir: PathBuf,
    /// The cgroup parent its systems are put under.
    pub cgroup_parent: String,
}

impl Placement {
    /// The placement of a bundle of containerd namespace `namespace`.
    pub fn of(bundle: &Path, namespace: &str) -> Self {
        let state = containerd_state(bundle).unwrap_or(Path::new("/run/containerd"));
        let cgroup_parent = if state == Path::new("/run/containerd") {
            format!("hcsrun-{namespace}")
        } else {
            // FNV-1a: a short stable tag of the state directory.
            let hash = state
                .as_os_str()
                .as_encoded_bytes()
                .iter()
                .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
                });
            format!("hcsrun-{namespace}-{:08x}", hash as u32)
        };
        Self {
            runtime_dir: state.join("hcsrun").join(namespace),
            cgroup_parent,
        }
    }

    /// The Linux compute service on this placement (it looks for its
    /// holder binary: on the blocking pool).
    pub async fn service(&self) -> Result<Arc<dyn ComputeService>, Error> {
        let builder = hcs_linux::LinuxComputeService::builder()
            .runtime_dir(&self.runtime_dir)
            .cgroup_parent(&self.cgroup_parent);
        let service = blocking(move || builder.build())
            .await
            .map_err(|e| Error::Other(format!("opening the Linux compute service: {e}")))?;
        Ok(Arc::new(service))
    }
}

/// The shim binary's state in each of its lives (start, daemon, delete).
pub struct HcsrunShim {
    exit: Arc<ExitSignal>,
    /// `-id`: the container id containerd started this shim for.
    id: String,
    /// `-namespace` (containerd namespace, e.g. "default", "k8s.io").
    namespace: String,
    /// `-bundle` is only passed to `delete`; otherwise the bundle is the cwd.
    bundle: PathBuf,
}

/// A backend for `shim delete`, which reports the exit itself.
struct Quiet;

#[async_trait]
impl Backend for Quiet {
    async fn state_changed(
        &self,
        _id: &str,
        _info: StateInfo,
    ) -> Result<(), Box<dyn StdError + Send + Sync>> {
        Ok(())
    }
}

#[async_trait]
impl Shim for HcsrunShim {
    type T = TaskService;

    async fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        let bundle = if args.bundle.is_empty() {
            std::env::current_dir().unwrap_or_default()
        } else {
            PathBuf::from(&args.bundle)
        };
        HcsrunShim {
            exit: Arc::new(ExitSignal::default()),
            id: args.id.clone(),
            namespace: args.namespace.clone(),
            bundle,
        }
    }

    /// `start`: re-exec this binary as the daemon (or find the grouped one)
    /// and print its address; containerd reads stdout and stderr combined,
    /// so nothing else may be printed.
    async fn start_shim(&mut self, opts: StartOpts) -> Result<String, Error> {
        let grouping = grouping_for(&opts.id).await;
        trace!(
            "start_shim id={} ns={} grouping={grouping}",
            opts.id,
            opts.namespace
        );
        let address = spawn(opts, &grouping, Vec::new()).await?;
        // Read back by containerd's reload and by the daemon at shutdown.
        write_str_to_file("address", &address).await?;
        Ok(address)
    }

    /// `delete`: containerd lost the daemon (it died, or containerd found a
    /// bundle whose shim is gone). The container's system is terminated and
    /// removed through the service, its rootfs unmounted; its init's exit
    /// status is lost: 128 + SIGKILL, as runc's shim answers.
    async fn delete_shim(&mut self) -> Result<DeleteResponse, Error> {
        trace!(
            "delete_shim id={} ns={} bundle={}",
            self.id,
            self.namespace,
            self.bundle.display()
        );
        let placement = Placement::of(&self.bundle, &self.namespace);
        // containerd also runs `delete` after a daemon that cleaned up and
        // exited: then there is no system left to open.
        let record = placement.runtime_dir.join(&self.id);
        if blocking(move || record.exists()).await {
            match placement.service().await {
                Ok(service) => {
                    let client = Client::new(service, Arc::new(Quiet));
                    if let Err(e) = client.restore(&self.id).await {
                        log::warn!("terminating {}: {e}", self.id);
                    }
                }
                Err(e) => log::warn!("{e}"),
            }
        }
        let bundle = self.bundle.clone();
        let pid = blocking(move || {
            if let Err(e) = rootfs::unmount_all(&rootfs::target(&bundle)) {
                log::warn!("unmounting the rootfs: {e}");
            }
            remove_dead_socket(&bundle);
            std::fs::read_to_string(bundle.join(INIT_PID_FILE))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0)
        })
        .await;
        let mut resp = DeleteResponse::new();
        resp.pid = pid;
        resp.exit_status = 128 + 9;
        resp.exited_at = Some(timestamp()?).into();
        Ok(resp)
    }

    async fn wait(&mut self) {
        self.exit.wait().await;
    }

    async fn create_task_service(&self, publisher: RemotePublisher) -> Self::T {
        trace!(
            "daemon id={} ns={} bundle={}",
            self.id,
            self.namespace,
            self.bundle.display()
        );
        let events = EventSender::spawn(publisher, self.namespace.clone());
        let shared = Arc::new(Shared {
            events: events.clone(),
            containers: Mutex::new(HashMap::new()),
        });
        let placement = Placement::of(&self.bundle, &self.namespace);
        // Without a service the daemon cannot run anything; containerd sees
        // the failure at its first Create.
        let service = placement.service().await.unwrap_or_else(|e| {
            log::error!("{e}");
            std::process::exit(1)
        });
        let client = Client::new(service, Arc::new(EventBackend(shared.clone())));
        let tasks = Tasks {
            client,
            shared,
            cgroup_parent: placement.cgroup_parent,
            runtime_dir: placement.runtime_dir,
        };
        TaskService::new(Arc::new(tasks), self.exit.clone(), events)
    }
}

/// The socket of a daemon that died (killed, it could not remove it): the
/// one in `<bundle>/address` when nothing listens on it any more. A grouped
/// daemon still serving other containers keeps its socket. Blocking.
fn remove_dead_socket(bundle: &Path) {
    let Ok(address) = std::fs::read_to_string(bundle.join("address")) else {
        return;
    };
    let path = Path::new(address.trim().trim_start_matches("unix://"));
    let is_socket = std::fs::symlink_metadata(path)
        .map(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
        .unwrap_or(false);
    if !is_socket {
        return;
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            if let Err(e) = std::fs::remove_file(path) {
                log::warn!("removing the dead shim's socket {}: {e}", path.display());
            }
        }
        _ => {}
    }
}

/// Grouping key from the bundle's config.json (cwd), as the runc shims do.
async fn grouping_for(id: &str) -> String {
    let Ok(raw) = tokio::fs::read("config.json").await else {
        return id.to_string();
    };
    let Ok(spec) = serde_json::from_slice::<serde_json::Value>(&raw) else {
        return id.to_string();
    };
    GROUP_LABELS
        .iter()
        .find_map(|l| spec["annotations"][*l].as_str().map(str::to_string))
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_follows_containerds_state_and_namespace() {
        let p = Placement::of(
            Path::new("/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc"),
            "k8s.io",
        );
        assert_eq!(p.runtime_dir, Path::new("/run/containerd/hcsrun/k8s.io"));
        assert_eq!(p.cgroup_parent, "hcsrun-k8s.io");
        let q = Placement::of(
            Path::new("/tmp/x/state/io.containerd.runtime.v2.task/default/c1"),
            "default",
        );
        assert_eq!(q.runtime_dir, Path::new("/tmp/x/state/hcsrun/default"));
        assert!(q.cgroup_parent.starts_with("hcsrun-default-"));
        assert_ne!(
            q.cgroup_parent,
            Placement::of(
                Path::new("/tmp/y/state/io.containerd.runtime.v2.task/default/c1"),
                "default"
            )
            .cgroup_parent
        );
    }
}
