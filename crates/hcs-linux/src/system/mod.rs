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

/// How a running system's end is observed.
#[derive(Clone)]
enum Stopped {
    /// This process launched the holder: the end is its reaping.
    Reaped(watch::Receiver<bool>),
    /// Another process did: the end is the holder's goodbye.
    Seen(watch::Receiver<SystemEnd>),
}

impl Stopped {
    async fn wait(mut self) {
        match &mut self {
            Stopped::Reaped(rx) => drop(rx.wait_for(|done| *done).await),
            Stopped::Seen(rx) => drop(rx.wait_for(|end| *end != SystemEnd::Running).await),
        }
    }

    fn is_stopped(&self) -> bool {
        match self {
            Stopped::Reaped(rx) => *rx.borrow(),
            Stopped::Seen(rx) => *rx.borrow() != SystemEnd::Running,
        }
    }
}

#[derive(Clone)]
struct Running {
    conn: Arc<Connection>,
    stopped: Stopped,
    started: SystemTime,
}

pub struct LinuxSystem {
    id: String,
    service: Arc<ServiceInner>,
    record: SystemRecord,
    config: ContainerConfig,
    cgroup: Cgroup,
    running: Mutex<Option<Running>>,
    closed: watch::Sender<bool>,
    /// Every process of the system is known to be in its cgroups.
    in_cgroups: std::sync::atomic::AtomicBool,
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
        let running = conn.map(|(conn, started)| Running {
            stopped: Stopped::Seen(conn.end()),
            conn,
            started,
        });
        Self {
            id: record.id.clone(),
            service,
            record,
            config,
            cgroup,
            running: Mutex::new(running),
            closed: watch::Sender::new(false),
            in_cgroups: std::sync::atomic::AtomicBool::new(false),
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
            Some(r) if !r.stopped.is_stopped() => Ok(r),
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
            _ => {
                running.stopped.wait().await;
                Ok(())
            }
        }
    }

    /// The running system, for an operation its holder must serve: the
    /// holder is frozen with the rest of a paused system.
    fn running_unpaused(&self, op: &'static str) -> Result<Running> {
        let running = self.running(op)?;
        if self.cgroup.is_frozen().unwrap_or(false) {
            return Err(system_error(
                &self.id,
                op,
                ErrorCode::INVALID_STATE,
                "the system is paused",
            ));
        }
        Ok(running)
    }

    /// Waits (once per handle) until the system's processes are all in its
    /// cgroups: a system without limits joins them in the background.
    async fn in_cgroups(&self, op: &'static str, running: &Running) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.in_cgroups.load(Ordering::Acquire) {
            return Ok(());
        }
        answer(
            &self.id,
            None,
            op,
            running.conn.request(Op::WaitCgroups).await,
        )?;
        self.in_cgroups.store(true, Ordering::Release);
        Ok(())
    }

    /// Cleans up after a system that is not running: never started, or
    /// its holder died without a successor cleaning up.
    async fn remove_leftovers(&self) {
        let (service, cgroup) = (self.service.clone(), self.cgroup.clone());
        let (id, runtime_id) = (self.id.clone(), self.record.runtime_id.clone());
        blocking(move || {
            if service.runtime.connect(&id).is_ok() {
                return;
            }
            let _ = cgroup.remove();
            let _ = service.runtime.remove(&id, &runtime_id);
        })
        .await;
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
            () = running.stopped.wait() => Ok(()),
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
        let running = self.running_unpaused("Pause")?;
        self.in_cgroups("Pause", &running).await?;
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
        if !self.cgroup.is_frozen().unwrap_or(false) {
            self.in_cgroups(op, &running).await?;
        }
        let (id, cgroup, started) = (self.id.clone(), self.cgroup.clone(), running.started);
        blocking(move || {
            let counters = cgroup
                .stats()
                .map_err(|e| system_io_error(&id, op, "reading cgroup statistics", &e))?;
            let pids = cgroup
                .pids()
                .map_err(|e| system_io_error(&id, op, "listing the system's processes", &e))?;
            let network = stats::holder_pid(&pids)
                .and_then(|pid| stats::network(pid).ok())
                .unwrap_or_default();
            Ok(stats::statistics(&counters, network, started))
        })
        .await
    }

    async fn process_list(&self) -> Result<Vec<ProcessListItem>> {
        let op = "ProcessList";
        let running = self.running(op)?;
        if !self.cgroup.is_frozen().unwrap_or(false) {
            self.in_cgroups(op, &running).await?;
        }
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
        let running = self.running_unpaused(op)?;
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
        LinuxProcess::from_reply(&self.id, &running.conn, &self.cgroup, reply, op)
    }

    async fn open_process(&self, pid: u32) -> Result<Box<dyn Process>> {
        let op = "OpenProcess";
        let running = self.running_unpaused(op)?;
        let reply = answer(
            &self.id,
            Some(pid),
            op,
            running.conn.request(Op::OpenProcess { pid }).await,
        )?;
        LinuxProcess::from_reply(&self.id, &running.conn, &self.cgroup, reply, op)
    }

    async fn modify(&self, request: &ResourceModificationRequestResponse) -> Result<()> {
        self.check_open("Modify")?;
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
        // A system this handle never saw run, or saw stop without reaping
        // it: whatever its holder and reaper did not remove goes now.
        if running.is_none_or(|r| matches!(r.stopped, Stopped::Seen(_)) && r.stopped.is_stopped()) {
            self.remove_leftovers().await;
        }
        Ok(())
    }
}
