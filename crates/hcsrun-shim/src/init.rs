//! The system's pid 1 until it becomes the first process: forked by the
//! holder into the new pid namespace the holder made for its children, it
//! takes its own mount, UTS, IPC and (unless shared) network namespaces,
//! builds the container's root, reports ready on its socket, and parks
//! until the holder sends the first process, which it then becomes
//! (`exec.rs`). From then on pid 1 is the user's program: nothing of
//! hcsrun runs in the container.

use std::{
    os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd},
    path::Path,
};

use hcs::ErrorCode;
use hcs_schema::ContainerConfig;
use hcsrun_shim_protocol::{errno::errno_code, message::WireError, wire};
use nix::{
    fcntl::{open, OFlag},
    sched::{setns, unshare, CloneFlags},
    sys::stat::Mode,
};
use serde::{Deserialize, Serialize};

use crate::{
    cgroups::{self, InitJoins},
    container::ContainerSetup,
    context::Context,
    exec::{self, ChildStdio, Monitor},
    hooks::{self, ContainerHooks, Hook},
    monitor::Start,
    setup,
};

/// Pid 1's report to the holder once its root is built.
#[derive(Debug, Serialize, Deserialize)]
pub enum InitReady {
    /// Parked; an `O_PATH` descriptor of the container's `/dev/pts/ptmx`
    /// comes with the message, for the holder to make consoles with.
    Ok,
    Failed(WireError),
}

/// The first process, from the holder to the parked pid 1. Descriptors:
/// the standard ones `stdio` names, in order, then the status pipe.
#[derive(Debug, Serialize, Deserialize)]
pub struct InitExec {
    /// The `ProcessConfig` document.
    pub config: String,
    /// Which of 0, 1, 2 come with the message.
    pub stdio: [bool; 3],
    pub console: bool,
    /// What it runs with, as the holder decided.
    pub context: Context,
    /// What a Linux spec asks of the whole container.
    pub setup: ContainerSetup,
    /// Namespaces to join instead of those pid 1 made (a Linux spec's
    /// "host" or path), as `CLONE_NEW*` bits: their descriptors follow the
    /// status pipe, in this order, then `cgroups` join files, then those
    /// of `setup.cgroupfs`.
    pub join: Vec<i32>,
    /// How many join files of cgroups (a spec's `linux.cgroupsPath`) pid 1
    /// joins before anything else.
    #[serde(default)]
    pub cgroups: usize,
}

/// What pid 1 is given.
pub struct InitArgs<'a> {
    pub id: &'a str,
    pub system_dir: &'a Path,
    pub config: &'a ContainerConfig,
    /// Host directories to hide (`Bootstrap::hidden`).
    pub hidden: &'a [String],
    /// The network namespace to join instead of making one.
    pub netns: Option<&'a OwnedFd>,
    /// Its end of the socket to the holder.
    pub sock: OwnedFd,
    /// The holder's pidfd.
    pub holder: BorrowedFd<'a>,
    /// The cgroups it joins by itself.
    pub cgroups: InitJoins<'a>,
}

/// Runs pid 1 up to the first process. Never returns.
pub fn run(args: InitArgs<'_>) -> ! {
    // Pid 1 may park for long: it keeps none of the holder's descriptors
    // (the listener, handles, the runtime directory, cgroup files) but its
    // socket, the network namespace to join and the holder's pidfd. Those
    // it drops are never used or dropped again: this function never
    // returns.
    let joined = cgroups::join_each(&args.cgroups.now);
    let mut keep = vec![args.sock.as_raw_fd(), args.holder.as_raw_fd()];
    keep.extend(args.netns.map(|fd| fd.as_raw_fd()));
    close_all_but(with_fds(&keep, &args.cgroups.after_root));
    let ready = joined
        .map_err(join_failed)
        .and_then(|()| prepare(&args, Some(args.holder)))
        .and_then(|ptmx| join_after_root(&args.cgroups, ptmx));
    let sent = match &ready {
        Ok(ptmx) => wire::send(args.sock.as_fd(), &InitReady::Ok, &[ptmx.as_raw_fd()]),
        Err(e) => wire::send(args.sock.as_fd(), &InitReady::Failed(e.clone()), &[]),
    };
    if ready.is_err() || sent.is_err() {
        // SAFETY: ends this child of the single-threaded holder.
        unsafe { libc::_exit(1) }
    }
    drop(ready);
    close_all_but(keep);
    park(args.sock, Monitor::Holder(args.holder))
}

