//! The task service's work: containers created, started, exec'd into,
//! signalled and deleted through hcsrun's client.

use std::{
    path::{Path, PathBuf},
    sync::{atomic::Ordering, Arc, Mutex},
};

use hcsrun::{
    client::{Client, IoPipe},
    translate::{CreateOptions, LinuxSpec, OciProcess},
};

use crate::{
    backend::Shared,
    cgroup::Cgroups,
    container::{Container, Exit, Phase, Proc},
    error::{Result, ShimError},
    namespaces, oom, rootfs, signal,
    stdio::{self, StdioPaths},
};

const SIGKILL: u32 = 9;
const SIGTERM: u32 = 15;

/// A `Create` request, as the shim needs it.
pub struct CreateRequest {
    /// The container id.
    pub id: String,
    /// Its bundle directory.
    pub bundle: PathBuf,
    /// The snapshot's mounts, for `<bundle>/rootfs` (none: containerd mounted it).
    pub rootfs: Vec<rootfs::RootMount>,
    /// The init's streams.
    pub stdio: StdioPaths,
}

/// Runs blocking work on the blocking pool.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("blocking task panicked")
}

/// The daemon's containers, run through hcsrun's client.
pub struct Tasks {
    /// hcsrun's client over the Linux compute service.
    pub client: Client,
    /// What the client's backend shares (containers, events).
    pub shared: Arc<Shared>,
    /// The cgroup parent the service puts containers under.
    pub cgroup_parent: String,
    /// The service's runtime directory (the systems' records).
    pub runtime_dir: PathBuf,
}

impl Tasks {
    /// Container `id`, or NotFound.
    pub fn container(&self, id: &str) -> Result<Arc<Container>> {
        self.shared
            .container(id)
            .ok_or_else(|| ShimError::NoContainer(id.to_owned()))
    }

    /// Process `exec_id` (empty: init) of container `id`, or NotFound.
    pub fn process(&self, id: &str, exec_id: &str) -> Result<(Arc<Container>, Arc<Proc>)> {
        let c = self.container(id)?;
        let p = c
            .process(exec_id)
            .ok_or_else(|| ShimError::NoProcess(id.to_owned(), exec_id.to_owned()))?;
        Ok((c, p))
    }

    /// `Create`: the rootfs mounted, the spec read, the system started with
    /// its pid 1 parked; returns pid 1's host pid.
    pub async fn create(&self, req: CreateRequest) -> Result<u32> {
        if self.shared.container(&req.id).is_some() {
            return Err(ShimError::Exists(format!("container {}", req.id)));
        }
        let target = rootfs::target(&req.bundle);
        let mounted = !req.rootfs.is_empty();
        if mounted {
            let (mounts, target) = (req.rootfs.clone(), target.clone());
            blocking(move || rootfs::mount_all(&mounts, &target))
                .await
                .map_err(|e| ShimError::other("mounting the rootfs", e))?;
        }
        match self.create_mounted(&req, mounted).await {
            Ok(pid) => Ok(pid),
            Err(e) => {
                if mounted {
                    let _ = blocking(move || rootfs::unmount_all(&target)).await;
                }
                Err(e)
            }
        }
    }

