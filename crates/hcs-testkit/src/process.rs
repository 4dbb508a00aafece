//! Running a process of a system to its end.

use std::{fs, io::Read, os::fd::OwnedFd, time::Duration};

use hcs::{ComputeSystem, Stdio};
use hcs_schema::ProcessConfig;

/// A shell command as a Windows command line, with stdout and stderr
/// pipes.
pub fn sh(script: &str) -> ProcessConfig {
    ProcessConfig {
        command_line: hcs::cmdline::join(&["sh", "-c", script]),
        create_std_out_pipe: true,
        create_std_err_pipe: true,
        ..Default::default()
    }
}

/// Everything a descriptor yields until end of file, read on a thread.
pub async fn read_all(fd: Option<OwnedFd>) -> String {
    let Some(fd) = fd else { return String::new() };
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        // A console's master reads EIO once the other side has closed.
        let _ = fs::File::from(fd).read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

/// Runs `config` to completion: (exit code, stdout, stderr).
pub async fn run(system: &dyn ComputeSystem, config: &ProcessConfig) -> (u32, String, String) {
    let process = system.create_process(config).await.unwrap();
    let Stdio { stdout, stderr, .. } = process.take_stdio().unwrap();
    let (out, err) = tokio::join!(read_all(stdout), read_all(stderr));
    process.wait_timeout(Duration::from_secs(60)).await.unwrap();
    let code = process.exit_code().await.unwrap();
    process.close().await.unwrap();
    (code, out, err)
}

/// Polls `check` until it holds or `timeout` passes; whether it held.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}
