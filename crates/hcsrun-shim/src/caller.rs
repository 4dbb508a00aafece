//! Caller mode: the container code the holder runs, run in-process by a
//! synchronous, single-threaded front end with no holder (`hcsrun-oci`,
//! runc's command line). See "The process model" in `docs/ARCHITECTURE.md`.
//!
//! [`create`] forks the container's pid 1 into a new pid namespace, moves it
//! into the container's cgroups and puts its device allow-list in force
//! while it builds the root (the same `init` code the holder forks), then
//! hands it its process at once: pid 1 applies the Linux spec, closes its
//! status pipe and waits on the exec FIFO before `execve`. When `create`
//! returns, pid 1 is the caller's process to reap once this one exits (no
//! parent-death signal). [`exec`] forks a process into a running
//! container's namespaces and cgroups (the holder's `join_and_become`).
//! Stdio are the caller's descriptors, or a console of the container's own
//! `devpts` whose master is returned.

use std::{
    fmt,
    os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd},
    path::{Path, PathBuf},
};

use hcs::ErrorCode;
use hcs_schema::{ContainerConfig, ProcessConfig};
use hcsrun_shim_protocol::{
    message::{CgroupDir, WireError},
    wire,
};
use nix::{
    fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag},
    sched::{setns, unshare, CloneFlags},
    sys::{signal::Signal, stat::Mode, wait::waitpid},
    unistd::{fork, pipe2, ForkResult, Pid},
};

use crate::{
    cgroups::Cgroups,
    container::ContainerSetup,
    context::{self, Context},
    devices,
    exec::{self, ChildStdio, Monitor},
    filters,
    holder::processes::namespaces_to_join,
    hooks::ContainerHooks,
    init::{self, CallerInitArgs, InitExec, InitReady},
    resources, stdio,
};
use hcsrun_linux_spec::{LinuxSpec, Namespace};

/// A failure of caller mode, naming the container and the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerError {
    /// The container.
    pub id: String,
    /// What was being done (`create`, `exec`).
    pub operation: &'static str,
    /// The HCS code of the failure (`hcs::ErrorCode`).
    pub code: u32,
    /// What failed, with the Linux detail.
    pub message: String,
}

impl fmt::Display for CallerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.operation, self.id, self.message)
    }
}

impl std::error::Error for CallerError {}

/// One of the container's cgroups, as `hcsrun_cgroup::Cgroup::join_fds`
/// gives it: its directory, its hierarchy's controllers (none on v2), and
/// its join file open for writing (`hcsrun_cgroup::join_file`).
pub type CgroupJoin = (PathBuf, Vec<String>, OwnedFd);

/// What [`create`] needs.
pub struct Create<'a> {
    /// The container's id.
    pub id: &'a str,
    /// A directory of the host's for the root's mount points (the state
    /// directory: pid 1 covers it with a private tmpfs).
    pub system_dir: &'a Path,
    /// The container (`translate::linux::container_config`).
    pub config: &'a ContainerConfig,
    /// Its init process as a `ProcessConfig` document
    /// (`translate::linux::init_process_config`: the spec rides along).
    pub process: &'a str,
    /// The front end's state directory: compiled seccomp filters are
    /// cached there, and it is hidden from the container.
    pub runtime_dir: BorrowedFd<'a>,
    /// Host directories to hide from the container.
    pub hidden: &'a [String],
    /// The container's cgroups, made by the caller.
    pub cgroups: Vec<CgroupJoin>,
    /// The exec FIFO, `O_PATH`: pid 1 waits on it before `execve`.
    pub fifo: OwnedFd,
    /// Descriptors 3 to 3 + this of this process go to the program as
    /// they are (runc's `--preserve-fds`).
    pub preserve_fds: u32,
    /// The spec's `createContainer` and `startContainer` hooks, which
    /// pid 1 runs.
    pub hooks: &'a ContainerHooks,
}

/// A created container.
#[derive(Debug)]
pub struct Created {
    /// Pid 1's host pid: parked on the exec FIFO, this process's child
    /// until it exits.
    pub pid: u32,
    /// The console's master side, when the process has a terminal.
    pub console: Option<OwnedFd>,
}

/// A process started by [`exec`].
#[derive(Debug)]
pub struct Started {
    /// Its host pid: this process's child.
    pub pid: u32,
    /// The console's master side, when the process has a terminal.
    pub console: Option<OwnedFd>,
}

fn error<'a>(id: &'a str, operation: &'static str) -> impl Fn(WireError) -> CallerError + 'a {
    move |e| CallerError {
        id: id.to_owned(),
        operation,
        code: e.code,
        message: e.message,
    }
}

