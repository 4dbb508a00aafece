//! A connection to a system's holder, shared by the handles of one system:
//! one reader task per connection delivers replies and process exits, so
//! waiting on any number of processes costs no threads.

use std::{
    collections::HashMap,
    io,
    os::fd::{AsFd, AsRawFd, OwnedFd},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use nix::errno::Errno;
use tokio::{
    io::{unix::AsyncFd, Interest},
    sync::{oneshot, watch},
};

use hcsrun_shim_protocol::{
    message::{Message, Op, Reply, Request, WireError},
    wire,
};

/// What became of a process, as far as this connection knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessState {
    Running,
    Exited(u32),
    /// The holder went away without reporting an exit.
    Lost,
}

/// How the system ended, as seen through the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemEnd {
    Running,
    /// The holder said so (the system stopped).
    Exited,
    /// The connection broke without a word.
    Lost,
}

/// How the holder this process launched ended, once reaped.
#[derive(Clone, Copy, Debug)]
pub enum Reaped {
    /// It exited normally, after recording the system's end.
    CleanedUp,
    /// It died (killed, or crashed) before the system's end was recorded.
    Died(crate::launch::ExitStatus),
    /// Reaping failed.
    Unknown,
}

impl Reaped {
    /// How the holder died, in the host's terms.
    pub fn death(self) -> Option<String> {
        match self {
            Reaped::Died(crate::launch::ExitStatus::Signaled(signal)) => {
                Some(format!("killed by signal {signal}"))
            }
            Reaped::Died(crate::launch::ExitStatus::Exited(code)) => {
                Some(format!("exited with code {code}"))
            }
            _ => None,
        }
    }
}

/// A reply with its descriptors.
pub struct Answer {
    pub result: Result<Reply, WireError>,
    pub fds: Vec<OwnedFd>,
}

/// Why a request got no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnError {
    /// The system stopped (or the holder died) first.
    Gone,
    Io(Errno),
}

struct ProcessWatch {
    state: watch::Sender<ProcessState>,
    handles: usize,
}

struct Shared {
    fd: AsyncFd<OwnedFd>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    processes: Mutex<HashMap<u32, ProcessWatch>>,
    end: watch::Sender<SystemEnd>,
    /// The holder's goodbye said nothing is left but the record.
    cleaned_up: Arc<AtomicBool>,
}

/// The handles' side of a connection. Dropping the last clone of the `Arc`
/// closes it.
pub struct Connection {
    shared: Arc<Shared>,
    next_id: AtomicU64,
    /// The holder's reaping, when this process launched it.
    reaped: std::sync::OnceLock<watch::Receiver<Option<Reaped>>>,
}

/// Registers an owned descriptor with the runtime.
pub fn register(fd: OwnedFd, interest: Interest) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd stays open, and the same descriptor, for as long as
    // the AsyncFd owns it.
    unsafe { AsyncFd::register_with_interest(fd, interest) }.map_err(io::Error::from)
}

fn to_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

