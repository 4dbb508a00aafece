//! Stopping the system: SIGTERM or SIGKILL to its pid 1, whose end the
//! kernel extends to every other process of its pid namespace; then, once
//! the holder has reaped them all, the exit record, the cgroups removed,
//! the handles told, and the holder's exit.

use std::os::fd::AsRawFd;

use hcs_schema::Timestamp;
use hcsrun_shim_protocol::{
    message::{Message, Reply},
    record::{ExitHow, ExitRecord},
};
use nix::sys::socket::{recv, MsgFlags};

use super::{Holder, Stopping, Token};
use crate::boot::pidfd_signal;

impl Holder {
    pub(super) fn stop_request(&mut self, token: Token, id: u64, how: Stopping) {
        self.stop(how);
        // Pid 1 lives until it is reaped, and then the holder is gone.
        self.reply(token, id, Ok(Reply::Pending), &[]);
    }

    /// Signals pid 1 (the parked one too): SIGTERM for a shutdown, SIGKILL
    /// for a terminate, which a shutdown cannot undo.
    pub(super) fn stop(&mut self, how: Stopping) {
        if self.stopping != Stopping::Terminate {
            self.stopping = how;
        }
        let signal = if how == Stopping::Terminate {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        if self.init_exit.is_none() {
            if let Err(e) = pidfd_signal(&self.init.pidfd, signal) {
                eprintln!("hcsrun-shim {}: signalling pid 1: {e}", self.dir.id);
            }
        }
    }

    /// The system has stopped: pid 1 and with it every process of the
    /// container are reaped. Records, cleans up, tells, exits.
    pub(super) fn finish(&mut self) -> ! {
        // Children reaped meanwhile.
        self.reap();
        // The holder's last hold on the container's mounts: its mount
        // namespace (and the rest) and a descriptor on its devpts. Let go
        // here, the namespace is torn down now, overlay and loop devices
        // with it, before the goodbye says the system is gone (not when
        // the holder's exit closes them).
        self.namespaces.clear();
        self.ptmx = None;
        let record = ExitRecord {
            exit_code: self
                .init_exit
                .unwrap_or(hcsrun_shim_protocol::record::LOST_EXIT_CODE),
            finished: Timestamp::now(),
            oom_killed: self.cgroups.oom_kills() > 0,
            how: match self.stopping {
                Stopping::No => ExitHow::Exited,
                Stopping::Shutdown => ExitHow::Shutdown,
                Stopping::Terminate => ExitHow::Terminate,
            },
        };
        let recorded = match self.dir.stopped(&record) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("hcsrun-shim {}: writing the exit record: {e}", self.dir.id);
                false
            }
        };
        // The holder was never in them: nothing of the system is left there.
        // If they stay (EBUSY past the retries), the exit status says so:
        // the service then removes what is left ("cleaned up" is exit 0).
        let cgroups_left = match self.cgroups.remove() {
            Ok(()) => false,
            Err(e) => {
                eprintln!("hcsrun-shim {}: {e}", self.dir.id);
                true
            }
        };
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            let unexpected = record.how == ExitHow::Exited;
            let goodbye = Message::SystemExited {
                unexpected,
                // Without a record (its socket may still be there), the
                // service waits for the exit to clean up.
                cleaned_up: recorded && !cgroups_left,
            };
            self.send(token, &goodbye, &[]);
        }
        // Requests left unread would make the peers' next read fail with
        // ECONNRESET ahead of the goodbye: read them away first.
        for conn in self.conns.values() {
            let mut byte = [0u8; 1];
            while recv(
                conn.fd.as_raw_fd(),
                &mut byte,
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
            )
            .is_ok_and(|n| n > 0)
            {}
        }
        std::process::exit(if cgroups_left { 2 } else { 0 })
    }
}
