//! Errors of the client, each naming the container and the operation; the
//! seed's user-facing messages are kept word for word.

use std::{error::Error as StdError, fmt};

use hcs::HcsError;

use crate::translate::TranslateError;

/// A client call that failed: the operation, the container, and why.
#[derive(Debug)]
pub struct ClientError {
    /// The client's operation (`create`, `signal`, ...).
    pub operation: &'static str,
    /// The container's id.
    pub container: String,
    kind: Box<ClientErrorKind>,
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientErrorKind {
    /// The client knows no container of that id.
    #[error("invalid container")]
    InvalidContainer,
    /// The client already has a container of that id.
    #[error("container already exists")]
    AlreadyExists,
    /// `restore` of a container this client supervises.
    #[error("the container is running in this client; restore is for containers left behind")]
    Running,
    /// The spec and options break the translation contract.
    #[error(transparent)]
    Translate(TranslateError),
    /// The compute service failed.
    #[error(transparent)]
    Hcs(HcsError),
    /// Only Hyper-V containers can be paused (the seed's rule).
    #[error("cannot pause Windows Server Containers")]
    CannotPause,
    /// Only Hyper-V containers can be resumed (the seed's rule).
    #[error("cannot resume Windows Server Containers")]
    CannotResume,
    /// The seed's SignalProcess message.
    #[error("SignalProcess could not find process {0} in {1}")]
    SignalProcessNotFound(String, String),
    /// The seed's Resize message.
    #[error("Resize could not find containerID {0} to resize")]
    ResizeNotFound(String),
    /// The process to add breaks the Linux-spec rules (the field and why).
    #[error("process spec: {0}")]
    InvalidProcess(String),
    /// `add_process` with a friendly name already in use.
    #[error("process {0} already exists")]
    ProcessExists(String),
    /// The process lacks a stream the client needs (named).
    #[error("the process has no {0}")]
    MissingStdio(&'static str),
    /// The embedder's attach callback failed; the process was killed.
    #[error("attaching stdio failed: {0}")]
    Attach(Box<dyn StdError + Send + Sync>),
    /// A servicing container exited with a non-zero code: its id and the
    /// code.
    #[error("libcontainerd: servicing container {0} returned non-zero exit code {1}")]
    Servicing(String, u32),
    /// Windows containers have no checkpoints.
    #[error("Windows: Containers do not support checkpoints")]
    Checkpoints,
    /// The embedder failed to take a state change.
    #[error("the embedder refused the state change: {0}")]
    Backend(Box<dyn StdError + Send + Sync>),
    /// An I/O failure of the client's own.
    #[error("{0}")]
    Io(std::io::Error),
}

impl ClientError {
    pub(crate) fn new(operation: &'static str, container: &str, kind: ClientErrorKind) -> Self {
        Self {
            operation,
            container: container.to_owned(),
            kind: Box::new(kind),
        }
    }

    /// Why the call failed.
    pub fn kind(&self) -> &ClientErrorKind {
        &self.kind
    }

    pub(crate) fn hcs(operation: &'static str, container: &str, err: HcsError) -> Self {
        Self::new(operation, container, ClientErrorKind::Hcs(err))
    }

    /// The compute service's error underneath, if that is the cause.
    pub fn hcs_error(&self) -> Option<&HcsError> {
        match &*self.kind {
            ClientErrorKind::Hcs(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            // "invalid container: ID", as the seed says it.
            ClientErrorKind::InvalidContainer => {
                write!(
                    f,
                    "{}: invalid container: {}",
                    self.operation, self.container
                )
            }
            // These name the container and operation themselves.
            ClientErrorKind::Hcs(e) => write!(f, "{e}"),
            ClientErrorKind::Translate(e) => write!(f, "{e}"),
            kind => write!(f, "{} {}: {kind}", self.operation, self.container),
        }
    }
}

impl StdError for ClientError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &*self.kind {
            // Each of these is displayed in full in the message: their
            // causes come next, not they themselves (a chain printed as
            // `message: cause: ...` says each thing once).
            ClientErrorKind::Hcs(e) => e.source(),
            ClientErrorKind::Translate(e) => e.source(),
            ClientErrorKind::Attach(e) | ClientErrorKind::Backend(e) => e.source(),
            ClientErrorKind::Io(e) => e.source(),
            _ => None,
        }
    }
}

/// A client call's result.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The error and its causes, as `{:#}` of anyhow prints them.
    fn chain(err: &dyn StdError) -> String {
        let mut text = err.to_string();
        let mut next = err.source();
        while let Some(cause) = next {
            text += &format!(": {cause}");
            next = cause.source();
        }
        text
    }

    #[derive(Debug, thiserror::Error)]
    #[error("no terminal here")]
    struct NoTerminal;

    #[derive(Debug, thiserror::Error)]
    #[error("opening the terminal")]
    struct Opening(#[source] NoTerminal);

    #[test]
    fn each_cause_is_said_once() {
        let err = ClientError::new(
            "create",
            "c1",
            ClientErrorKind::Attach(Box::new(NoTerminal)),
        );
        assert_eq!(
            chain(&err),
            "create c1: attaching stdio failed: no terminal here"
        );
        let err = ClientError::new(
            "create",
            "c1",
            ClientErrorKind::Attach(Box::new(Opening(NoTerminal))),
        );
        assert_eq!(
            chain(&err),
            "create c1: attaching stdio failed: opening the terminal: no terminal here"
        );
        let err = ClientError::new(
            "start",
            "c1",
            ClientErrorKind::Backend("the embedder is gone".into()),
        );
        assert_eq!(
            chain(&err),
            "start c1: the embedder refused the state change: the embedder is gone"
        );
        let io = std::io::Error::other(Opening(NoTerminal));
        let err = ClientError::new("create", "c1", ClientErrorKind::Io(io));
        assert_eq!(
            chain(&err),
            "create c1: opening the terminal: no terminal here"
        );
    }
}
