//! The system's processes: the first one handed to the parked pid 1, later
//! ones forked into the container; confirmed once they exec, reaped and
//! reported.

use std::{
    collections::BTreeSet,
    os::fd::{AsFd, AsRawFd, OwnedFd, RawFd},
    path::PathBuf,
};

use hcs::ErrorCode;
use hcs_schema::ProcessConfig;
use hcsrun_linux_spec::{Namespace, Namespaces};
use hcsrun_shim_protocol::{
    errno::errno_code,
    message::{Message, Reply, WireError},
    wire,
};
use nix::{
    errno::Errno,
    fcntl::OFlag,
    sched::CloneFlags,
    sys::stat::Mode,
    sys::wait::{waitpid, WaitPidFlag, WaitStatus},
    unistd::{fork, pipe2, ForkResult},
};

use super::{Holder, Proc, Starting, Stopping, Token};
use crate::{
    container::ContainerSetup,
    context::{self, Context},
    devices, exec, filters,
    init::InitExec,
    resources, stdio,
};

/// What a process runs with and, for the first, what pid 1 does for it.
struct FirstContext {
    context: Context,
    /// What it asks of the container.
    setup: Option<ContainerSetup>,
    /// The namespaces pid 1 joins instead of its own.
    join: Vec<(OwnedFd, CloneFlags)>,
    /// The join files of the cgroups a spec's `linux.cgroupsPath` moved
    /// the system to, for pid 1 to join first.
    cgroups: Vec<OwnedFd>,
    /// The clones of its cgroups for `/sys/fs/cgroup`.
    clones: Vec<OwnedFd>,
}

impl FirstContext {
    /// `context`, and nothing for pid 1 to do.
    fn only(context: Context) -> Self {
        FirstContext {
            context,
            setup: None,
            join: Vec::new(),
            cgroups: Vec::new(),
            clones: Vec::new(),
        }
    }
}

/// The namespaces of a spec that are not new: the host's (the holder's
/// own) or joined by path, opened here, in the holder.
pub(crate) fn namespaces_to_join(ns: &Namespaces) -> Result<Vec<(OwnedFd, CloneFlags)>, WireError> {
    let mut join = Vec::new();
    for (field, which, name, kind) in [
        ("network", &ns.network, "net", CloneFlags::CLONE_NEWNET),
        ("ipc", &ns.ipc, "ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", &ns.uts, "uts", CloneFlags::CLONE_NEWUTS),
    ] {
        let path = match which {
            Namespace::New => continue,
            Namespace::Host => PathBuf::from(format!("/proc/self/ns/{name}")),
            Namespace::Join(path) => path.clone(),
        };
        let fd = nix::fcntl::open(&path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| WireError {
                code: errno_code(e as i32).0,
                message: format!(
                    "OCISpecification: linux.namespaces: {field} {}: {e}",
                    path.display()
                ),
            })?;
        join.push((fd, kind));
    }
    Ok(join)
}

fn stopped() -> WireError {
    WireError {
        code: ErrorCode::SYSTEM_ALREADY_STOPPED.0,
        message: "the system is stopping".to_owned(),
    }
}

impl Holder {
    pub(super) fn create_process(&mut self, token: Token, id: u64, config: &str) {
        match self.start_process(config) {
            Ok(starting) => {
                let host_pid = starting.0;
                let starting = Starting {
                    conn: token,
                    request: id,
                    ..starting.1
                };
                self.host_pids.insert(host_pid, starting.pid);
                self.starting.insert(host_pid, starting);
            }
            Err(err) => self.reply(token, id, Err(err), &[]),
        }
    }

