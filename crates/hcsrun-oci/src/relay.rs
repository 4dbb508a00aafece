//! A terminal relayed in the foreground: `run` and `exec` of a process
//! with `terminal: true` and no `--console-socket`, as runc relays them.
//! The container's terminal (its master side) is copied to this process's
//! stdout and this process's stdin to it; this process's own terminal, if
//! stdin is one, is put in raw mode for the while (so that ^C reaches the
//! container as a keystroke) and its size follows every `SIGWINCH`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::{
    errno::Errno,
    poll::{poll, PollFd, PollFlags, PollTimeout},
    sys::{
        signal::{SigSet, Signal},
        signalfd::{SfdFlags, SignalFd},
        termios::{self, SetArg, Termios},
    },
    unistd::{read, write},
};

nix::ioctl_read_bad!(get_window_size, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_window_size, libc::TIOCSWINSZ, libc::winsize);

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

/// Writes all of `bytes` to `fd`; false once it cannot take more.
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

/// Relays the terminal `master` until every process of the container has
/// closed its side. Call with no other thread running: `SIGWINCH` is
/// blocked here and read through a signalfd.
pub fn relay(master: OwnedFd) {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let (stdin, stdout) = (stdin.as_fd(), stdout.as_fd());
    let is_tty = termios::tcgetattr(stdin).is_ok();
    let mut winch = SigSet::empty();
    winch.add(Signal::SIGWINCH);
    let signals = winch
        .thread_block()
        .ok()
        .and_then(|()| SignalFd::with_flags(&winch, SfdFlags::SFD_CLOEXEC).ok());
    if is_tty {
        copy_size(stdin, master.as_fd());
    }
    let _raw = is_tty.then(|| RawMode::enter(stdin)).flatten();
    let mut stdin_open = true;
    let mut buf = [0u8; 16 << 10];
    loop {
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
        if let Some(s) = &signals {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(_) => break,
            Ok(_) => {}
        }
        let ready = |fd: &PollFd| {
            fd.revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP))
        };
        let (master_ready, stdin_ready) = (ready(&fds[0]), stdin_open && ready(&fds[1]));
        // A stdin that is closed or fails is left alone, not polled again.
        let stdin_bad = stdin_open
            && fds[1]
                .revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLNVAL | PollFlags::POLLERR));
        if stdin_bad && !stdin_ready {
            stdin_open = false;
        }
        let master_bad = fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLNVAL | PollFlags::POLLERR));
        if master_bad && !master_ready {
            break;
        }
        let winch_ready = signals.is_some() && ready(&fds[fds.len() - 1]);
        if master_ready {
            // EIO: every process of the container closed its side.
            match read(master.as_fd(), &mut buf) {
                Ok(0) | Err(Errno::EIO) => break,
                Ok(n) => {
                    if !write_all(stdout, &buf[..n]) {
                        break;
                    }
                }
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => break,
            }
        }
        if stdin_ready {
            match read(stdin, &mut buf) {
                Ok(0) => stdin_open = false,
                Ok(n) => stdin_open = write_all(master.as_fd(), &buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => stdin_open = false,
            }
        }
        if winch_ready {
            if let Some(s) = &signals {
                let _ = s.read_signal();
            }
            copy_size(stdin, master.as_fd());
        }
    }
}
