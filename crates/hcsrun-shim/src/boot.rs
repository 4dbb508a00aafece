//! The holder's start: its own attributes, the bootstrap message, the
//! system's pid 1 forked into a new pid namespace and moved into the
//! system's cgroups while it builds the root, the ready report, then the
//! event loop.

use std::{
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
    path::Path,
    sync::OnceLock,
};

use hcs::ErrorCode;
use hcsrun_shim_protocol::{
    message::{Bootstrap, Ready, WireError, BOOTSTRAP_FD, SPARE_MARK},
    wire,
};
use nix::{
    fcntl::{fcntl, open, FcntlArg, FdFlag, OFlag},
    sched::{unshare, CloneFlags},
    sys::{
        signal::{signal, SigHandler, SigSet, Signal},
        signalfd::{SfdFlags, SignalFd},
        stat::Mode,
        wait::waitpid,
    },
    unistd::{fork, getpid, setsid, ForkResult, Pid},
};

use crate::{
    cgroups::Cgroups,
    devices, filters,
    holder::{Holder, Init, Setup},
    init::{self, InitArgs, InitReady},
    record::SystemDir,
    security::Program,
};

/// The holder's `main`.
pub fn main() -> ! {
    match run() {
        Ok(never) => match never {},
        Err(e) => {
            // The service's log is shared by every holder: name the system.
            let id = SYSTEM_ID
                .get()
                .cloned()
                .or_else(|| std::env::args().nth(1))
                .unwrap_or_default();
            // One write: the service may kill this holder as soon as its
            // bootstrap socket closes, and a line in pieces would be cut.
            let line = format!("hcsrun-shim {id}: {e}\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            std::process::exit(1)
        }
    }
}

enum Never {}

/// The system this holder holds, once its bootstrap has named it.
static SYSTEM_ID: OnceLock<String> = OnceLock::new();

/// A pidfd of process `pid` (a child not yet reaped, or this process).
pub fn pidfd_open(pid: u32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor we own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above: `fd` is a new descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(fd)
}

/// Sends `signal` to the process behind `pidfd`.
pub fn pidfd_signal(pidfd: &OwnedFd, signal: i32) -> std::io::Result<()> {
    // SAFETY: pidfd_send_signal with no siginfo.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// What the holder is as a process: its own session (a closed terminal or
/// the end of the command that started it does not end it), the reaper of
/// whatever is orphaned below it, not dumpable (it holds descriptors of the
/// host's runtime directory), the OOM killer's last choice (best effort),
/// deaf to SIGINT, SIGHUP and SIGPIPE; SIGCHLD and SIGTERM (which stops the
/// system cleanly) are read from a signalfd.
fn become_holder() -> Result<SignalFd, String> {
    let _ = setsid();
    // SAFETY: plain prctls.
    unsafe {
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) < 0
            || libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0
        {
            return Err(format!(
                "setting the holder's attributes: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    let _ = std::fs::write("/proc/self/oom_score_adj", "-1000");
    for sig in [Signal::SIGINT, Signal::SIGHUP, Signal::SIGPIPE] {
        // SAFETY: SIG_IGN installs no handler.
        unsafe { signal(sig, SigHandler::SigIgn) }.map_err(|e| format!("ignoring {sig}: {e}"))?;
    }
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask.add(Signal::SIGTERM);
    mask.thread_block()
        .map_err(|e| format!("blocking signals: {e}"))?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| format!("reading signals: {e}"))
}

fn run() -> Result<Never, String> {
    // What the container's processes get unless a spec says otherwise: the
    // caller's, not the holder's own -1000.
    let oom_score_adj = crate::security::read_oom_score_adj();
    let signals = become_holder()?;
    // SAFETY: the service hands the bootstrap socket over as fd 3.
    let boot = unsafe { OwnedFd::from_raw_fd(BOOTSTRAP_FD) };
    fcntl(&boot, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(|e| format!("fd {BOOTSTRAP_FD} is not the bootstrap socket ({e}); hcsrun-shim is started by the hcsrun compute service"))?;
    let Some(message) = wire::recv_message(boot.as_fd())
        .map_err(|e| format!("reading the bootstrap message: {e}"))?
    else {
        // A spare the service never used (its launcher started nothing,
        // or died): nothing was made, nothing to say.
        std::process::exit(0)
    };
    let bootstrap: Bootstrap = message
        .decode()
        .map_err(|e| format!("bootstrap message: {e}"))?;
    let _ = SYSTEM_ID.set(bootstrap.id.clone());
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg.as_encoded_bytes().starts_with(SPARE_MARK.as_bytes()))
    {
        crate::title::name_system(&bootstrap.id);
    }
    let mut fds = message.fds.into_iter();
    let mut take = |what: &str| fds.next().ok_or(format!("bootstrap message lacks {what}"));
    let listener = take("the listening socket")?;
    let runtime_dir = take("the runtime directory")?;
    let netns = if bootstrap.shared_network {
        Some(take("the network namespace")?)
    } else {
        None
    };
    let join = bootstrap
        .cgroups
        .iter()
        .map(|_| take("the cgroups' join files"))
        .collect::<Result<Vec<_>, _>>()?;
    let cgroups = Cgroups::new(bootstrap.cgroups.clone(), join);
    let holder = pidfd_open(getpid().as_raw() as u32).map_err(|e| format!("pidfd_open: {e}"))?;

    let native_linux = crate::context::is_native_linux(&bootstrap.config);
    let started = start_init(
        &bootstrap,
        netns.as_ref(),
        &holder,
        &cgroups,
        (!native_linux).then_some(runtime_dir.as_fd()),
    );
    let (init, ptmx, docker_seccomp) = match started {
        Ok(started) => started,
        Err((err, init)) => {
            let _ = wire::send(boot.as_fd(), &Ready::Failed(err.clone()), &[]);
            // Its root was being built in its own mount namespace: gone
            // with it. The service removes the cgroups once this holder is
            // reaped, and pid 1 is reaped first.
            if let Some(pid) = init {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
            }
            return Err(err.message);
        }
    };
    let namespaces = open_namespaces(init.host_pid).map_err(|e| {
        let _ = pidfd_signal(&init.pidfd, libc::SIGKILL);
        format!("opening the system's namespaces: {e}")
    })?;
    let ready = Ready::Ok {
        init_pid: init.host_pid,
    };
    wire::send(boot.as_fd(), &ready, &[]).map_err(|e| format!("reporting ready: {e}"))?;
    let setup = Setup {
        boot,
        listener,
        init,
        signals,
        holder,
        ptmx,
        cgroups,
        namespaces,
        terminate_on_last_handle: bootstrap.config.terminate_on_last_handle_closed,
        native_linux,
        oom_score_adj,
        docker_seccomp,
        dir: SystemDir {
            id: bootstrap.id,
            runtime_id: bootstrap.runtime_id,
            runtime_dir,
        },
    };
    Holder::new(setup).run()
}

type StartError = (WireError, Option<Pid>);

/// Forks pid 1 into a new pid namespace, which joins its cgroups itself
/// (on cgroup v2 the holder moves it while it builds the root), and waits
/// for its report. Meanwhile, for a system
/// that gets docker's defaults (`docker_defaults`: the runtime directory,
/// which holds compiled filters), docker's seccomp filter is made ready.
fn start_init(
    bootstrap: &Bootstrap,
    netns: Option<&OwnedFd>,
    holder: &OwnedFd,
    cgroups: &Cgroups,
    docker_defaults: Option<BorrowedFd<'_>>,
) -> Result<(Init, OwnedFd, Option<Program>), StartError> {
    let fail = |code: ErrorCode, message: String, pid: Option<Pid>| {
        (
            WireError {
                code: code.0,
                message,
            },
            pid,
        )
    };
    // The holder's children are born in the new pid namespace from now on:
    // pid 1 first, every later process after it. The holder stays in the
    // host's.
    unshare(CloneFlags::CLONE_NEWPID).map_err(|e| {
        fail(
            hcsrun_shim_protocol::errno::errno_code(e as i32),
            format!("creating the system's pid namespace: {e}"),
            None,
        )
    })?;
    let (ours, theirs) = wire::pair().map_err(|e| {
        fail(
            ErrorCode::INTERNAL_ERROR,
            format!("creating pid 1's socket: {e}"),
            None,
        )
    })?;
    // SAFETY: the holder is single-threaded; the child runs `init::run`,
    // which never returns.
    let pid = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop(ours);
            init::run(InitArgs {
                id: &bootstrap.id,
                system_dir: Path::new(&bootstrap.system_dir),
                config: &bootstrap.config,
                hidden: &bootstrap.hidden,
                netns,
                sock: theirs,
                holder: holder.as_fd(),
                cgroups: cgroups.init_joins(),
            })
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => {
            return Err(fail(
                ErrorCode::NOT_ENOUGH_MEMORY,
                format!("forking the system's pid 1: {e}"),
                None,
            ))
        }
    };
    drop(theirs);
    let host_pid = pid.as_raw() as u32;
    let pidfd = pidfd_open(host_pid).map_err(|e| {
        fail(
            ErrorCode::INTERNAL_ERROR,
            format!("pidfd_open: {e}"),
            Some(pid),
        )
    })?;
    // Nothing of the user's runs in pid 1 before the holder reports ready,
    // which it does only once this join is done.
    cgroups.add_unified(host_pid).map_err(|e| {
        fail(
            ErrorCode::ACCESS_IS_DENIED,
            format!("joining the system's cgroups: {e}"),
            Some(pid),
        )
    })?;
    // Docker's device allow-list, made ready while pid 1 builds the root
    // and put in force once it has (a Linux spec's replaces it when the
    // first process arrives).
    let devices_failed = |e: std::io::Error| {
        fail(
            ErrorCode::ACCESS_IS_DENIED,
            format!("the device allow-list: {e}"),
            Some(pid),
        )
    };
    let program = cgroups
        .prepare_devices(&devices::docker_default())
        .map_err(devices_failed)?;
    let docker_seccomp = docker_defaults
        .map(filters::docker_default_program)
        .transpose()
        .map_err(|e| fail(ErrorCode::INTERNAL_ERROR, e, Some(pid)))?;
    let report = wire::recv_message(ours.as_fd());
    let received = match report {
        Ok(Some(received)) => received,
        _ => {
            return Err(fail(
                ErrorCode::TERMINATED_DURING_START,
                "the system's pid 1 exited while building the root".to_owned(),
                Some(pid),
            ))
        }
    };
    match received.decode::<InitReady>() {
        Ok(InitReady::Ok) => {}
        Ok(InitReady::Failed(err)) => return Err((err, Some(pid))),
        Err(e) => {
            return Err(fail(
                ErrorCode::PROTOCOL_ERROR,
                format!("pid 1's report: {e}"),
                Some(pid),
            ))
        }
    }
    cgroups.enforce_devices(program).map_err(devices_failed)?;
    let ptmx = received.fds.into_iter().next().ok_or_else(|| {
        fail(
            ErrorCode::PROTOCOL_ERROR,
            "pid 1 sent no console device".to_owned(),
            Some(pid),
        )
    })?;
    Ok((
        Init {
            host_pid,
            pidfd,
            parked: Some(ours),
        },
        ptmx,
        docker_seccomp,
    ))
}

/// Pid 1's namespaces, as later processes join them (after its cgroups):
/// the mount namespace last, since it moves the root.
pub(crate) fn open_namespaces(pid: u32) -> nix::Result<Vec<(OwnedFd, CloneFlags)>> {
    [
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("cgroup", CloneFlags::CLONE_NEWCGROUP),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ]
    .into_iter()
    .map(|(name, kind)| {
        let fd = open(
            format!("/proc/{pid}/ns/{name}").as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok((fd, kind))
    })
    .collect()
}
