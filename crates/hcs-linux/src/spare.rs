//! A holder launched ahead of its system.
//!
//! Launching a holder is an `execve` of `hcsrun-shim` and its dynamic
//! loading: about 2.5 ms on this class of machine, during which the
//! launcher can do nothing for the system. A front end that knows it is
//! about to start a system (`hcsrun run`) asks for a spare
//! ([`LinuxComputeService::prelaunch_holder`](crate::LinuxComputeService::prelaunch_holder))
//! before it translates its configuration; the holder loads meanwhile, on
//! the other CPU, and waits for its bootstrap message. The next start takes
//! it instead of launching one.
//!
//! A spare is nobody's holder until its bootstrap: it has made nothing,
//! holds nothing but its end of the bootstrap socket, and exits at once,
//! quietly, when that closes. One never used (the front end failed before
//! the start, or started nothing) is reaped when the service drops it; one
//! whose launcher died exits by itself and is reaped by whoever inherits
//! it. Its command line names no system; the holder names its system
//! there once it knows it (`hcsrun-shim ID`).

use std::{
    io,
    os::fd::{AsFd, OwnedFd},
    path::Path,
    sync::Mutex,
    thread::JoinHandle,
};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::launch::{self, Launched};

/// A launched holder waiting for its bootstrap message: the service's end
/// of the bootstrap socket, and the holder.
pub(crate) struct Spare(Option<(OwnedFd, Launched)>);

impl Spare {
    /// Launches `shim` (its diagnostics appended to `log`). Blocks until
    /// it has exec'd.
    pub fn launch(shim: &Path, log: Option<&Path>) -> io::Result<Spare> {
        launch::holder(shim, log, None).map(|parts| Spare(Some(parts)))
    }

    /// The bootstrap socket and the holder, for a system's start.
    pub fn into_parts(mut self) -> (OwnedFd, Launched) {
        self.0.take().expect("a spare is taken once")
    }

    /// Whether it still waits: it has not exited (killed, or out of
    /// memory while loading).
    fn alive(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|(_, launched)| !exited_within(&launched.pidfd, PollTimeout::ZERO))
    }
}

/// Whether the process behind `pidfd` has exited, waiting up to `timeout`
/// for it (a pidfd is readable once its process has exited).
fn exited_within(pidfd: &OwnedFd, timeout: PollTimeout) -> bool {
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, timeout).is_ok_and(|ready| ready == 1)
}

/// How long a spare dropped unused is waited for, in milliseconds: it
/// exits as soon as it reads the end of its socket, in about a millisecond.
const EXIT_WAIT_MS: u16 = 100;

impl Drop for Spare {
    /// Closes the bootstrap socket, which ends the spare, and reaps it:
    /// blocks up to [`EXIT_WAIT_MS`] while it exits, so that a launcher
    /// that exits next leaves no orphan (one that does not exit in time is
    /// reaped on a plain thread).
    fn drop(&mut self) {
        let Some((ours, launched)) = self.0.take() else {
            return;
        };
        drop(ours);
        let pidfd = launched.pidfd;
        if exited_within(&pidfd, EXIT_WAIT_MS.into())
            && launch::try_reap(&pidfd).is_ok_and(|status| status.is_some())
        {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("hcsrun-spare-reap".into())
            .spawn(move || launch::reap(&pidfd));
    }
}

/// The service's spare: being launched, or launched.
#[derive(Default)]
pub(crate) struct SpareSlot(Mutex<Option<JoinHandle<io::Result<Spare>>>>);

impl SpareSlot {
    /// Launches a spare on a thread of its own, unless one is there.
    pub fn fill(&self, shim: &Path, log: Option<&Path>) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return;
        }
        let (shim, log) = (shim.to_owned(), log.map(Path::to_owned));
        *slot = std::thread::Builder::new()
            .name("hcsrun-prelaunch".into())
            .spawn(move || Spare::launch(&shim, log.as_deref()))
            .ok();
    }

    /// The spare, if one was launched and still waits. Blocks while it is
    /// being launched (until its `execve`).
    pub fn take(&self) -> Option<Spare> {
        let handle = self.0.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Self::joined(handle)
    }

    fn joined(handle: JoinHandle<io::Result<Spare>>) -> Option<Spare> {
        match handle.join() {
            Ok(Ok(spare)) if spare.alive() => Some(spare),
            Ok(Ok(_dead)) => None,
            Ok(Err(e)) => {
                tracing::debug!("the spare holder could not be launched: {e}");
                None
            }
            Err(_) => None,
        }
    }
}

impl Drop for SpareSlot {
    /// Ends and reaps a spare never taken. Blocks: until it has been
    /// launched, then while it exits (see [`Spare`]'s drop).
    fn drop(&mut self) {
        let handle = self.0.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        drop(handle.and_then(Self::joined));
    }
}