fn wire_error(code: ErrorCode, message: String) -> WireError {
    WireError {
        code: code.0,
        message,
    }
}

fn parse_process(text: &str) -> Result<ProcessConfig, WireError> {
    hcs_schema::from_str(text).map_err(|e| {
        wire_error(
            ErrorCode::INVALID_JSON,
            format!("process configuration: {e}"),
        )
    })
}

/// What the init process runs with and asks of the container, as the
/// holder decides it for its first process (`first_context`): the spec's
/// context with its seccomp program, the container setup, its device
/// rules, and the namespaces to join instead of new ones.
struct InitContext {
    context: Context,
    setup: ContainerSetup,
    rules: Vec<devices::Rule>,
    join: Vec<(OwnedFd, CloneFlags)>,
    spec: LinuxSpec,
}

fn init_context(
    config: &ProcessConfig,
    runtime_dir: BorrowedFd<'_>,
) -> Result<InitContext, WireError> {
    let oom_score_adj = crate::security::read_oom_score_adj();
    let spec = context::init_spec(config)?.ok_or_else(|| {
        wire_error(
            ErrorCode::INVALID_PARAMETER,
            "the init process carries no Linux spec (OCISpecification)".to_owned(),
        )
    })?;
    let seccomp = spec
        .seccomp()
        .map(|s| filters::program(s, runtime_dir))
        .transpose()
        .map_err(|e| {
            wire_error(
                ErrorCode::INVALID_PARAMETER,
                format!("OCISpecification: linux.seccomp: {e}"),
            )
        })?;
    let rules = devices::of_spec(&spec).map_err(|e| {
        wire_error(
            ErrorCode::INVALID_PARAMETER,
            format!("OCISpecification: {e}"),
        )
    })?;
    Ok(InitContext {
        context: Context::of_spec(&spec, oom_score_adj, seccomp),
        setup: ContainerSetup::of_spec(&spec),
        rules,
        join: namespaces_to_join(spec.namespaces())?,
        spec,
    })
}

/// The process's stdio: the caller's 0-2 (duplicated), or a console made
/// from `ptmx` (an `O_PATH` descriptor of the container's `/dev/pts/ptmx`).
fn child_stdio(
    config: &ProcessConfig,
    ptmx: impl FnOnce() -> Result<OwnedFd, WireError>,
) -> Result<(ChildStdio, Option<OwnedFd>), WireError> {
    if config.emulate_console {
        let console = ProcessConfig {
            create_std_in_pipe: false,
            create_std_out_pipe: false,
            create_std_err_pipe: false,
            ..config.clone()
        };
        let streams = stdio::streams(&console, &ptmx()?)?;
        return Ok((streams.child, streams.console));
    }
    let fds = [0, 1, 2].map(|fd: RawFd| {
        // SAFETY: borrows 0-2 of this process only to duplicate them; a
        // closed one is left to the container's /dev/null.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        nix::fcntl::fcntl(borrowed, nix::fcntl::FcntlArg::F_GETFD)
            .ok()
            .and_then(|_| borrowed.try_clone_to_owned().ok())
    });
    Ok((
        ChildStdio {
            fds,
            console: false,
        },
        None,
    ))
}

fn cgroups_of(joins: Vec<CgroupJoin>) -> Cgroups {
    let (dirs, join) = joins
        .into_iter()
        .map(|(dir, controllers, fd)| {
            (
                CgroupDir {
                    path: dir.to_string_lossy().into_owned(),
                    controllers,
                },
                fd,
            )
        })
        .unzip();
    Cgroups::new(dirs, join)
}

/// Kills and reaps a child that failed to start.
fn kill_child(pid: Pid) {
    let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    let _ = waitpid(pid, None);
}