    async fn create_mounted(&self, req: &CreateRequest, mounted: bool) -> Result<u32> {
        let bundle = req.bundle.clone();
        let spec = blocking(move || LinuxSpec::from_bundle(&bundle))
            .await
            .map_err(|e| {
                ShimError::Invalid(format!("{}/config.json: {e}", req.bundle.display()))
            })?;
        for warning in spec.warnings() {
            log::warn!("container {}: {warning}", req.id);
        }
        // The spec's root.path (the mounted snapshot) is the service's
        // VolumePath: the container's root, used in place, as with runc.
        let parked = self
            .client
            .create_linux_parked(&req.id, &spec, &CreateOptions::default())
            .await?;
        let (parent, id, bundle, runtime_dir) = (
            self.cgroup_parent.clone(),
            req.id.clone(),
            req.bundle.clone(),
            self.runtime_dir.clone(),
        );
        let found = blocking(move || {
            let cgroups = Cgroups::locate(&parent, &id, &runtime_dir)?;
            let pids = cgroups.procs()?;
            // For `shim delete`, which has no daemon to ask.
            if let Some(pid) = pids.first() {
                std::fs::write(bundle.join(crate::service::INIT_PID_FILE), pid.to_string())?;
            }
            let efd = cgroups
                .memory_dir()
                .and_then(|d| oom::register(&d).map(|registration| (registration, d)));
            Ok::<_, std::io::Error>((cgroups, pids, efd))
        })
        .await;
        let (cgroups, pids, efd) = match found {
            Ok(found) => found,
            Err(e) => {
                self.client.discard_parked(parked).await;
                return Err(ShimError::other("finding the container's cgroups", e));
            }
        };
        // Parked, pid 1 is the only process; it becomes the user's.
        let pid = pids.first().copied().unwrap_or(0);
        let init = Arc::new(Proc::new("", req.stdio.clone(), None));
        init.pid.store(pid, Ordering::SeqCst);
        let container = Arc::new(Container {
            id: req.id.clone(),
            bundle: req.bundle.clone(),
            mounted_rootfs: mounted,
            init,
            parked: Mutex::new(Some(parked)),
            execs: Mutex::default(),
            cgroups,
            namespaces: spec.namespaces().clone(),
            oom: Mutex::new(None),
            paused: false.into(),
        });
        match efd.and_then(|(registration, memory_dir)| {
            let events = self.shared.events.clone();
            let id = req.id.clone();
            oom::watch(registration, memory_dir, move || events.task_oom(&id))
        }) {
            Ok(watch) => *container.oom.lock().unwrap() = Some(watch),
            Err(e) => log::warn!("container {}: OOM events unavailable: {e}", req.id),
        }
        self.shared
            .containers
            .lock()
            .unwrap()
            .insert(req.id.clone(), container);
        Ok(pid)
    }

    /// `Start` of init or an exec'd process; returns its host pid.
    pub async fn start(&self, id: &str, exec_id: &str) -> Result<u32> {
        let (container, proc) = self.process(id, exec_id)?;
        {
            let mut phase = proc.phase.lock().unwrap();
            if *phase != Phase::Created {
                return Err(ShimError::State(format!(
                    "{}: cannot start a process that is {:?}",
                    describe(id, exec_id),
                    *phase
                )));
            }
            *phase = Phase::Starting(None);
        }
        let result = self.start_process(&container, &proc).await;
        let held = {
            let mut phase = proc.phase.lock().unwrap();
            match *phase {
                Phase::Starting(held) => {
                    *phase = if result.is_ok() {
                        Phase::Running
                    } else {
                        Phase::Created
                    };
                    held
                }
                _ => None,
            }
        };
        let pid = result?;
        if exec_id.is_empty() {
            // The spec's namespaces are joined as the first process starts.
            let wanted = container.namespaces.clone();
            if let Err(refused) = blocking(move || namespaces::check(&wanted, pid)).await {
                let _ = self.client.signal(id, SIGKILL as i32).await;
                return Err(ShimError::Invalid(format!("container {id}: {refused}")));
            }
            self.follow_moved_cgroups(&container).await;
        } else {
            self.shared.events.task_exec_started(id, exec_id, pid);
        }
        if let Some(exit) = held {
            self.shared.exited(&container, &proc, exit).await;
        }
        Ok(pid)
    }

    async fn start_process(&self, container: &Container, proc: &Arc<Proc>) -> Result<u32> {
        let opened = stdio::open(&proc.stdio)
            .await
            .map_err(|e| ShimError::other("opening stdio", e))?;
        let attached = proc.clone();
        let attach = move |pipes: IoPipe| {
            if let Some(pid) = pipes.host_pid {
                attached.pid.store(pid, Ordering::SeqCst);
            }
            *attached.copies.lock().unwrap() = stdio::attach(opened, pipes);
            Ok(())
        };
        if proc.exec_id.is_empty() {
            let parked = container.parked.lock().unwrap().take().ok_or_else(|| {
                ShimError::State(format!("container {}: not created", container.id))
            })?;
            self.client.start_parked(parked, attach).await?;
        } else {
            let spec = proc.spec.as_deref().ok_or_else(|| {
                ShimError::Invalid(format!("exec {}: no process spec", proc.exec_id))
            })?;
            self.client
                .add_process(&container.id, &proc.exec_id, spec, attach)
                .await?;
        }
        Ok(proc.pid())
    }

