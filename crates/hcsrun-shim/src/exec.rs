//! Becoming a process of the system: the one path from a `ProcessConfig`
//! to `execve` that the parked pid 1 and every later process both take,
//! inside the container (its root, its namespaces, its cgroups). The
//! configuration is resolved there — the argument vector, the program on
//! `PATH`, the user from the container's own `/etc/passwd` (or the exact
//! ids of a Linux spec) — then applied: signals, session, stdio, console,
//! then the [`Context`] the holder decided, in runc's order (`security.rs`):
//! rlimits, OOM score, personality, umask (and seccomp, without
//! no_new_privs), the bounding set, groups and ids, the other capability
//! sets, the working directory, descriptors, and last no_new_privs and
//! seccomp. A failure is written to the close-on-exec status pipe (a
//! [`WireError`] as JSON) and the process exits 127; a successful `execve`
//! closes the pipe empty.
//!
//! It runs in a child forked from the single-threaded holder, so ordinary
//! Rust (allocation included) is safe here.

use std::{
    collections::BTreeMap,
    ffi::CString,
    fs,
    io::{Read, Write},
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd},
        unix::fs::PermissionsExt,
    },
    path::Path,
};

use hcs::{cmdline, ErrorCode};
use hcs_schema::ProcessConfig;
use hcsrun_shim_protocol::{errno::errno_code, message::WireError, paths::container_path};
use nix::{
    fcntl::{open, OFlag},
    sys::stat::Mode,
};

pub use crate::monitor::Monitor;
use crate::{
    context::{Context, Ids},
    monitor::wait_for_start,
    security::Step,
    user::{self, User},
};

/// `PATH` for a process whose environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn fail(code: ErrorCode, message: String) -> WireError {
    WireError {
        code: code.0,
        message,
    }
}

/// What a process needs, resolved inside the container.
pub struct Plan {
    exe: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: CString,
    user: User,
}

impl Plan {
    /// `ids`: a Linux spec's exact ids, which replace `config.user`.
    pub fn new(config: &ProcessConfig, ids: Option<&Ids>) -> Result<Self, WireError> {
        let invalid = |m: String| fail(ErrorCode::INVALID_PARAMETER, m);
        let mut args: Vec<String> = if !config.command_args.is_empty() {
            config.command_args.clone()
        } else {
            cmdline::split(&config.command_line)
        };
        let program = if config.application_name.is_empty() {
            args.first()
                .cloned()
                .ok_or_else(|| invalid("the process has no command line".to_owned()))?
        } else {
            if args.is_empty() {
                args.push(config.application_name.clone());
            }
            config.application_name.clone()
        };
        let user = match ids {
            Some(ids) => user::exact(ids.uid, ids.gid, ids.groups.clone()),
            None => user::resolve(&config.user),
        }
        .map_err(|m| fail(ErrorCode::NONE_MAPPED, m))?;

        let mut env: BTreeMap<&str, &str> = config
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.entry("PATH").or_insert(DEFAULT_PATH);
        env.entry("HOME").or_insert(&user.home);
        if config.emulate_console {
            env.entry("TERM").or_insert("xterm");
        }
        let exe = find_executable(&program, env["PATH"])?;

        let cwd = if config.working_directory.is_empty() {
            "/".to_owned()
        } else {
            container_path(&config.working_directory).ok_or_else(|| {
                fail(
                    ErrorCode::DIRECTORY,
                    format!(
                        "working directory {:?} is not an absolute path",
                        config.working_directory
                    ),
                )
            })?
        };

        let cstring = |s: &str, what: &str| {
            CString::new(s).map_err(|_| invalid(format!("{what} {s:?} contains a NUL character")))
        };
        let envp = env
            .iter()
            .map(|(k, v)| cstring(&format!("{k}={v}"), "environment variable"))
            .collect::<Result<_, _>>()?;
        let argv = args
            .iter()
            .map(|a| cstring(a, "argument"))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            exe: cstring(&exe, "executable")?,
            argv,
            envp,
            cwd: cstring(&cwd, "working directory")?,
            user,
        })
    }
}

/// `program` as a path to execute: a path as given (Windows paths mapped),
/// or the first executable file of that name on `search_path`.
fn find_executable(program: &str, search_path: &str) -> Result<String, WireError> {
    if program.contains(['/', '\\']) {
        return Ok(container_path(program).unwrap_or_else(|| program.to_owned()));
    }
    let mut found_not_executable = None;
    for dir in search_path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        if let Ok(meta) = fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate.to_string_lossy().into_owned());
            }
            found_not_executable.get_or_insert(candidate);
        }
    }
    Err(match found_not_executable {
        Some(path) => fail(
            ErrorCode::ACCESS_IS_DENIED,
            format!("exec {program}: {} is not executable", path.display()),
        ),
        None => fail(
            ErrorCode::FILE_NOT_FOUND,
            format!("exec {program}: executable file not found in $PATH"),
        ),
    })
}