impl Connection {
    /// Takes over a connected socket and starts its reader task.
    pub fn new(fd: OwnedFd) -> io::Result<Arc<Self>> {
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL)?;
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags))?;
        let shared = Arc::new(Shared {
            fd: register(fd, Interest::READABLE | Interest::WRITABLE)?,
            pending: Mutex::default(),
            processes: Mutex::default(),
            end: watch::Sender::new(SystemEnd::Running),
            cleaned_up: Arc::new(AtomicBool::new(false)),
        });
        tokio::spawn(read_loop(shared.clone()));
        Ok(Arc::new(Self {
            shared,
            next_id: AtomicU64::new(1),
            reaped: std::sync::OnceLock::new(),
        }))
    }

    /// Sends `op` and waits for the reply.
    pub async fn request(&self, op: Op) -> Result<Answer, ConnError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id, tx);
        if *self.shared.end.borrow() != SystemEnd::Running {
            self.shared.pending.lock().unwrap().remove(&id);
            return Err(ConnError::Gone);
        }
        let message = Request { id, op };
        let sent = self
            .shared
            .fd
            .async_io(Interest::WRITABLE, |fd| {
                wire::send(fd.as_fd(), &message, &[]).map_err(to_io)
            })
            .await;
        if let Err(e) = sent {
            self.shared.pending.lock().unwrap().remove(&id);
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            return Err(match errno {
                Errno::EPIPE | Errno::ECONNRESET | Errno::ENOTCONN => ConnError::Gone,
                e => ConnError::Io(e),
            });
        }
        rx.await.map_err(|_| ConnError::Gone)
    }

    /// Watches process `pid`, which a reply just named. The watch is
    /// registered by the reader task before it hands the reply over, so no
    /// exit can be missed.
    pub fn watch_process(&self, pid: u32) -> watch::Receiver<ProcessState> {
        let mut processes = self.shared.processes.lock().unwrap();
        match processes.get_mut(&pid) {
            Some(w) => {
                w.handles += 1;
                w.state.subscribe()
            }
            // The reply was not a process, or the system is gone.
            None => watch::Sender::new(ProcessState::Lost).subscribe(),
        }
    }

    /// Stops watching `pid` for one handle; the holder is told when no
    /// handle of this connection watches it any more.
    pub fn release_process(&self, pid: u32) {
        let mut processes = self.shared.processes.lock().unwrap();
        let Some(w) = processes.get_mut(&pid) else {
            return;
        };
        w.handles = w.handles.saturating_sub(1);
        if w.handles > 0 {
            return;
        }
        processes.remove(&pid);
        drop(processes);
        // Best effort and without waiting: the holder forgets the watch
        // anyway when the connection closes.
        let message = Request {
            id: 0,
            op: Op::ReleaseProcess { pid },
        };
        let _ = wire::send(self.shared.fd.get_ref().as_fd(), &message, &[]);
    }

    /// Tells how the system ended (or that it runs).
    pub fn end(&self) -> watch::Receiver<SystemEnd> {
        self.shared.end.subscribe()
    }

    /// Ties the holder's reaping to the connection, in the process that
    /// launched it.
    pub fn set_reaped(&self, reaped: watch::Receiver<Option<Reaped>>) {
        let _ = self.reaped.set(reaped);
    }

    /// True once the holder's goodbye has said that nothing of the system
    /// is left but its record: its exit, a moment away, need not be
    /// waited for.
    pub fn cleaned_up(&self) -> bool {
        self.shared.cleaned_up.load(Ordering::Acquire)
    }

    /// The flag behind [`Connection::cleaned_up`], for a task that must
    /// not keep the connection open.
    pub fn cleaned_up_flag(&self) -> Arc<AtomicBool> {
        self.shared.cleaned_up.clone()
    }

    /// The holder's reaping, if this process launched it.
    pub fn reaped(&self) -> Option<watch::Receiver<Option<Reaped>>> {
        self.reaped.get().cloned()
    }

    /// Why the system was lost, once its connection closed without a
    /// goodbye: "the holder of container ID died", and how, where this
    /// process reaped it.
    pub async fn loss(&self, id: &str) -> String {
        let how = match self.reaped() {
            Some(mut reaped) => reaped
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|r| r.and_then(Reaped::death)),
            None => None,
        };
        match how {
            Some(how) => format!("the holder of container {id} died ({how})"),
            None => format!("the holder of container {id} died"),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Wakes the reader task with end of stream; it then lets go of the
        // socket.
        // SAFETY: shutdown on a socket we own.
        unsafe { libc::shutdown(self.shared.fd.get_ref().as_raw_fd(), libc::SHUT_RDWR) };
    }
}