    /// After the init's start: where a spec's `linux.cgroupsPath` moved the
    /// cgroups (the holder does, before the first process runs), the OOM
    /// watch made at `Create` saw the old memory cgroup go; a new one
    /// watches the moved cgroup, and OOM kills it counted before the watch
    /// was registered are told now (before any exit: it is held meanwhile).
    async fn follow_moved_cgroups(&self, container: &Arc<Container>) {
        let cgroups = container.cgroups.clone();
        let found = blocking(move || {
            if !cgroups.is_moved() {
                return Ok(None);
            }
            let dir = cgroups.memory_dir()?;
            let efd = oom::register(&dir)?;
            let earlier = oom::kills(&dir);
            Ok::<_, std::io::Error>(Some((efd, dir, earlier)))
        })
        .await;
        let (efd, dir, earlier) = match found {
            Ok(Some(found)) => found,
            Ok(None) => return,
            Err(e) => {
                log::warn!("container {}: OOM events unavailable: {e}", container.id);
                return;
            }
        };
        for _ in 0..earlier {
            self.shared.events.task_oom(&container.id);
        }
        let events = self.shared.events.clone();
        let id = container.id.clone();
        match oom::watch(efd, dir, move || events.task_oom(&id)) {
            Ok(watch) => *container.oom.lock().unwrap() = Some(watch),
            Err(e) => log::warn!("container {}: OOM events unavailable: {e}", container.id),
        }
    }

    /// `Exec`: the process is recorded, started by `Start`.
    pub fn exec(&self, id: &str, exec_id: &str, stdio: StdioPaths, spec: &[u8]) -> Result<()> {
        let container = self.container(id)?;
        if exec_id.is_empty() {
            return Err(ShimError::Invalid("exec: an exec id is needed".into()));
        }
        let spec: OciProcess = serde_json::from_slice(spec)
            .map_err(|e| ShimError::Invalid(format!("exec {exec_id}: process spec: {e}")))?;
        if container.init.phase() != Phase::Running {
            return Err(ShimError::State(format!(
                "container {id}: cannot exec in a container that is not running"
            )));
        }
        let mut execs = container.execs.lock().unwrap();
        if execs.contains_key(exec_id) {
            return Err(ShimError::Exists(format!("exec {exec_id}")));
        }
        let proc = Proc::new(exec_id, stdio, Some(Box::new(spec)));
        execs.insert(exec_id.to_owned(), Arc::new(proc));
        Ok(())
    }