    /// Starts a process; its host pid and what confirming it needs.
    fn start_process(&mut self, text: &str) -> Result<(u32, Starting), WireError> {
        if self.stopping != Stopping::No || self.init_exit.is_some() {
            return Err(stopped());
        }
        let mut config = hcs_schema::from_str::<ProcessConfig>(text).map_err(|e| WireError {
            code: ErrorCode::INVALID_JSON.0,
            message: format!("process configuration: {e}"),
        })?;
        // What it runs with, decided before anything is made for it.
        let first = self.init.parked.is_some();
        let FirstContext {
            context,
            setup,
            join,
            cgroups,
            clones,
        } = if first {
            self.first_context(&config)?
        } else {
            if self.starting.contains_key(&self.init.host_pid) {
                // It would join a container whose first process is still
                // applying the container's settings.
                return Err(WireError {
                    code: ErrorCode::INVALID_STATE.0,
                    message: "the system's first process is still starting".to_owned(),
                });
            }
            let init = self.context.as_ref().ok_or_else(stopped)?;
            FirstContext::only(init.for_exec(&config, self.native_linux)?)
        };
        let ptmx = self.ptmx.as_ref().ok_or_else(stopped)?;
        let streams = stdio::streams(&config, ptmx)?;
        let (status, report) = pipe2(OFlag::O_CLOEXEC).map_err(|e| WireError {
            code: ErrorCode::INTERNAL_ERROR.0,
            message: format!("creating a pipe: {e}"),
        })?;
        let present = streams.child.fds.each_ref().map(Option::is_some);
        let (host_pid, pid) = match self.init.parked.take() {
            // The first process: pid 1 becomes it.
            Some(sock) => {
                let mut fds: Vec<RawFd> = streams
                    .child
                    .fds
                    .iter()
                    .flatten()
                    .map(AsRawFd::as_raw_fd)
                    .collect();
                fds.push(report.as_raw_fd());
                fds.extend(join.iter().map(|(fd, _)| fd.as_raw_fd()));
                fds.extend(cgroups.iter().map(AsRawFd::as_raw_fd));
                fds.extend(clones.iter().map(AsRawFd::as_raw_fd));
                // Pid 1 runs the process; the spec it came with (most of
                // the document: a resolved seccomp profile) is read here,
                // so pid 1 decodes the rest alone.
                let bare = match config.oci_specification.take() {
                    Some(_) => hcs_schema::to_string(&config).map_err(|e| WireError {
                        code: ErrorCode::INTERNAL_ERROR.0,
                        message: format!("process configuration: {e}"),
                    })?,
                    None => text.to_owned(),
                };
                let exec = InitExec {
                    config: bare,
                    stdio: present,
                    console: streams.child.console,
                    context,
                    setup: setup.unwrap_or_default(),
                    join: join.iter().map(|(_, kind)| kind.bits()).collect(),
                    cgroups: cgroups.len(),
                };
                wire::send(sock.as_fd(), &exec, &fds).map_err(|e| WireError {
                    code: ErrorCode::SYSTEM_ALREADY_STOPPED.0,
                    message: format!("handing the process to the system's pid 1: {e}"),
                })?;
                self.cgroups.sent_to_pid1();
                self.context = Some(exec.context);
                (self.init.host_pid, 1)
            }
            None => {
                // SAFETY: the holder is single-threaded; the child only runs
                // `join_and_become`, which never returns.
                match unsafe { fork() } {
                    Ok(ForkResult::Child) => exec::join_and_become(
                        text,
                        streams.child,
                        report,
                        self.holder.as_fd(),
                        &self.cgroups.join,
                        &self.namespaces,
                        &context,
                    ),
                    Ok(ForkResult::Parent { child }) => {
                        let host_pid = child.as_raw() as u32;
                        (host_pid, container_pid(host_pid))
                    }
                    // Fork into a pid namespace whose pid 1 has exited
                    // fails with ENOMEM.
                    Err(Errno::ENOMEM) => return Err(stopped()),
                    Err(e) => {
                        return Err(WireError {
                            code: ErrorCode::INTERNAL_ERROR.0,
                            message: format!("forking: {e}"),
                        })
                    }
                }
            }
        };
        Ok((
            host_pid,
            Starting {
                pid,
                status,
                client_fds: streams.client_fds,
                layout: streams.layout,
                console: streams.console,
                conn: 0,
                request: 0,
                exited: None,
            },
        ))
    }

