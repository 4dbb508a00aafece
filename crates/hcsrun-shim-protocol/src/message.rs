//! What the service and a system's holder say to each other.
//!
//! The holder listens on `<runtime dir>/<id>/shim.sock`. Each connection is
//! a handle: requests carry an id and get one reply with that id; process
//! exits are pushed to the connections watching the process.

use hcs_schema::ContainerConfig;
use serde::{Deserialize, Serialize};

/// A request from a handle to the holder.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub op: Op,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Op {
    /// Start a process; the config is the HCS `ProcessConfig` document.
    CreateProcess {
        config: String,
    },
    /// Watch an existing process.
    OpenProcess {
        pid: u32,
    },
    /// Stop watching a process.
    ReleaseProcess {
        pid: u32,
    },
    Kill {
        pid: u32,
    },
    ResizeConsole {
        pid: u32,
        width: u16,
        height: u16,
    },
    CloseStdin {
        pid: u32,
    },
    Shutdown,
    Terminate,
    /// The system's network namespace, as a descriptor.
    NetworkNamespace,
    /// Replies once every process of the system is in its cgroups.
    WaitCgroups,
}

/// A message from the holder.
#[derive(Debug, Serialize, Deserialize)]
pub enum Message {
    Reply {
        id: u64,
        result: Result<Reply, WireError>,
    },
    /// A watched process exited.
    ProcessExited { pid: u32, exit_code: u32 },
    /// The system is stopping; the connection closes next.
    SystemExited { unexpected: bool },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    Done,
    /// The request goes on in the background (shutdown, terminate).
    Pending,
    /// A process; its descriptors come with the message, in the order
    /// stdin, stdout, stderr, for those present.
    Process {
        pid: u32,
        stdio: StdioLayout,
        exit_code: Option<u32>,
    },
    /// The descriptor comes with the message.
    NetworkNamespace,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StdioLayout {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl StdioLayout {
    pub fn count(self) -> usize {
        usize::from(self.stdin) + usize::from(self.stdout) + usize::from(self.stderr)
    }
}

/// An HCS error code and what went wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    pub code: u32,
    pub message: String,
}

/// The first message to a new holder, on its bootstrap socket (fd 3).
/// Descriptors, in order: the listening socket, the runtime directory, then
/// one `cgroup.procs` per hierarchy, which the holder joins: the system's
/// processes are born in its cgroups.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bootstrap {
    pub id: String,
    pub runtime_id: String,
    /// The system's directory (a path the holder mounts its private scratch
    /// space over).
    pub system_dir: String,
    pub config: ContainerConfig,
    /// Whether the holder runs in another system's network namespace.
    pub shared_network: bool,
    pub cgroups: usize,
    /// Join the cgroups before anything runs (the system has limits);
    /// otherwise the join happens in the background.
    pub join_cgroups_at_start: bool,
}

/// The holder's answer to [`Bootstrap`].
#[derive(Debug, Serialize, Deserialize)]
pub enum Ready {
    Ok,
    Failed(WireError),
}

/// The socket's descriptor number in a new holder.
pub const BOOTSTRAP_FD: i32 = 3;
