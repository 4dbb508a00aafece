//! A handle to a system of the Linux compute service.

mod start;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use hcs::{ComputeSystem, ErrorCode, ErrorKind, HcsError, Process, Result};
use hcs_schema::{
    ContainerConfig, MappedVirtualDiskController, ProcessConfig, ProcessListItem,
    ResourceModificationRequestResponse, Statistics,
};
use hcsrun_shim_protocol::{
    message::{Op, Reply},
    record::SystemRecord,
};
use tokio::sync::watch;

use crate::{
    blocking::blocking,
    cgroup::Cgroup,
    conn::{Connection, SystemEnd},
    errors::{answer, system_error, system_io_error},
    process::LinuxProcess,
    service::ServiceInner,
    stats,
};

#[derive(Clone)]
struct Running {
    conn: Arc<Connection>,
    started: SystemTime,
}

impl Running {
    /// The system has stopped (or its holder is gone).
    fn is_stopped(&self) -> bool {
        *self.conn.end().borrow() != SystemEnd::Running
    }

    /// Waits until the system has stopped and its holder is reaped (when
    /// this process launched it), unless the holder's goodbye said it
    /// cleaned up: its reaping, under way on a blocking thread, then owes
    /// the caller nothing. How it ended.
    async fn stopped(&self) -> SystemEnd {
        let mut end = self.conn.end();
        let end = end
            .wait_for(|end| *end != SystemEnd::Running)
            .await
            .map_or(SystemEnd::Lost, |end| *end);
        if self.conn.cleaned_up() {
            return end;
        }
        if let Some(mut reaped) = self.conn.reaped() {
            let _ = reaped.wait_for(Option::is_some).await;
        }
        end
    }
}

pub struct LinuxSystem {
    id: String,
    service: Arc<ServiceInner>,
    record: SystemRecord,
    config: ContainerConfig,
    cgroup: Cgroup,
    running: Mutex<Option<Running>>,
    closed: watch::Sender<bool>,
}

impl LinuxSystem {
    /// A handle to a system that has not started (`running` is `None`) or
    /// runs behind `conn`.
    pub(crate) fn new(
        service: Arc<ServiceInner>,
        record: SystemRecord,
        config: ContainerConfig,
        cgroup: Cgroup,
        conn: Option<(Arc<Connection>, SystemTime)>,
    ) -> Self {
        let running = conn.map(|(conn, started)| Running { conn, started });
        Self {
            id: record.id.clone(),
            service,
            record,
            config,
            cgroup,
            running: Mutex::new(running),
            closed: watch::Sender::new(false),
        }
    }

    fn check_open(&self, op: &'static str) -> Result<()> {
        if *self.closed.borrow() {
            return Err(HcsError::system(&self.id, op, ErrorKind::AlreadyClosed));
        }
        Ok(())
    }

    /// The running system, or the error for an operation that needs one.
    fn running(&self, op: &'static str) -> Result<Running> {
        self.check_open(op)?;
        match self.running.lock().unwrap().clone() {
            Some(r) if !r.is_stopped() => Ok(r),
            Some(_) => Err(system_error(
                &self.id,
                op,
                ErrorCode::SYSTEM_ALREADY_STOPPED,
                "",
            )),
            None => Err(system_error(
                &self.id,
                op,
                ErrorCode::INVALID_STATE,
                "the system is not running",
            )),
        }
    }

    async fn stop(&self, op: &'static str, how: Op) -> Result<()> {
        let running = self.running(op).map_err(|e| {
            // A system that never ran, or no longer runs, is stopped.
            if e.code() == Some(ErrorCode::INVALID_STATE) {
                system_error(&self.id, op, ErrorCode::SYSTEM_ALREADY_STOPPED, "")
            } else {
                e
            }
        })?;
        // Frozen processes can neither handle SIGTERM nor die of SIGKILL.
        if self.cgroup.is_frozen().unwrap_or(false) {
            let cgroup = self.cgroup.clone();
            let _ = blocking(move || cgroup.freeze(false)).await;
        }
        match answer(&self.id, None, op, running.conn.request(how).await)? {
            (Reply::Pending, _) => {
                Err(system_error(&self.id, op, ErrorCode::OPERATION_PENDING, ""))
            }
            _ => self.ended(op, &running).await,
        }
    }

    /// Waits until the system has stopped: `Ok` if its holder recorded the
    /// end, the lost system's error if the holder died.
    async fn ended(&self, op: &'static str, running: &Running) -> Result<()> {
        if running.stopped().await == SystemEnd::Exited {
            return Ok(());
        }
        if running.conn.reaped().is_none() {
            // Another process launched it: the cgroups are left to whoever
            // finds the holder gone.
            self.remove_leftovers(true, false).await;
        }
        let loss = running.conn.loss(&self.id).await;
        Err(HcsError::system(
            &self.id,
            op,
            ErrorKind::SystemLost(loss.into()),
        ))
    }

