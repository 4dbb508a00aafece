//! Stopping the system: SIGTERM or SIGKILL to its pid 1, whose end the
//! kernel extends to every other process of its pid namespace; then, once
//! the holder has reaped them all, the exit record, the cgroups removed,
//! the handles told, and the holder's exit.

use hcs_schema::Timestamp;
use hcsrun_shim_protocol::{
    message::{Message, Reply},
    record::{ExitHow, ExitRecord},
};

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
        if let Err(e) = self.dir.stopped(&record) {
            eprintln!("hcsrun-shim {}: writing the exit record: {e}", self.dir.id);
        }
        // The holder was never in them: nothing of the system is left there.
        if let Err(e) = self.cgroups.remove() {
            eprintln!("hcsrun-shim {}: {e}", self.dir.id);
        }
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            let unexpected = record.how == ExitHow::Exited;
            self.send(token, &Message::SystemExited { unexpected }, &[]);
        }
        std::process::exit(0)
    }
}
