//! A handle to a system of the Linux compute service.

use std::{
    collections::BTreeMap,
    ffi::CString,
    fs, io,
    os::fd::{AsFd, AsRawFd, OwnedFd, RawFd},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use hcs::{ComputeSystem, ErrorCode, ErrorKind, HcsError, Process, Result};
use hcs_schema::{
    ContainerConfig, MappedVirtualDiskController, ProcessConfig, ProcessListItem,
    ResourceModificationRequestResponse, Statistics,
};
use hcsrun_shim_protocol::{
    message::{Bootstrap, Op, Ready, Reply},
    record::{SystemRecord, SOCKET_FILE},
    wire,
};
use nix::{
    fcntl::{open, OFlag},
    sched::CloneFlags,
    sys::{
        socket::{
            bind, connect, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
        },
        stat::Mode,
    },
};
use tokio::{io::Interest, sync::watch};

use crate::{
    cgroup::{Cgroup, Limits},
    conn::{Connection, SystemEnd},
    errors::{answer, system_error, system_io_error},
    launch::{self, Launched},
    process::LinuxProcess,
    service::ServiceInner,
    stats,
};

/// How a running system's end is observed.
#[derive(Clone)]
enum Stopped {
    /// This process launched the holder: the end is its reaping.
    Reaped(watch::Receiver<bool>),
    /// Another process did: the end is the holder's goodbye.
    Seen(watch::Receiver<SystemEnd>),
}

impl Stopped {
    async fn wait(mut self) {
        match &mut self {
            Stopped::Reaped(rx) => drop(rx.wait_for(|done| *done).await),
            Stopped::Seen(rx) => drop(rx.wait_for(|end| *end != SystemEnd::Running).await),
        }
    }

    fn is_stopped(&self) -> bool {
        match self {
            Stopped::Reaped(rx) => *rx.borrow(),
            Stopped::Seen(rx) => *rx.borrow() != SystemEnd::Running,
        }
    }
}

#[derive(Clone)]
struct Running {
    conn: Arc<Connection>,
    stopped: Stopped,
    started: SystemTime,
}

pub struct LinuxSystem {
    id: String,
    service: Arc<ServiceInner>,
    record: SystemRecord,
    config: ContainerConfig,
    cgroup: Cgroup,
    running: Mutex<Option<Running>>,
    closed: watch::Sender<bool>,
    /// Every process of the system is known to be in its cgroups.
    in_cgroups: std::sync::atomic::AtomicBool,
}

impl LinuxSystem {
    /// A handle to a system that has not started (`running` is `None`) or
    /// runs behind `conn`.
    pub(crate) fn new(
        service: Arc<ServiceInner>,
        record: SystemRecord,
        config: ContainerConfig,
        conn: Option<(Arc<Connection>, SystemTime)>,
    ) -> io::Result<Self> {
        let cgroup = Cgroup::new(&record.cgroup_parent, &record.id)?;
        let running = conn.map(|(conn, started)| Running {
            stopped: Stopped::Seen(conn.end()),
            conn,
            started,
        });
        Ok(Self {
            id: record.id.clone(),
            service,
            record,
            config,
            cgroup,
            running: Mutex::new(running),
            closed: watch::Sender::new(false),
            in_cgroups: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn check_open(&self, op: &'static str) -> Result<()> {
        if *self.closed.borrow() {
            return Err(HcsError::system(&self.id, op, ErrorKind::AlreadyClosed));
        }
        Ok(())
    }

    /// The running system, or the error for an operation that needs one.
    fn running(&self, op: &'static str) -> Result<Running> {
        self.check_open(op)?;
        match self.running.lock().unwrap().clone() {
            Some(r) if !r.stopped.is_stopped() => Ok(r),
            Some(_) => Err(system_error(
                &self.id,
                op,
                ErrorCode::SYSTEM_ALREADY_STOPPED,
                "",
            )),
            None => Err(system_error(
                &self.id,
                op,
                ErrorCode::INVALID_STATE,
                "the system is not running",
            )),
        }
    }

    async fn stop(&self, op: &'static str, how: Op) -> Result<()> {
        let running = self.running(op).map_err(|e| {
            // A system that never ran, or no longer runs, is stopped.
            if e.code() == Some(ErrorCode::INVALID_STATE) {
                system_error(&self.id, op, ErrorCode::SYSTEM_ALREADY_STOPPED, "")
            } else {
                e
            }
        })?;
        // Frozen processes can neither handle SIGTERM nor die of SIGKILL.
        if self.cgroup.is_frozen().unwrap_or(false) {
            let cgroup = self.cgroup.clone();
            let _ = tokio::task::spawn_blocking(move || cgroup.freeze(false)).await;
        }
        match answer(&self.id, None, op, running.conn.request(how).await)? {
            (Reply::Pending, _) => {
                Err(system_error(&self.id, op, ErrorCode::OPERATION_PENDING, ""))
            }
            _ => {
                running.stopped.wait().await;
                Ok(())
            }
        }
    }

    async fn launch(&self) -> Result<Running> {
        let limits = Limits::from_config(
            &self.config,
            host_cpus(),
            crate::service::io_device(&self.config),
        );
        let launched = self.launch_holder(&limits).await;
        match launched {
            Ok(running) => Ok(running),
            Err(e) => {
                let _ = self.cgroup.remove();
                let _ = fs::remove_file(self.service.runtime.socket(&self.id));
                Err(e)
            }
        }
    }

    /// Launches the holder, then makes the cgroups while it loads, then
    /// hands it everything it needs.
    async fn launch_holder(&self, limits: &Limits) -> Result<Running> {
        let op = "Start";
        let id = self.id.as_str();
        let io_err = |what: &'static str| move |e: io::Error| system_io_error(id, op, what, &e);
        let nix_err =
            |what: &'static str| move |e: nix::Error| system_io_error(id, op, what, &e.into());

        let system_dir = self.service.runtime.system_dir(id);
        let dir = open(
            &system_dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(nix_err("opening the system directory"))?;
        let runtime_dir = open(
            self.service.runtime.root(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(nix_err("opening the runtime directory"))?;
        let listener = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(nix_err("creating the system socket"))?;
        let address = socket_address(&dir).map_err(nix_err("naming the system socket"))?;
        bind(listener.as_raw_fd(), &address).map_err(|e| {
            let detail = if e == nix::Error::EADDRINUSE {
                "the system has already started"
            } else {
                "binding the system socket"
            };
            system_io_error(id, op, detail, &e.into())
        })?;
        listen(&listener, Backlog::new(128).expect("valid backlog"))
            .map_err(nix_err("listening on the system socket"))?;

        let network = self.shared_network().await?;
        let mut flags = CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWPID;
        if network.is_none() {
            flags |= CloneFlags::CLONE_NEWNET;
        }
        let (ours, theirs) = wire::pair().map_err(nix_err("creating the bootstrap socket"))?;
        let log = self.service.shim_log.as_ref().and_then(|p| {
            fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(p)
                .ok()
                .map(OwnedFd::from)
        });
        let shim = CString::new(self.service.shim.as_os_str().as_encoded_bytes())
            .expect("no NUL in a path");
        let launched = launch::launch(
            &shim,
            &["hcsrun-shim", id],
            flags,
            &theirs,
            log.as_ref(),
            network.as_ref(),
        )
        .map_err(|e| {
            let mut err = system_io_error(id, op, "starting the system's holder", &e);
            if e.raw_os_error() == Some(libc::EPERM) {
                err = err.with_extra(
                    "(creating namespaces needs root: run as root or with CAP_SYS_ADMIN)",
                );
            }
            err
        })?;
        drop(theirs);
        tracing::debug!(container = id, pid = launched.pid, "holder started");

        let join = self
            .cgroup
            .create(limits)
            .and_then(|()| self.cgroup.join_fds())
            .map_err(io_err("creating cgroups"));
        let join = match join {
            Ok(join) => join,
            Err(e) => {
                let _ = launch::signal(&launched.pidfd, libc::SIGKILL);
                let _ = launch::reap(&launched.pidfd);
                return Err(e);
            }
        };
        let mut fds: Vec<RawFd> = vec![listener.as_raw_fd(), runtime_dir.as_raw_fd()];
        fds.extend(join.iter().map(AsRawFd::as_raw_fd));
        let bootstrap = Bootstrap {
            id: id.to_owned(),
            runtime_id: self.record.runtime_id.clone(),
            system_dir: system_dir.to_string_lossy().into_owned(),
            config: self.config.clone(),
            shared_network: network.is_some(),
            cgroups: join.len(),
            join_cgroups_at_start: *limits != Limits::default(),
        };
        let ready = handshake(ours, &bootstrap, &fds).await;
        let (conn, failure) = match ready {
            Ok((conn, Ready::Ok)) => (Some(conn), None),
            Ok((_, Ready::Failed(err))) => (
                None,
                Some(system_error(id, op, ErrorCode(err.code), err.message)),
            ),
            Err(e) => (
                None,
                Some(system_io_error(id, op, "starting the system's holder", &e)),
            ),
        };
        if let Some(err) = failure {
            let _ = launch::signal(&launched.pidfd, libc::SIGKILL);
            let _ = launch::reap(&launched.pidfd);
            return Err(err);
        }
        let conn = Connection::new(conn.expect("set on success"))
            .map_err(io_err("watching the system"))?;
        let stopped = self
            .reap_when_done(launched)
            .map_err(io_err("watching the system's holder"))?;
        Ok(Running {
            conn,
            stopped: Stopped::Reaped(stopped),
            started: SystemTime::now(),
        })
    }

    /// The network namespace of the system this one shares, if any.
    async fn shared_network(&self) -> Result<Option<OwnedFd>> {
        let other = &self.config.network_shared_container_name;
        if other.is_empty() {
            return Ok(None);
        }
        let op = "Start";
        let fail = |detail: String| system_error(&self.id, op, ErrorCode::INVALID_STATE, detail);
        let fd = crate::service::connect(&self.service.runtime, other).map_err(|e| {
            fail(format!(
                "sharing the network of {other}: it is not running ({e})"
            ))
        })?;
        let conn = Connection::new(fd)
            .map_err(|e| fail(format!("sharing the network of {other}: {e}")))?;
        let (_, fds) = answer(&self.id, None, op, conn.request(Op::NetworkNamespace).await)?;
        fds.into_iter()
            .next()
            .map(Some)
            .ok_or_else(|| fail(format!("{other} sent no network namespace")))
    }

    /// The running system, for an operation its holder must serve: the
    /// holder is frozen with the rest of a paused system.
    fn running_unpaused(&self, op: &'static str) -> Result<Running> {
        let running = self.running(op)?;
        if self.cgroup.is_frozen().unwrap_or(false) {
            return Err(system_error(
                &self.id,
                op,
                ErrorCode::INVALID_STATE,
                "the system is paused",
            ));
        }
        Ok(running)
    }

    /// Waits (once per handle) until the system's processes are all in its
    /// cgroups: a system without limits joins them in the background.
    async fn in_cgroups(&self, op: &'static str, running: &Running) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.in_cgroups.load(Ordering::Acquire) {
            return Ok(());
        }
        answer(
            &self.id,
            None,
            op,
            running.conn.request(Op::WaitCgroups).await,
        )?;
        self.in_cgroups.store(true, Ordering::Release);
        Ok(())
    }

    /// Reaps the holder when it exits, cleaning up what it could not.
    fn reap_when_done(&self, launched: Launched) -> io::Result<watch::Receiver<bool>> {
        let (tx, rx) = watch::channel(false);
        let pidfd = crate::conn::register(launched.pidfd, Interest::READABLE)?;
        let cgroup = self.cgroup.clone();
        let runtime = self.service.runtime.clone();
        let (id, runtime_id) = (self.id.clone(), self.record.runtime_id.clone());
        tokio::spawn(async move {
            let _ = pidfd.readable().await;
            let status = launch::reap(pidfd.get_ref());
            // The holder was the last process in the cgroups.
            if let Err(e) = cgroup.remove() {
                tracing::warn!(container = %id, "removing cgroups: {e}");
            }
            if !status.as_ref().is_ok_and(|s| s.cleaned_up()) {
                tracing::warn!(container = %id, ?status, "system holder ended abnormally; cleaning up after it");
                let _ = runtime.remove(&id, &runtime_id);
            }
            tx.send_replace(true);
        });
        Ok(rx)
    }

    /// Cleans up after a system that is not running: never started, or
    /// its holder died without a successor cleaning up.
    fn remove_leftovers(&self) {
        if crate::service::connect(&self.service.runtime, &self.id).is_ok() {
            return;
        }
        let _ = self.cgroup.remove();
        let _ = self
            .service
            .runtime
            .remove(&self.id, &self.record.runtime_id);
    }
}

/// The socket's address through the directory descriptor: short whatever
/// the length of the runtime directory and id.
pub(crate) fn socket_address(dir: &OwnedFd) -> nix::Result<UnixAddr> {
    UnixAddr::new(format!("/proc/self/fd/{}/{SOCKET_FILE}", dir.as_raw_fd()).as_str())
}

/// Connects to a listening socket in `dir`.
pub(crate) fn connect_in(dir: &OwnedFd) -> nix::Result<OwnedFd> {
    let sock = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    connect(sock.as_raw_fd(), &socket_address(dir)?)?;
    Ok(sock)
}

/// Sends the bootstrap message and waits for the holder to be ready.
async fn handshake(
    sock: OwnedFd,
    bootstrap: &Bootstrap,
    fds: &[RawFd],
) -> io::Result<(OwnedFd, Ready)> {
    wire::send(sock.as_fd(), bootstrap, fds)?;
    nix::fcntl::fcntl(&sock, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    let sock = crate::conn::register(sock, Interest::READABLE)?;
    let received = sock
        .async_io(Interest::READABLE, |fd| {
            wire::recv_message(fd.as_fd()).map_err(io::Error::from)
        })
        .await?
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the holder exited during setup",
            )
        })?;
    let ready = received.decode::<Ready>().map_err(io::Error::other)?;
    Ok((sock.into_inner(), ready))
}

fn host_cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

#[async_trait]
impl ComputeSystem for LinuxSystem {
    fn id(&self) -> &str {
        &self.id
    }

    async fn start(&self) -> Result<()> {
        self.check_open("Start")?;
        if self.running.lock().unwrap().is_some() {
            return Err(system_error(
                &self.id,
                "Start",
                ErrorCode::INVALID_STATE,
                "the system has already started",
            ));
        }
        let running = self.launch().await?;
        *self.running.lock().unwrap() = Some(running);
        Ok(())
    }

    async fn shutdown(&self) -> Result<()> {
        self.stop("Shutdown", Op::Shutdown).await
    }

    async fn terminate(&self) -> Result<()> {
        self.stop("Terminate", Op::Terminate).await
    }

    async fn wait(&self) -> Result<()> {
        self.check_open("Wait")?;
        let Some(running) = self.running.lock().unwrap().clone() else {
            return Ok(());
        };
        let mut closed = self.closed.subscribe();
        tokio::select! {
            () = running.stopped.wait() => Ok(()),
            _ = closed.wait_for(|c| *c) => Err(HcsError::system(&self.id, "Wait", ErrorKind::HandleClosed)),
        }
    }

    async fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        tokio::time::timeout(timeout, self.wait())
            .await
            .unwrap_or_else(|_| {
                Err(HcsError::system(
                    &self.id,
                    "WaitTimeout",
                    ErrorKind::Timeout,
                ))
            })
    }

    async fn pause(&self) -> Result<()> {
        let running = self.running_unpaused("Pause")?;
        self.in_cgroups("Pause", &running).await?;
        let cgroup = self.cgroup.clone();
        let frozen = tokio::task::spawn_blocking(move || cgroup.freeze(true))
            .await
            .expect("freeze task");
        frozen.map_err(|e| system_io_error(&self.id, "Pause", "freezing the system", &e))
    }

    async fn resume(&self) -> Result<()> {
        self.running("Resume")?;
        let cgroup = self.cgroup.clone();
        let thawed = tokio::task::spawn_blocking(move || cgroup.freeze(false))
            .await
            .expect("thaw task");
        thawed.map_err(|e| system_io_error(&self.id, "Resume", "thawing the system", &e))
    }

    async fn has_pending_updates(&self) -> Result<bool> {
        self.check_open("HasPendingUpdates")?;
        Ok(false)
    }

    async fn statistics(&self) -> Result<Statistics> {
        let op = "Statistics";
        let running = self.running(op)?;
        if !self.cgroup.is_frozen().unwrap_or(false) {
            self.in_cgroups(op, &running).await?;
        }
        let counters = self
            .cgroup
            .stats()
            .map_err(|e| system_io_error(&self.id, op, "reading cgroup statistics", &e))?;
        let pids = self
            .cgroup
            .pids()
            .map_err(|e| system_io_error(&self.id, op, "listing the system's processes", &e))?;
        let network = stats::holder_pid(&pids)
            .and_then(|pid| stats::network(pid).ok())
            .unwrap_or_default();
        Ok(stats::statistics(&counters, network, running.started))
    }

    async fn process_list(&self) -> Result<Vec<ProcessListItem>> {
        let op = "ProcessList";
        let running = self.running(op)?;
        if !self.cgroup.is_frozen().unwrap_or(false) {
            self.in_cgroups(op, &running).await?;
        }
        let pids = self
            .cgroup
            .pids()
            .map_err(|e| system_io_error(&self.id, op, "listing the system's processes", &e))?;
        stats::process_list(&pids).map_err(|e| system_io_error(&self.id, op, "reading /proc", &e))
    }

    async fn mapped_virtual_disks(&self) -> Result<BTreeMap<i32, MappedVirtualDiskController>> {
        self.check_open("MappedVirtualDiskList")?;
        Ok(BTreeMap::new())
    }

    async fn create_process(&self, config: &ProcessConfig) -> Result<Box<dyn Process>> {
        let op = "CreateProcess";
        let running = self.running_unpaused(op)?;
        let document = hcs_schema::to_string(config)
            .map_err(|e| system_error(&self.id, op, ErrorCode::INVALID_JSON, e.to_string()))?;
        let reply = answer(
            &self.id,
            None,
            op,
            running
                .conn
                .request(Op::CreateProcess { config: document })
                .await,
        )?;
        LinuxProcess::from_reply(&self.id, &running.conn, &self.cgroup, reply, op)
    }

    async fn open_process(&self, pid: u32) -> Result<Box<dyn Process>> {
        let op = "OpenProcess";
        let running = self.running_unpaused(op)?;
        let reply = answer(
            &self.id,
            Some(pid),
            op,
            running.conn.request(Op::OpenProcess { pid }).await,
        )?;
        LinuxProcess::from_reply(&self.id, &running.conn, &self.cgroup, reply, op)
    }

    async fn modify(&self, request: &ResourceModificationRequestResponse) -> Result<()> {
        self.check_open("Modify")?;
        Err(system_error(
            &self.id,
            "Modify",
            ErrorCode::NOT_SUPPORTED,
            format!(
                "modifying {:?} is not supported by the Linux compute service",
                request.resource
            ),
        ))
    }

    async fn close(&self) -> Result<()> {
        self.check_open("Close")?;
        self.closed.send_replace(true);
        let running = self.running.lock().unwrap().take();
        // A system this handle never saw run, or saw stop without reaping
        // it: whatever its holder and reaper did not remove goes now.
        if running.is_none_or(|r| matches!(r.stopped, Stopped::Seen(_)) && r.stopped.is_stopped()) {
            self.remove_leftovers();
        }
        Ok(())
    }
}
