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
    /// End a process (SIGKILL). A process that has exited answers
    /// `PROCESS_ALREADY_STOPPED`.
    Kill {
        /// The process, in the system.
        pid: u32,
    },
    /// Deliver a signal to a process (`kill(2)` of its host pid, which
    /// cannot have been reused: the holder has not reaped it). A process
    /// that has exited answers `PROCESS_ALREADY_STOPPED`.
    Signal {
        /// The process, in the system.
        pid: u32,
        /// The signal number.
        signal: i32,
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
    /// SIGTERM to the system's pid 1; when it exits the kernel ends the
    /// rest, and the holder exits once it has reaped them.
    Shutdown,
    /// SIGKILL to the system's pid 1, with the same end.
    Terminate,
    /// The system's network namespace (its pid 1's), as a descriptor.
    NetworkNamespace,
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
    /// The system has stopped: its exit record is written and its cgroups
    /// removed; the connection closes next.
    SystemExited {
        /// It stopped without a shutdown or terminate asking it to: its
        /// pid 1 exited by itself.
        unexpected: bool,
        /// Nothing of the system is left but its record: its cgroups are
        /// gone, and the holder exits next with nothing more to do. False
        /// (or absent, from an older holder): the service removes what is
        /// left once it has reaped the holder.
        #[serde(default)]
        cleaned_up: bool,
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
        /// The process, in the system (its pid in the system's pid
        /// namespace: 1 for the first).
        pid: u32,
        /// Its pid in the holder's (the host's) pid namespace.
        host_pid: u32,
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
/// Descriptors, in order: the listening socket, the runtime directory, the
/// network namespace to share (if `shared_network`), then one
/// `cgroup.procs` per hierarchy, open for writing: the holder moves the
/// system's pid 1 into them, and each later process joins them itself
/// before it runs anything. The holder stays outside them.
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
    /// The system's configuration. It travels as the HCS document (Go's
    /// JSON rules: an empty list is `null`), read back as HCS reads it.
    #[serde(with = "hcs_document")]
    pub config: ContainerConfig,
    /// Whether the system joins another system's network namespace (its
    /// descriptor comes with the message).
    pub shared_network: bool,
    /// The system's cgroup directories, which the holder removes once the
    /// system has stopped; one `cgroup.procs` descriptor of each comes with
    /// the message.
    pub cgroups: Vec<CgroupDir>,
    /// Host directories the container must not see even where its root
    /// holds them (the host's root as a layer): the service's runtime
    /// directory, the CLI's scratch root, the image store. Each that
    /// exists inside the root gets an empty read-only tmpfs over it.
    #[serde(default)]
    pub hidden: Vec<String>,
}

/// One of a system's cgroups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupDir {
    /// Its directory.
    pub path: String,
    /// The cgroup v1 controllers of its hierarchy (`memory`, `devices`,
    /// ...); empty for cgroup v2's unified hierarchy, which has them all.
    pub controllers: Vec<String>,
}

impl CgroupDir {
    /// Whether this is the cgroup of `controller` (the unified one has
    /// every controller).
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.is_empty() || self.controllers.iter().any(|c| c == controller)
    }

    /// Whether this is cgroup v2's unified hierarchy.
    pub fn is_unified(&self) -> bool {
        self.controllers.is_empty()
    }
}

/// The holder's answer to [`Bootstrap`].
#[derive(Debug, Serialize, Deserialize)]
pub enum Ready {
    /// The system's pid 1 has built the root and waits for its process,
    /// inside the system's cgroups: the holder serves handles on its
    /// socket.
    Ok {
        /// The pid 1's pid in the holder's pid namespace.
        init_pid: u32,
    },
    /// Setting up failed; the holder exits.
    Failed(WireError),
}

/// The socket's descriptor number in a new holder.
pub const BOOTSTRAP_FD: i32 = 3;

/// What a spare holder (launched before its system's id is known) starts
/// with after its name: `(spare)`, padded so that the holder can write
/// `hcsrun-shim ID` over its command line in place once its bootstrap
/// names the system (the room an id of [`hcs::MAX_ID_LEN`] needs).
pub fn spare_argument() -> String {
    format!("{SPARE_MARK:<width$}", width = hcs::MAX_ID_LEN + 8)
}

/// How a spare holder's argument begins ([`spare_argument`]).
pub const SPARE_MARK: &str = "(spare)";

/// A `ContainerConfig` as its HCS document: `hcs_schema`'s encoding and
/// decoding, which agree on Go's `null` for an empty list where plain serde
/// would not.
mod hcs_document {
    use hcs_schema::ContainerConfig;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(config: &ContainerConfig, s: S) -> Result<S::Ok, S::Error> {
        let text = hcs_schema::to_string(config).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ContainerConfig, D::Error> {
        let text = String::deserialize(d)?;
        hcs_schema::from_str(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bootstrap_without_layers_reads_back() {
        let bootstrap = Bootstrap {
            id: "c".into(),
            runtime_id: "r".into(),
            system_dir: "/run/hcsrun/c".into(),
            config: ContainerConfig {
                system_type: "Container".into(),
                volume_path: "/bundle/rootfs".into(),
                ..Default::default()
            },
            shared_network: false,
            cgroups: Vec::new(),
            hidden: vec!["/run/hcsrun".into()],
        };
        let text = serde_json::to_string(&bootstrap).unwrap();
        let back: Bootstrap = serde_json::from_str(&text).unwrap();
        assert_eq!(back.config.volume_path, "/bundle/rootfs");
        assert!(back.config.layers.is_empty());
    }
}
