//! The compute service hcsrun drives, chosen by name: `linux`, the Linux
//! compute service (the default on Linux); `vmcompute`, Windows' own
//! `vmcompute.dll` (the default elsewhere); or `vmcompute=PATH`, any library
//! with its ABI (such as hcsrun's `libvmcompute.so`). This module is the one
//! place that turns a choice into a service: [`open`] for commands that run
//! systems, [`facts`] for those that only need to know what the service
//! would do (translation, layer GUIDs).

use std::{fmt, path::PathBuf, str::FromStr, sync::Arc};

use hcs::{ComputeService, ErrorKind, Guid, HcsError, ServiceFeatures};
use hcs_vmcompute::VmComputeService;

/// A compute service, by name (`--service` on the command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceChoice {
    /// The Linux compute service (`hcs-linux`).
    Linux,
    /// `vmcompute.dll`, or the library at the path.
    VmCompute(Option<PathBuf>),
}

impl Default for ServiceChoice {
    /// The platform's own: `linux` on Linux, `vmcompute` elsewhere.
    fn default() -> Self {
        if cfg!(target_os = "linux") {
            ServiceChoice::Linux
        } else {
            ServiceChoice::VmCompute(None)
        }
    }
}

/// A service name that is none of `linux`, `vmcompute`, `vmcompute=PATH`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseChoiceError(String);

impl FromStr for ServiceChoice {
    type Err = ParseChoiceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            None if s == "linux" => Ok(ServiceChoice::Linux),
            None if s == "vmcompute" => Ok(ServiceChoice::VmCompute(None)),
            Some(("vmcompute", "")) => Err(ParseChoiceError(
                "vmcompute=PATH needs a library path".into(),
            )),
            Some(("vmcompute", path)) => Ok(ServiceChoice::VmCompute(Some(path.into()))),
            _ => Err(ParseChoiceError(format!(
                "unknown compute service {s:?}: expected linux, vmcompute or vmcompute=PATH"
            ))),
        }
    }
}

impl fmt::Display for ServiceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceChoice::Linux => f.write_str("linux"),
            ServiceChoice::VmCompute(None) => f.write_str("vmcompute"),
            ServiceChoice::VmCompute(Some(path)) => write!(f, "vmcompute={}", path.display()),
        }
    }
}

/// Why a compute service could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The service refused: its library or its holder is missing.
    #[error("opening the {choice} compute service")]
    Service {
        /// The service asked for.
        choice: ServiceChoice,
        /// What it said.
        #[source]
        source: Box<HcsError>,
    },
    /// The Linux compute service was asked for on another system.
    #[error("the linux compute service runs only on Linux; use --service vmcompute")]
    LinuxOnly,
}

/// The compute service `choice` names, ready to create systems.
pub fn open(choice: &ServiceChoice) -> Result<Arc<dyn ComputeService>, OpenError> {
    open_as(choice, false)
}

/// [`open`], for a caller about to start one system: the Linux compute
/// service launches that system's holder at once, so that it loads while
/// the caller still prepares the configuration (see
/// [`hcs_linux::LinuxComputeService::prelaunch_holder`]).
pub fn open_to_start(choice: &ServiceChoice) -> Result<Arc<dyn ComputeService>, OpenError> {
    open_as(choice, true)
}

fn open_as(choice: &ServiceChoice, to_start: bool) -> Result<Arc<dyn ComputeService>, OpenError> {
    let failed = |source| OpenError::Service {
        choice: choice.clone(),
        source: Box::new(source),
    };
    match choice {
        ServiceChoice::Linux => linux(to_start).map_err(|e| e.map_or(OpenError::LinuxOnly, failed)),
        ServiceChoice::VmCompute(path) => {
            let service = match path {
                Some(path) => VmComputeService::load(path),
                None => VmComputeService::new(),
            };
            Ok(Arc::new(service.map_err(failed)?))
        }
    }
}

/// The Linux compute service with its default settings, launching a spare
/// holder if `to_start`; `Err(None)` off Linux.
#[cfg(target_os = "linux")]
fn linux(to_start: bool) -> Result<Arc<dyn ComputeService>, Option<HcsError>> {
    let service = hcs_linux::LinuxComputeService::new()?;
    if to_start {
        service.prelaunch_holder();
    }
    Ok(Arc::new(service))
}

#[cfg(not(target_os = "linux"))]
fn linux(_to_start: bool) -> Result<Arc<dyn ComputeService>, Option<HcsError>> {
    Err(None)
}

/// What commands that run nothing (translation) need of a service: its
/// features and its layer GUIDs.
pub struct ServiceFacts {
    features: ServiceFeatures,
    guids: Guids,
}

enum Guids {
    /// The Linux service's own: no holder binary or root needed for these.
    Linux,
    Service(Arc<dyn ComputeService>),
    /// The library could not be loaded: why.
    Unavailable(String),
}

impl ServiceFacts {
    /// The service's features.
    pub fn features(&self) -> &ServiceFeatures {
        &self.features
    }

    /// The GUID the service assigns to a layer folder name.
    pub fn name_to_guid(&self, name: &str) -> hcs::Result<Guid> {
        match &self.guids {
            Guids::Linux => Ok(hcs_linux::name_to_guid(name)),
            Guids::Service(service) => service.name_to_guid(name),
            Guids::Unavailable(why) => Err(HcsError::service(
                "Load",
                ErrorKind::Unavailable(why.clone()),
            )),
        }
    }
}

