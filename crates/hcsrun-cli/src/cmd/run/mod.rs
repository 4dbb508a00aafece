//! `hcsrun run`: a container in the foreground, as a new user meets it.

mod args;
pub mod detach;
pub(crate) mod errors;
pub(crate) mod exit;
pub(crate) mod io;
pub(crate) mod linux;
pub(crate) mod parse;
mod place;
mod spec;
mod stop;
mod volume;
mod windows;

use std::{error::Error, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
pub use args::Args;
use async_trait::async_trait;
use hcs::ComputeService;
use hcsrun::{
    client::{Backend, Client, IoPipe, State, StateInfo, Timeouts, INIT_PROCESS},
    service::{self, ServiceChoice},
    translate::{host_cpu_count, HostFacts},
};
use tokio::{
    io::AsyncWriteExt,
    signal::unix::{signal, Signal, SignalKind},
    sync::mpsc,
    task::JoinHandle,
};

/// A failure before the container's own exit code is known.
pub(crate) struct Failure {
    /// hcsrun's exit code.
    pub(crate) code: u8,
    /// What went wrong.
    pub(crate) error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self {
            code: exit::FAILED,
            error: error.into(),
        }
    }
}

/// What a run does with the container once it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Runs it in the foreground (`hcsrun run`).
    Foreground,
    /// Starts it and returns (`hcsrun run -d`).
    Detached,
    /// Only creates it (`hcsrun create`).
    Create,
}

/// Runs the command on the compute service `choice` names, printing its
/// own errors; returns the exit code.
pub fn main(args: Args, choice: &ServiceChoice) -> ExitCode {
    let mode = if args.detach {
        Mode::Detached
    } else {
        Mode::Foreground
    };
    main_as(args, choice, mode, "run")
}

/// [`main`] in `mode`; `verb` names the command in errors.
pub fn main_as(
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))] mut args: Args,
    choice: &ServiceChoice,
    mode: Mode,
    verb: &str,
) -> ExitCode {
    // A run that starts its container as root has the service launch the
    // container's holder first thing, to load while the image and the
    // spec are prepared. A service that cannot open here says so later,
    // in order. The service is dropped here, outside the runtime: a spare
    // holder never used (the run failed first) is ended and reaped then.
    let early = (mode != Mode::Create && nix::unistd::geteuid().is_root())
        .then(|| service::open_to_start(choice).ok())
        .flatten();
    // An IMAGE gives the layers and fills in what the flags leave out: found
    // in the store before the runtime starts (file-system work, as the
    // service's opening), pulled in it.
    #[cfg(target_os = "linux")]
    let image = super::image::find(&mut args);
    #[cfg(not(target_os = "linux"))]
    let image: anyhow::Result<Found> = Ok(());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match (runtime, image) {
        (_, Err(e)) => Err(e.into()),
        (Ok(runtime), Ok(image)) => {
            let result = runtime.block_on(run(args, image, choice, mode, early.clone()));
            // A read of this process's stdin may still be blocked in the
            // runtime's pool: do not wait for it.
            runtime.shutdown_background();
            result
        }
        (Err(e), _) => Err(e.into()),
    };
    drop(early);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            crate::output::error_line(&format!("hcsrun: {verb}: {:#}", failure.error));
            ExitCode::from(failure.code)
        }
    }
}

/// The signals `hcsrun run` acts on.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
    window: Signal,
}

impl Signals {
    fn catch() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
            window: signal(SignalKind::window_change())?,
        })
    }
}

/// The embedder: state changes, as a stream.
struct Events(mpsc::UnboundedSender<(String, StateInfo)>);

#[async_trait]
impl Backend for Events {
    async fn state_changed(
        &self,
        id: &str,
        info: StateInfo,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        let _ = self.0.send((id.to_owned(), info));
        Ok(())
    }
}

/// What [`super::image::find`] made of the run's IMAGE.
#[cfg(target_os = "linux")]
type Found = super::image::Found;
#[cfg(not(target_os = "linux"))]
type Found = ();

