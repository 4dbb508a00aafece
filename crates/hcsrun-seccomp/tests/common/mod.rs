//! Running a few syscalls in a forked child under a filter.
#![allow(dead_code)]

use hcsrun_seccomp::{set_no_new_privs, Filter};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};

/// What a probed syscall returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The call returned `ret`; `errno` is set when `ret == -1`.
    Returned { ret: i64, errno: Option<Errno> },
    /// The child died of a signal (SIGSYS for kill and trap actions).
    Killed(Signal),
    /// The child exited without reporting (setup failed: code 200 is
    /// no_new_privs, 201 the filter).
    Exited(i32),
}

impl Outcome {
    /// `Returned` with `ret == -1` and this errno.
    pub fn failed_with(errno: Errno) -> Self {
        Self::Returned {
            ret: -1,
            errno: Some(errno),
        }
    }
}

/// Forks; the child sets no_new_privs, applies `filter` (if any), runs
/// `call` and sends its result back over a pipe. The child only makes
/// syscalls and `_exit`s, so forking from the threaded test harness is
/// sound. The pipe's write end is opened before the filter is applied, so
/// reporting needs only write(2) and exit_group(2) to be allowed.
pub fn probe(filter: Option<&Filter>, call: impl FnOnce() -> libc::c_long) -> Outcome {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a writable array of two ints.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let [read_end, write_end] = fds;
    // SAFETY: the child below only calls async-signal-safe functions
    // (prctl, seccomp, the probed syscall, write, _exit) before exiting.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            if set_no_new_privs().is_err() {
                // SAFETY: _exit is async-signal-safe and ends the child.
                unsafe { libc::_exit(200) };
            }
            if let Some(filter) = filter {
                if filter.apply().is_err() {
                    // SAFETY: as above.
                    unsafe { libc::_exit(201) };
                }
            }
            // c_long is i64 only on 64-bit targets.
            #[allow(clippy::useless_conversion)]
            let ret = i64::from(call());
            let errno = if ret == -1 { Errno::last_raw() } else { 0 };
            let mut report = [0u8; 12];
            report[..8].copy_from_slice(&ret.to_ne_bytes());
            report[8..].copy_from_slice(&errno.to_ne_bytes());
            // SAFETY: `report` is 12 readable bytes; `write_end` is open.
            unsafe { libc::write(write_end, report.as_ptr().cast(), report.len()) };
            // SAFETY: as above.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            // SAFETY: closing the parent's copy of the write end it owns.
            unsafe { libc::close(write_end) };
            let mut report = [0u8; 12];
            // SAFETY: `report` is 12 writable bytes; `read_end` is open.
            let got = unsafe { libc::read(read_end, report.as_mut_ptr().cast(), report.len()) };
            // SAFETY: the parent owns `read_end` and is done with it.
            unsafe { libc::close(read_end) };
            let status = waitpid(child, None).expect("waitpid");
            match status {
                WaitStatus::Signaled(_, signal, _) => Outcome::Killed(signal),
                WaitStatus::Exited(_, 0) if got == 12 => {
                    let ret = i64::from_ne_bytes(report[..8].try_into().unwrap());
                    let errno = i32::from_ne_bytes(report[8..].try_into().unwrap());
                    Outcome::Returned {
                        ret,
                        errno: (ret == -1).then(|| Errno::from_raw(errno)),
                    }
                }
                WaitStatus::Exited(_, code) => Outcome::Exited(code),
                other => panic!("unexpected child status {other:?}"),
            }
        }
    }
}

/// A raw syscall with up to six arguments.
pub fn sys(nr: libc::c_long, args: &[u64]) -> libc::c_long {
    let a = |i: usize| args.get(i).copied().unwrap_or(0);
    // SAFETY: the probes only pass integer arguments or null pointers,
    // which the kernel validates itself.
    unsafe { libc::syscall(nr, a(0), a(1), a(2), a(3), a(4), a(5)) }
}

/// `clone(flags | SIGCHLD)` with no new stack (fork-like): the new process
/// exits at once; the caller reaps it and returns its pid, or -1.
pub fn fork_like_clone(flags: u64) -> libc::c_long {
    let pid = sys(libc::SYS_clone, &[flags | libc::SIGCHLD as u64, 0, 0, 0, 0]);
    if pid == 0 {
        // SAFETY: in the new process: leave at once.
        unsafe { libc::_exit(0) };
    }
    if pid > 0 {
        let mut status = 0;
        // SAFETY: `status` is a writable int; `pid` is our child.
        unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
    }
    pid
}
