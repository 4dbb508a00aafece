//! A process's standard streams, made by the holder: the pipes asked for,
//! or a console of the container's own `devpts`. The child's ends go to the
//! process, the caller's ends to the handle that created it; the holder
//! keeps a console's master side to resize it from any handle.

use std::{
    fs,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::fs::OpenOptionsExt,
    },
};

use hcs::ErrorCode;
use hcs_schema::ProcessConfig;
use hcsrun_shim_protocol::{
    errno::errno_code,
    message::{StdioLayout, WireError},
};
use nix::{fcntl::OFlag, unistd::pipe2};

use crate::exec::ChildStdio;

/// A process's streams before it starts.
pub struct Streams {
    pub child: ChildStdio,
    /// The caller's ends, in the order stdin, stdout, stderr.
    pub client_fds: Vec<OwnedFd>,
    pub layout: StdioLayout,
    /// A console's master side.
    pub console: Option<OwnedFd>,
}

fn io(what: &'static str) -> impl Fn(nix::Error) -> WireError {
    move |e| WireError {
        code: errno_code(e as i32).0,
        message: format!("{what}: {e}"),
    }
}

/// The streams `config` asks for. `ptmx` is an `O_PATH` descriptor of the
/// container's `/dev/pts/ptmx`, which the system's pid 1 opened in the root
/// it had just built: reopening it makes a console of the container's own
/// `devpts` (so `tty` inside names `/dev/pts/N`) without looking up any path
/// the container could have changed.
pub fn streams(config: &ProcessConfig, ptmx: &OwnedFd) -> Result<Streams, WireError> {
    let layout = StdioLayout {
        stdin: config.create_std_in_pipe,
        stdout: config.create_std_out_pipe,
        stderr: config.create_std_err_pipe,
    };
    let mut child: [Option<OwnedFd>; 3] = [None, None, None];
    let mut client_fds = Vec::new();
    let mut console = None;
    if config.emulate_console {
        let master: OwnedFd = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(format!("/proc/self/fd/{}", ptmx.as_raw_fd()))
            .map_err(|e| WireError {
                code: ErrorCode::INTERNAL_ERROR.0,
                message: format!("opening a console: {e}"),
            })?
            .into();
        let unlock: libc::c_int = 0;
        // SAFETY: TIOCSPTLCK reads an int; TIOCGPTPEER returns a new
        // descriptor of the console's other side, which we own.
        let slave = unsafe {
            if libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) < 0 {
                return Err(io("unlocking the console")(nix::Error::last()));
            }
            let fd = libc::ioctl(
                master.as_raw_fd(),
                libc::TIOCGPTPEER,
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return Err(io("opening the console")(nix::Error::last()));
            }
            OwnedFd::from_raw_fd(fd)
        };
        let [height, width] = config.console_size;
        if height > 0 && width > 0 {
            set_console_size(&master, width as u16, height as u16)
                .map_err(io("sizing the console"))?;
        }
        let dup = |fd: &OwnedFd| {
            fd.try_clone().map_err(|e| WireError {
                code: ErrorCode::INTERNAL_ERROR.0,
                message: format!("duplicating the console: {e}"),
            })
        };
        for (i, wanted) in [layout.stdin, layout.stdout].into_iter().enumerate() {
            child[i] = Some(dup(&slave)?);
            if wanted {
                client_fds.push(dup(&master)?);
            }
        }
        if !layout.stderr {
            child[2] = Some(slave);
        }
        console = Some(master);
    }
    for (i, wanted) in [layout.stdin, layout.stdout, layout.stderr]
        .into_iter()
        .enumerate()
    {
        if child[i].is_some() || !wanted {
            continue;
        }
        let (read, write) = pipe2(OFlag::O_CLOEXEC).map_err(io("creating a pipe"))?;
        let (ours, theirs) = if i == 0 { (read, write) } else { (write, read) };
        child[i] = Some(ours);
        client_fds.push(theirs);
    }
    Ok(Streams {
        child: ChildStdio {
            fds: child,
            console: config.emulate_console,
        },
        client_fds,
        layout,
        console,
    })
}

/// Sets a console's size.
pub fn set_console_size(master: &impl AsRawFd, width: u16, height: u16) -> nix::Result<()> {
    let size = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) } < 0 {
        return Err(nix::Error::last());
    }
    Ok(())
}

/// Sends end-of-file on a console: its `VEOF` character, as a terminal does.
pub fn console_eof(master: &impl AsRawFd) -> nix::Result<()> {
    // SAFETY: termios is plain data; tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr writes into the local above.
    let eof = if unsafe { libc::tcgetattr(master.as_raw_fd(), &mut t) } == 0 {
        t.c_cc[libc::VEOF]
    } else {
        4 // ^D
    };
    // SAFETY: writes one byte from a local.
    if unsafe { libc::write(master.as_raw_fd(), (&eof as *const u8).cast(), 1) } != 1 {
        return Err(nix::Error::last());
    }
    Ok(())
}