/// `keep` and `fds`, as raw descriptors.
fn with_fds(keep: &[RawFd], fds: &[BorrowedFd<'_>]) -> Vec<RawFd> {
    keep.iter()
        .copied()
        .chain(fds.iter().map(AsRawFd::as_raw_fd))
        .collect()
}

fn join_failed(e: std::io::Error) -> WireError {
    WireError {
        code: ErrorCode::ACCESS_IS_DENIED.0,
        message: format!("joining the system's cgroups: {e}"),
    }
}

/// Joins the cgroups pid 1 joins once the root is built; passes `ptmx` on.
fn join_after_root(joins: &InitJoins<'_>, ptmx: OwnedFd) -> Result<OwnedFd, WireError> {
    cgroups::join_each(&joins.after_root).map_err(join_failed)?;
    Ok(ptmx)
}

/// What pid 1 is given in caller mode (`hcsrun-oci`, no holder).
pub struct CallerInitArgs<'a> {
    /// The container's id.
    pub id: &'a str,
    /// A directory of the host's for the root's mount points (covered by
    /// a private tmpfs in pid 1's mount namespace).
    pub system_dir: &'a Path,
    /// The container's configuration.
    pub config: &'a ContainerConfig,
    /// The network namespace to join instead of making one.
    pub netns: Option<&'a OwnedFd>,
    /// Its end of the socket to `hcsrun-oci create`.
    pub sock: OwnedFd,
    /// The exec FIFO, `O_PATH`, opened before the root moves.
    pub fifo: OwnedFd,
    /// Host directories to hide (the front end's state).
    pub hidden: &'a [String],
    /// Descriptors 3 to 3 + this stay open for the program.
    pub preserve_fds: u32,
    /// The spec's hooks pid 1 runs itself.
    pub hooks: &'a ContainerHooks,
    /// The cgroups it joins by itself.
    pub cgroups: InitJoins<'a>,
}

/// Runs pid 1 in caller mode: no parent-death signal, and the process it
/// becomes waits on the exec FIFO before its `execve`. Never returns.
pub fn run_for_caller(args: CallerInitArgs<'_>) -> ! {
    let joined = cgroups::join_each(&args.cgroups.now);
    let mut keep = vec![args.sock.as_raw_fd(), args.fifo.as_raw_fd(), 0, 1, 2];
    keep.extend(args.netns.map(|fd| fd.as_raw_fd()));
    keep.extend((3..3 + args.preserve_fds).map(|fd| fd as RawFd));
    close_all_but(with_fds(&keep, &args.cgroups.after_root));
    // The hooks' state names pid 1 as the host sees it: the host's /proc
    // answers that until the root moves.
    // Rendered only for hooks to run.
    let host_pid = if args.hooks.is_empty() { 0 } else { host_pid() };
    let state = |hooks: &[Hook], status: &str| match hooks.is_empty() {
        true => String::new(),
        false => args.hooks.state.json(status, host_pid),
    };
    let create_state = state(&args.hooks.create, "creating");
    let holder_args = Prepare {
        id: args.id,
        system_dir: args.system_dir,
        config: args.config,
        netns: args.netns,
        hidden: args.hidden,
        create_hooks: Some((&args.hooks.create, &create_state)),
    };
    let ready = joined
        .map_err(join_failed)
        .and_then(|()| prepare_in(&holder_args, None))
        .and_then(|ptmx| join_after_root(&args.cgroups, ptmx));
    let sent = match &ready {
        Ok(ptmx) => wire::send(args.sock.as_fd(), &InitReady::Ok, &[ptmx.as_raw_fd()]),
        Err(e) => wire::send(args.sock.as_fd(), &InitReady::Failed(e.clone()), &[]),
    };
    if ready.is_err() || sent.is_err() {
        // SAFETY: ends this child of the single-threaded hcsrun-oci.
        unsafe { libc::_exit(1) }
    }
    drop(ready);
    close_all_but(keep);
    let start = Start {
        fifo: args.fifo,
        hooks: args.hooks.start.clone(),
        state: state(&args.hooks.start, "created"),
    };
    park(args.sock, Monitor::Caller(Some(start)))
}

/// This process's pid in the host's pid namespace, read from `/proc` while
/// it is still the host's.
fn host_pid() -> u32 {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// What building the container needs.
struct Prepare<'a> {
    id: &'a str,
    system_dir: &'a Path,
    config: &'a ContainerConfig,
    netns: Option<&'a OwnedFd>,
    hidden: &'a [String],
    /// `createContainer` hooks and their state.
    create_hooks: Option<(&'a [Hook], &'a str)>,
}

/// Closes every descriptor above 2 but `keep`.
fn close_all_but(mut keep: Vec<RawFd>) {
    keep.sort_unstable();
    let mut first = 3u32;
    for fd in keep.into_iter().filter(|fd| *fd >= 3).map(|fd| fd as u32) {
        if fd > first {
            // SAFETY: closes descriptors of this process that nothing here
            // uses again (see `run`).
            unsafe { libc::close_range(first, fd - 1, 0) };
        }
        first = first.max(fd + 1);
    }
    // SAFETY: as above.
    unsafe { libc::close_range(first, u32::MAX, 0) };
}