/// What a process starts with: its standard descriptors (`None`: the
/// container's `/dev/null`) and whether they are a console.
pub struct ChildStdio {
    pub fds: [Option<OwnedFd>; 3],
    pub console: bool,
}

/// Becomes the process `config` describes: resolves it here, applies it
/// and executes it. Never returns: on failure the error goes to `status`
/// and the process exits 127.
///
/// Under the holder, the parent-death signal is set again after the
/// change of user (which clears it), and if the holder has died already
/// the process exits rather than run unsupervised.
pub fn become_monitored(
    config: &str,
    stdio: ChildStdio,
    status: OwnedFd,
    monitor: Monitor<'_>,
    context: &Context,
) -> ! {
    let mut status = Some(status);
    let Err(error) = prepare_and_exec(config, stdio, monitor, context, &mut status);
    match status {
        Some(status) => report(status, &error),
        None => {
            // Past the exec FIFO: `create` has returned, and the error
            // goes where the process's own would.
            let _ = writeln!(std::io::stderr(), "hcsrun-oci: {}", error.message);
            // SAFETY: ends this single-threaded child.
            unsafe { libc::_exit(127) }
        }
    }
}

enum Never {}

/// A later process: forked by the holder straight into the container's
/// pid namespace, it joins the container's mount namespace first (so that
/// no process of the container's pid namespace has the host's root for
/// longer than it takes; the process is not dumpable meanwhile, as the
/// holder is not, so the container cannot reach into it through `/proc`),
/// then its other namespaces and its cgroups (before anything of the
/// container's runs in it), then becomes its process. Never returns.
pub fn join_and_become(
    config: &str,
    stdio: ChildStdio,
    status: OwnedFd,
    holder: BorrowedFd<'_>,
    cgroup_join: &[OwnedFd],
    namespaces: &[(OwnedFd, nix::sched::CloneFlags)],
    context: &Context,
) -> ! {
    join_monitored(
        config,
        stdio,
        status,
        Monitor::Holder(holder),
        cgroup_join,
        namespaces,
        context,
    )
}

/// [`join_and_become`] under any monitor.
pub fn join_monitored(
    config: &str,
    stdio: ChildStdio,
    status: OwnedFd,
    monitor: Monitor<'_>,
    cgroup_join: &[OwnedFd],
    namespaces: &[(OwnedFd, nix::sched::CloneFlags)],
    context: &Context,
) -> ! {
    let watched = match &monitor {
        Monitor::Holder(holder) => watch_holder(holder.as_fd()),
        Monitor::Caller(_) => Ok(()),
    };
    let joined = watched
        .and_then(|()| {
            namespaces.iter().try_for_each(|(fd, kind)| {
                nix::sched::setns(fd, *kind).map_err(|e| {
                    fail(
                        errno_code(e as i32),
                        format!("joining the system's namespaces ({kind:?}): {e}"),
                    )
                })
            })
        })
        .and_then(|()| {
            crate::cgroups::join_each(cgroup_join).map_err(|e| {
                fail(
                    ErrorCode::ACCESS_IS_DENIED,
                    format!("joining the system's cgroups: {e}"),
                )
            })
        });
    match joined {
        Ok(()) => become_monitored(config, stdio, status, monitor, context),
        Err(error) => report(status, &error),
    }
}

/// Writes `error` to the status pipe and exits 127.
pub fn report(status: OwnedFd, error: &WireError) -> ! {
    let text = serde_json::to_vec(error).unwrap_or_default();
    let _ = fs::File::from(status).write_all(&text);
    // SAFETY: ends this single-threaded child without running the holder's
    // exit handlers.
    unsafe { libc::_exit(127) }
}