/// How a stopped system ended, as its compute service recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitSummary {
    /// The first process's exit code (128 + the signal that killed it), or
    /// the seed's restore code, 2147483648, when nobody saw the end.
    pub exit_code: u32,
    /// When it stopped (RFC 3339); `None` when nobody saw the end.
    pub finished: Option<String>,
    /// The OOM killer killed one of its processes.
    pub oom_killed: bool,
    /// How it ended: `exited`, `shutdown`, `terminate` or `lost`.
    pub how: String,
}

/// How system `id` of the service `choice` names ended, once it has
/// stopped: `None` while it runs or before it ran, and from services that
/// keep no exit records (vmcompute: a stopped system is gone there once
/// its last handle closes). Reading the record needs no holder binary and
/// never removes it.
pub async fn exit_record(
    choice: &ServiceChoice,
    id: &str,
) -> Result<Option<ExitSummary>, HcsError> {
    if *choice != ServiceChoice::Linux {
        return Ok(None);
    }
    linux_exit_record(id).await
}

#[cfg(target_os = "linux")]
async fn linux_exit_record(id: &str) -> Result<Option<ExitSummary>, HcsError> {
    // Records are read, never run: the holder's path is not looked up.
    let service = hcs_linux::LinuxComputeService::builder()
        .shim(hcs_linux::SHIM_NAME)
        .build()?;
    Ok(service.exit_record(id).await?.map(|record| ExitSummary {
        exit_code: record.exit_code,
        finished: (!record.finished.is_zero()).then(|| record.finished.to_string()),
        oom_killed: record.oom_killed,
        how: format!("{:?}", record.how).to_lowercase(),
    }))
}

#[cfg(not(target_os = "linux"))]
async fn linux_exit_record(_id: &str) -> Result<Option<ExitSummary>, HcsError> {
    Ok(None)
}

/// The facts of `choice`, without running anything: the Linux service's
/// need no root and no holder binary. A vmcompute library that cannot be
/// loaded still has Windows' features; asking it for a GUID gives the
/// reason.
pub fn facts(choice: &ServiceChoice) -> ServiceFacts {
    if *choice == ServiceChoice::Linux {
        return ServiceFacts {
            features: hcs_linux::features(),
            guids: Guids::Linux,
        };
    }
    match open(choice) {
        Ok(service) => ServiceFacts {
            features: service.features(),
            guids: Guids::Service(service),
        },
        Err(e) => ServiceFacts {
            features: VmComputeService::default_features(),
            guids: Guids::Unavailable(match &e {
                OpenError::Service { source, .. } => match source.kind() {
                    ErrorKind::Unavailable(why) => why.clone(),
                    _ => format!("{e}: {source}"),
                },
                OpenError::LinuxOnly => e.to_string(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_print_back() {
        for text in [
            "linux",
            "vmcompute",
            "vmcompute=/opt/lib/libvmcompute.so",
            "vmcompute=a=b",
        ] {
            let choice: ServiceChoice = text.parse().unwrap();
            assert_eq!(choice.to_string(), text);
        }
        assert_eq!(
            "vmcompute=C:\\x.dll".parse::<ServiceChoice>().unwrap(),
            ServiceChoice::VmCompute(Some("C:\\x.dll".into()))
        );
        assert_eq!(
            "windows".parse::<ServiceChoice>().unwrap_err().to_string(),
            "unknown compute service \"windows\": expected linux, vmcompute or vmcompute=PATH"
        );
        assert!("linux=x".parse::<ServiceChoice>().is_err());
        assert!("vmcompute="
            .parse::<ServiceChoice>()
            .unwrap_err()
            .to_string()
            .contains("needs a library path"));
    }

    #[test]
    fn the_default_is_the_platforms_own() {
        let expected = if cfg!(target_os = "linux") {
            ServiceChoice::Linux
        } else {
            ServiceChoice::VmCompute(None)
        };
        assert_eq!(ServiceChoice::default(), expected);
    }

    #[test]
    fn linux_facts_need_nothing_running() {
        let facts = facts(&ServiceChoice::Linux);
        assert_eq!(facts.features().service, "linux");
        assert!(facts.features().needs_root);
        assert_eq!(
            facts.name_to_guid("4").unwrap(),
            hcs_linux::name_to_guid("4")
        );
    }

    #[test]
    fn a_missing_library_says_so_when_used() {
        let choice = ServiceChoice::VmCompute(Some("/nonexistent/libvmcompute.so".into()));
        let facts = facts(&choice);
        assert_eq!(facts.features().service, "vmcompute");
        assert!(!facts.features().needs_root);
        let err = facts.name_to_guid("4").unwrap_err();
        assert_eq!(
            err.to_string(),
            "compute service encountered an error during Load: HCS is not available on this host: \
             /nonexistent/libvmcompute.so does not exist"
        );
        let err = open(&choice).map(drop).unwrap_err();
        assert_eq!(
            err.to_string(),
            "opening the vmcompute=/nonexistent/libvmcompute.so compute service"
        );
        assert_eq!(
            std::error::Error::source(&err).unwrap().to_string(),
            "compute service encountered an error during Load: HCS is not available on this host: \
             /nonexistent/libvmcompute.so does not exist"
        );
    }
}
