//! What the client tells its embedder: state changes of containers and
//! their processes (the seed's `Backend.StateChanged`).

use std::{error::Error, fmt};

use async_trait::async_trait;

/// The friendly name of a container's first process.
pub const INIT_PROCESS: &str = "init";

/// The states the seed reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The container started; `pid` is its init process.
    Start,
    /// The container exited (its init process did, and the system stopped).
    Exit,
    /// A process added with `add_process` exited.
    ExitProcess,
    /// The container was paused.
    Pause,
    /// The container was resumed.
    Resume,
}

impl State {
    /// The seed's name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Start => "start-container",
            State::Exit => "exit",
            State::ExitProcess => "exit-process",
            State::Pause => "pause",
            State::Resume => "resume",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One state change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateInfo {
    /// What happened.
    pub state: State,
    /// The process the change is about (inside the container).
    pub pid: u32,
    /// The process's exit code, for the exits.
    pub exit_code: u32,
    /// The process's friendly name: [`INIT_PROCESS`] or `add_process`'s.
    pub process_id: String,
    /// The system has updates to install (on exit).
    pub update_pending: bool,
    /// Why the system could not be shut down cleanly after its init process
    /// exited, if it could not (the seed only logged this).
    pub shutdown_error: Option<String>,
    /// On [`State::Exit`]: a stop was asked for through the client
    /// ([`Client::signal`](super::Client::signal)) before the container
    /// exited (the seed's `manualStopRequested`), so an embedder can tell a
    /// stop it asked for from a crash.
    pub manual_stop_requested: bool,
    /// The container was lost with whatever supervised it (its holder was
    /// killed), so its init's exit code is unknown: what happened, in the
    /// host's terms.
    pub lost: Option<String>,
}

impl StateInfo {
    /// A change to `state`, with every other field empty.
    pub fn new(state: State) -> Self {
        Self {
            state,
            pid: 0,
            exit_code: 0,
            process_id: String::new(),
            update_pending: false,
            shutdown_error: None,
            manual_stop_requested: false,
            lost: None,
        }
    }
}

/// The exit code reported for a container found running by `restore`:
/// `1 << 31`, as the seed reports it.
pub const RESTORED_EXIT_CODE: u32 = 1 << 31;

/// The exit code reported when a process's own could not be read (the
/// seed's -1).
pub const UNKNOWN_EXIT_CODE: u32 = u32::MAX;

/// The embedder, told of every state change. Calls come from the client's
/// tasks without any of its locks held; a slow embedder delays only the
/// container the change is about.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Told of `info` about container `container_id`; an error is the
    /// client call's (`ClientErrorKind::Backend`).
    async fn state_changed(
        &self,
        container_id: &str,
        info: StateInfo,
    ) -> Result<(), Box<dyn Error + Send + Sync>>;
}
