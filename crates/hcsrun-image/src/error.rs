//! The crate's error: the operation, what it was done to (an image, a layer,
//! an archive), and what went wrong.

use std::{fmt, io};

use crate::digest::Digest;

/// An image store error: `unpacking layer sha256:… of busybox:latest: entry
/// "../x": the path leaves the layer`.
#[derive(Debug)]
pub struct Error {
    /// What was being done: `pulling`, `unpacking layer`, `loading`, ...
    pub op: &'static str,
    /// What it was being done to: a reference, a layer digest, a path.
    pub subject: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A layer entry would land outside its layer, or is malformed.
    #[error("entry {path:?}: {reason}")]
    Unsafe {
        /// The entry's path as the archive names it.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A layer holds a device node other than the overlay whiteout.
    #[error(
        "entry {path:?}: {kind} device {major}:{minor} refused: layers may hold FIFOs and the \
         overlay whiteout (character device 0:0), no other device nodes"
    )]
    Device {
        /// The entry's path.
        path: String,
        /// `character` or `block`.
        kind: &'static str,
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A bound of [`crate::Limits`] was exceeded.
    #[error("{what} exceeds the limit of {max} (Limits::{field})")]
    Limit {
        /// What was counted: `the layer's decompressed size in bytes`, ...
        what: String,
        /// The field of `Limits` that holds the bound.
        field: &'static str,
        /// The bound.
        max: u64,
    },
    /// Content does not have the digest it was named by.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest the content was named by.
        expected: Digest,
        /// The content's digest.
        actual: Digest,
    },
    /// Content does not have the size its descriptor gives.
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The descriptor's size.
        expected: u64,
        /// The content's size.
        actual: u64,
    },
    /// A manifest, config, index or archive is malformed.
    #[error("{0}")]
    Invalid(String),
    /// No such image, tag or platform.
    #[error("{0}")]
    NotFound(String),
    /// The operation would break another image (a layer or image in use).
    #[error("{0}")]
    Conflict(String),
    /// Something the store does not support (schema 1 manifests, foreign layers).
    #[error("{0}")]
    Unsupported(String),
    /// The registry could not be reached or refused the request.
    #[error("registry request failed")]
    Registry(#[source] Box<oci_client::errors::OciDistributionError>),
    /// Something went wrong with one layer of an image.
    #[error("layer {layer}: {kind}")]
    InLayer {
        /// The layer's blob digest (or diff id, in a `docker save` archive).
        layer: Digest,
        /// What went wrong.
        kind: Box<ErrorKind>,
    },
    /// A system call or tool failed.
    #[error("{what}")]
    Io {
        /// What was being done (`creating …`, `running mkfs.ext4`).
        what: String,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// An error of `kind` while doing `op` to `subject`.
    pub fn new(op: &'static str, subject: impl fmt::Display, kind: ErrorKind) -> Self {
        Error {
            op,
            subject: subject.to_string(),
            kind,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.subject, self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.kind.innermost())
    }
}

impl ErrorKind {
    /// The error itself, or for [`ErrorKind::InLayer`] the layer's error.
    pub fn innermost(&self) -> &ErrorKind {
        match self {
            ErrorKind::InLayer { kind, .. } => kind.innermost(),
            other => other,
        }
    }

    /// An I/O error while doing `what`.
    pub fn io(what: impl fmt::Display, source: io::Error) -> Self {
        ErrorKind::Io {
            what: what.to_string(),
            source,
        }
    }
}

/// `.map_err(io_err("creating x"))`.
pub(crate) fn io_err(what: impl fmt::Display) -> impl FnOnce(io::Error) -> ErrorKind {
    move |e| ErrorKind::io(what, e)
}
