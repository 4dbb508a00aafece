//! Starting a system: its holder launched, its cgroups made while the
//! holder loads, the bootstrap handshake, and the holder's reaping when it
//! exits.

use std::{
    fs, io,
    os::{
        fd::{AsFd, AsRawFd, OwnedFd, RawFd},
        linux::fs::MetadataExt,
    },
    path::PathBuf,
    sync::{atomic::AtomicBool, Arc},
    time::SystemTime,
};

use hcs::{ErrorCode, Result};
use hcs_schema::ContainerConfig;
use hcsrun_shim_protocol::{
    message::{Bootstrap, CgroupDir, Op, Ready},
    wire,
};
use nix::{
    fcntl::{open, OFlag},
    sys::{
        socket::{bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType},
        stat::Mode,
    },
};
use tokio::{io::Interest, sync::watch};

use super::{LinuxSystem, Running};
use crate::{
    blocking::blocking,
    cgroup::{Cgroup, Limits},
    conn::{Connection, Reaped, SystemEnd},
    errors::{answer, system_error, system_io_error},
    launch::{self, Launched},
    service::ServiceInner,
    state::socket_address,
};

impl LinuxSystem {
    /// Starts the system: its holder, cgroups and handshake. On failure
    /// nothing of it is left but its record.
    pub(super) async fn launch(&self) -> Result<Running> {
        let network = self.shared_network().await?;
        let launch = Launch {
            id: self.id.clone(),
            service: self.service.clone(),
            config: self.config.clone(),
            cgroup: self.cgroup.clone(),
            runtime_id: self.record.runtime_id.clone(),
        };
        let (launch, started) = blocking(move || {
            let started = launch.holder(network).inspect_err(|_| launch.undo());
            (launch, started)
        })
        .await;
        let Started {
            ours,
            launched,
            bootstrap,
            fds,
        } = started?;
        let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let ready = handshake(ours, &bootstrap, &raw).await;
        drop(fds);
        let (id, op) = (self.id.as_str(), "Start");
        let failure = match ready {
            Ok((conn, Ready::Ok { init_pid })) => match Connection::new(conn) {
                Ok(conn) => {
                    tracing::debug!(container = id, init_pid, "system started");
                    Ok(conn)
                }
                Err(e) => Err(system_io_error(id, op, "watching the system", &e)),
            },
            Ok((_, Ready::Failed(err))) => {
                Err(system_error(id, op, ErrorCode(err.code), err.message))
            }
            Err(e) => Err(system_io_error(id, op, "starting the system's holder", &e)),
        };
        let conn = match failure {
            Ok(conn) => conn,
            Err(err) => {
                blocking(move || {
                    let _ = launch::signal(&launched.pidfd, libc::SIGKILL);
                    let _ = launch::reap(&launched.pidfd);
                    launch.undo();
                })
                .await;
                return Err(err);
            }
        };
        let reaped = launch
            .reap_when_done(launched, conn.end(), conn.cleaned_up_flag())
            .map_err(|e| system_io_error(id, op, "watching the system's holder", &e))?;
        conn.set_reaped(reaped);
        Ok(Running {
            conn,
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
        let fd = self.service.runtime.connect(other).map_err(|e| {
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
}

/// What starting a system needs, owned, for the blocking pool.
struct Launch {
    id: String,
    service: Arc<ServiceInner>,
    config: ContainerConfig,
    cgroup: Cgroup,
    runtime_id: String,
}

/// A holder launched and its cgroups made, waiting for its bootstrap.
struct Started {
    /// The service's end of the bootstrap socket.
    ours: OwnedFd,
    launched: Launched,
    bootstrap: Bootstrap,
    /// What goes with the bootstrap: listener, runtime directory, the
    /// shared network namespace, then one `cgroup.procs` per hierarchy.
    fds: Vec<OwnedFd>,
}

impl Launch {
    /// Takes the spare holder or launches one, then makes the cgroups
    /// while it loads. Blocks: file systems, and `clone` until the holder
    /// execs (or the spare's launch, until it has).
    fn holder(&self, network: Option<OwnedFd>) -> Result<Started> {
        let (op, id) = ("Start", self.id.as_str());
        let io_err = |what: &'static str| move |e: io::Error| system_io_error(id, op, what, &e);
        let nix_err =
            |what: &'static str| move |e: nix::Error| system_io_error(id, op, what, &e.into());
        let limits = Limits::from_config(
            &self.config,
            hcsrun_cgroup::host_cpus(),
            io_device(&self.config),
        );

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

        let (ours, launched) = match self.service.spare.take() {
            Some(spare) => spare.into_parts(),
            None => self.launch_holder()?,
        };
        tracing::debug!(container = id, pid = launched.pid, "holder started");

        // Made while the holder loads. A caller may have begun the wait of
        // the first cgroup move already (`prime_cgroup_moves`): the kernel
        // holds cgroup_mutex through it, so these mkdirs wait for its end
        // while the holder's exec goes on.
        let join = self
            .cgroup
            .create(&limits)
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
        // The grace period pid 1's move into its cgroups would wait for
        // runs while the holder builds the root (over already if begun).
        hcsrun_cgroup::start_grace_period();

        let bootstrap = Bootstrap {
            id: id.to_owned(),
            runtime_id: self.runtime_id.clone(),
            system_dir: system_dir.to_string_lossy().into_owned(),
            config: self.config.clone(),
            shared_network: network.is_some(),
            cgroups: join
                .iter()
                .map(|(dir, controllers, _)| CgroupDir {
                    path: dir.to_string_lossy().into_owned(),
                    controllers: controllers.clone(),
                })
                .collect(),
            hidden: self.service.hidden.clone(),
        };
        let mut fds = vec![listener, runtime_dir];
        fds.extend(network);
        fds.extend(join.into_iter().map(|(_, _, fd)| fd));
        Ok(Started {
            ours,
            launched,
            bootstrap,
            fds,
        })
    }

    /// Launches a holder now: the service's end of its bootstrap socket,
    /// and the holder.
    fn launch_holder(&self) -> Result<(OwnedFd, Launched)> {
        let (op, id) = ("Start", self.id.as_str());
        let log = self.service.shim_log.as_deref();
        launch::holder(&self.service.shim, log, Some(id)).map_err(|e| {
            let mut err = system_io_error(id, op, "starting the system's holder", &e);
            if e.raw_os_error() == Some(libc::EPERM) {
                err = err.with_extra(
                    "(creating namespaces needs root: run as root or with CAP_SYS_ADMIN)",
                );
            }
            err
        })
    }

    /// Removes what a failed start made: the cgroups and the socket.
    /// Blocks (the removal retries while processes leave the cgroups).
    fn undo(&self) {
        let _ = self.cgroup.remove();
        let _ = fs::remove_file(self.service.runtime.socket(&self.id));
    }

    /// Reaps the holder when it exits and removes what it could not: the
    /// cgroups, which a holder that exits normally has removed already, and
    /// which a killed one left (its pid 1 died of its death, and the kernel
    /// ended the rest). The record stays: a stopped system is gone once a
    /// handle to it is closed. The reaping and cleanup run on the blocking
    /// pool. Once the holder has said goodbye (`end`), the system's end
    /// is known and the holder is exiting: it is reaped from then on, on a
    /// blocking thread, which a `close` of the system waits for, so that
    /// no holder outlives the process that launched it unreaped.
    fn reap_when_done(
        self,
        launched: Launched,
        mut end: watch::Receiver<SystemEnd>,
        said_cleaned_up: Arc<AtomicBool>,
    ) -> io::Result<watch::Receiver<Option<Reaped>>> {
        let (tx, rx) = watch::channel(None);
        let pidfd = crate::conn::register(launched.pidfd, Interest::READABLE)?;
        tokio::spawn(async move {
            let goodbye = async {
                // A connection dropped while the system runs says nothing.
                if end.wait_for(|e| *e == SystemEnd::Exited).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = pidfd.readable() => {}
                () = goodbye => {}
            }
            let pidfd = pidfd.into_inner();
            let reaped = blocking(move || {
                let status = launch::reap(&pidfd);
                // A holder that exited normally removed them itself.
                let cleaned_up = status.as_ref().is_ok_and(|s| s.cleaned_up());
                // A holder whose goodbye said it cleaned up removed them:
                // the system may be closed, and its id taken by a new
                // one whose cgroups these would be, by now.
                let said = said_cleaned_up.load(std::sync::atomic::Ordering::Acquire);
                if !cleaned_up && !said {
                    if let Err(e) = self.cgroup.remove() {
                        tracing::warn!(container = %self.id, "removing cgroups: {e}");
                    }
                }
                match status {
                    Ok(s) if s.cleaned_up() => Reaped::CleanedUp,
                    // The system's waits say so.
                    Ok(s) => Reaped::Died(s),
                    Err(e) => {
                        tracing::warn!(container = %self.id, "reaping the system's holder: {e}");
                        Reaped::Unknown
                    }
                }
            })
            .await;
            tx.send_replace(Some(reaped));
        });
        Ok(rx)
    }
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

/// The block device storage limits apply to: the one holding the scratch
/// folder (or the top layer, or `VolumePath` when that is the root). `None`,
/// with a warning, when that is not a block device (tmpfs, overlayfs).
fn io_device(config: &ContainerConfig) -> Option<(u32, u32)> {
    if !Limits::wants_io(config) {
        return None;
    }
    let path = [&config.layer_folder_path]
        .into_iter()
        .chain(config.layers.first().map(|l| &l.path))
        .chain([&config.volume_path])
        .find(|p| !p.is_empty())?;
    let dev = std::fs::metadata(path).ok()?.st_dev();
    let (major, minor) = (
        nix::sys::stat::major(dev) as u32,
        nix::sys::stat::minor(dev) as u32,
    );
    if major == 0 {
        tracing::warn!(path = %path, "storage limits not applied: the scratch folder is not on a block device");
        return None;
    }
    // Throttling applies to whole disks: a partition defers to its disk.
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    if sys.join("partition").exists() {
        let disk = std::fs::read_to_string(sys.join("../dev")).ok()?;
        let (ma, mi) = disk.trim().split_once(':')?;
        return Some((ma.parse().ok()?, mi.parse().ok()?));
    }
    Some((major, minor))
}