async fn read_loop(shared: Arc<Shared>) {
    let mut exited = false;
    loop {
        let received = shared
            .fd
            .async_io(Interest::READABLE, |fd| {
                wire::recv_message(fd.as_fd()).map_err(to_io)
            })
            .await;
        let received = match received {
            Ok(Some(received)) => received,
            // A holder that exits with requests of ours unread leaves this
            // socket an ECONNRESET, which the kernel reports before the
            // messages still queued here (its last exits, its goodbye):
            // read on, to the end of the stream.
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => continue,
            _ => break,
        };
        let Ok(message) = received.decode::<Message>() else {
            break;
        };
        match message {
            Message::Reply { id, result } => {
                if let Ok(Reply::Process { pid, exit_code, .. }) = &result {
                    let state = exit_code.map_or(ProcessState::Running, ProcessState::Exited);
                    shared
                        .processes
                        .lock()
                        .unwrap()
                        .entry(*pid)
                        .or_insert_with(|| ProcessWatch {
                            state: watch::Sender::new(state),
                            handles: 0,
                        });
                }
                if let Some(tx) = shared.pending.lock().unwrap().remove(&id) {
                    let _ = tx.send(Answer {
                        result,
                        fds: received.fds,
                    });
                }
            }
            Message::ProcessExited { pid, exit_code } => {
                if let Some(w) = shared.processes.lock().unwrap().get(&pid) {
                    w.state.send_replace(ProcessState::Exited(exit_code));
                }
            }
            // Its last word: the holder exits next. The system's end is
            // known now, not when the holder's exit (a millisecond and
            // more of tearing down its memory) closes the socket.
            Message::SystemExited { cleaned_up, .. } => {
                shared.cleaned_up.store(cleaned_up, Ordering::Release);
                exited = true;
                break;
            }
        }
    }
    // The holder is gone (or this side closed): nothing more will come.
    // The end is published first so that a request racing with it either
    // sees it or has its reply channel dropped below.
    shared.end.send_replace(if exited {
        SystemEnd::Exited
    } else {
        SystemEnd::Lost
    });
    shared.pending.lock().unwrap().clear();
    for w in shared.processes.lock().unwrap().values() {
        w.state.send_if_modified(|s| {
            let running = *s == ProcessState::Running;
            if running {
                *s = ProcessState::Lost;
            }
            running
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A holder that exits with a request unread leaves the socket an
    /// ECONNRESET that the kernel reports before what is still queued; its
    /// goodbye must not be lost behind it (it was, as a lost holder, when
    /// a handle's request crossed the holder's exit).
    #[tokio::test]
    async fn the_holders_goodbye_survives_requests_it_left_unread() {
        let (ours, theirs) = wire::pair().unwrap();
        let conn = Connection::new(ours).unwrap();
        let requester = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.request(Op::Shutdown).await.err() })
        };
        // The request waits, unread, in the holder's queue.
        let raw = theirs.as_raw_fd();
        let ready = tokio::task::spawn_blocking(move || {
            let mut fds = [libc::pollfd {
                fd: raw,
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: polls one descriptor, open until this test drops it
            // below, waiting at most 5 s.
            unsafe { libc::poll(fds.as_mut_ptr(), 1, 5000) }
        });
        assert_eq!(ready.await.unwrap(), 1);
        let goodbye = Message::SystemExited {
            unexpected: true,
            cleaned_up: false,
        };
        wire::send(theirs.as_fd(), &goodbye, &[]).unwrap();
        drop(theirs);
        let mut end = conn.end();
        let end = tokio::time::timeout(
            Duration::from_secs(5),
            end.wait_for(|e| *e != SystemEnd::Running),
        )
        .await
        .unwrap()
        .map(|e| *e)
        .unwrap();
        assert_eq!(end, SystemEnd::Exited);
        assert_eq!(requester.await.unwrap(), Some(ConnError::Gone));
        assert!(!conn.cleaned_up());
    }

    /// The goodbye ends the system at once, while the holder, exiting, still
    /// holds its end of the socket; a goodbye that says so tells that the
    /// holder cleaned up.
    #[tokio::test]
    async fn the_goodbye_ends_the_system_before_the_holder_closes() {
        let (ours, theirs) = wire::pair().unwrap();
        let conn = Connection::new(ours).unwrap();
        let goodbye = Message::SystemExited {
            unexpected: false,
            cleaned_up: true,
        };
        wire::send(theirs.as_fd(), &goodbye, &[]).unwrap();
        let mut end = conn.end();
        let end = tokio::time::timeout(
            Duration::from_secs(5),
            end.wait_for(|e| *e != SystemEnd::Running),
        )
        .await
        .expect("the goodbye did not end the system while the socket stayed open")
        .map(|e| *e)
        .unwrap();
        assert_eq!(end, SystemEnd::Exited);
        assert!(conn.cleaned_up());
        drop(theirs);
    }
}