async fn run(
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))] mut args: Args,
    #[cfg_attr(not(target_os = "linux"), allow(unused_variables))] image: Found,
    choice: &ServiceChoice,
    mode: Mode,
    early: Option<Arc<dyn ComputeService>>,
) -> Result<u8, Failure> {
    // The arguments are checked first, whoever runs hcsrun. The id names
    // the scratch folder: checked before any path is made.
    let id = match &args.name {
        Some(name) => name.clone(),
        None => random_id(),
    };
    let console = if args.tty { io::terminal_size() } else { None };
    #[cfg(target_os = "linux")]
    let image = match image {
        Found::NoImage => None,
        Found::Ready(image) => Some(*image),
        Found::Pull(pending) => Some(super::image::pull_and_prepare(&mut args, pending).await?),
    };
    // What the service runs decides the spec: a Linux one where it runs
    // Linux containers natively. Its facts need no root.
    let facts = service::facts(choice);
    let host = spec::Host {
        service: facts.features().service,
        native_linux: facts.features().native_linux,
        cpus: host_cpu_count(),
    };
    let plan = Arc::new(spec::plan(
        &id,
        &args,
        &host,
        console,
        mode != Mode::Foreground,
    )?);
    let args = Arc::new(args);
    let service = match early {
        Some(service) => service,
        None => service::open(choice)?,
    };
    if service.features().needs_root && !nix::unistd::geteuid().is_root() {
        return Err(anyhow::anyhow!(
            "the {} compute service needs root to create namespaces, mounts and cgroups: \
             run hcsrun as root (for example with sudo)",
            service_name(choice)
        )
        .into());
    }
    // Signals are caught from before anything is made: one that comes
    // while the container is being created is acted on once it exists.
    let signals = Signals::catch()?;
    // hcsrun's own scratch folder is claimed (locked) while this run
    // lasts: `hcsrun rm` takes one nothing else names (a `--keep` run's)
    // only if it can lock it, never one whose container is starting.
    let _claim = match &plan.scratch {
        Some(scratch) if plan.scratch_is_ours => Some(create_scratch(&id, scratch)?),
        Some(scratch) if !scratch.exists() => {
            // The user's folder (--scratch, an options file's), made as
            // asked and kept after.
            std::fs::create_dir_all(scratch)
                .with_context(|| format!("creating the scratch folder {}", scratch.display()))?;
            None
        }
        _ => None,
    };
    #[cfg(target_os = "linux")]
    let image = image
        .map(|i| i.record(&id, plan.scratch.as_deref(), plan.scratch_is_ours))
        .transpose()?;
    let (result, recorded) = match mode {
        Mode::Foreground => {
            // Recorded while it runs, so that the other verbs (exec, ps,
            // top…) find it; a run killed leaves the record for `rm`. The
            // record (the spec translated once more, two files written) is
            // made on the blocking pool while the container starts.
            let recording = {
                let (id, args, plan) = (id.clone(), args.clone(), plan.clone());
                let (service, choice) = (service.clone(), choice.clone());
                tokio::task::spawn_blocking(move || {
                    record_foreground(&id, &args, &plan, &*service, &choice)
                })
            };
            let result = run_container(&id, &args, &plan, service, choice, signals).await;
            (result, recording.await.unwrap_or(false))
        }
        Mode::Detached | Mode::Create => {
            drop(signals);
            let result = run_detached(&id, &args, &plan, &*service, choice, mode).await;
            (result, false)
        }
    };
    // Only a folder this run made is ever removed; a detached container's
    // goes with `hcsrun rm`.
    let keep = args.keep || (mode != Mode::Foreground && result.is_ok());
    let scratch = plan
        .scratch
        .clone()
        .filter(|_| plan.scratch_is_ours && !keep);
    // The record, the scratch folder and the record of the image's use,
    // each a few entries of the host's file system, go side by side. A kept
    // scratch folder, or a container left for the other verbs, still uses
    // its image (its record of the image goes with `hcsrun rm`).
    #[cfg(target_os = "linux")]
    let image = image
        .filter(|_| !(plan.scratch_is_ours && keep))
        .map(|recorded| tokio::task::spawn_blocking(move || recorded.release()));
    let record = recorded.then(|| {
        let id = id.clone();
        tokio::task::spawn_blocking(move || crate::containers::store::remove(&id))
    });
    let scratch = scratch.map(|scratch| {
        tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&scratch) {
            // `rm` removed it (a detached start that failed).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("removing {}: {e}", scratch.display()),
            Ok(()) => {}
        })
    });
    if let Some(record) = record {
        let _ = record.await;
    }
    if let Some(scratch) = scratch {
        let _ = scratch.await;
    }
    #[cfg(target_os = "linux")]
    if let Some(image) = image {
        let _ = image.await;
    }
    result
}