/// Creates the container: pid 1 built, in its cgroups, parked on the exec
/// FIFO. This process must be single-threaded.
pub fn create(args: Create<'_>) -> Result<Created, CallerError> {
    let err = error(args.id, "create");
    let config = parse_process(args.process).map_err(&err)?;
    let mut init = init_context(&config, args.runtime_dir).map_err(&err)?;
    init.context.preserve_fds = args.preserve_fds;
    let cgroups = cgroups_of(args.cgroups);
    // The spec's resources, exactly, as the holder writes them.
    resources::apply(&cgroups.dirs, init.spec.resources())
        .map_err(|message| {
            wire_error(
                ErrorCode::INVALID_PARAMETER,
                format!("OCISpecification: {message}"),
            )
        })
        .map_err(&err)?;
    let sys = |what: &str| {
        let what = what.to_owned();
        move |e: nix::Error| {
            wire_error(
                hcsrun_shim_protocol::errno::errno_code(e as i32),
                format!("{what}: {e}"),
            )
        }
    };
    // Pid 1 is born in the container's pid namespace: a new one (it is
    // PID 1 there), the caller's own, or one the spec names. This process
    // stays in the caller's, and so do its later children (the hooks).
    let own_pidns = open(
        "/proc/self/ns/pid",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys("opening this process's pid namespace"))
    .map_err(&err)?;
    match &init.spec.namespaces().pid {
        Namespace::New => unshare(CloneFlags::CLONE_NEWPID)
            .map_err(sys("creating the container's pid namespace"))
            .map_err(&err)?,
        Namespace::Host => {}
        Namespace::Join(path) => {
            let what = format!("linux.namespaces: pid {}", path.display());
            open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .and_then(|fd| setns(fd, CloneFlags::CLONE_NEWPID))
                .map_err(sys(&what))
                .map_err(&err)?
        }
    }
    let (ours, theirs) = wire::pair()
        .map_err(sys("creating pid 1's socket"))
        .map_err(&err)?;
    // SAFETY: the caller is single-threaded; the child runs
    // `init::run_for_caller`, which never returns.
    let pid = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop(ours);
            init::run_for_caller(CallerInitArgs {
                id: args.id,
                system_dir: args.system_dir,
                config: args.config,
                netns: None,
                sock: theirs,
                fifo: args.fifo,
                hidden: args.hidden,
                preserve_fds: args.preserve_fds,
                hooks: args.hooks,
                cgroups: cgroups.init_joins(),
            })
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => return Err(err(sys("forking the container's pid 1")(e))),
    };
    if let Err(e) = setns(&own_pidns, CloneFlags::CLONE_NEWPID) {
        kill_child(pid);
        return Err(err(sys("returning to this process's pid namespace")(e)));
    }
    drop(theirs);
    drop(args.fifo);
    match start_init(pid, ours, &cgroups, &config, args.process, init) {
        Ok(console) => Ok(Created {
            pid: pid.as_raw() as u32,
            console,
        }),
        Err(e) => {
            kill_child(pid);
            Err(err(e))
        }
    }
}

/// Pid 1 forked: into the cgroups, the allow-list, its report, its process.
fn start_init(
    pid: Pid,
    sock: OwnedFd,
    cgroups: &Cgroups,
    config: &ProcessConfig,
    text: &str,
    init: InitContext,
) -> Result<Option<OwnedFd>, WireError> {
    let rules = &init.rules;
    let host_pid = pid.as_raw() as u32;
    let denied = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| wire_error(ErrorCode::ACCESS_IS_DENIED, format!("{what}: {e}"))
    };
    cgroups
        .add_unified(host_pid)
        .map_err(denied("joining the container's cgroups"))?;
    let program = cgroups
        .prepare_devices(rules)
        .map_err(denied("the device allow-list"))?;
    let received = match wire::recv_message(sock.as_fd()) {
        Ok(Some(received)) => received,
        _ => {
            return Err(wire_error(
                ErrorCode::TERMINATED_DURING_START,
                "the container's pid 1 exited while building the root".to_owned(),
            ))
        }
    };
    match received.decode::<InitReady>() {
        Ok(InitReady::Ok) => {}
        Ok(InitReady::Failed(e)) => return Err(e),
        Err(e) => {
            return Err(wire_error(
                ErrorCode::PROTOCOL_ERROR,
                format!("pid 1's report: {e}"),
            ))
        }
    }
    cgroups
        .enforce_devices(program)
        .map_err(denied("the device allow-list"))?;
    let ptmx = received.fds.into_iter().next();
    let (child, console) = child_stdio(config, || {
        ptmx.ok_or_else(|| {
            wire_error(
                ErrorCode::PROTOCOL_ERROR,
                "pid 1 sent no console device".to_owned(),
            )
        })
    })?;
    let (status, report) = pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| wire_error(ErrorCode::INTERNAL_ERROR, format!("creating a pipe: {e}")))?;
    let mut fds: Vec<RawFd> = child.fds.iter().flatten().map(AsRawFd::as_raw_fd).collect();
    fds.push(report.as_raw_fd());
    fds.extend(init.join.iter().map(|(fd, _)| fd.as_raw_fd()));
    let mut setup = init.setup;
    let clones = setup.clone_cgroups(&cgroups.dirs)?;
    fds.extend(clones.iter().map(AsRawFd::as_raw_fd));
    let exec = InitExec {
        config: text.to_owned(),
        stdio: child.fds.each_ref().map(Option::is_some),
        console: child.console,
        context: init.context,
        setup,
        join: init.join.iter().map(|(_, kind)| kind.bits()).collect(),
        cgroups: 0,
    };
    wire::send(sock.as_fd(), &exec, &fds).map_err(|e| {
        wire_error(
            ErrorCode::SYSTEM_ALREADY_STOPPED,
            format!("handing the process to the container's pid 1: {e}"),
        )
    })?;
    drop(report);
    drop(child);
    // Closes empty once pid 1 has applied everything and waits on the
    // exec FIFO; carries the failure otherwise.
    exec::exec_result(&status)?;
    Ok(console)
}

