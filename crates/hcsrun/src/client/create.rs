//! Creating and starting a container (the seed's `Create`,
//! `createWindows`/`createLinux` and `start`).

use std::{collections::HashMap, sync::Arc, time::Duration};

use hcs::{ComputeSystem, Process};
use tracing::debug;

use super::{
    container::{Container, CreatedFrom, ProcessEntry},
    error::{ClientError, ClientErrorKind, Result},
    events::{State, StateInfo},
    stdio::{IoPipe, OutputReader, StdinWriter},
    supervise, AttachError, Client,
};
use crate::translate::{self, CreateOptions, LinuxSpec, Platform, Spec};

const OP: &str = "create";

/// How long an unattached process may take to die.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(30);

/// A Linux container whose system runs with its pid 1 parked, its init
/// process not started: see [`Client::create_linux_parked`]. Dropping it
/// leaves the system running; hand it to [`Client::start_parked`] or
/// [`Client::discard_parked`].
pub struct ParkedContainer {
    id: String,
    system: Arc<dyn ComputeSystem>,
    config: hcs_schema::ContainerConfig,
    init_config: hcs_schema::ProcessConfig,
    from: CreatedFrom,
}

impl ParkedContainer {
    /// The container's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Client {
    /// Creates the container `id` from `spec` and `options`, starts it and
    /// its init process, hands the process's streams to `attach`, and tells
    /// the backend it started. Its exit is told later, once.
    ///
    /// A servicing container runs to completion here instead: no streams, no
    /// events, and a non-zero exit code is an error.
    ///
    /// On any failure nothing is left running.
    pub async fn create<F>(
        &self,
        id: &str,
        spec: &Spec,
        options: &CreateOptions,
        attach: F,
    ) -> Result<()>
    where
        F: FnOnce(IoPipe) -> Result<(), AttachError> + Send,
    {
        let inner = &self.inner;
        let _lock = inner.locks.lock(id).await;
        if inner.containers.lock().unwrap().contains_key(id) {
            return Err(ClientError::new(OP, id, ClientErrorKind::AlreadyExists));
        }
        let translate_err = |e| ClientError::new(OP, id, ClientErrorKind::Translate(e));
        let platform = Platform::of(id, spec, options, &inner.host).map_err(translate_err)?;
        let name_to_guid = |name: &str| inner.service.name_to_guid(name);
        let config = translate::container_config(id, spec, options, &inner.host, &name_to_guid)
            .map_err(translate_err)?;
        let init_config =
            translate::init_process_config(id, spec, options).map_err(translate_err)?;
        let from = CreatedFrom::Oci {
            spec: Box::new(spec.clone()),
            platform,
        };
        self.create_translated(id, config, init_config, from, attach)
            .await
    }

    /// Creates the Linux container `id` from `spec`, on a service that runs
    /// Linux containers natively (the Linux compute service), as
    /// [`create`](Self::create) does for the seed's specs: the
    /// `ContainerConfig` and init `ProcessConfig` come from
    /// [`translate::linux`], whose `OCISpecification` carries what the
    /// service applies in the container.
    pub async fn create_linux<F>(
        &self,
        id: &str,
        spec: &LinuxSpec,
        options: &CreateOptions,
        attach: F,
    ) -> Result<()>
    where
        F: FnOnce(IoPipe) -> Result<(), AttachError> + Send,
    {
        let inner = &self.inner;
        let _lock = inner.locks.lock(id).await;
        if inner.containers.lock().unwrap().contains_key(id) {
            return Err(ClientError::new(OP, id, ClientErrorKind::AlreadyExists));
        }
        let translate_err = |e| ClientError::new(OP, id, ClientErrorKind::Translate(e));
        refuse_for_client(id, spec)?;
        let name_to_guid = |name: &str| inner.service.name_to_guid(name);
        let config =
            translate::linux::container_config(id, spec, options, &inner.host, &name_to_guid)
                .map_err(translate_err)?;
        let init_config =
            translate::linux::init_process_config(id, spec, options).map_err(translate_err)?;
        let from = CreatedFrom::Linux(Box::new(spec.clone()));
        self.create_translated(id, config, init_config, from, attach)
            .await
    }

