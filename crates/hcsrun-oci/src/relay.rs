//! A terminal relayed in the foreground: `run` and `exec` of a process
//! with `terminal: true` and no `--console-socket`, as runc relays them.
//! The container's terminal (its master side) is copied to this process's
//! stdout and this process's stdin to it; this process's own terminal, if
//! stdin is one, is put in raw mode for the while (so that ^C reaches the
//! container as a keystroke) and its size follows every `SIGWINCH`. The
//! signals a user sends this process (`kill`) go to the process, as runc's
//! signal proxy sends them. The relay ends when the process has exited
//! and what it wrote is shown, even if something it started still holds
//! the terminal.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::{
    errno::Errno,
    fcntl::{fcntl, FcntlArg, OFlag},
    poll::{poll, PollFd, PollFlags, PollTimeout},
    sys::{
        signal::{kill, SigSet, Signal},
        signalfd::{SfdFlags, SignalFd},
        termios::{self, SetArg, Termios},
    },
    unistd::{read, write, Pid},
};
use rustix::process::{pidfd_open, PidfdFlags};

nix::ioctl_read_bad!(get_window_size, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_window_size, libc::TIOCSWINSZ, libc::winsize);

/// The signals passed on to the process.
const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// This process's terminal in raw mode, restored when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter(tty: BorrowedFd<'_>) -> Option<Self> {
        let saved = termios::tcgetattr(tty).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(tty, SetArg::TCSANOW, &raw).ok()?;
        Some(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let stdin = std::io::stdin();
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// The signals read through a signalfd, unblocked again when dropped.
struct Signals {
    set: SigSet,
    fd: SignalFd,
}

impl Signals {
    fn take() -> Option<Self> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGWINCH);
        for s in FORWARDED {
            set.add(s);
        }
        set.thread_block().ok()?;
        match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(fd) => Some(Self { set, fd }),
            Err(_) => {
                let _ = set.thread_unblock();
                None
            }
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        let _ = self.set.thread_unblock();
    }
}

/// Gives `master` the size of the terminal `tty`, if it is one.
fn copy_size(tty: BorrowedFd<'_>, master: BorrowedFd<'_>) {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills a winsize; TIOCSWINSZ reads one.
    unsafe {
        if get_window_size(tty.as_raw_fd(), &mut size).is_ok() {
            let _ = set_window_size(master.as_raw_fd(), &size);
        }
    }
}

/// Writes all of `bytes` to the blocking `fd`; false once it cannot take
/// more.
fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        match write(fd, bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Copies what `master` (non-blocking) holds now to `out`; false once the
/// terminal or `out` is gone.
fn drain(master: BorrowedFd<'_>, out: BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    loop {
        match read(master, buf) {
            Ok(0) | Err(Errno::EIO) => return false,
            Ok(n) => {
                if !write_all(out, &buf[..n]) {
                    return false;
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return true,
        }
    }
}

fn has(fd: &PollFd, flags: PollFlags) -> bool {
    fd.revents().is_some_and(|r| r.intersects(flags))
}

/// Relays the terminal `master` of process `pid` (this process's child)
/// until `pid` has exited. Call with no other thread running: the
/// forwarded signals and `SIGWINCH` are blocked here and read through a
/// signalfd, and unblocked again at the end.
pub fn relay(master: OwnedFd, pid: u32) {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let (stdin, stdout) = (stdin.as_fd(), stdout.as_fd());
    let _ = fcntl(master.as_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    let exited = rustix::process::Pid::from_raw(pid as i32)
        .and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok());
    let is_tty = termios::tcgetattr(stdin).is_ok();
    let signals = Signals::take();
    if is_tty {
        copy_size(stdin, master.as_fd());
    }
    let _raw = is_tty.then(|| RawMode::enter(stdin)).flatten();
    let mut stdin_open = true;
    // Typed but not yet taken by the terminal: stdin waits meanwhile.
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        let master_events = if pending.is_empty() {
            PollFlags::POLLIN
        } else {
            PollFlags::POLLIN | PollFlags::POLLOUT
        };
        let mut fds = vec![PollFd::new(master.as_fd(), master_events)];
        let stdin_at = (stdin_open && pending.is_empty()).then(|| {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
            fds.len() - 1
        });
        let signals_at = signals.as_ref().map(|s| {
            fds.push(PollFd::new(s.fd.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let exited_at = exited.as_ref().map(|p| {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(_) => break,
            Ok(_) => {}
        }
        let gone = PollFlags::POLLNVAL | PollFlags::POLLERR;
        let readable = PollFlags::POLLIN | PollFlags::POLLHUP;
        if has(&fds[0], readable) && !drain(master.as_fd(), stdout, &mut buf) {
            break;
        }
        if has(&fds[0], gone) && !has(&fds[0], readable) {
            break;
        }
        if has(&fds[0], PollFlags::POLLOUT) && !pending.is_empty() {
            match write(master.as_fd(), &pending) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(_) => pending.clear(),
            }
        }
        if let Some(i) = stdin_at {
            if has(&fds[i], readable) {
                match read(stdin, &mut buf) {
                    Ok(0) => stdin_open = false,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    Err(_) => stdin_open = false,
                }
            } else if has(&fds[i], gone) {
                // Closed or failing: left alone, not polled again.
                stdin_open = false;
            }
        }
        if let (Some(i), Some(s)) = (signals_at, &signals) {
            if has(&fds[i], PollFlags::POLLIN) {
                while let Ok(Some(info)) = s.fd.read_signal() {
                    match Signal::try_from(info.ssi_signo as i32) {
                        Ok(Signal::SIGWINCH) => copy_size(stdin, master.as_fd()),
                        Ok(signal) => {
                            let _ = kill(Pid::from_raw(pid as i32), signal);
                        }
                        Err(_) => {}
                    }
                }
            }
        }
        if exited_at.is_some_and(|i| has(&fds[i], PollFlags::POLLIN)) {
            // What it wrote before it exited, then no more: what it left
            // running may hold the terminal for ever.
            drain(master.as_fd(), stdout, &mut buf);
            break;
        }
    }
}