    /// `Kill`.
    pub async fn kill(&self, id: &str, exec_id: &str, sig: u32, all: bool) -> Result<()> {
        let (container, proc) = self.process(id, exec_id)?;
        match proc.phase() {
            Phase::Exited(_) => return Err(ShimError::Finished),
            Phase::Created if exec_id.is_empty() => {
                // Never started: its parked pid 1 goes with the system.
                let parked = container.parked.lock().unwrap().take();
                if let Some(parked) = parked {
                    self.client.discard_parked(parked).await;
                    self.shared
                        .exited(&container, &proc, Exit::now(128 + sig))
                        .await;
                }
                return Ok(());
            }
            Phase::Created => {
                return Err(ShimError::State(format!(
                    "{}: not started",
                    describe(id, exec_id)
                )))
            }
            Phase::Starting(_) | Phase::Running => {}
        }
        if all && exec_id.is_empty() {
            let cgroups = container.cgroups.clone();
            let pids = blocking(move || cgroups.procs())
                .await
                .map_err(|e| ShimError::other("listing the container's processes", e))?;
            for pid in pids {
                let _ = signal::send(pid, sig);
            }
            return Ok(());
        }
        if exec_id.is_empty() && (sig == SIGKILL || sig == SIGTERM) {
            // Through the client: a stop asked for (SIGKILL terminates).
            return Ok(self.client.signal(id, sig as i32).await?);
        }
        signal::send(proc.pid(), sig).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ShimError::Finished,
            _ => ShimError::other("signalling", e),
        })
    }

    /// `Delete`: a process that has exited (or never started) is forgotten;
    /// the init's takes the container with it, its rootfs unmounted.
    pub async fn delete(&self, id: &str, exec_id: &str) -> Result<(u32, Exit)> {
        let (container, proc) = self.process(id, exec_id)?;
        let exit = match proc.phase() {
            Phase::Exited(exit) => exit,
            Phase::Created => Exit::now(0),
            phase => {
                return Err(ShimError::State(format!(
                    "{}: cannot delete a process that is {phase:?}",
                    describe(id, exec_id)
                )))
            }
        };
        if !exec_id.is_empty() {
            container.execs.lock().unwrap().remove(exec_id);
            return Ok((proc.pid(), exit));
        }
        let parked = container.parked.lock().unwrap().take();
        if let Some(parked) = parked {
            self.client.discard_parked(parked).await;
        }
        container.oom.lock().unwrap().take();
        if container.mounted_rootfs {
            let target = rootfs::target(&container.bundle);
            blocking(move || rootfs::unmount_all(&target))
                .await
                .map_err(|e| ShimError::other("unmounting the rootfs", e))?;
        }
        self.shared.containers.lock().unwrap().remove(id);
        self.shared.events.task_delete(
            id,
            "",
            proc.pid(),
            exit.status,
            crate::container::timestamp(exit.at),
        );
        Ok((proc.pid(), exit))
    }

    /// `Wait`.
    pub async fn wait(&self, id: &str, exec_id: &str) -> Result<Exit> {
        let (_, proc) = self.process(id, exec_id)?;
        Ok(proc.wait().await)
    }

    /// `Pause` (or, with `pause` false, `Resume`): the freezer, through the client.
    pub async fn pause(&self, id: &str, pause: bool) -> Result<()> {
        let container = self.container(id)?;
        if container.init.phase() != Phase::Running {
            return Err(ShimError::State(format!("container {id}: not running")));
        }
        if pause {
            self.client.pause(id).await?;
        } else {
            self.client.resume(id).await?;
        }
        Ok(())
    }

    /// `ResizePty`: the process console's size.
    pub async fn resize(&self, id: &str, exec_id: &str, width: u32, height: u32) -> Result<()> {
        let (_, proc) = self.process(id, exec_id)?;
        if proc.phase() != Phase::Running {
            return Err(ShimError::State(format!(
                "{}: not running",
                describe(id, exec_id)
            )));
        }
        let name = if exec_id.is_empty() {
            hcsrun::client::INIT_PROCESS
        } else {
            exec_id
        };
        let clamp = |v: u32| v.min(u16::MAX as u32) as u16;
        Ok(self
            .client
            .resize(id, name, clamp(width), clamp(height))
            .await?)
    }

    /// `CloseIO`: the process's stdin ends once what containerd wrote is passed on.
    pub fn close_io(&self, id: &str, exec_id: &str) -> Result<()> {
        let (_, proc) = self.process(id, exec_id)?;
        proc.copies.lock().unwrap().close_stdin();
        Ok(())
    }

    /// `Pids`: the host pids of the container's processes.
    pub async fn pids(&self, id: &str) -> Result<Vec<u32>> {
        let cgroups = self.container(id)?.cgroups.clone();
        blocking(move || cgroups.procs())
            .await
            .map_err(|e| ShimError::other("listing the container's processes", e))
    }

    /// The container holds nothing running any more (`Shutdown`).
    pub fn is_empty(&self) -> bool {
        self.shared.containers.lock().unwrap().is_empty()
    }
}

fn describe(id: &str, exec_id: &str) -> String {
    if exec_id.is_empty() {
        format!("container {id}")
    } else {
        format!("container {id}: process {exec_id}")
    }
}

/// The state directory of containerd that `bundle` belongs to: bundles
/// are `<state>/io.containerd.runtime.v2.task/<namespace>/<id>`.
pub fn containerd_state(bundle: &Path) -> Option<&Path> {
    bundle.parent()?.parent()?.parent()
}