async fn run_container(
    id: &str,
    args: &Args,
    plan: &spec::Plan,
    service: Arc<dyn ComputeService>,
    choice: &ServiceChoice,
    signals: Signals,
) -> Result<u8, Failure> {
    let (tx, mut events) = mpsc::unbounded_channel();
    let host = HostFacts::of_service(&*service);
    let stop_timeout = Duration::from_secs(args.stop_timeout);
    // The seed's five minutes are for an engine's containers; a command in
    // the foreground is stopped as docker stop does, and waits no longer
    // for a system that does not stop with its first process.
    let timeouts = Timeouts {
        shutdown: stop_timeout,
        terminate: stop::DEFAULT_STOP_TIMEOUT,
        ..Timeouts::default()
    };
    let client = Client::with(service, Arc::new(Events(tx)), host, timeouts);
    let Signals {
        mut interrupt,
        mut terminate,
        mut hangup,
        mut window,
    } = signals;

    let raw_terminal = (args.tty && args.interactive)
        .then(io::RawTerminal::enter)
        .flatten();
    let mut forwards: Vec<JoinHandle<std::io::Result<u64>>> = Vec::new();
    let interactive = args.interactive;
    let attach = |pipes: IoPipe| {
        if let Some(out) = pipes.stdout {
            forwards.push(tokio::task::spawn_blocking(move || {
                io::forward(out, libc::STDOUT_FILENO)
            }));
        }
        if let Some(err) = pipes.stderr {
            forwards.push(tokio::task::spawn_blocking(move || {
                io::forward(err, libc::STDERR_FILENO)
            }));
        }
        if let Some(mut stdin) = pipes.stdin {
            // Without -i the container's stdin ends at once.
            tokio::spawn(async move {
                if interactive {
                    let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut stdin).await;
                }
                let _ = stdin.shutdown().await;
            });
        }
        Ok(())
    };
    let created = match &plan.container {
        spec::Container::Windows(spec) => client.create(id, spec, &plan.options, attach).await,
        spec::Container::Linux(spec) => client.create_linux(id, spec, &plan.options, attach).await,
    };
    if let Err(e) = created {
        drop(raw_terminal);
        // The compute service's own words, for --debug.
        tracing::debug!(container = id, "creating the container: {}", chain(&e));
        let code = exit::for_create_error(&e);
        let error = match errors::describe(&e, id, choice) {
            Some(line) => anyhow::Error::msg(line),
            None => e.into(),
        };
        return Err(Failure { code, error });
    }

    let mut stopper = stop::Stopper::new(stop_timeout);
    let exit = loop {
        tokio::select! {
            event = events.recv() => match event {
                Some((event_id, info)) if event_id == id && info.state == State::Exit => break info,
                Some(_) => {}
                None => break StateInfo::new(State::Exit),
            },
            _ = interrupt.recv() => stopper.request(&client, id).await,
            _ = terminate.recv() => stopper.request(&client, id).await,
            _ = hangup.recv() => stopper.request(&client, id).await,
            () = stop::until(stopper.kill_at()) => stopper.kill(&client, id).await,
            _ = window.recv() => {
                if let Some((height, width)) = io::terminal_size() {
                    let _ = client.resize(id, INIT_PROCESS, width, height).await;
                }
            }
        }
    };
    // Everything the container wrote is delivered before hcsrun exits.
    for forward in forwards {
        match forward.await {
            Ok(Err(e)) => tracing::warn!("forwarding output: {e}"),
            Err(e) => tracing::warn!("forwarding output: {e}"),
            Ok(Ok(_)) => {}
        }
    }
    drop(raw_terminal);
    if let Some(lost) = exit.lost {
        return Err(anyhow::anyhow!(lost).into());
    }
    if let Some(error) = &exit.shutdown_error {
        tracing::debug!(container = id, "stopping the container: {error}");
    }
    Ok(exit::for_exit(exit.exit_code))
}