fn prepare_and_exec(
    config: &str,
    stdio: ChildStdio,
    monitor: Monitor<'_>,
    context: &Context,
    status: &mut Option<OwnedFd>,
) -> Result<Never, WireError> {
    let config: ProcessConfig = hcs_schema::from_str(config).map_err(|e| {
        fail(
            ErrorCode::INVALID_JSON,
            format!("process configuration: {e}"),
        )
    })?;
    let plan = Plan::new(&config, context.ids.as_ref())?;
    let step = |what: &str| {
        let what = what.to_owned();
        move |e: nix::Error| fail(errno_code(e as i32), format!("{what}: {e}"))
    };
    reset_signals();
    nix::unistd::setsid().map_err(step("starting a session"))?;
    // The standard descriptors, moved above 2 first so that placing one
    // cannot overwrite another.
    let mut fds = Vec::with_capacity(3);
    for fd in stdio.fds {
        let fd = match fd {
            Some(fd) => fd,
            None => open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(step("opening /dev/null"))?,
        };
        fds.push(if fd.as_raw_fd() < 3 {
            fd.try_clone()
                .map_err(|e| fail(ErrorCode::INTERNAL_ERROR, format!("stdio: {e}")))?
        } else {
            fd
        });
    }
    for (target, fd) in fds.iter().enumerate() {
        // SAFETY: dup2 onto 0-2 of this process; `fd` is open.
        if unsafe { libc::dup2(fd.as_raw_fd(), target as RawFd) } < 0 {
            return Err(step("setting up stdio")(nix::Error::last()));
        }
    }
    drop(fds);
    // SAFETY: TIOCSCTTY takes an int argument.
    if stdio.console && unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(step("making the console the controlling terminal")(
            nix::Error::last(),
        ));
    }
    let security = &context.security;
    let denied = |(what, e): Step| fail(ErrorCode::ACCESS_IS_DENIED, format!("{what}: {e}"));
    security.apply_privileged().map_err(denied)?;
    security.drop_bounding().map_err(denied)?;
    set_ids(&plan.user, security.caps.is_some())?;
    security.set_capabilities().map_err(denied)?;
    let start = match monitor {
        Monitor::Holder(holder) => {
            watch_holder(holder)?;
            None
        }
        Monitor::Caller(start) => start,
    };
    nix::unistd::chdir(plan.cwd.as_c_str()).map_err(|e| {
        fail(
            ErrorCode::DIRECTORY,
            format!("working directory {}: {e}", plan.cwd()),
        )
    })?;
    // A descriptor of the runtime's still open here (close-on-exec closes
    // it only at execve) could make `/proc/self/fd/N` a working directory
    // outside the container's root (runc's CVE-2024-21626): the kernel
    // then answers getcwd with ENOENT ("unreachable").
    nix::unistd::getcwd().map_err(|e| {
        fail(
            ErrorCode::DIRECTORY,
            format!(
                "working directory {}: not inside the container's root ({e})",
                plan.cwd()
            ),
        )
    })?;
    // Nothing but 0-2 (and the descriptors the caller asked to pass on)
    // reaches the program: every other descriptor (the status pipe
    // included) closes at execve.
    let first_closed = 3 + context.preserve_fds;
    for fd in 3..first_closed {
        // SAFETY: F_SETFD on a descriptor number; one not open fails.
        unsafe { libc::fcntl(fd as RawFd, libc::F_SETFD, 0) };
    }
    // SAFETY: close_range only sets flags on this process's descriptors.
    if unsafe { libc::close_range(first_closed, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) } < 0 {
        return Err(step("closing descriptors")(nix::Error::last()));
    }
    security.apply_last().map_err(denied)?;
    if let Some(start) = start {
        // Everything is in place: `create` returns once the status pipe
        // closes, and `start` opens the FIFO's other end. The
        // startContainer hooks run then, as the container's process, in
        // its working directory.
        drop(status.take());
        wait_for_start(&start.fifo)?;
        drop(start.fifo);
        crate::hooks::run_all("startContainer", &start.hooks, &start.state, None)
            .map_err(|e| fail(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
    }
    let argv: Vec<*const libc::c_char> = plan
        .argv
        .iter()
        .map(|a| a.as_ptr())
        .chain([std::ptr::null()])
        .collect();
    let envp: Vec<*const libc::c_char> = plan
        .envp
        .iter()
        .map(|a| a.as_ptr())
        .chain([std::ptr::null()])
        .collect();
    // SAFETY: NUL-terminated arrays of pointers into `plan`, alive here.
    unsafe { libc::execve(plan.exe.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let e = nix::Error::last();
    Err(fail(
        errno_code(e as i32),
        format!("exec {}: {e}", plan.exe()),
    ))
}

/// Groups, then group, then user. With capabilities to keep
/// (`keep_caps`), `PR_SET_KEEPCAPS` carries the permitted set across the
/// change to a user other than root (its effective set is set again
/// after); without, a change to another user drops every capability, as
/// the kernel does.
fn set_ids(user: &User, keep_caps: bool) -> Result<(), WireError> {
    let identity =
        |e: nix::Error| fail(ErrorCode::ACCESS_IS_DENIED, format!("switching user: {e}"));
    let keep = |on: libc::c_ulong| {
        // SAFETY: a prctl with integer arguments.
        if keep_caps && unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, on, 0, 0, 0) } < 0 {
            return Err(identity(nix::Error::last()));
        }
        Ok(())
    };
    let groups: Vec<nix::unistd::Gid> = user
        .groups
        .iter()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&groups).map_err(identity)?;
    keep(1)?;
    let gid = nix::unistd::Gid::from_raw(user.gid);
    nix::unistd::setresgid(gid, gid, gid).map_err(identity)?;
    let uid = nix::unistd::Uid::from_raw(user.uid);
    nix::unistd::setresuid(uid, uid, uid).map_err(identity)?;
    keep(0)
}