    /// Creates the Linux container `id` from `spec` and starts its system,
    /// leaving its pid 1 parked: the container exists, with its root,
    /// namespaces and cgroups, and its first process has not run yet (what
    /// runc's `create` leaves, and what containerd's task `Create` asks
    /// for). [`start_parked`](Self::start_parked) runs the init process;
    /// [`discard_parked`](Self::discard_parked) stops and removes the
    /// system instead. Until started, the container is not among the
    /// client's: no events are told of it.
    pub async fn create_linux_parked(
        &self,
        id: &str,
        spec: &LinuxSpec,
        options: &CreateOptions,
    ) -> Result<ParkedContainer> {
        let inner = &self.inner;
        let _lock = inner.locks.lock(id).await;
        if inner.containers.lock().unwrap().contains_key(id) {
            return Err(ClientError::new(OP, id, ClientErrorKind::AlreadyExists));
        }
        let translate_err = |e| ClientError::new(OP, id, ClientErrorKind::Translate(e));
        refuse_for_client(id, spec)?;
        let name_to_guid = |name: &str| inner.service.name_to_guid(name);
        let config =
            translate::linux::container_config(id, spec, options, &inner.host, &name_to_guid)
                .map_err(translate_err)?;
        let init_config =
            translate::linux::init_process_config(id, spec, options).map_err(translate_err)?;
        let system = self.create_system(id, &config).await?;
        Ok(ParkedContainer {
            id: id.to_owned(),
            system,
            config,
            init_config,
            from: CreatedFrom::Linux(Box::new(spec.clone())),
        })
    }

    /// Runs the init process of a container made by
    /// [`create_linux_parked`](Self::create_linux_parked), as
    /// [`create_linux`](Self::create_linux) would have: its streams go to
    /// `attach`, the start is told, its exit is told later, once. On any
    /// failure the system is stopped and removed.
    pub async fn start_parked<F>(&self, parked: ParkedContainer, attach: F) -> Result<()>
    where
        F: FnOnce(IoPipe) -> Result<(), AttachError> + Send,
    {
        let ParkedContainer {
            id,
            system,
            config,
            init_config,
            from,
        } = parked;
        let _lock = self.inner.locks.lock(&id).await;
        if self.inner.containers.lock().unwrap().contains_key(&id) {
            supervise::discard(&*system, &self.inner.timeouts).await;
            return Err(ClientError::new(OP, &id, ClientErrorKind::AlreadyExists));
        }
        self.start_init(&id, system, config, init_config, from, attach)
            .await
    }

    /// Stops and removes the system of a container that was never started.
    pub async fn discard_parked(&self, parked: ParkedContainer) {
        let _lock = self.inner.locks.lock(&parked.id).await;
        supervise::discard(&*parked.system, &self.inner.timeouts).await;
    }

    /// Creates, starts and supervises a container from its translated
    /// documents; the caller holds the id's lock.
    async fn create_translated<F>(
        &self,
        id: &str,
        config: hcs_schema::ContainerConfig,
        init_config: hcs_schema::ProcessConfig,
        from: CreatedFrom,
        attach: F,
    ) -> Result<()>
    where
        F: FnOnce(IoPipe) -> Result<(), AttachError> + Send,
    {
        let system = self.create_system(id, &config).await?;
        self.start_init(id, system, config, init_config, from, attach)
            .await
    }

    /// Creates and starts the system; a failure to start leaves nothing
    /// running. The caller holds the id's lock.
    async fn create_system(
        &self,
        id: &str,
        config: &hcs_schema::ContainerConfig,
    ) -> Result<Arc<dyn ComputeSystem>> {
        let inner = &self.inner;
        let system: Arc<dyn ComputeSystem> = inner
            .service
            .create_system(id, config)
            .await
            .map_err(|e| ClientError::hcs(OP, id, e))?
            .into();
        debug!(container = id, "starting");
        if let Err(e) = system.start().await {
            // The seed's start terminates too.
            supervise::discard(&*system, &inner.timeouts).await;
            return Err(ClientError::hcs(OP, id, e));
        }
        Ok(system)
    }

