//! The shim's failures, and the ttrpc status each is answered with (which
//! containerd turns into its errdefs: `NotFound`, `FailedPrecondition`,
//! `NotImplemented`...).

use containerd_shim::protos::ttrpc::{self, Code};

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    #[error("container {0}: not found")]
    NoContainer(String),
    #[error("container {0}: process {1}: not found")]
    NoProcess(String, String),
    #[error("{0}: already exists")]
    Exists(String),
    #[error("{0}")]
    State(String),
    #[error("process already finished")]
    Finished,
    #[error("{0}")]
    Invalid(String),
    #[error("hcsrun shim: {0} is not supported")]
    Unsupported(&'static str),
    #[error("{0}")]
    Client(#[from] hcsrun::client::ClientError),
    #[error("{0}")]
    Other(String),
}

impl ShimError {
    /// Any other failure, `e` in `context`.
    pub fn other(context: &str, e: impl std::fmt::Display) -> Self {
        ShimError::Other(format!("{context}: {e}"))
    }

    fn code(&self) -> Code {
        match self {
            ShimError::NoContainer(_) | ShimError::NoProcess(..) | ShimError::Finished => {
                Code::NOT_FOUND
            }
            ShimError::Exists(_) => Code::ALREADY_EXISTS,
            ShimError::State(_) => Code::FAILED_PRECONDITION,
            ShimError::Invalid(_) => Code::INVALID_ARGUMENT,
            ShimError::Unsupported(_) => Code::UNIMPLEMENTED,
            ShimError::Client(e) => match e.kind() {
                hcsrun::client::ClientErrorKind::Translate(_)
                | hcsrun::client::ClientErrorKind::InvalidProcess(_) => Code::INVALID_ARGUMENT,
                hcsrun::client::ClientErrorKind::InvalidContainer => Code::NOT_FOUND,
                hcsrun::client::ClientErrorKind::AlreadyExists
                | hcsrun::client::ClientErrorKind::ProcessExists(_) => Code::ALREADY_EXISTS,
                _ => Code::UNKNOWN,
            },
            ShimError::Other(_) => Code::UNKNOWN,
        }
    }
}

impl From<ShimError> for ttrpc::Error {
    fn from(e: ShimError) -> Self {
        // The whole chain: the client's errors keep their causes as sources.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let more = s.to_string();
            if !text.contains(&more) {
                text = format!("{text}: {more}");
            }
            source = s.source();
        }
        ttrpc::Error::RpcStatus(ttrpc::get_status(e.code(), text))
    }
}

/// The shim's results.
pub type Result<T, E = ShimError> = std::result::Result<T, E>;