/// Default dispositions and an empty mask: the holder blocks the signals
/// it reads from a signalfd and ignores others, and neither may reach the
/// process.
fn reset_signals() {
    // SAFETY: plain signal calls on this single-threaded child.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        for sig in 1..libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}

/// Sets the parent-death signal (SIGKILL) and checks that the holder still
/// lives: if it died before the signal was set, nothing would deliver it.
/// A process in the container's pid namespace cannot ask `getppid` (its
/// parent is outside: 0), so the holder's pidfd says it.
pub fn watch_holder(holder: BorrowedFd<'_>) -> Result<(), WireError> {
    // SAFETY: a plain prctl.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } < 0 {
        let e = nix::Error::last();
        return Err(fail(
            errno_code(e as i32),
            format!("setting the parent-death signal: {e}"),
        ));
    }
    let mut fds = [libc::pollfd {
        fd: holder.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: polls one descriptor without waiting.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
    if n != 0 {
        // A pidfd is readable once its process has exited.
        return Err(fail(
            ErrorCode::SYSTEM_ALREADY_STOPPED,
            "the system's holder has exited".to_owned(),
        ));
    }
    Ok(())
}

/// Reads a child's status pipe once it is readable: `Ok` if the child
/// executed (the pipe closed empty), its failure otherwise.
pub fn exec_result(status: &OwnedFd) -> Result<(), WireError> {
    let mut text = Vec::new();
    let _ = fs::File::from(
        status
            .try_clone()
            .map_err(|e| fail(ErrorCode::INTERNAL_ERROR, format!("status pipe: {e}")))?,
    )
    .take(1 << 20)
    .read_to_end(&mut text);
    if text.is_empty() {
        return Ok(());
    }
    Err(serde_json::from_slice(&text).unwrap_or_else(|_| {
        fail(
            ErrorCode::INTERNAL_ERROR,
            "the process failed to start and its report was garbled".to_owned(),
        )
    }))
}

impl Plan {
    pub fn exe(&self) -> &str {
        self.exe.to_str().unwrap_or("?")
    }

    pub fn cwd(&self) -> &str {
        self.cwd.to_str().unwrap_or("?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_windows_command_lines_and_environment() {
        let config = ProcessConfig {
            command_line: r#"sh -c "echo hi there""#.into(),
            environment: [("A".to_owned(), "1".to_owned())].into(),
            working_directory: r"C:\tmp".into(),
            emulate_console: true,
            ..Default::default()
        };
        let plan = Plan::new(&config, None).unwrap();
        let argv: Vec<&str> = plan.argv.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(argv, ["sh", "-c", "echo hi there"]);
        assert!(plan.exe().ends_with("/sh"), "{}", plan.exe());
        assert_eq!(plan.cwd(), "/tmp");
        let env: Vec<&str> = plan.envp.iter().map(|a| a.to_str().unwrap()).collect();
        assert!(env.contains(&"A=1"));
        assert!(env.contains(&&*format!("PATH={DEFAULT_PATH}")));
        assert!(env.contains(&"TERM=xterm"));
    }

    #[test]
    fn linux_args_are_used_as_given() {
        let config = ProcessConfig {
            command_args: vec!["/bin/echo".into(), "a b".into()],
            command_line: "ignored".into(),
            ..Default::default()
        };
        let plan = Plan::new(&config, None).unwrap();
        assert_eq!(plan.exe(), "/bin/echo");
        assert_eq!(plan.argv.len(), 2);
        assert_eq!(plan.cwd(), "/");
    }

    #[test]
    fn missing_programs_and_commands() {
        let missing = ProcessConfig {
            command_line: "no-such-program-hcsrun".into(),
            ..Default::default()
        };
        let err = Plan::new(&missing, None).err().unwrap();
        assert_eq!(err.code, ErrorCode::FILE_NOT_FOUND.0);
        assert!(
            err.message.contains("no-such-program-hcsrun"),
            "{}",
            err.message
        );
        let empty = Plan::new(&ProcessConfig::default(), None).err().unwrap();
        assert_eq!(empty.code, ErrorCode::INVALID_PARAMETER.0);
    }

    #[test]
    fn relative_working_directories_are_refused() {
        let config = ProcessConfig {
            command_line: "sh".into(),
            working_directory: "tmp".into(),
            ..Default::default()
        };
        assert_eq!(
            Plan::new(&config, None).err().unwrap().code,
            ErrorCode::DIRECTORY.0
        );
    }
}
