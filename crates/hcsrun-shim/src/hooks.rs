//! The runtime spec's hooks: one runner for every hook, wherever it runs.
//!
//! A hook gets the container's state JSON on its stdin, only its own
//! environment, and its `timeout` (seconds) is enforced by killing it. A
//! failure names the hook and carries the exit status and what the hook
//! wrote to stderr. Front ends run `prestart`, `createRuntime`,
//! `poststart` and `poststop` themselves; the container's pid 1 runs
//! `createContainer` (in its namespaces, before `pivot_root`, so the path
//! resolves in the runtime's mount tree) and `startContainer` (after
//! `start`, just before `execve`, so the path resolves in the container)
//! from [`ContainerHooks`], as the runtime spec places them.

use std::{
    collections::BTreeMap,
    fmt,
    io::{Read, Write},
    os::{fd::AsRawFd, unix::process::CommandExt},
    path::Path,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

pub use hcsrun_linux_spec::Hook;
use serde_json::json;

/// A hook that could not run or did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookError {
    /// `hooks.KIND PATH`.
    pub hook: String,
    /// What went wrong: the start failure, the timeout, or the exit status
    /// and the hook's stderr.
    pub cause: String,
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.hook, self.cause)
    }
}

impl std::error::Error for HookError {}

/// What a hook is told about the container (the runtime spec's state),
/// less the status and pid, which depend on when it runs.
#[derive(Debug, Clone, Default)]
pub struct HookState {
    /// The container's id.
    pub id: String,
    /// The bundle's absolute path.
    pub bundle: String,
    /// The spec's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl HookState {
    /// The state JSON with `status` and the host `pid`.
    pub fn json(&self, status: &str, pid: u32) -> String {
        json!({
            "ociVersion": "1.0.2",
            "id": self.id,
            "pid": pid,
            "status": status,
            "bundle": self.bundle,
            "annotations": self.annotations,
        })
        .to_string()
    }
}

/// The hooks the container's pid 1 runs itself.
#[derive(Debug, Clone, Default)]
pub struct ContainerHooks {
    /// `createContainer`: after the root is built, before `pivot_root`.
    pub create: Vec<Hook>,
    /// `startContainer`: after `start`, before the program's `execve`.
    pub start: Vec<Hook>,
    /// Their state.
    pub state: HookState,
}

impl ContainerHooks {
    /// Whether there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.start.is_empty()
    }
}

/// Runs `list` in order (hooks of `kind`), stopping at the first failure;
/// each starts in `cwd` when given.
pub fn run_all(
    kind: &str,
    list: &[Hook],
    state: &str,
    cwd: Option<&Path>,
) -> Result<(), HookError> {
    list.iter().try_for_each(|hook| run(kind, hook, state, cwd))
}

/// Runs one hook of `kind` with `state` on its stdin.
pub fn run(kind: &str, hook: &Hook, state: &str, cwd: Option<&Path>) -> Result<(), HookError> {
    let path = hook.path();
    let error = |cause: String| HookError {
        hook: format!("hooks.{kind} {}", path.display()),
        cause,
    };
    let mut command = Command::new(path);
    if let Some((arg0, rest)) = hook.args().as_deref().and_then(<[String]>::split_first) {
        command.arg0(arg0).args(rest);
    }
    command.env_clear();
    for entry in hook.env().iter().flatten() {
        if let Some((k, v)) = entry.split_once('=') {
            command.env(k, v);
        }
    }
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| error(e.to_string()))?;
    // Neither the state written nor the hook's stderr read may block: a
    // hook that reads nothing, or writes much, still meets its timeout.
    let mut stdin = child.stdin.take();
    let mut stderr_pipe = child.stderr.take();
    for fd in [
        stdin.as_ref().map(|f| f.as_raw_fd()),
        stderr_pipe.as_ref().map(|f| f.as_raw_fd()),
    ]
    .into_iter()
    .flatten()
    {
        // SAFETY: F_SETFL on a descriptor this function owns.
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
    }
    let mut unsent = state.as_bytes();
    let mut stderr = Vec::new();
    let timeout = hook.timeout().filter(|t| *t > 0);
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        if let Some(pipe) = &mut stdin {
            match pipe.write(unsent) {
                Ok(n) => unsent = &unsent[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                // A hook that does not read its stdin is not a failure.
                Err(_) => unsent = &[],
            }
            if unsent.is_empty() {
                stdin = None;
            }
        }
        if let Some(pipe) = &mut stderr_pipe {
            if !drain(pipe, &mut stderr) {
                stderr_pipe = None;
            }
        }
        if let Some(status) = child.try_wait().map_err(|e| error(e.to_string()))? {
            break status;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(error(format!(
                "timed out after {} s",
                timeout.unwrap_or_default()
            )));
        }
        thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    if let Some(pipe) = &mut stderr_pipe {
        drain(pipe, &mut stderr);
    }
    let stderr = String::from_utf8_lossy(&stderr);
    Err(error(format!("{status}: {}", stderr.trim())))
}

/// Reads what `pipe` has now into `kept` (at most [`STDERR_KEPT`] bytes
/// kept); false at its end.
fn drain(pipe: &mut std::process::ChildStderr, kept: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// How much of a failing hook's stderr its error carries.
const STDERR_KEPT: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(script: &str, timeout: Option<i64>) -> Hook {
        serde_json::from_value(serde_json::json!({
            "path": "/bin/sh", "args": ["sh", "-c", script], "timeout": timeout
        }))
        .unwrap()
    }

    #[test]
    fn a_hook_that_reads_nothing_still_times_out_on_a_large_state() {
        let state = "x".repeat(1 << 20);
        let started = Instant::now();
        let e = run("prestart", &hook("sleep 30", Some(1)), &state, None).unwrap_err();
        assert!(e.cause.contains("timed out after 1 s"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_hook_writing_much_to_stderr_neither_blocks_nor_floods_the_error() {
        let script = "yes e | head -c 1000000 >&2; exit 3";
        let e = run("poststart", &hook(script, Some(20)), "{}", None).unwrap_err();
        assert!(
            e.cause.starts_with("exit status: 3: e\ne\n"),
            "{}",
            &e.cause[..40]
        );
        assert!(e.cause.len() <= STDERR_KEPT + 64, "{}", e.cause.len());
        assert!(run("poststart", &hook("cat >/dev/null", None), "{}", None).is_ok());
    }
}