    /// Creates the init process of a started system, attaches it and
    /// supervises the container; any failure stops and removes the system.
    /// The caller holds the id's lock.
    async fn start_init<F>(
        &self,
        id: &str,
        system: Arc<dyn ComputeSystem>,
        config: hcs_schema::ContainerConfig,
        init_config: hcs_schema::ProcessConfig,
        from: CreatedFrom,
        attach: F,
    ) -> Result<()>
    where
        F: FnOnce(IoPipe) -> Result<(), AttachError> + Send,
    {
        let inner = &self.inner;
        // From here on, a failure leaves nothing running.
        let failed = |e: ClientError| {
            let system = system.clone();
            async move {
                supervise::discard(&*system, &inner.timeouts).await;
                Err(e)
            }
        };
        let process: Arc<dyn Process> = match system.create_process(&init_config).await {
            Ok(p) => p.into(),
            Err(e) => return failed(ClientError::hcs(OP, id, e)).await,
        };
        if config.servicing {
            return self.finish_servicing(id, system, process).await;
        }

        let pid = process.pid();
        let pipes = match io_pipe(&*process, process.clone(), init_config.emulate_console).await {
            Ok(pipes) => pipes,
            Err(e) => {
                supervise::kill(&*process, KILL_WAIT).await;
                return failed(ClientError::new(OP, id, ClientErrorKind::Io(e))).await;
            }
        };
        if let Err(e) = attach(pipes) {
            // The seed left such a process running; it is killed instead.
            supervise::kill(&*process, KILL_WAIT).await;
            return failed(ClientError::new(OP, id, ClientErrorKind::Attach(e))).await;
        }

        let container = Arc::new(Container {
            id: id.to_owned(),
            system,
            spec: from,
            hyperv: config.hv_partition,
            init: ProcessEntry { pid, process },
            processes: std::sync::Mutex::new(HashMap::new()),
            stop_requested: false.into(),
        });
        inner
            .containers
            .lock()
            .unwrap()
            .insert(id.to_owned(), container.clone());
        // The start is told before the supervisor can tell the exit.
        let info = StateInfo {
            pid,
            ..StateInfo::new(State::Start)
        };
        let told = inner.backend.state_changed(id, info).await;
        tokio::spawn(supervise::init(inner.clone(), container));
        told.map_err(|e| ClientError::new(OP, id, ClientErrorKind::Backend(e)))
    }

    /// A servicing container: wait for its process, fail on a non-zero exit,
    /// then let the system stop.
    async fn finish_servicing(
        &self,
        id: &str,
        system: Arc<dyn ComputeSystem>,
        process: Arc<dyn Process>,
    ) -> Result<()> {
        let timeouts = &self.inner.timeouts;
        let exit_code = supervise::exit_code(&*process).await;
        let _ = process.close().await;
        let result = if exit_code != 0 {
            let _ = supervise::terminate(&*system, timeouts.terminate).await;
            Err(ClientError::new(
                OP,
                id,
                ClientErrorKind::Servicing(id.to_owned(), exit_code),
            ))
        } else {
            // Windows stops a servicing system by itself; a service that does
            // not is stopped here.
            supervise::stop(&*system, timeouts)
                .await
                .map_err(|e| ClientError::hcs(OP, id, e))
        };
        let _ = system.close().await;
        result
    }
}

/// The embedder's streams of `process`.
///
/// The ends are taken from the handle (`take_stdio`), not duplicated
/// (`stdio`), so that the handle keeps no copy: the embedder's writer is
/// then the last write end of stdin the client holds, and closing it (then
/// `close_stdin`, which closes the one a service such as vmcompute keeps)
/// ends the process's input.
///
/// Likewise the output ends the service keeps are released
/// (`close_stdout`, `close_stderr`), so that the embedder's readers are the
/// only ones: a process writing to a stream the embedder stopped reading
/// gets `EPIPE` instead of blocking once the pipe is full.
pub(crate) async fn io_pipe(
    process: &dyn Process,
    shared: Arc<dyn Process>,
    terminal: bool,
) -> std::io::Result<IoPipe> {
    let stdio = process.take_stdio().map_err(std::io::Error::other)?;
    let pipes = IoPipe {
        stdin: stdio
            .stdin
            .map(|h| StdinWriter::new(h, shared))
            .transpose()?,
        stdout: stdio.stdout.map(OutputReader::new).transpose()?,
        stderr: stdio.stderr.map(OutputReader::new).transpose()?,
        terminal,
        host_pid: process.host_pid(),
    };
    // A console's output is its master, which the console keeps anyway.
    if !terminal {
        release_output(process, pipes.stdout.is_some(), pipes.stderr.is_some()).await;
    }
    Ok(pipes)
}

/// Releases the output ends the service keeps for `process`. Best effort:
/// a failure only leaves a writer without readers blocked rather than
/// ended, and a service may not know the request (hcsshim never sends it
/// to vmcompute.dll), so it is logged, not returned.
async fn release_output(process: &dyn Process, stdout: bool, stderr: bool) {
    if stdout {
        if let Err(e) = process.close_stdout().await {
            debug!(pid = process.pid(), "releasing the kept stdout: {e}");
        }
    }
    if stderr {
        if let Err(e) = process.close_stderr().await {
            debug!(pid = process.pid(), "releasing the kept stderr: {e}");
        }
    }
}

/// What only `hcsrun-oci` does (hooks; a pid namespace not the
/// container's own), refused by name before anything is made.
fn refuse_for_client(id: &str, spec: &LinuxSpec) -> Result<()> {
    translate::linux::refuse_for_client(spec).map_err(|e| {
        ClientError::new(
            OP,
            id,
            ClientErrorKind::Translate(translate::TranslateError::new(
                id,
                translate::Operation::Create,
                translate::TranslateErrorKind::LinuxSpec(e),
            )),
        )
    })
}
