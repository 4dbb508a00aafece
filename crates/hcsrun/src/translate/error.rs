//! Why a spec could not be translated. Messages that the seed (moby's
//! `libcontainerd`) gives are kept word for word.

use std::{error::Error as StdError, fmt, io};

/// The operation a translation serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Building the `ContainerConfig` (the seed's `Create`).
    Create,
    /// Building the init `ProcessConfig` (the seed's `start`).
    Start,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "creating",
            Operation::Start => "starting",
        })
    }
}

/// A spec and its options break the translation contract. Prints as
/// `creating container <id>: <reason>`; the cause of an I/O or compute-service
/// failure is its [`source`](StdError::source).
#[derive(Debug)]
pub struct TranslateError {
    /// The container's id.
    pub id: String,
    /// Creating the container, or starting its init process.
    pub op: Operation,
    /// What was wrong.
    pub kind: TranslateErrorKind,
}

impl TranslateError {
    pub(crate) fn new(id: &str, op: Operation, kind: TranslateErrorKind) -> Self {
        Self {
            id: id.to_owned(),
            op,
            kind,
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> &TranslateErrorKind {
        &self.kind
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} container {}: {}", self.op, self.id, self.kind)
    }
}

impl StdError for TranslateError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.kind.source()
    }
}

/// What was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranslateErrorKind {
    /// Neither the options nor `windows.layerFolders` name a read-only layer.
    #[error("no layer option or paths were supplied to the runtime")]
    NoLayers,
    /// The spec is for Linux but no LCOW option says how to run it.
    #[error("lcow option must be supplied to the runtime")]
    LcowOptionMissing,
    /// Hyper-V isolation, and no layer has a `UtilityVM` folder.
    #[error("utility VM image could not be found")]
    UtilityVmNotFound,
    /// Looking for a `UtilityVM` folder failed for a reason other than its
    /// absence.
    #[error("looking for the utility VM image at {path}")]
    UtilityVmProbe {
        /// Where the folder was looked for.
        path: String,
        /// Why looking failed.
        #[source]
        source: io::Error,
    },
    /// Named pipe mounts need Windows build 16210 or later.
    #[error("named pipe mounts are not supported on this version of Windows")]
    NamedPipesUnsupportedBuild {
        /// The host's Windows build.
        build: u32,
    },
    /// The compute service cannot map named pipes at all.
    #[error("named pipe mounts are not supported by the {service} compute service")]
    NamedPipesUnsupportedService {
        /// The service's name.
        service: String,
    },
    /// The compute service could not name a layer.
    #[error("deriving the ID of layer {path}")]
    LayerId {
        /// The layer folder.
        path: String,
        /// What the compute service said.
        #[source]
        source: Box<hcs::HcsError>,
    },
    /// The spec has no `process` to start.
    #[error("the spec has no process")]
    NoProcess,
    /// A Linux container's spec, or its options, asks for what this path
    /// cannot do; the field is named.
    #[error(transparent)]
    LinuxSpec(hcsrun_linux_spec::SpecFieldError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(op: Operation, kind: TranslateErrorKind) -> String {
        TranslateError::new("c1", op, kind).to_string()
    }

    #[test]
    fn messages_name_the_container_and_operation_and_keep_the_seeds_words() {
        use TranslateErrorKind::*;
        let create = |k| message(Operation::Create, k);
        assert_eq!(
            create(NoLayers),
            "creating container c1: no layer option or paths were supplied to the runtime"
        );
        assert_eq!(
            create(LcowOptionMissing),
            "creating container c1: lcow option must be supplied to the runtime"
        );
        assert_eq!(
            create(UtilityVmNotFound),
            "creating container c1: utility VM image could not be found"
        );
        assert_eq!(
            create(NamedPipesUnsupportedBuild { build: 14393 }),
            "creating container c1: named pipe mounts are not supported on this version of Windows"
        );
        assert_eq!(
            create(NamedPipesUnsupportedService {
                service: "test".into()
            }),
            "creating container c1: named pipe mounts are not supported by the test compute service"
        );
        assert_eq!(
            message(Operation::Start, NoProcess),
            "starting container c1: the spec has no process"
        );
    }

    #[test]
    fn causes_are_sources_not_repeated_in_the_message() {
        let e = TranslateError::new(
            "c1",
            Operation::Create,
            TranslateErrorKind::UtilityVmProbe {
                path: "/l/UtilityVM".into(),
                source: io::Error::from(io::ErrorKind::PermissionDenied),
            },
        );
        assert_eq!(
            e.to_string(),
            "creating container c1: looking for the utility VM image at /l/UtilityVM"
        );
        assert_eq!(e.source().unwrap().to_string(), "permission denied");
    }
}
