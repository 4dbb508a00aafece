//! Why a spec is refused.

use std::{fmt::Display, io, path::PathBuf};

/// One field of a spec that hcsrun does not honour, or whose value is
/// invalid, and why. Prints as
/// `linux.intelRdt: not supported by hcsrun (Intel RDT)`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecFieldError {
    /// The field's path in the spec, as `linux.resources.memory.kernel` or
    /// `mounts[2].type`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl SpecFieldError {
    /// `field` is refused for `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// `field` is valid OCI, but hcsrun cannot honour it: `what` says what
    /// it is or why.
    pub fn unsupported(field: impl Into<String>, what: impl Display) -> Self {
        Self::new(field, format!("not supported by hcsrun ({what})"))
    }

    /// `field` is no field of the OCI runtime spec.
    pub fn unknown(field: impl Into<String>) -> Self {
        Self::new(field, "unknown field: not in the OCI runtime spec")
    }
}

/// A spec could not be read, or is refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read (or the bundle directory not found).
    #[error("reading {}", .path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The text is not JSON.
    #[error("invalid JSON{}", in_file(.path))]
    Json {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A field is refused.
    #[error(transparent)]
    Field(#[from] SpecFieldError),
}

impl SpecError {
    /// The refused field, if that is the error.
    pub fn field(&self) -> Option<&SpecFieldError> {
        match self {
            SpecError::Field(e) => Some(e),
            _ => None,
        }
    }
}

fn in_file(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" in {}", p.display()))
        .unwrap_or_default()
}

/// The result of checking one field.
pub(crate) type FieldResult<T> = Result<T, SpecFieldError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_field_then_reason() {
        let e = SpecFieldError::unsupported("linux.intelRdt", "Intel RDT");
        assert_eq!(
            e.to_string(),
            "linux.intelRdt: not supported by hcsrun (Intel RDT)"
        );
        let e = SpecError::from(SpecFieldError::unknown("linux.fooBar"));
        assert_eq!(
            e.to_string(),
            "linux.fooBar: unknown field: not in the OCI runtime spec"
        );
        assert_eq!(e.field().unwrap().field, "linux.fooBar");
    }
}
