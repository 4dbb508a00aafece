//! Waiting for processes to exit, stopping systems, and telling the
//! embedder (the seed's `waitExit`, `shutdown` and `terminate`).

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use hcs::{ComputeSystem, HcsError, Process};
use tracing::{debug, warn};

use super::{
    container::Container,
    events::{State, StateInfo, INIT_PROCESS, UNKNOWN_EXIT_CODE},
    Inner, Timeouts,
};

/// Waits for `process` to exit and reads its exit code; a code that cannot
/// be read is [`UNKNOWN_EXIT_CODE`] (the seed's -1), never success.
pub async fn exit_code(process: &dyn Process) -> u32 {
    exit_or_loss(process).await.0
}

/// [`exit_code`], and what happened if the process was lost with its
/// system's supervisor.
async fn exit_or_loss(process: &dyn Process) -> (u32, Option<String>) {
    if let Err(e) = process.wait().await {
        if e.is_system_lost() {
            return (UNKNOWN_EXIT_CODE, Some(e.to_string()));
        }
        warn!(
            container = process.system_id(),
            pid = process.pid(),
            "waiting for the process: {e}"
        );
    }
    match process.exit_code().await {
        Ok(code) => (code, None),
        Err(e) => {
            warn!(
                container = process.system_id(),
                pid = process.pid(),
                "reading the exit code: {e}"
            );
            (UNKNOWN_EXIT_CODE, None)
        }
    }
}

/// Stops `system` gracefully: shutdown, waiting at most `timeouts.shutdown`,
/// then terminate if that failed. The error says what failed.
pub async fn stop(system: &dyn ComputeSystem, timeouts: &Timeouts) -> Result<(), HcsError> {
    let shutdown = match system.shutdown().await {
        Err(e) if e.is_pending() => system.wait_timeout(timeouts.shutdown).await,
        Err(e) if e.is_already_stopped() => {
            settle(system, timeouts.terminate).await;
            Ok(())
        }
        other => other,
    };
    let Err(shutdown_error) = shutdown else {
        return Ok(());
    };
    debug!(
        container = system.id(),
        "shutdown failed ({shutdown_error}); terminating"
    );
    terminate(system, timeouts.terminate).await?;
    // Terminated; still report why the shutdown failed.
    Err(shutdown_error)
}

/// Terminates `system`, waiting at most `timeout` for it to stop.
pub async fn terminate(system: &dyn ComputeSystem, timeout: Duration) -> Result<(), HcsError> {
    match system.terminate().await {
        Err(e) if e.is_pending() => system.wait_timeout(timeout).await,
        Err(e) if e.is_already_stopped() => {
            settle(system, timeout).await;
            Ok(())
        }
        other => other,
    }
}

/// Waits (at most `timeout`) for a system the service says has already
/// stopped to be gone: a stop asked for before the first process exited
/// (Ctrl-C) finds it stopped while its last resources are still being
/// released (the Linux service's holder reaped, its cgroups removed).
/// Waiting on a stopped system returns at once where nothing is left to
/// release, as on Windows; a failure is not the stop's.
async fn settle(system: &dyn ComputeSystem, timeout: Duration) {
    if let Err(e) = system.wait_timeout(timeout).await {
        debug!(container = system.id(), "waiting for a stopped system: {e}");
    }
}

/// Terminates and closes a system that failed to get going.
pub async fn discard(system: &dyn ComputeSystem, timeouts: &Timeouts) {
    if let Err(e) = terminate(system, timeouts.terminate).await {
        warn!(
            container = system.id(),
            "cleaning up after a failed start: {e}"
        );
    }
    if let Err(e) = system.close().await {
        warn!(container = system.id(), "closing: {e}");
    }
}

/// Kills a process nobody will read from, waits for it (bounded) and
/// closes its handle: it must not run on unattended.
pub async fn kill(process: &dyn Process, timeout: Duration) {
    if let Err(e) = process.kill().await {
        if !e.is_already_stopped() {
            warn!(
                container = process.system_id(),
                pid = process.pid(),
                "killing an unattached process: {e}"
            );
        }
    }
    if let Err(e) = process.wait_timeout(timeout).await {
        warn!(
            container = process.system_id(),
            pid = process.pid(),
            "waiting for a killed process: {e}"
        );
    }
    let _ = process.close().await;
}

/// The init process's supervisor: when it exits, the container is removed,
/// its system stopped (boundedly) and closed, and the exit told, with any
/// failure to stop. Holds this container's lock only while removing it.
pub async fn init(inner: Arc<Inner>, container: Arc<Container>) {
    let init = container.init.clone();
    let (exit_code, lost) = exit_or_loss(&*init.process).await;
    {
        let _lock = inner.locks.lock(&container.id).await;
        let mut containers = inner.containers.lock().unwrap();
        if containers
            .get(&container.id)
            .is_some_and(|c| Arc::ptr_eq(c, &container))
        {
            containers.remove(&container.id);
        }
    }
    let system = &*container.system;
    let update_pending = system.has_pending_updates().await.unwrap_or_else(|e| {
        warn!(container = %container.id, "HasPendingUpdates failed (the container may have been killed): {e}");
        false
    });
    let shutdown_error = stop(system, &inner.timeouts)
        .await
        .err()
        .map(|e| e.to_string());
    if let Some(e) = &shutdown_error {
        warn!(container = %container.id, "stopping after its init process exited: {e}");
    }
    if let Err(e) = system.close().await {
        warn!(container = %container.id, "closing: {e}");
    }
    let _ = init.process.close().await;
    let info = StateInfo {
        pid: init.pid,
        exit_code,
        process_id: INIT_PROCESS.to_owned(),
        update_pending,
        shutdown_error,
        manual_stop_requested: container.stop_requested.load(Ordering::SeqCst),
        lost,
        ..StateInfo::new(State::Exit)
    };
    tell(&inner, &container.id, info).await;
}

/// An added process's supervisor: when it exits, it is forgotten and its
/// exit told.
pub async fn exec(
    inner: Arc<Inner>,
    container: Arc<Container>,
    name: String,
    process: Arc<dyn Process>,
) {
    let exit_code = exit_code(&*process).await;
    {
        let _lock = inner.locks.lock(&container.id).await;
        container.processes.lock().unwrap().remove(&name);
    }
    let _ = process.close().await;
    let info = StateInfo {
        pid: process.pid(),
        exit_code,
        process_id: name,
        ..StateInfo::new(State::ExitProcess)
    };
    tell(&inner, &container.id, info).await;
}

/// Tells the embedder, logging a refusal (nobody else is there to hear it).
pub async fn tell(inner: &Inner, id: &str, info: StateInfo) {
    debug!(container = id, state = %info.state, pid = info.pid, exit_code = info.exit_code, "state changed");
    if let Err(e) = inner.backend.state_changed(id, info).await {
        warn!(container = id, "the embedder refused a state change: {e}");
    }
}
