//! `hcsrun stop [-t SECONDS] ID…` and `hcsrun kill [-s SIGNAL] ID…`: the
//! seed's Shutdown, Terminate and Signal.

use std::{process::ExitCode, time::Duration};

use anyhow::Context;
use hcs::ComputeSystem;
use hcsrun::service::ServiceChoice;
use nix::sys::signal::Signal;

use super::common::{block_on, for_each, running};
use crate::containers::Record;

/// Stop running containers: SIGTERM to the first process, SIGKILL after the
/// timeout.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun stop -t 2 web1")]
pub struct StopArgs {
    /// Seconds to wait before killing [default: the container's
    /// --stop-timeout, 10].
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    time: Option<u64>,
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// Send a signal to running containers' first process (KILL by default).
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun kill -s HUP web1")]
pub struct KillArgs {
    /// The signal: a name (KILL, SIGTERM, hup) or a number.
    #[arg(short, long, value_name = "SIGNAL", default_value = "KILL", value_parser = parse_signal)]
    signal: Signal,
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// A signal by name (with or without SIG, any case) or number.
fn parse_signal(text: &str) -> Result<Signal, String> {
    let bad = || format!("invalid signal: {text}");
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse().map_err(|_| bad())
}

/// Stops each container named.
pub fn stop(args: StopArgs, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    block_on(async {
        Ok(for_each(
            "stop",
            choice,
            &args.containers,
            |service, found| async move {
                // Stopping one that has stopped is not an error (docker's).
                if !found.status.is_running() {
                    return Ok(());
                }
                let timeout = args
                    .time
                    .or(found.record.as_ref().map(|r: &Record| r.stop_timeout))
                    .unwrap_or(10);
                let system = running(&*service, &found).await?;
                stop_system(&*system, Duration::from_secs(timeout)).await
            },
        )
        .await)
    })
}

/// Shutdown, then terminate once `timeout` has passed; returns once the
/// system has stopped (or a little after the kill, at worst).
pub async fn stop_system(system: &dyn ComputeSystem, timeout: Duration) -> anyhow::Result<()> {
    match system.shutdown().await {
        Err(e) if !e.is_pending() && !e.is_already_stopped() => return Err(e.into()),
        _ => {}
    }
    if system.wait_timeout(timeout).await.is_ok() {
        return Ok(());
    }
    match system.terminate().await {
        Err(e) if !e.is_pending() && !e.is_already_stopped() => return Err(e.into()),
        _ => {}
    }
    system
        .wait_timeout(Duration::from_secs(1))
        .await
        .with_context(|| format!("container {}: waiting for it to stop", system.id()))
}

/// Signals each container named.
pub fn kill(args: KillArgs, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    let signal = args.signal;
    block_on(async {
        Ok(for_each(
            "kill",
            choice,
            &args.containers,
            |service, found| async move {
                let system = running(&*service, &found).await?;
                let result = match signal {
                    // The seed's Signal: KILL terminates, TERM shuts down.
                    Signal::SIGKILL => system.terminate().await,
                    Signal::SIGTERM => system.shutdown().await,
                    other => {
                        let init = system.open_process(1).await?;
                        init.signal(other as i32).await
                    }
                };
                match result {
                    Err(e) if !e.is_pending() => Err(e.into()),
                    _ => Ok(()),
                }
            },
        )
        .await)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_read_as_docker_reads_them() {
        assert_eq!(parse_signal("KILL"), Ok(Signal::SIGKILL));
        assert_eq!(parse_signal("sighup"), Ok(Signal::SIGHUP));
        assert_eq!(parse_signal("usr1"), Ok(Signal::SIGUSR1));
        assert_eq!(parse_signal("15"), Ok(Signal::SIGTERM));
        assert_eq!(parse_signal("BOGUS"), Err("invalid signal: BOGUS".into()));
        assert!(parse_signal("99").is_err());
    }
}
