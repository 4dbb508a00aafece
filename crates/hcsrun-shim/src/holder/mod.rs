//! The holder's event loop: one thread serving the system's handles,
//! starting and reaping its processes, and stopping it.

pub(crate) mod processes;
mod stop;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    os::fd::{AsFd, AsRawFd, OwnedFd, RawFd},
};

use hcs::ErrorCode;
use hcsrun_shim_protocol::{
    errno::errno_code,
    message::{Message, Op, Reply, Request, StdioLayout, WireError},
    wire,
};
use nix::{
    errno::Errno,
    sched::CloneFlags,
    sys::{
        signal::{kill, Signal},
        signalfd::{siginfo, SignalFd},
        socket::{accept4, setsockopt, sockopt, SockFlag},
        time::TimeVal,
    },
    unistd::Pid,
};

use crate::{cgroups::Cgroups, context::Context, record::SystemDir, security::Program, stdio};

type Token = u64;

/// A connected handle.
struct Conn {
    fd: OwnedFd,
}

/// The system's pid 1.
pub struct Init {
    pub host_pid: u32,
    pub pidfd: OwnedFd,
    /// The socket to it while it is parked, until the first process.
    pub parked: Option<OwnedFd>,
}

/// A started process, by its pid in the container.
struct Proc {
    host_pid: u32,
    exit_code: Option<u32>,
    /// The handles watching it.
    watchers: BTreeSet<Token>,
    console: Option<OwnedFd>,
}

/// A process whose `execve` is not confirmed yet, by its host pid.
struct Starting {
    pid: u32,
    status: OwnedFd,
    client_fds: Vec<OwnedFd>,
    layout: StdioLayout,
    console: Option<OwnedFd>,
    conn: Token,
    request: u64,
    /// Set if it was reaped before its status pipe was read.
    exited: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stopping {
    No,
    Shutdown,
    Terminate,
}

/// What the holder was set up with.
pub struct Setup {
    pub boot: OwnedFd,
    pub listener: OwnedFd,
    pub init: Init,
    pub signals: SignalFd,
    /// The holder's own pidfd, which its children watch.
    pub holder: OwnedFd,
    pub ptmx: OwnedFd,
    pub cgroups: Cgroups,
    /// Pid 1's namespaces, in the order a later process joins them.
    pub namespaces: Vec<(OwnedFd, CloneFlags)>,
    pub terminate_on_last_handle: bool,
    /// A Linux container whose processes carry a Linux spec.
    pub native_linux: bool,
    /// The container's processes' OOM score unless a spec sets one.
    pub oom_score_adj: i32,
    /// Docker's seccomp filter, made ready at start for a system that gets
    /// docker's defaults.
    pub docker_seccomp: Option<Program>,
    pub dir: SystemDir,
}

pub struct Holder {
    listener: OwnedFd,
    conns: BTreeMap<Token, Conn>,
    next_token: Token,
    init: Init,
    /// Pid 1's exit code, once reaped.
    init_exit: Option<u32>,
    procs: HashMap<u32, Proc>,
    starting: HashMap<u32, Starting>,
    /// Host pid to container pid, for every process not yet reaped.
    host_pids: HashMap<u32, u32>,
    signals: SignalFd,
    holder: OwnedFd,
    /// The container's `/dev/pts/ptmx` (`O_PATH`); gone once the system
    /// has stopped.
    ptmx: Option<OwnedFd>,
    cgroups: Cgroups,
    namespaces: Vec<(OwnedFd, CloneFlags)>,
    stopping: Stopping,
    terminate_on_last_handle: bool,
    native_linux: bool,
    oom_score_adj: i32,
    docker_seccomp: Option<Program>,
    /// What the first process runs with, once it was handed to pid 1: what
    /// later processes inherit.
    context: Option<Context>,
    dir: SystemDir,
}

/// What `poll` found ready.
enum Ready {
    Listener,
    Signals,
    Conn(Token),
    Status(u32),
}

impl Holder {
    pub fn new(setup: Setup) -> Self {
        let mut holder = Self {
            listener: setup.listener,
            conns: BTreeMap::new(),
            next_token: 0,
            host_pids: HashMap::from([(setup.init.host_pid, 1)]),
            init: setup.init,
            init_exit: None,
            procs: HashMap::new(),
            starting: HashMap::new(),
            signals: setup.signals,
            holder: setup.holder,
            ptmx: Some(setup.ptmx),
            cgroups: setup.cgroups,
            namespaces: setup.namespaces,
            stopping: Stopping::No,
            terminate_on_last_handle: setup.terminate_on_last_handle,
            native_linux: setup.native_linux,
            oom_score_adj: setup.oom_score_adj,
            docker_seccomp: setup.docker_seccomp,
            context: None,
            dir: setup.dir,
        };
        holder.add_conn(setup.boot);
        holder
    }

