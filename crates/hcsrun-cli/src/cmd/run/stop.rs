//! Stopping the container when hcsrun is asked to stop, as `docker stop`
//! does: the first Ctrl-C, SIGTERM or SIGHUP shuts it down (SIGTERM to its
//! first process, through the client's `signal(15)`); SIGKILL follows
//! (`signal(9)`, terminate) after the stop timeout or at the next signal.

use std::time::Duration;

use hcsrun::client::Client;
use tokio::time::Instant;

/// docker stop's default grace period.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a requested stop is.
pub struct Stopper {
    timeout: Duration,
    /// When SIGKILL is due, once the shutdown was asked for.
    kill_at: Option<Instant>,
    killed: bool,
}

impl Stopper {
    /// Nothing asked yet; SIGKILL will follow a shutdown after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            kill_at: None,
            killed: false,
        }
    }

    /// A stop was asked for (a signal to hcsrun): shut down the first time,
    /// kill after that.
    pub async fn request(&mut self, client: &Client, id: &str) {
        if self.kill_at.is_none() {
            self.kill_at = Some(Instant::now() + self.timeout);
            send(client, id, 15).await;
        } else {
            self.kill(client, id).await;
        }
    }

    /// When SIGKILL is due, if it is still to come.
    pub fn kill_at(&self) -> Option<Instant> {
        self.kill_at.filter(|_| !self.killed)
    }

    /// Terminates the container (once).
    pub async fn kill(&mut self, client: &Client, id: &str) {
        if !self.killed {
            self.killed = true;
            send(client, id, 9).await;
        }
    }
}

async fn send(client: &Client, id: &str, signal: i32) {
    tracing::debug!(container = id, signal, "stopping on request");
    // An error means the container is gone already, or the service is:
    // either way its exit event ends the run.
    if let Err(e) = client.signal(id, signal).await {
        tracing::debug!(container = id, "signal {signal}: {e}");
    }
}

/// Sleeps until `at`, or forever without one.
pub async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
