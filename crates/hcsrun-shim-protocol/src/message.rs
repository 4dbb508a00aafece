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
    /// Names the reply; 0 for requests that get none
    /// ([`Op::ReleaseProcess`]).
    pub id: u64,
    /// What is asked.
    pub op: Op,
}

/// What a handle asks of the holder.
#[derive(Debug, Serialize, Deserialize)]
pub enum Op {
    /// Start a process.
    CreateProcess {
        /// The HCS `ProcessConfig` document.
        config: String,
    },
    /// Watch an existing process.
    OpenProcess {
        /// The process, in the system.
        pid: u32,
    },
    /// Stop watching a process (no reply).
    ReleaseProcess {
        /// The process, in the system.
        pid: u32,
    },
    /// End a process (SIGKILL).
    Kill {
        /// The process, in the system.
        pid: u32,
    },
    /// Resize a process's console.
    ResizeConsole {
        /// The process, in the system.
        pid: u32,
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// Close a process's stdin: the pipe's write end the holder keeps, or
    /// end-of-file on its console.
    CloseStdin {
        /// The process, in the system.
        pid: u32,
    },
    /// Ask every process to end (SIGTERM); the holder exits once they have.
    Shutdown,
    /// End every process (SIGKILL); the holder exits once they have.
    Terminate,
    /// The system's network namespace, as a descriptor.
    NetworkNamespace,
    /// Replies once every process of the system is in its cgroups.
    WaitCgroups,
}

/// A message from the holder.
#[derive(Debug, Serialize, Deserialize)]
pub enum Message {
    /// The answer to the request with `id`.
    Reply {
        /// The request's id.
        id: u64,
        /// What became of it.
        result: Result<Reply, WireError>,
    },
    /// A watched process exited.
    ProcessExited {
        /// The process, in the system.
        pid: u32,
        /// Its exit code (128 + the signal that killed it).
        exit_code: u32,
    },
    /// The system is stopping; the connection closes next.
    SystemExited {
        /// It stopped without a shutdown or terminate asking it to (the
        /// holder sends `false`: it stops only when asked).
        unexpected: bool,
    },
}

/// The holder's answer to a request that succeeded.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// Done, nothing to report.
    Done,
    /// The request goes on in the background (shutdown, terminate).
    Pending,
    /// A process; its descriptors come with the message, in the order
    /// stdin, stdout, stderr, for those present.
    Process {
        /// The process, in the system.
        pid: u32,
        /// Which of its stdio ends come with the message.
        stdio: StdioLayout,
        /// Its exit code, if it has exited already.
        exit_code: Option<u32>,
    },
    /// The descriptor comes with the message.
    NetworkNamespace,
}

/// Which of a process's stdio ends a message carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StdioLayout {
    /// The write end of its stdin (or its console).
    pub stdin: bool,
    /// The read end of its stdout (or its console).
    pub stdout: bool,
    /// The read end of its stderr.
    pub stderr: bool,
}

impl StdioLayout {
    /// How many descriptors that is.
    pub fn count(self) -> usize {
        usize::from(self.stdin) + usize::from(self.stdout) + usize::from(self.stderr)
    }
}

/// An HCS error code and what went wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// The HCS error code (`hcs::ErrorCode`).
    pub code: u32,
    /// The Linux detail: what was being done, and the errno's text.
    pub message: String,
}

/// The first message to a new holder, on its bootstrap socket (fd 3).
/// Descriptors, in order: the listening socket, the runtime directory, then
/// one `cgroup.procs` per hierarchy, which the holder joins: the system's
/// processes are born in its cgroups.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bootstrap {
    /// The system's id.
    pub id: String,
    /// The system's runtime id: the holder removes the system's directory
    /// only if its record still carries it.
    pub runtime_id: String,
    /// The system's directory (a path the holder mounts its private scratch
    /// space over).
    pub system_dir: String,
    /// The system's configuration.
    pub config: ContainerConfig,
    /// Whether the holder runs in another system's network namespace.
    pub shared_network: bool,
    /// How many `cgroup.procs` descriptors come with the message.
    pub cgroups: usize,
    /// Join the cgroups before anything runs (the system has limits);
    /// otherwise the join happens in the background.
    pub join_cgroups_at_start: bool,
}

/// The holder's answer to [`Bootstrap`].
#[derive(Debug, Serialize, Deserialize)]
pub enum Ready {
    /// The root is built: the holder serves handles on its socket.
    Ok,
    /// Setting up failed; the holder exits.
    Failed(WireError),
}

/// The socket's descriptor number in a new holder.
pub const BOOTSTRAP_FD: i32 = 3;