    /// Serves until the system stops; never returns.
    pub fn run(mut self) -> ! {
        loop {
            for ready in self.poll() {
                match ready {
                    Ready::Listener => self.accept(),
                    Ready::Signals => self.signalled(),
                    Ready::Conn(token) => self.serve(token),
                    Ready::Status(pid) => self.confirm(pid),
                }
            }
            // Pid 1 is reaped only after every other process of its pid
            // namespace was; once every start is answered, the system is
            // over.
            if self.init_exit.is_some() && self.starting.is_empty() {
                self.finish();
            }
        }
    }

    fn poll(&self) -> Vec<Ready> {
        let mut fds: Vec<libc::pollfd> =
            Vec::with_capacity(2 + self.conns.len() + self.starting.len());
        let mut what = Vec::with_capacity(fds.capacity());
        let mut add = |fd: RawFd, ready: Ready| {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
            what.push(ready);
        };
        add(self.listener.as_raw_fd(), Ready::Listener);
        add(self.signals.as_fd().as_raw_fd(), Ready::Signals);
        for (token, conn) in &self.conns {
            add(conn.fd.as_raw_fd(), Ready::Conn(*token));
        }
        for (pid, starting) in &self.starting {
            add(starting.status.as_raw_fd(), Ready::Status(*pid));
        }
        loop {
            // SAFETY: `fds` is a valid array of pollfd.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
            if n >= 0 {
                break;
            }
            if Errno::last() != Errno::EINTR {
                self.fatal("poll failed");
            }
        }
        fds.iter()
            .zip(what)
            .filter(|(fd, _)| fd.revents != 0)
            .map(|(_, ready)| ready)
            .collect()
    }

    /// SIGCHLD: reap. SIGTERM to the holder: terminate the system.
    fn signalled(&mut self) {
        let mut terminate = false;
        while let Ok(Some(info)) = self.signals.read_signal() {
            let info: siginfo = info;
            terminate |= info.ssi_signo == libc::SIGTERM as u32;
        }
        self.reap();
        if terminate {
            self.stop(Stopping::Terminate);
        }
    }

    fn add_conn(&mut self, fd: OwnedFd) {
        // A handle that stops reading must not stall the system.
        let _ = setsockopt(&fd, sockopt::SendTimeout, &TimeVal::new(5, 0));
        let token = self.next_token;
        self.next_token += 1;
        self.conns.insert(token, Conn { fd });
    }

