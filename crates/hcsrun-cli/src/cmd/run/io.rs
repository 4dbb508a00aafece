//! Moving a container's streams to and from this process's, and the
//! terminal around them.

use std::{
    io,
    os::fd::{AsRawFd, BorrowedFd, RawFd},
};

use hcsrun::client::OutputReader;
use nix::{
    errno::Errno,
    fcntl::{splice, SpliceFFlags},
    poll::{poll, PollFd, PollFlags, PollTimeout},
    sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios},
};

/// How much one `splice` moves at most.
const CHUNK: usize = 1 << 20;

/// Copies a container's output to `output` until its end, on the calling
/// (blocking) thread: with `splice(2)`, so the bytes never pass through
/// this process, where the kernel allows it; with `read`/`write` where it
/// does not (a console, a terminal). Stops, closing the container's side,
/// if `output` goes away (`EPIPE`), so the container sees its reader go.
pub fn forward(reader: OutputReader, output: RawFd) -> io::Result<u64> {
    let Some(input) = reader.as_raw_fd() else {
        return Ok(0);
    };
    forward_raw(input, output)
}

/// [`forward`] from a descriptor of the container's output, closed after.
pub fn forward_fd(reader: std::os::fd::OwnedFd, output: RawFd) -> io::Result<u64> {
    forward_raw(reader.as_raw_fd(), output)
}

fn forward_raw(input: RawFd, output: RawFd) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        wait(input, PollFlags::POLLIN)?;
        // SAFETY: both descriptors stay open for the call: `reader` owns
        // the input and the caller the output.
        let (i, o) = unsafe {
            (
                BorrowedFd::borrow_raw(input),
                BorrowedFd::borrow_raw(output),
            )
        };
        match splice(
            i,
            None,
            o,
            None,
            CHUNK,
            SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK,
        ) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            // Nothing to read after all, or `output` is full.
            Err(Errno::EAGAIN) => wait_either(input, output)?,
            Err(Errno::EINTR) => {}
            // Neither end is a pipe the kernel can splice (a console).
            Err(Errno::EINVAL) => return copy(input, output).map(|n| total + n),
            Err(Errno::EPIPE) => return Ok(total),
            // A console's master side once the container's side closed.
            Err(Errno::EIO) => return Ok(total),
            Err(e) => return Err(e.into()),
        }
    }
}

/// The `read`/`write` fallback of [`forward`].
fn copy(input: RawFd, output: RawFd) -> io::Result<u64> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        wait(input, PollFlags::POLLIN)?;
        // SAFETY: `input` stays open for the call.
        let n = match nix::unistd::read(unsafe { BorrowedFd::borrow_raw(input) }, &mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            // A console's master reads EIO once the container side closed.
            Err(Errno::EIO) => return Ok(total),
            Err(e) => return Err(e.into()),
        };
        let mut written = 0;
        while written < n {
            // SAFETY: `output` stays open for the call.
            match nix::unistd::write(
                unsafe { BorrowedFd::borrow_raw(output) },
                &buffer[written..n],
            ) {
                Ok(m) => written += m,
                Err(Errno::EAGAIN) => wait(output, PollFlags::POLLOUT)?,
                Err(Errno::EINTR) => {}
                Err(Errno::EPIPE) => return Ok(total),
                Err(e) => return Err(e.into()),
            }
        }
        total += n as u64;
    }
}

fn wait(fd: RawFd, events: PollFlags) -> io::Result<()> {
    // SAFETY: the caller keeps `fd` open.
    let mut fds = [PollFd::new(unsafe { BorrowedFd::borrow_raw(fd) }, events)];
    match poll(&mut fds, PollTimeout::NONE) {
        Ok(_) | Err(Errno::EINTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Waits until `input` has data and `output` has room; a hang-up of either
/// counts as ready (the next call reports it).
fn wait_either(input: RawFd, output: RawFd) -> io::Result<()> {
    wait(input, PollFlags::POLLIN)?;
    wait(output, PollFlags::POLLOUT)
}

/// This process's terminal, in raw mode while held: keys go to the
/// container as typed (Ctrl-C included). The previous mode comes back on
/// drop.
pub struct RawTerminal {
    fd: RawFd,
    saved: Termios,
}

impl RawTerminal {
    /// Puts stdin's terminal in raw mode; `None` if stdin is not one.
    pub fn enter() -> Option<Self> {
        let stdin = io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
        Some(Self {
            fd: stdin.as_raw_fd(),
            saved,
        })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // SAFETY: stdin outlives this guard.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let _ = tcsetattr(fd, SetArg::TCSANOW, &self.saved);
    }
}

/// The size of this process's terminal as (height, width), from stdout or
/// stdin, if either is a terminal.
pub fn terminal_size() -> Option<(u16, u16)> {
    [io::stdout().as_raw_fd(), io::stdin().as_raw_fd()]
        .into_iter()
        .find_map(|fd| {
            let mut size = libc::winsize {
                ws_row: 0,
                ws_col: 0,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCGWINSZ writes a winsize.
            let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
            (ok && size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
        })
}