    /// The system's holder accepts connections.
    async fn holder_listens(&self) -> bool {
        let (service, id) = (self.service.clone(), self.id.clone());
        blocking(move || service.runtime.connect(&id).is_ok()).await
    }

    /// Cleans up after a system that is not running (never started, or
    /// stopped): with `cgroups` its cgroups (not for a holder that removed
    /// them itself), with `record` its record. Nothing while a holder still
    /// answers on its socket.
    async fn remove_leftovers(&self, cgroups: bool, record: bool) {
        let (service, cgroup) = (self.service.clone(), self.cgroup.clone());
        let (id, runtime_id) = (self.id.clone(), self.record.runtime_id.clone());
        blocking(move || {
            if service.runtime.connect(&id).is_ok() {
                return;
            }
            if cgroups {
                let _ = cgroup.remove();
            }
            if record {
                let _ = service.runtime.remove(&id, &runtime_id);
            }
        })
        .await;
    }
}

impl LinuxSystem {
    /// A running system's limits changed in place: its cgroup files
    /// written by the caller, as pausing does.
    async fn update_limits(&self, request: &ResourceModificationRequestResponse) -> Result<()> {
        let op = "Modify";
        self.running(op)?;
        let update: hcs_schema::LimitsUpdate = serde_json::from_value(request.data.clone())
            .map_err(|e| system_error(&self.id, op, ErrorCode::INVALID_JSON, e.to_string()))?;
        let cgroup = self.cgroup.clone();
        blocking(move || cgroup.update(&update))
            .await
            .map_err(|e| system_io_error(&self.id, op, "updating the system's limits", &e))
    }
}

#[async_trait]
impl ComputeSystem for LinuxSystem {
    fn id(&self) -> &str {
        &self.id
    }

    async fn start(&self) -> Result<()> {
        self.check_open("Start")?;
        if self.running.lock().unwrap().is_some() {
            return Err(system_error(
                &self.id,
                "Start",
                ErrorCode::INVALID_STATE,
                "the system has already started",
            ));
        }
        let running = self.launch().await?;
        *self.running.lock().unwrap() = Some(running);
        Ok(())
    }

    async fn shutdown(&self) -> Result<()> {
        self.stop("Shutdown", Op::Shutdown).await
    }

    async fn terminate(&self) -> Result<()> {
        self.stop("Terminate", Op::Terminate).await
    }

    async fn wait(&self) -> Result<()> {
        self.check_open("Wait")?;
        let Some(running) = self.running.lock().unwrap().clone() else {
            return Ok(());
        };
        let mut closed = self.closed.subscribe();
        tokio::select! {
            ended = self.ended("Wait", &running) => ended,
            _ = closed.wait_for(|c| *c) => Err(HcsError::system(&self.id, "Wait", ErrorKind::HandleClosed)),
        }
    }