    fn accept(&mut self) {
        match accept4(self.listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            // SAFETY: accept4 returned a new descriptor we own.
            Ok(fd) => self.add_conn(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) }),
            Err(e) => eprintln!("hcsrun-shim {}: accept: {e}", self.dir.id),
        }
    }

    fn send(&mut self, token: Token, message: &Message, fds: &[RawFd]) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        if wire::send(conn.fd.as_fd(), message, fds).is_err() {
            self.drop_conn(token);
        }
    }

    fn reply(&mut self, token: Token, id: u64, result: Result<Reply, WireError>, fds: &[RawFd]) {
        self.send(token, &Message::Reply { id, result }, fds);
    }

    fn drop_conn(&mut self, token: Token) {
        if self.conns.remove(&token).is_none() {
            return;
        }
        self.procs.retain(|_, p| {
            p.watchers.remove(&token);
            p.exit_code.is_none() || !p.watchers.is_empty()
        });
        if self.conns.is_empty() && self.terminate_on_last_handle {
            self.stop(Stopping::Terminate);
        }
    }

    fn serve(&mut self, token: Token) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        let request = match wire::recv_message(conn.fd.as_fd()) {
            Ok(Some(message)) => message.decode::<Request>(),
            Ok(None) | Err(_) => return self.drop_conn(token),
        };
        let Ok(Request { id, op }) = request else {
            // A peer that speaks something else is not a handle.
            return self.drop_conn(token);
        };
        match op {
            Op::CreateProcess { config } => self.create_process(token, id, &config),
            Op::OpenProcess { pid } => {
                let result = match self.procs.get_mut(&pid) {
                    Some(p) => {
                        p.watchers.insert(token);
                        Ok(Reply::Process {
                            pid,
                            host_pid: p.host_pid,
                            stdio: StdioLayout::default(),
                            exit_code: p.exit_code,
                        })
                    }
                    None => Err(not_found(pid)),
                };
                self.reply(token, id, result, &[]);
            }
            Op::ReleaseProcess { pid } => {
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.watchers.remove(&token);
                    if p.exit_code.is_some() && p.watchers.is_empty() {
                        self.procs.remove(&pid);
                    }
                }
            }
            Op::Kill { pid } => {
                let result = self.kill(pid, Signal::SIGKILL);
                self.reply(token, id, result, &[]);
            }
            Op::Signal { pid, signal } => {
                let result = Signal::try_from(signal)
                    .map_err(|e| errno_error(e, "signal"))
                    .and_then(|signal| self.kill(pid, signal));
                self.reply(token, id, result, &[]);
            }
            Op::ResizeConsole { pid, width, height } => {
                let result = self.console(pid).and_then(|c| {
                    stdio::set_console_size(c, width, height)
                        .map(|()| Reply::Done)
                        .map_err(|e| errno_error(e, "resizing the console"))
                });
                self.reply(token, id, result, &[]);
            }
            Op::CloseStdin { pid } => {
                let result = match self.procs.get(&pid) {
                    // A console's stdin closes with its end-of-file character.
                    Some(Proc {
                        console: Some(master),
                        ..
                    }) => stdio::console_eof(master)
                        .map(|()| Reply::Done)
                        .map_err(|e| errno_error(e, "closing console input")),
                    // A pipe's write end belongs to the handle; closing it is
                    // the handle's part.
                    Some(_) => Ok(Reply::Done),
                    None => Err(not_found(pid)),
                };
                self.reply(token, id, result, &[]);
            }
            Op::Shutdown => self.stop_request(token, id, Stopping::Shutdown),
            Op::Terminate => self.stop_request(token, id, Stopping::Terminate),
            Op::NetworkNamespace => {
                let net = self
                    .namespaces
                    .iter()
                    .find(|(_, kind)| *kind == CloneFlags::CLONE_NEWNET)
                    .map(|(fd, _)| fd.as_raw_fd());
                match net {
                    Some(fd) => self.reply(token, id, Ok(Reply::NetworkNamespace), &[fd]),
                    None => self.reply(token, id, Err(not_found(1)), &[]),
                }
            }
        }
    }

    /// `signal` to a process that runs; an exited one answers as HCS does.
    fn kill(&self, pid: u32, signal: Signal) -> Result<Reply, WireError> {
        let Some(p) = self.procs.get(&pid) else {
            return Err(not_found(pid));
        };
        if p.exit_code.is_some() {
            return Err(WireError {
                code: ErrorCode::PROCESS_ALREADY_STOPPED.0,
                message: format!("process {pid} has already exited"),
            });
        }
        // An unreaped child's pid cannot have been reused.
        kill(Pid::from_raw(p.host_pid as i32), signal)
            .map(|()| Reply::Done)
            .map_err(|e| errno_error(e, "kill"))
    }

    fn console(&self, pid: u32) -> Result<&OwnedFd, WireError> {
        match self.procs.get(&pid) {
            Some(Proc {
                console: Some(master),
                ..
            }) => Ok(master),
            Some(_) => Err(WireError {
                code: ErrorCode::INVALID_PARAMETER.0,
                message: format!("process {pid} has no console"),
            }),
            None => Err(not_found(pid)),
        }
    }

    fn fatal(&self, what: &str) -> ! {
        eprintln!(
            "hcsrun-shim {}: {what}: {}",
            self.dir.id,
            std::io::Error::last_os_error()
        );
        // Pid 1's death ends the container; the service cleans up after a
        // holder that exits abnormally.
        let _ = crate::boot::pidfd_signal(&self.init.pidfd, libc::SIGKILL);
        std::process::exit(1)
    }
}

fn not_found(pid: u32) -> WireError {
    WireError {
        code: ErrorCode::ELEMENT_NOT_FOUND.0,
        message: format!("process {pid} is not a process of this system"),
    }
}

fn errno_error(e: Errno, what: &str) -> WireError {
    WireError {
        code: errno_code(e as i32).0,
        message: format!("{what}: {e}"),
    }
}
