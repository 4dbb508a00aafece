//! The holder's event loop: one thread serving the system's handles,
//! starting and reaping its processes, and stopping it.

mod processes;

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
    sys::{
        signal::{kill, SigSet, Signal},
        signalfd::{SfdFlags, SignalFd},
        socket::{accept4, setsockopt, sockopt, SockFlag},
        time::TimeVal,
    },
    unistd::Pid,
};

use crate::{cgroups::Join, cleanup::Cleanup, spawn};

type Token = u64;

/// A connected handle.
struct Conn {
    fd: OwnedFd,
}

/// A process the holder started.
struct Proc {
    exit_code: Option<u32>,
    /// The handles watching it.
    watchers: BTreeSet<Token>,
    console: Option<OwnedFd>,
}

/// A forked process whose exec is not confirmed yet.
struct Starting {
    started: spawn::Started,
    plan_exe: String,
    cwd: String,
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

pub struct Holder {
    listener: OwnedFd,
    conns: BTreeMap<Token, Conn>,
    next_token: Token,
    procs: HashMap<u32, Proc>,
    starting: HashMap<u32, Starting>,
    signals: SignalFd,
    devnull: OwnedFd,
    stopping: Stopping,
    terminate_on_last_handle: bool,
    cleanup: Cleanup,
    join: Join,
    /// Requests waiting for the join.
    join_waiters: Vec<(Token, u64)>,
}

/// What `poll` found ready.
enum Ready {
    Listener,
    Signals,
    Conn(Token),
    Status(u32),
    Joined,
}

impl Holder {
    pub fn new(
        first: OwnedFd,
        listener: OwnedFd,
        devnull: OwnedFd,
        join: Join,
        terminate_on_last_handle: bool,
        cleanup: Cleanup,
    ) -> nix::Result<Self> {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGCHLD);
        mask.thread_block()?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        let mut holder = Self {
            listener,
            conns: BTreeMap::new(),
            next_token: 0,
            procs: HashMap::new(),
            starting: HashMap::new(),
            signals,
            devnull,
            stopping: Stopping::No,
            terminate_on_last_handle,
            cleanup,
            join,
            join_waiters: Vec::new(),
        };
        holder.add_conn(first);
        // Children that exited before SIGCHLD was blocked sent no signal
        // to the signalfd: reap them now.
        holder.reap();
        Ok(holder)
    }

    /// Serves until the system stops; never returns.
    pub fn run(mut self) -> ! {
        loop {
            for ready in self.poll() {
                match ready {
                    Ready::Listener => self.accept(),
                    Ready::Signals => self.reap(),
                    Ready::Conn(token) => self.serve(token),
                    Ready::Status(pid) => self.confirm(pid),
                    Ready::Joined => self.joined(),
                }
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
            add(starting.started.status.as_raw_fd(), Ready::Status(*pid));
        }
        if let Some(fd) = self.join.status_fd() {
            add(fd, Ready::Joined);
        }
        loop {
            // SAFETY: `fds` is a valid array of pollfd.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
            if n >= 0 {
                break;
            }
            if Errno::last() != Errno::EINTR {
                // Nothing sensible is left to do; stop the system.
                self.fatal("poll failed");
            }
        }
        fds.iter()
            .zip(what)
            .filter(|(fd, _)| fd.revents != 0)
            .map(|(_, ready)| ready)
            .collect()
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
            Err(e) => eprintln!("hcsrun-shim {}: accept: {e}", self.cleanup.id),
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
                self.reply(token, id, Ok(Reply::Done), &[]);
            }
            Op::Kill { pid } => {
                let result = match self.procs.get(&pid) {
                    Some(p) if p.exit_code.is_none() => {
                        kill(Pid::from_raw(pid as i32), Signal::SIGKILL)
                            .map(|()| Reply::Done)
                            .map_err(|e| errno_error(e, "kill"))
                    }
                    // Already gone, as asked.
                    Some(_) => Ok(Reply::Done),
                    None => Err(not_found(pid)),
                };
                self.reply(token, id, result, &[]);
            }
            Op::ResizeConsole { pid, width, height } => {
                let result = self.console(pid).and_then(|c| {
                    spawn::set_console_size(c, width, height)
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
                    }) => spawn::console_eof(master)
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
            Op::WaitCgroups => match &self.join {
                Join::Pending { .. } => self.join_waiters.push((token, id)),
                _ => {
                    let result = self.join_result();
                    self.reply(token, id, result, &[]);
                }
            },
            Op::NetworkNamespace => {
                match nix::fcntl::open(
                    "/proc/self/ns/net",
                    nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                ) {
                    Ok(ns) => self.reply(token, id, Ok(Reply::NetworkNamespace), &[ns.as_raw_fd()]),
                    Err(e) => self.reply(
                        token,
                        id,
                        Err(errno_error(e, "opening the network namespace")),
                        &[],
                    ),
                }
            }
        }
    }

    /// The background join reported: finish it and answer who waited.
    fn joined(&mut self) {
        self.join.finish();
        if let Join::Failed(why) = &self.join {
            eprintln!("hcsrun-shim {}: {why}", self.cleanup.id);
        }
        for (token, id) in std::mem::take(&mut self.join_waiters) {
            let result = self.join_result();
            self.reply(token, id, result, &[]);
        }
    }

    fn join_result(&self) -> Result<Reply, WireError> {
        match &self.join {
            Join::Failed(why) => Err(WireError {
                code: ErrorCode::INTERNAL_ERROR.0,
                message: why.clone(),
            }),
            _ => Ok(Reply::Done),
        }
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
            self.cleanup.id,
            std::io::Error::last_os_error()
        );
        let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
        self.cleanup.run();
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