    /// The first process's context and what it asks of the container:
    /// docker's defaults, or a native Linux system's spec, read here once.
    /// And the namespaces pid 1 is to join instead of its own.
    fn first_context(&mut self, config: &ProcessConfig) -> Result<FirstContext, WireError> {
        let spec = if self.native_linux {
            context::init_spec(config)?
        } else {
            None
        };
        let runtime_dir = self.dir.runtime_dir.as_fd();
        let internal = |message: String| WireError {
            code: ErrorCode::INTERNAL_ERROR.0,
            message,
        };
        let Some(spec) = spec else {
            let seccomp = match &self.docker_seccomp {
                Some(program) => program.clone(),
                None => filters::docker_default_program(runtime_dir).map_err(internal)?,
            };
            return Ok(FirstContext::only(Context::docker_default(
                self.oom_score_adj,
                seccomp,
            )));
        };
        let seccomp = spec
            .seccomp()
            .map(|s| filters::program(s, runtime_dir))
            .transpose()
            .map_err(|e| WireError {
                code: ErrorCode::INVALID_PARAMETER.0,
                message: format!("OCISpecification: linux.seccomp: {e}"),
            })?;
        // Its cgroups where the spec says, before anything of it runs.
        if let Some(path) = spec.cgroups_path() {
            self.cgroups
                .move_to(path, self.init.host_pid)
                .map_err(|e| WireError {
                    code: ErrorCode::ACCESS_IS_DENIED.0,
                    message: format!(
                        "OCISpecification: linux.cgroupsPath {}: {e}",
                        path.display()
                    ),
                })?;
        }
        // The spec's resources, exactly, before anything of it runs.
        resources::apply(&self.cgroups.dirs, spec.resources()).map_err(|message| WireError {
            code: ErrorCode::INVALID_PARAMETER.0,
            message: format!("OCISpecification: {message}"),
        })?;
        // The spec's device allow-list replaces docker's before anything
        // of the spec runs (pid 1, parked, is the container's only
        // process).
        let rules = devices::of_spec(&spec).map_err(|e| WireError {
            code: ErrorCode::INVALID_PARAMETER.0,
            message: format!("OCISpecification: {e}"),
        })?;
        self.cgroups.set_devices(&rules).map_err(|e| WireError {
            code: ErrorCode::ACCESS_IS_DENIED.0,
            message: format!("the device allow-list: {e}"),
        })?;
        if !self.cgroups.left.is_empty() {
            // Removed once pid 1 has left them (`confirm`).
            let rel = spec
                .cgroups_path()
                .map(|p| p.to_string_lossy().into_owned());
            if let Err(e) = self.dir.cgroups_moved(rel.as_deref().unwrap_or_default()) {
                eprintln!("hcsrun-shim: recording the moved cgroups: {e}");
            }
        }
        let mut setup = ContainerSetup::of_spec(&spec);
        let clones = setup.clone_cgroups(&self.cgroups.dirs)?;
        let cgroups = self.cgroups.for_pid1().map_err(|e| WireError {
            code: ErrorCode::INTERNAL_ERROR.0,
            message: format!("duplicating the cgroups' join files: {e}"),
        })?;
        Ok(FirstContext {
            context: Context::of_spec(&spec, self.oom_score_adj, seccomp),
            setup: Some(setup),
            join: namespaces_to_join(spec.namespaces())?,
            cgroups,
            clones,
        })
    }

    /// The status pipe of a starting process is readable: it executed, or
    /// it failed and said why.
    pub(super) fn confirm(&mut self, host_pid: u32) {
        let Some(s) = self.starting.remove(&host_pid) else {
            return;
        };
        if let Err(err) = exec::exec_result(&s.status) {
            // It exits right after reporting; its reaping finds no process.
            if s.exited.is_some() {
                self.host_pids.remove(&host_pid);
            }
            return self.reply(s.conn, s.request, Err(err), &[]);
        }
        if host_pid == self.init.host_pid {
            // It joined the cgroups a spec moved the system to before it
            // executed.
            self.cgroups.remove_left();
            // Later processes join the namespaces the first one runs in,
            // which a spec may have changed (the host's, or joined).
            match crate::boot::open_namespaces(host_pid) {
                Ok(namespaces) => self.namespaces = namespaces,
                Err(e) => eprintln!("hcsrun-shim: reopening pid 1's namespaces: {e}"),
            }
        }
        let fds: Vec<RawFd> = s.client_fds.iter().map(AsRawFd::as_raw_fd).collect();
        let watchers = if self.conns.contains_key(&s.conn) {
            BTreeSet::from([s.conn])
        } else {
            BTreeSet::new()
        };
        self.procs.insert(
            s.pid,
            Proc {
                host_pid,
                exit_code: None,
                watchers,
                console: s.console,
            },
        );
        let reply = Reply::Process {
            pid: s.pid,
            host_pid,
            stdio: s.layout,
            exit_code: None,
        };
        self.reply(s.conn, s.request, Ok(reply), &fds);
        // The caller's ends are the caller's now.
        drop(s.client_fds);
        if let Some(code) = s.exited {
            self.exited(host_pid, code);
        }
    }

    /// Reaps every child that has exited.
    pub(super) fn reap(&mut self) {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => self.exited(pid.as_raw() as u32, code as u32),
                Ok(WaitStatus::Signaled(pid, signal, _)) => {
                    self.exited(pid.as_raw() as u32, 128 + signal as u32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    fn exited(&mut self, host_pid: u32, exit_code: u32) {
        if host_pid == self.init.host_pid {
            self.init_exit = Some(exit_code);
        }
        if let Some(s) = self.starting.get_mut(&host_pid) {
            s.exited = Some(exit_code);
            return;
        }
        let Some(pid) = self.host_pids.remove(&host_pid) else {
            return;
        };
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        p.exit_code = Some(exit_code);
        p.console = None;
        let watchers: Vec<Token> = p.watchers.iter().copied().collect();
        if watchers.is_empty() {
            self.procs.remove(&pid);
        }
        for token in watchers {
            self.send(token, &Message::ProcessExited { pid, exit_code }, &[]);
        }
    }
}

/// A child's pid in the container's pid namespace: the last of `NSpid`.
fn container_pid(host_pid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{host_pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .and_then(|ns| ns.split_whitespace().last()?.parse().ok())
        })
        .unwrap_or(host_pid)
}