/// What [`exec`] needs.
pub struct Exec<'a> {
    /// The container's id.
    pub id: &'a str,
    /// The host pid of the container's pid 1.
    pub init_pid: u32,
    /// The init process's `ProcessConfig` document (its context is the
    /// base of the new process's, as with `runc exec`).
    pub init_process: &'a str,
    /// The new process's `ProcessConfig` document
    /// (`translate::linux::exec_process_config`).
    pub process: &'a str,
    /// The join file of each of the container's cgroups, open for
    /// writing (`hcsrun_cgroup::join_file`).
    pub cgroup_join: Vec<OwnedFd>,
    /// The front end's state directory (the seccomp filter cache).
    pub runtime_dir: BorrowedFd<'a>,
    /// Descriptors 3 to 3 + this of this process go to the program as
    /// they are (runc's `--preserve-fds`).
    pub preserve_fds: u32,
}

/// Starts a process in the running container: this process's child,
/// born in the container's pid namespace, joined to its other namespaces
/// and cgroups before it runs anything. This process must be
/// single-threaded; it stays in its own namespaces.
pub fn exec(args: Exec<'_>) -> Result<Started, CallerError> {
    let err = error(args.id, "exec");
    let init = parse_process(args.init_process).map_err(&err)?;
    let config = parse_process(args.process).map_err(&err)?;
    let base = init_context(&init, args.runtime_dir).map_err(&err)?.context;
    let mut context = base.for_exec(&config, true).map_err(&err)?;
    context.preserve_fds = args.preserve_fds;
    let pid = args.init_pid;
    let ns = |name: &str| {
        open(
            format!("/proc/{pid}/ns/{name}").as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            wire_error(
                ErrorCode::SYSTEM_ALREADY_STOPPED,
                format!("opening the namespaces of pid {pid}: {e}"),
            )
        })
    };
    let joined = (|| {
        let pidns = ns("pid")?;
        // Its namespaces, the mount namespace last, as the holder's later
        // processes join them.
        let namespaces = crate::boot::open_namespaces(pid).map_err(|e| {
            wire_error(
                ErrorCode::SYSTEM_ALREADY_STOPPED,
                format!("opening the namespaces of pid {pid}: {e}"),
            )
        })?;
        let (child, console) = child_stdio(&config, || container_ptmx(pid))?;
        setns(&pidns, CloneFlags::CLONE_NEWPID).map_err(|e| {
            wire_error(
                ErrorCode::ACCESS_IS_DENIED,
                format!("joining the pid namespace of pid {pid}: {e}"),
            )
        })?;
        Ok::<_, WireError>((namespaces, child, console))
    })();
    let (namespaces, child, console) = joined.map_err(&err)?;
    let (status, report) = pipe2(OFlag::O_CLOEXEC).map_err(|e| {
        err(wire_error(
            ErrorCode::INTERNAL_ERROR,
            format!("creating a pipe: {e}"),
        ))
    })?;
    // SAFETY: the caller is single-threaded; the child only runs
    // `join_monitored`, which never returns.
    let child_pid = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop(status);
            exec::join_monitored(
                args.process,
                child,
                report,
                Monitor::Caller(None),
                &args.cgroup_join,
                &namespaces,
                &context,
            )
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => {
            return Err(err(wire_error(
                ErrorCode::SYSTEM_ALREADY_STOPPED,
                format!("forking into the container: {e}"),
            )))
        }
    };
    drop(report);
    drop(child);
    if let Err(e) = exec::exec_result(&status) {
        let _ = waitpid(child_pid, None);
        return Err(err(e));
    }
    Ok(Started {
        pid: child_pid.as_raw() as u32,
        console,
    })
}

/// The container's `/dev/pts/ptmx`, `O_PATH`, looked up inside its root
/// (`RESOLVE_IN_ROOT`: no symlink of the container's leads out).
fn container_ptmx(pid: u32) -> Result<OwnedFd, WireError> {
    let root = open(
        format!("/proc/{pid}/root").as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    );
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    root.and_then(|root| openat2(root.as_fd(), "dev/pts/ptmx", how))
        .map_err(|e| {
            wire_error(
                ErrorCode::FILE_NOT_FOUND,
                format!("opening the container's /dev/pts/ptmx: {e}"),
            )
        })
}