/// Records the foreground container `id` as started, unless a container of
/// that name is recorded already (its create then fails as it would). A
/// failure to record is no failure of the run: its errors are the
/// client's to report.
fn record_foreground(
    id: &str,
    args: &Args,
    plan: &spec::Plan,
    service: &dyn ComputeService,
    choice: &ServiceChoice,
) -> bool {
    if crate::containers::store::dir(id).exists() {
        return false;
    }
    // Translated again by the client, which logs what it warns of: once.
    let quiet = tracing::subscriber::NoSubscriber::default();
    let translated = tracing::subscriber::with_default(quiet, || {
        detach::record(id, args, plan, service, choice)
    });
    let Ok((mut record, documents, _)) = translated else {
        return false;
    };
    record.started = Some(crate::containers::now_rfc3339());
    documents.save(id, false).is_ok() && record.save_quickly().is_ok()
}

/// `run -d` and `create`: the container recorded and created, and started
/// for `run -d`; its id printed. A start that fails removes it again.
async fn run_detached(
    id: &str,
    args: &Args,
    plan: &spec::Plan,
    service: &dyn ComputeService,
    choice: &ServiceChoice,
    mode: Mode,
) -> Result<u8, Failure> {
    let (record, system) = detach::create(id, args, plan, service, choice).await?;
    if mode == Mode::Detached {
        let found = crate::containers::Found {
            id: id.to_owned(),
            record: Some(record),
            system: Some(hcs_schema::ContainerProperties::default()),
            status: crate::containers::Status::Created,
        };
        if let Err(failure) =
            detach::start(service, &found, Some(system), detach::Output::Log).await
        {
            crate::cmd::rm::remove(service, &found, true).await.ok();
            return Err(failure);
        }
    }
    crate::output::print(&format!("{id}\n"))?;
    Ok(0)
}

/// An error and its causes on one line, as `{:#}` of anyhow prints them.
fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text = format!("{text}: {cause}");
        next = cause.source();
    }
    text
}

/// Makes container `id`'s own scratch folder, locked (`flock`) while the
/// lock lives; one that exists belongs to another container of that name
/// (running, kept, or left by a killed hcsrun).
fn create_scratch(
    id: &str,
    scratch: &std::path::Path,
) -> anyhow::Result<nix::fcntl::Flock<std::fs::File>> {
    if let Some(parent) = scratch.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    match std::fs::create_dir(scratch) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => anyhow::bail!(
            "container {id} already exists (its scratch folder {} is there): choose another \
             --name, or if that container no longer runs, remove the folder (`hcsrun rm {id}` \
             will do this)",
            scratch.display()
        ),
        result => {
            result.with_context(|| format!("creating the scratch folder {}", scratch.display()))?
        }
    }
    let claim = std::fs::File::open(scratch)
        .with_context(|| format!("opening the scratch folder {}", scratch.display()))?;
    nix::fcntl::Flock::lock(claim, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| anyhow::anyhow!("locking the scratch folder {}: {e}", scratch.display()))
}

/// The service as a sentence names it: "Linux", "vmcompute".
fn service_name(choice: &ServiceChoice) -> String {
    match choice {
        ServiceChoice::Linux => "Linux".to_owned(),
        other => other.to_string(),
    }
}

/// 12 hex digits, as short docker ids are.
fn random_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}