    async fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        tokio::time::timeout(timeout, self.wait())
            .await
            .unwrap_or_else(|_| {
                Err(HcsError::system(
                    &self.id,
                    "WaitTimeout",
                    ErrorKind::Timeout,
                ))
            })
    }

    async fn pause(&self) -> Result<()> {
        self.running("Pause")?;
        let cgroup = self.cgroup.clone();
        let frozen = blocking(move || cgroup.freeze(true)).await;
        frozen.map_err(|e| system_io_error(&self.id, "Pause", "freezing the system", &e))
    }

    async fn resume(&self) -> Result<()> {
        self.running("Resume")?;
        let cgroup = self.cgroup.clone();
        let thawed = blocking(move || cgroup.freeze(false)).await;
        thawed.map_err(|e| system_io_error(&self.id, "Resume", "thawing the system", &e))
    }

    async fn has_pending_updates(&self) -> Result<bool> {
        self.check_open("HasPendingUpdates")?;
        Ok(false)
    }

    async fn statistics(&self) -> Result<Statistics> {
        let op = "Statistics";
        let running = self.running(op)?;
        let (id, cgroup, started) = (self.id.clone(), self.cgroup.clone(), running.started);
        blocking(move || {
            let counters = cgroup
                .stats()
                .map_err(|e| system_io_error(&id, op, "reading cgroup statistics", &e))?;
            let pids = cgroup
                .pids()
                .map_err(|e| system_io_error(&id, op, "listing the system's processes", &e))?;
            let network = stats::init_pid(&pids)
                .and_then(|pid| stats::network(pid).ok())
                .unwrap_or_default();
            Ok(stats::statistics(&counters, network, started))
        })
        .await
    }

    async fn process_list(&self) -> Result<Vec<ProcessListItem>> {
        let op = "ProcessList";
        self.running(op)?;
        let (id, cgroup) = (self.id.clone(), self.cgroup.clone());
        blocking(move || {
            let pids = cgroup
                .pids()
                .map_err(|e| system_io_error(&id, op, "listing the system's processes", &e))?;
            stats::process_list(&pids).map_err(|e| system_io_error(&id, op, "reading /proc", &e))
        })
        .await
    }

    async fn mapped_virtual_disks(&self) -> Result<BTreeMap<i32, MappedVirtualDiskController>> {
        self.check_open("MappedVirtualDiskList")?;
        Ok(BTreeMap::new())
    }

    async fn create_process(&self, config: &ProcessConfig) -> Result<Box<dyn Process>> {
        let op = "CreateProcess";
        let running = self.running(op)?;
        // A process started now would be frozen before it ran (the first
        // one too: the parked pid 1 is frozen with the rest), and its
        // create would wait for the resume.
        if self.cgroup.is_frozen().unwrap_or(false) {
            return Err(system_error(
                &self.id,
                op,
                ErrorCode::INVALID_STATE,
                "the system is paused",
            ));
        }
        let document = hcs_schema::to_string(config)
            .map_err(|e| system_error(&self.id, op, ErrorCode::INVALID_JSON, e.to_string()))?;
        let reply = answer(
            &self.id,
            None,
            op,
            running
                .conn
                .request(Op::CreateProcess { config: document })
                .await,
        )?;
        LinuxProcess::from_reply(&self.id, &running.conn, reply, op)
    }

    async fn open_process(&self, pid: u32) -> Result<Box<dyn Process>> {
        let op = "OpenProcess";
        let running = self.running(op)?;
        let reply = answer(
            &self.id,
            Some(pid),
            op,
            running.conn.request(Op::OpenProcess { pid }).await,
        )?;
        LinuxProcess::from_reply(&self.id, &running.conn, reply, op)
    }

    async fn modify(&self, request: &ResourceModificationRequestResponse) -> Result<()> {
        self.check_open("Modify")?;
        if request.resource == hcs_schema::RESOURCE_LIMITS
            && request.request == hcs_schema::REQUEST_UPDATE
        {
            return self.update_limits(request).await;
        }
        Err(system_error(
            &self.id,
            "Modify",
            ErrorCode::NOT_SUPPORTED,
            format!(
                "modifying {:?} is not supported by the Linux compute service",
                request.resource
            ),
        ))
    }

    async fn close(&self) -> Result<()> {
        self.check_open("Close")?;
        self.closed.send_replace(true);
        let running = self.running.lock().unwrap().take();
        // A stopped system is gone once a handle to it is closed, as on
        // Windows: its record (and anything its holder could not remove)
        // goes now. A running one runs on.
        match running {
            // A system that runs runs on. One whose holder no longer takes
            // connections (it unlinks its socket before it says goodbye) is
            // stopping, even if this connection has not seen the end yet.
            Some(r) if !r.is_stopped() && self.holder_listens().await => {}
            Some(r) => {
                r.stopped().await;
                if r.conn.cleaned_up() {
                    // Nothing is left but the record, which goes while the
                    // holder, exiting, is reaped: once closed, no holder
                    // this process launched is left unreaped (a caller
                    // may exit next, under an init that does not reap).
                    tokio::join!(self.remove_leftovers(false, true), reaped_within(&r.conn));
                } else {
                    // Nothing of a holder this process reaped after it
                    // cleaned up is left but the record.
                    let reaped = reaped_within(&r.conn).await;
                    let cleaned_up = matches!(reaped, Some(crate::conn::Reaped::CleanedUp));
                    self.remove_leftovers(!cleaned_up, true).await;
                }
            }
            None => self.remove_leftovers(true, true).await,
        }
        Ok(())
    }
}

/// How the holder this process launched ended, waiting up to a second for
/// its reaping (it has exited, or is exiting); none if another process
/// launched it.
async fn reaped_within(conn: &crate::conn::Connection) -> Option<crate::conn::Reaped> {
    let mut rx = conn.reaped()?;
    tokio::time::timeout(
        std::time::Duration::from_secs(1),
        rx.wait_for(Option::is_some),
    )
    .await
    .ok()
    .and_then(|r| r.ok().and_then(|r| *r))
}
