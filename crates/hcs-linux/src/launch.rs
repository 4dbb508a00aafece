//! Starting a system's holder.
//!
//! This process is multithreaded (tokio), so, as `posix_spawn` does:
//! `clone(CLONE_VM | CLONE_VFORK)` onto a small stack, where the child only
//! makes async-signal-safe system calls before `execve`, and this thread
//! waits until it has; `CLONE_VM` spares copying a large caller's page
//! tables. `CLONE_PIDFD` hands back a pidfd for reaping without a race
//! against pid reuse. The holder gets exactly descriptors 0-3: whatever the
//! caller has open without close-on-exec (a shell's `exec 7</dir`) never
//! reaches it, nor the container below it.

use std::{
    ffi::{CStr, CString},
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    path::Path,
    ptr,
};

use hcsrun_shim_protocol::{
    message::{self, BOOTSTRAP_FD},
    wire,
};

/// A launched holder.
pub struct Launched {
    /// Its pid in this process's pid namespace.
    pub pid: i32,
    pub pidfd: OwnedFd,
}

/// Descriptors handed to the child are moved at least this high first, so
/// that placing them at 0–3 cannot overwrite one another.
const HIGH_FD: RawFd = 10;

struct ChildArgs {
    exe: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    boot: RawFd,
    devnull: RawFd,
    stderr: RawFd,
    /// Set by the child when it fails before `execve`.
    errno: i32,
}

/// Starts `exe` with `boot` as fd 3, stdin and stdout on `/dev/null`,
/// stderr on `stderr`, and no other descriptor.
pub fn launch(
    exe: &CStr,
    args: &[&str],
    boot: &OwnedFd,
    stderr: Option<&OwnedFd>,
) -> io::Result<Launched> {
    let high = |fd: &OwnedFd| -> io::Result<OwnedFd> {
        // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we own.
        let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, HIGH_FD) };
        if new < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `new` is the fresh descriptor fcntl just returned, owned
        // by nothing else.
        Ok(unsafe { OwnedFd::from_raw_fd(new) })
    };
    let devnull: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into();
    let devnull = high(&devnull)?;
    let boot = high(boot)?;
    let stderr = stderr.map(high).transpose()?;

    let argv_c: Vec<CString> = args
        .iter()
        .map(|a| {
            CString::new(*a)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in argument"))
        })
        .collect::<Result<_, _>>()?;
    let argv: Vec<*const libc::c_char> = argv_c
        .iter()
        .map(|a| a.as_ptr())
        .chain([ptr::null()])
        .collect();
    let envp: Vec<*const libc::c_char> = [ptr::null()].into();
    let mut child_args = ChildArgs {
        exe: exe.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        boot: boot.as_raw_fd(),
        devnull: devnull.as_raw_fd(),
        stderr: stderr.as_ref().unwrap_or(&devnull).as_raw_fd(),
        errno: 0,
    };

    let mut stack = vec![0u8; 64 * 1024];
    // The stack grows down from its end, 16-byte aligned.
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !15;
    let mut pidfd: RawFd = -1;
    let clone_flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;

    // No signal handler of this process may run on the child's stack; the
    // child resets them before unblocking.
    // SAFETY: sigset_t is plain data; all zeros is a valid (empty) value,
    // which sigfillset and pthread_sigmask then fill.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: plain signal-mask calls on locals; clone runs `child` on
    // `stack`, which outlives the call because CLONE_VFORK suspends this
    // thread until the child has exec'd or exited.
    let pid = unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(
            child,
            top as *mut libc::c_void,
            clone_flags,
            (&mut child_args as *mut ChildArgs).cast(),
            &mut pidfd as *mut RawFd,
        );
        let err = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
        if pid < 0 {
            return Err(err);
        }
        pid
    };
    // SAFETY: CLONE_PIDFD stored a new descriptor we own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    if child_args.errno != 0 {
        // The child failed before execve and has exited: reap it.
        let _ = reap(&pidfd);
        return Err(io::Error::from_raw_os_error(child_args.errno));
    }
    Ok(Launched { pid, pidfd })
}