fn fail(what: &str) -> impl FnOnce(nix::Error) -> WireError + '_ {
    move |e| WireError {
        code: errno_code(e as i32).0,
        message: format!("{what}: {e}"),
    }
}

fn prepare(args: &InitArgs<'_>, holder: Option<BorrowedFd<'_>>) -> Result<OwnedFd, WireError> {
    let prepare = Prepare {
        id: args.id,
        system_dir: args.system_dir,
        config: args.config,
        netns: args.netns,
        hidden: args.hidden,
        create_hooks: None,
    };
    prepare_in(&prepare, holder)
}

/// Namespaces, root, host name, loopback; the container's ptmx.
fn prepare_in(args: &Prepare<'_>, holder: Option<BorrowedFd<'_>>) -> Result<OwnedFd, WireError> {
    if let Some(holder) = holder {
        exec::watch_holder(holder)?;
    }
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC;
    if args.netns.is_none() {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(fail("creating the system's namespaces"))?;
    if let Some(netns) = args.netns {
        setns(netns, CloneFlags::CLONE_NEWNET)
            .map_err(fail("joining the shared network namespace"))?;
    }
    let create_hooks = |rootfs: &Path| match args.create_hooks {
        Some((hooks, state)) => hooks::run_all("createContainer", hooks, state, Some(rootfs))
            .map_err(|e| WireError {
                code: ErrorCode::INTERNAL_ERROR.0,
                message: e.to_string(),
            }),
        None => Ok(()),
    };
    setup::prepare(
        args.id,
        args.system_dir,
        args.config,
        args.netns.is_some(),
        args.hidden,
        &create_hooks,
    )?;
    open(
        "/dev/pts/ptmx",
        OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| WireError {
        code: ErrorCode::FILE_NOT_FOUND.0,
        message: format!("opening /dev/pts/ptmx: {e}"),
    })
}

extern "C" fn on_sigterm(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + libc::SIGTERM) }
}

/// Waits for the first process and becomes it. A shutdown meanwhile
/// (SIGTERM: pid 1 of a namespace gets it from outside only if it handles
/// it) ends pid 1 as the signal would end a process; the holder's death or
/// silence ends it too.
fn park(sock: OwnedFd, monitor: Monitor<'_>) -> ! {
    // SAFETY: installs an async-signal-safe handler, then unblocks what the
    // holder blocked for its signalfd.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
    let message = loop {
        match wire::recv_message(sock.as_fd()) {
            Err(nix::Error::EINTR) => continue,
            Ok(Some(message)) => break message,
            // SAFETY: ends this child of the single-threaded holder.
            _ => unsafe { libc::_exit(1) },
        }
    };
    drop(sock);
    let Ok(exec) = message.decode::<InitExec>() else {
        // SAFETY: as above.
        unsafe { libc::_exit(1) }
    };
    let mut fds = message.fds.into_iter();
    let mut stdio: [Option<OwnedFd>; 3] = [None, None, None];
    for (slot, present) in stdio.iter_mut().zip(exec.stdio) {
        if present {
            *slot = fds.next();
        }
    }
    let Some(status) = fds.next() else {
        // SAFETY: as above.
        unsafe { libc::_exit(1) }
    };
    let namespaces: Vec<_> = exec.join.iter().map(|kind| (fds.next(), kind)).collect();
    let moved: Vec<OwnedFd> = fds.by_ref().take(exec.cgroups).collect();
    if let Err(e) = cgroups::join_each(&moved) {
        exec::report(status, &join_failed(e))
    }
    drop(moved);
    for (fd, kind) in namespaces {
        let joined = match fd {
            Some(fd) => setns(&fd, CloneFlags::from_bits_truncate(*kind)),
            None => Err(nix::Error::EBADF),
        };
        if let Err(e) = joined {
            exec::report(status, &fail("joining the spec's namespace")(e))
        }
    }
    // What is left: the clones of its cgroups for /sys/fs/cgroup.
    if let Err(error) = exec.setup.apply(fds.collect()) {
        exec::report(status, &error)
    }
    if let (true, Some(console)) = (exec.console, &stdio[0]) {
        if let Err(error) = crate::container::bind_console(console) {
            exec::report(status, &error)
        }
    }
    exec::become_monitored(
        &exec.config,
        ChildStdio {
            fds: stdio,
            console: exec.console,
        },
        status,
        monitor,
        &exec.context,
    )
}
