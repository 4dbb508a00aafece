//! The system's processes: started, confirmed once they exec, reaped and
//! reported; and the system stopped once none remain.

use std::{
    collections::BTreeSet,
    os::fd::{AsRawFd, RawFd},
    time::Duration,
};

use hcs::ErrorCode;

use hcs_schema::ProcessConfig;
use hcsrun_shim_protocol::message::{Message, Reply, WireError};
use nix::{
    errno::Errno,
    sys::{
        signal::{kill, Signal},
        wait::{waitpid, WaitPidFlag, WaitStatus},
    },
    unistd::Pid,
};

use super::{Holder, Proc, Starting, Stopping, Token};
use crate::spawn;

impl Holder {
    pub(super) fn create_process(&mut self, token: Token, id: u64, config: &str) {
        if self.stopping != Stopping::No {
            let err = WireError {
                code: ErrorCode::SYSTEM_ALREADY_STOPPED.0,
                message: "the system is stopping".to_owned(),
            };
            return self.reply(token, id, Err(err), &[]);
        }
        let started = hcs_schema::from_str::<ProcessConfig>(config)
            .map_err(|e| WireError {
                code: ErrorCode::INVALID_JSON.0,
                message: format!("process configuration: {e}"),
            })
            .and_then(|config| spawn::Plan::new(&config))
            .and_then(|plan| {
                let started = spawn::spawn(&plan, &self.devnull)?;
                Ok((started, plan.exe().to_owned(), plan.cwd().to_owned()))
            });
        match started {
            Ok((started, plan_exe, cwd)) => {
                self.starting.insert(
                    started.pid,
                    Starting {
                        started,
                        plan_exe,
                        cwd,
                        conn: token,
                        request: id,
                        exited: None,
                    },
                );
            }
            Err(err) => self.reply(token, id, Err(err), &[]),
        }
    }

    /// The status pipe of a starting process is readable: it executed, or
    /// it failed and said why.
    pub(super) fn confirm(&mut self, pid: u32) {
        let Some(s) = self.starting.remove(&pid) else {
            return;
        };
        if let Err(err) = spawn::exec_result(&s.started.status, &s.plan_exe, &s.cwd) {
            if s.exited.is_none() {
                // The child exits right after reporting.
                let _ = waitpid(Pid::from_raw(pid as i32), None);
            }
            return self.reply(s.conn, s.request, Err(err), &[]);
        }
        let fds: Vec<RawFd> = s
            .started
            .client_fds
            .iter()
            .map(AsRawFd::as_raw_fd)
            .collect();
        let watchers = if self.conns.contains_key(&s.conn) {
            BTreeSet::from([s.conn])
        } else {
            BTreeSet::new()
        };
        self.procs.insert(
            pid,
            Proc {
                exit_code: None,
                watchers,
                console: s.started.console,
            },
        );
        let reply = Reply::Process {
            pid,
            stdio: s.started.layout,
            exit_code: None,
        };
        self.reply(s.conn, s.request, Ok(reply), &fds);
        // The caller's ends are the caller's now.
        drop(s.started.client_fds);
        if let Some(code) = s.exited {
            self.exited(pid, code);
        }
    }

    pub(super) fn reap(&mut self) {
        while let Ok(Some(_)) = self.signals.read_signal() {}
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => self.exited(pid.as_raw() as u32, code as u32),
                Ok(WaitStatus::Signaled(pid, signal, _)) => {
                    self.exited(pid.as_raw() as u32, 128 + signal as u32)
                }
                Ok(WaitStatus::StillAlive) => return,
                Ok(_) => {}
                Err(Errno::ECHILD) => {
                    if self.stopping != Stopping::No {
                        self.exit(false);
                    }
                    return;
                }
                Err(_) => return,
            }
        }
    }

    fn exited(&mut self, pid: u32, exit_code: u32) {
        if let Some(s) = self.starting.get_mut(&pid) {
            s.exited = Some(exit_code);
            return;
        }
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        p.exit_code = Some(exit_code);
        p.console = None;
        let watchers: Vec<Token> = p.watchers.iter().copied().collect();
        if watchers.is_empty() {
            self.procs.remove(&pid);
        }
        for token in watchers {
            self.send(token, &Message::ProcessExited { pid, exit_code }, &[]);
        }
    }

    pub(super) fn stop_request(&mut self, token: Token, id: u64, how: Stopping) {
        let pending = self.stop(how);
        self.reply(
            token,
            id,
            Ok(if pending { Reply::Pending } else { Reply::Done }),
            &[],
        );
        if !pending {
            self.exit(false);
        }
    }

    /// Signals every process of the system; true while some remain.
    pub(super) fn stop(&mut self, how: Stopping) -> bool {
        if self.stopping != Stopping::Terminate {
            self.stopping = how;
        }
        let signal = if how == Stopping::Terminate {
            Signal::SIGKILL
        } else {
            Signal::SIGTERM
        };
        // From pid 1, -1 reaches every other process in the namespace.
        let _ = kill(Pid::from_raw(-1), signal);
        self.processes_remain()
    }

    /// True while the system has processes: any in its pid namespace (this
    /// holder's /proc) but the holder and a cgroup joiner.
    fn processes_remain(&self) -> bool {
        let joiner = self.join.joiner();
        std::fs::read_dir("/proc").map_or(true, |entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .any(|pid| pid != 1 && Some(pid) != joiner)
        })
    }

    /// Stops the system: ends what is left, tells the handles, cleans up.
    fn exit(&mut self, unexpected: bool) -> ! {
        let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
        // Report the exits of what is left before saying goodbye.
        for _ in 0..1000 {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Err(_) => break,
                Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(1)),
                Ok(WaitStatus::Exited(pid, code)) => self.exited(pid.as_raw() as u32, code as u32),
                Ok(WaitStatus::Signaled(pid, signal, _)) => {
                    self.exited(pid.as_raw() as u32, 128 + signal as u32)
                }
                Ok(_) => {}
            }
        }
        self.cleanup.run();
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            self.send(token, &Message::SystemExited { unexpected }, &[]);
        }
        std::process::exit(0)
    }
}