/// The cloned child. Only system calls from here to `execve`.
extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's ChildArgs, alive while the parent waits
    // (CLONE_VFORK); the calls below are async-signal-safe.
    unsafe {
        let a = &mut *(arg as *mut ChildArgs);
        let fail = |a: &mut ChildArgs| -> libc::c_int {
            a.errno = *libc::__errno_location();
            if a.errno == 0 {
                a.errno = libc::EINVAL;
            }
            127
        };
        // Signal dispositions are this child's own (no CLONE_SIGHAND):
        // reset the caught ones, then unblock.
        for sig in 1..libc::SIGRTMAX() {
            let mut action: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, ptr::null(), &mut action) == 0
                && action.sa_sigaction != libc::SIG_DFL
                && action.sa_sigaction != libc::SIG_IGN
            {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, ptr::null_mut());

        if libc::dup2(a.devnull, 0) < 0
            || libc::dup2(a.devnull, 1) < 0
            || libc::dup2(a.stderr, 2) < 0
            || libc::dup2(a.boot, BOOTSTRAP_FD) < 0
        {
            return fail(a);
        }
        // Every other descriptor closes here: the child has its own table
        // (no CLONE_FILES), so the caller's stay open.
        if libc::close_range(BOOTSTRAP_FD as u32 + 1, u32::MAX, 0) < 0 {
            return fail(a);
        }
        libc::execve(a.exe, a.argv, a.envp);
        fail(a)
    }
}

/// Launches the holder `shim` with its diagnostics appended to `log`, and
/// `id` in its command line when known: the service's end of its bootstrap
/// socket, and the holder. Blocks until it has exec'd.
pub fn holder(
    shim: &Path,
    log: Option<&Path>,
    id: Option<&str>,
) -> io::Result<(OwnedFd, Launched)> {
    let (ours, theirs) = wire::pair()?;
    let log = log.and_then(|p| {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
            .ok()
            .map(OwnedFd::from)
    });
    let shim = CString::new(shim.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in the holder's path"))?;
    // A spare's argument is room for the id its bootstrap will bring.
    let spare = message::spare_argument();
    let args = ["hcsrun-shim", id.unwrap_or(&spare)];
    let launched = launch(&shim, &args, &theirs, log.as_ref())?;
    Ok((ours, launched))
}

/// Reaps the process behind `pidfd`, returning its wait status.
pub fn reap(pidfd: &OwnedFd) -> io::Result<ExitStatus> {
    wait(pidfd, 0)?.ok_or_else(|| io::Error::other("waitid returned without a status"))
}

/// Reaps the process behind `pidfd` if it has exited; `None` if it runs.
pub fn try_reap(pidfd: &OwnedFd) -> io::Result<Option<ExitStatus>> {
    wait(pidfd, libc::WNOHANG)
}

fn wait(pidfd: &OwnedFd, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
    // SAFETY: siginfo_t is plain data; all zeros is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid fills the local siginfo.
    let rc = unsafe {
        libc::waitid(
            libc::P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED | flags,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after a successful waitid, si_pid, si_code and si_status are
    // set; si_pid is 0 when WNOHANG found no exited child.
    let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(if code == libc::CLD_EXITED {
        ExitStatus::Exited(status)
    } else {
        ExitStatus::Signaled(status)
    }))
}

/// How a holder ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The holder exits 0 after cleaning up after itself.
    pub fn cleaned_up(self) -> bool {
        self == ExitStatus::Exited(0)
    }
}

/// Sends `signal` to the process behind `pidfd`.
pub fn signal(pidfd: &OwnedFd, signal: i32) -> io::Result<()> {
    // SAFETY: pidfd_send_signal with no siginfo.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
