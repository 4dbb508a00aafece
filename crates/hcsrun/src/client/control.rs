//! Controlling running containers: signals, consoles, pause and resume,
//! statistics and process lists (the seed's `Signal`, `SignalProcess`,
//! `Resize`, `Pause`, `Resume`, `Stats`, `Summary`, ...).

use std::sync::atomic::Ordering;

use hcs_schema::{ProcessListItem, Statistics};

use super::{
    error::{ClientError, ClientErrorKind, Result},
    events::{State, StateInfo},
    Client,
};

/// The signal number that terminates rather than shuts down.
pub const SIGKILL: i32 = 9;

/// Resource updates (the seed accepts and ignores them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// The relative CPU weight asked for.
    pub cpu_shares: Option<u64>,
    /// The memory limit asked for, in bytes.
    pub memory_bytes: Option<u64>,
}

/// The checkpoints of a container: never any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoints {
    /// The checkpoints' names.
    pub checkpoints: Vec<String>,
}

/// The version of the runtime behind the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch level.
    pub patch: u32,
}

impl Client {
    /// Stops container `id`: SIGKILL terminates its system, any other signal
    /// shuts it down. A stop already under way, or a system already stopped,
    /// is not an error; the exit is told when the init process exits.
    pub async fn signal(&self, id: &str, signal: i32) -> Result<()> {
        const OP: &str = "signal";
        let _lock = self.inner.locks.lock(id).await;
        let container = self.inner.container(OP, id)?;
        tracing::debug!(container = id, signal, pid = container.init.pid, "signal");
        // Set before the stop, as the seed does: the exit it causes is one
        // that was asked for.
        container.stop_requested.store(true, Ordering::SeqCst);
        let result = if signal == SIGKILL {
            container.system.terminate().await
        } else {
            container.system.shutdown().await
        };
        match result {
            Err(e) if !e.is_pending() && !e.is_already_stopped() => {
                Err(ClientError::hcs(OP, id, e))
            }
            _ => Ok(()),
        }
    }

    /// Ends the added process `name` of container `id`, whatever the signal
    /// (Windows has no signals; the seed does the same).
    pub async fn signal_process(&self, id: &str, name: &str, signal: i32) -> Result<()> {
        const OP: &str = "signal process";
        let _lock = self.inner.locks.lock(id).await;
        let container = self.inner.container(OP, id)?;
        let Some(entry) = container.processes.lock().unwrap().get(name).cloned() else {
            let kind = ClientErrorKind::SignalProcessNotFound(name.to_owned(), id.to_owned());
            return Err(ClientError::new(OP, id, kind));
        };
        tracing::debug!(container = id, process = name, signal, "signal process");
        entry
            .process
            .kill()
            .await
            .map_err(|e| ClientError::hcs(OP, id, e))
    }

    /// Resizes the console of process `name` (`init` or an added one).
    pub async fn resize(&self, id: &str, name: &str, width: u16, height: u16) -> Result<()> {
        const OP: &str = "resize";
        let _lock = self.inner.locks.lock(id).await;
        let container = self.inner.container(OP, id)?;
        let entry = container.process(name).ok_or_else(|| {
            ClientError::new(OP, id, ClientErrorKind::ResizeNotFound(id.to_owned()))
        })?;
        entry
            .process
            .resize_console(width, height)
            .await
            .map_err(|e| ClientError::hcs(OP, id, e))
    }

    /// Pauses a Hyper-V isolated container, or a Linux container the
    /// service runs natively (it freezes its cgroup).
    pub async fn pause(&self, id: &str) -> Result<()> {
        self.pause_or_resume(id, true).await
    }

    /// Resumes a paused container.
    pub async fn resume(&self, id: &str) -> Result<()> {
        self.pause_or_resume(id, false).await
    }

    async fn pause_or_resume(&self, id: &str, pause: bool) -> Result<()> {
        let (op, refused, state) = if pause {
            ("pause", ClientErrorKind::CannotPause, State::Pause)
        } else {
            ("resume", ClientErrorKind::CannotResume, State::Resume)
        };
        {
            let _lock = self.inner.locks.lock(id).await;
            let container = self.inner.container(op, id)?;
            let linux = matches!(container.spec, super::container::CreatedFrom::Linux(_));
            if !container.hyperv && !linux {
                return Err(ClientError::new(op, id, refused));
            }
            let done = if pause {
                container.system.pause().await
            } else {
                container.system.resume().await
            };
            done.map_err(|e| ClientError::hcs(op, id, e))?;
        }
        // Told without the lock, as the seed does.
        self.inner
            .backend
            .state_changed(id, StateInfo::new(state))
            .await
            .map_err(|e| ClientError::new(op, id, ClientErrorKind::Backend(e)))
    }

    /// The container's statistics.
    pub async fn stats(&self, id: &str) -> Result<Statistics> {
        const OP: &str = "stats";
        let _lock = self.inner.locks.lock(id).await;
        let container = self.inner.container(OP, id)?;
        container
            .system
            .statistics()
            .await
            .map_err(|e| ClientError::hcs(OP, id, e))
    }

    /// The processes running in the container (`docker top`).
    pub async fn summary(&self, id: &str) -> Result<Vec<ProcessListItem>> {
        const OP: &str = "summary";
        let _lock = self.inner.locks.lock(id).await;
        let container = self.inner.container(OP, id)?;
        container
            .system
            .process_list()
            .await
            .map_err(|e| ClientError::hcs(OP, id, e))
    }

    /// The pids (inside the container) of its processes.
    pub async fn get_pids_for_container(&self, id: &str) -> Result<Vec<u32>> {
        Ok(self
            .summary(id)
            .await?
            .into_iter()
            .map(|p| p.process_id)
            .collect())
    }

    /// Accepted and ignored, as the seed does: the compute service cannot
    /// change a running system's resources.
    pub async fn update_resources(&self, _id: &str, _resources: &Resources) -> Result<()> {
        Ok(())
    }

    /// Refused, as the seed does: Windows containers have no checkpoints.
    pub fn create_checkpoint(
        &self,
        id: &str,
        _checkpoint: &str,
        _dir: &str,
        _exit: bool,
    ) -> Result<()> {
        Err(ClientError::new(
            "create checkpoint",
            id,
            ClientErrorKind::Checkpoints,
        ))
    }

    /// Refused, as the seed does: Windows containers have no checkpoints.
    pub fn delete_checkpoint(&self, id: &str, _checkpoint: &str, _dir: &str) -> Result<()> {
        Err(ClientError::new(
            "delete checkpoint",
            id,
            ClientErrorKind::Checkpoints,
        ))
    }

    /// Refused, as the seed does: Windows containers have no checkpoints.
    pub fn list_checkpoints(&self, id: &str, _dir: &str) -> Result<Checkpoints> {
        Err(ClientError::new(
            "list checkpoints",
            id,
            ClientErrorKind::Checkpoints,
        ))
    }

    /// The seed reports an empty version.
    pub fn server_version(&self) -> ServerVersion {
        ServerVersion::default()
    }
}
