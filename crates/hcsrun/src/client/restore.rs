//! Restoring after a restart (the seed's `Restore`): a compute system left
//! running by an earlier client cannot be re-attached, so it is terminated
//! and reported as exited with code `1 << 31`.

use hcs_schema::ComputeSystemQuery;
use tracing::warn;

use super::{
    error::{ClientError, ClientErrorKind, Result},
    events::{State, StateInfo, RESTORED_EXIT_CODE},
    supervise, Client,
};

impl Client {
    /// Terminates container `id`'s system if it still exists (waiting at
    /// most `Timeouts::restore`) and reports the container exited; the
    /// embedder's refusal of that report is the error, as in seed 000.
    pub async fn restore(&self, id: &str) -> Result<()> {
        const OP: &str = "restore";
        let inner = &self.inner;
        let _lock = inner.locks.lock(id).await;
        // Its own supervisor reports its exit: restoring it would report a
        // second one.
        if inner.containers.lock().unwrap().contains_key(id) {
            return Err(ClientError::new(OP, id, ClientErrorKind::Running));
        }
        if let Ok(system) = inner.service.open_system(id).await {
            let stopped = supervise::terminate(&*system, inner.timeouts.restore).await;
            let _ = system.close().await;
            if let Err(e) = stopped {
                warn!(container = id, "failed to terminate on restore: {e}");
                return Err(ClientError::hcs(OP, id, e));
            }
        }
        let info = StateInfo {
            exit_code: RESTORED_EXIT_CODE,
            ..StateInfo::new(State::Exit)
        };
        // As seed 000: the embedder's refusal is restore's error.
        inner
            .backend
            .state_changed(id, info)
            .await
            .map_err(|e| ClientError::new(OP, id, ClientErrorKind::Backend(e)))
    }

    /// Finds the systems this client's owner left behind and restores each;
    /// returns their ids. Systems of containers this client runs are left
    /// alone.
    pub async fn restore_all(&self) -> Result<Vec<String>> {
        let query = ComputeSystemQuery::owned_by(self.owner());
        let systems = self
            .inner
            .service
            .enumerate(&query)
            .await
            .map_err(|e| ClientError::hcs("restore", "*", e))?;
        let running = self.container_ids();
        let mut restored = Vec::new();
        for system in systems.into_iter().filter(|s| !running.contains(&s.id)) {
            self.restore(&system.id).await?;
            restored.push(system.id);
        }
        Ok(restored)
    }
}
