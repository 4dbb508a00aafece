//! A handle to a process in a system of the Linux compute service.

use std::{
    os::fd::OwnedFd,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use hcs::{ErrorCode, ErrorKind, HcsError, Process, Result, Stdio};
use hcsrun_shim_protocol::{
    errno::io_code,
    message::{Op, Reply},
};
use tokio::sync::watch;

use crate::{
    conn::{Connection, ProcessState},
    errors::{answer, process_error},
};

pub struct LinuxProcess {
    system_id: String,
    pid: u32,
    host_pid: u32,
    conn: Arc<Connection>,
    state: watch::Receiver<ProcessState>,
    /// The caller's ends the holder handed over (it keeps none): each
    /// `stdio` request gets duplicates, `take_stdio` these.
    stdio: Mutex<Stdio>,
    closed: watch::Sender<bool>,
}

impl LinuxProcess {
    /// A handle from the holder's reply to a create or open request.
    pub(crate) fn from_reply(
        system_id: &str,
        conn: &Arc<Connection>,
        (reply, fds): (Reply, Vec<OwnedFd>),
        op: &'static str,
    ) -> Result<Box<dyn Process>> {
        let Reply::Process {
            pid,
            host_pid,
            stdio: layout,
            ..
        } = reply
        else {
            return Err(HcsError::system(
                system_id,
                op,
                ErrorKind::Code(ErrorCode::UNKNOWN_MESSAGE),
            )
            .with_extra("(the holder did not answer with a process)"));
        };
        if fds.len() != layout.count() {
            return Err(process_error(
                system_id,
                pid,
                op,
                ErrorCode::PROTOCOL_ERROR,
                "stdio handles missing",
            ));
        }
        let mut fds = fds.into_iter();
        let stdio = Stdio {
            stdin: layout.stdin.then(|| fds.next()).flatten(),
            stdout: layout.stdout.then(|| fds.next()).flatten(),
            stderr: layout.stderr.then(|| fds.next()).flatten(),
        };
        Ok(Box::new(Self {
            system_id: system_id.to_owned(),
            pid,
            host_pid,
            state: conn.watch_process(pid),
            conn: conn.clone(),
            stdio: Mutex::new(stdio),
            closed: watch::Sender::new(false),
        }))
    }

    fn check_open(&self, op: &'static str) -> Result<()> {
        if *self.closed.borrow() {
            return Err(HcsError::process(
                &self.system_id,
                self.pid,
                op,
                ErrorKind::AlreadyClosed,
            ));
        }
        Ok(())
    }

    async fn request(&self, op: &'static str, request: Op) -> Result<Reply> {
        self.check_open(op)?;
        Ok(answer(
            &self.system_id,
            Some(self.pid),
            op,
            self.conn.request(request).await,
        )?
        .0)
    }

    async fn lost(&self, op: &'static str) -> HcsError {
        let loss = self.conn.loss(&self.system_id).await;
        HcsError::process(
            &self.system_id,
            self.pid,
            op,
            ErrorKind::SystemLost(loss.into()),
        )
    }
}

#[async_trait]
impl Process for LinuxProcess {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn host_pid(&self) -> Option<u32> {
        Some(self.host_pid)
    }

    fn system_id(&self) -> &str {
        &self.system_id
    }

    async fn kill(&self) -> Result<()> {
        self.request("Kill", Op::Kill { pid: self.pid })
            .await
            .map(drop)
    }

    async fn signal(&self, signal: i32) -> Result<()> {
        self.request(
            "Signal",
            Op::Signal {
                pid: self.pid,
                signal,
            },
        )
        .await
        .map(drop)
    }

    async fn wait(&self) -> Result<()> {
        self.check_open("Wait")?;
        let mut state = self.state.clone();
        let mut closed = self.closed.subscribe();
        let exited = tokio::select! {
            s = state.wait_for(|s| *s != ProcessState::Running) => {
                matches!(s.map(|s| *s), Ok(ProcessState::Exited(_)))
            }
            _ = closed.wait_for(|c| *c) => {
                return Err(HcsError::process(&self.system_id, self.pid, "Wait", ErrorKind::HandleClosed));
            }
        };
        if exited {
            Ok(())
        } else {
            Err(self.lost("Wait").await)
        }
    }

    async fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        tokio::time::timeout(timeout, self.wait())
            .await
            .unwrap_or_else(|_| {
                Err(HcsError::process(
                    &self.system_id,
                    self.pid,
                    "WaitTimeout",
                    ErrorKind::Timeout,
                ))
            })
    }

    async fn exit_code(&self) -> Result<u32> {
        self.check_open("ExitCode")?;
        let state = *self.state.borrow();
        match state {
            ProcessState::Exited(code) => Ok(code),
            ProcessState::Running => Err(HcsError::process(
                &self.system_id,
                self.pid,
                "ExitCode",
                ErrorKind::InvalidProcessState,
            )),
            ProcessState::Lost => Err(self.lost("ExitCode").await),
        }
    }

    async fn resize_console(&self, width: u16, height: u16) -> Result<()> {
        let op = Op::ResizeConsole {
            pid: self.pid,
            width,
            height,
        };
        self.request("ResizeConsole", op).await.map(drop)
    }

    async fn stdio(&self) -> Result<Stdio> {
        self.check_open("Stdio")?;
        self.stdio.lock().unwrap().try_clone().map_err(|e| {
            process_error(
                &self.system_id,
                self.pid,
                "Stdio",
                io_code(&e),
                format!("duplicating stdio: {e}"),
            )
        })
    }

    fn take_stdio(&self) -> Result<Stdio> {
        self.check_open("Stdio")?;
        Ok(std::mem::take(&mut *self.stdio.lock().unwrap()))
    }

    async fn close_stdin(&self) -> Result<()> {
        self.check_open("CloseStdin")?;
        // A pipe ends when its last write end closes: the one kept here
        // (the holder keeps none), and any the caller was handed.
        self.stdio.lock().unwrap().stdin = None;
        self.request("CloseStdin", Op::CloseStdin { pid: self.pid })
            .await
            .map(drop)
    }

    async fn close_stdout(&self) -> Result<()> {
        // The holder keeps none of the caller's ends: only this handle's.
        self.check_open("CloseStdout")?;
        self.stdio.lock().unwrap().stdout = None;
        Ok(())
    }

    async fn close_stderr(&self) -> Result<()> {
        self.check_open("CloseStderr")?;
        self.stdio.lock().unwrap().stderr = None;
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.check_open("Close")?;
        self.closed.send_replace(true);
        std::mem::take(&mut *self.stdio.lock().unwrap());
        self.conn.release_process(self.pid);
        Ok(())
    }
}

impl Drop for LinuxProcess {
    fn drop(&mut self) {
        if !*self.closed.borrow() {
            self.conn.release_process(self.pid);
        }
    }
}
