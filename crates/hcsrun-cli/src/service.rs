//! The compute service the CLI drives, chosen with the global option
//! `--service linux|vmcompute[=PATH]`: the Linux compute service (the
//! default on Linux), or Windows' `vmcompute.dll` (the default elsewhere),
//! or any library with its ABI at PATH (such as hcsrun's `libvmcompute.so`).
//! This module is the one place that turns the choice into a service.

use std::{
    fmt,
    path::PathBuf,
    str::FromStr,
    sync::{Arc, OnceLock},
};

use anyhow::Context;
use hcs::{Capabilities, ComputeService, ErrorKind, Guid, HcsError};
use hcs_vmcompute::VmComputeService;

/// A `--service` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The Linux compute service (`hcs-linux`).
    Linux,
    /// `vmcompute.dll`, or the library at the path.
    VmCompute(Option<PathBuf>),
}

impl Default for Choice {
    fn default() -> Self {
        if cfg!(target_os = "linux") {
            Choice::Linux
        } else {
            Choice::VmCompute(None)
        }
    }
}

impl FromStr for Choice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            None if s == "linux" => Ok(Choice::Linux),
            None if s == "vmcompute" => Ok(Choice::VmCompute(None)),
            Some(("vmcompute", "")) => Err("vmcompute=PATH needs a library path".into()),
            Some(("vmcompute", path)) => Ok(Choice::VmCompute(Some(path.into()))),
            _ => Err(format!(
                "unknown compute service {s:?}: expected linux, vmcompute or vmcompute=PATH"
            )),
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choice::Linux => f.write_str("linux"),
            Choice::VmCompute(None) => f.write_str("vmcompute"),
            Choice::VmCompute(Some(path)) => write!(f, "vmcompute={}", path.display()),
        }
    }
}

static SELECTED: OnceLock<Choice> = OnceLock::new();

/// Records the `--service` choice for the commands (once, at start).
pub fn select(choice: Choice) {
    let _ = SELECTED.set(choice);
}

/// The chosen service: `--service`, else the platform's default.
pub fn choice() -> Choice {
    SELECTED.get().cloned().unwrap_or_default()
}

/// The selected compute service, ready to create systems.
// For the commands that run systems (`hcsrun run`), which take it from here.
// `run`, its user, is Unix-only so far (splice, termios).
#[cfg_attr(not(unix), allow(dead_code))]
pub fn compute_service() -> anyhow::Result<Arc<dyn ComputeService>> {
    open(&choice())
}

/// The compute service `choice` names.
pub fn open(choice: &Choice) -> anyhow::Result<Arc<dyn ComputeService>> {
    match choice {
        Choice::Linux => linux(),
        Choice::VmCompute(path) => {
            let service = match path {
                Some(path) => VmComputeService::load(path),
                None => VmComputeService::new(),
            };
            let service =
                service.with_context(|| format!("opening the {choice} compute service"))?;
            Ok(Arc::new(service))
        }
    }
}

#[cfg(target_os = "linux")]
fn linux() -> anyhow::Result<Arc<dyn ComputeService>> {
    let service =
        hcs_linux::LinuxComputeService::new().context("opening the linux compute service")?;
    Ok(Arc::new(service))
}

#[cfg(not(target_os = "linux"))]
fn linux() -> anyhow::Result<Arc<dyn ComputeService>> {
    anyhow::bail!("the linux compute service runs only on Linux; use --service vmcompute")
}

/// The facts of the selected compute service that commands use without
/// running anything (translation): its capabilities and layer GUIDs.
pub struct Service {
    capabilities: Capabilities,
    guids: Guids,
}

enum Guids {
    /// The Linux service's own: no holder binary or root needed for these.
    Linux,
    Service(Arc<dyn ComputeService>),
    /// The library could not be loaded: why.
    Unavailable(String),
}

impl Service {
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
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

/// The facts of the service commands run against.
pub fn selected() -> Service {
    facts(&choice())
}

/// The facts of `choice`. A vmcompute library that cannot be loaded still
/// has Windows' capabilities; asking it for a GUID gives the reason.
pub fn facts(choice: &Choice) -> Service {
    if *choice == Choice::Linux {
        return Service {
            capabilities: hcs_linux::capabilities(),
            guids: Guids::Linux,
        };
    }
    match open(choice) {
        Ok(service) => Service {
            capabilities: service.capabilities(),
            guids: Guids::Service(service),
        },
        Err(e) => Service {
            capabilities: VmComputeService::default_capabilities(),
            guids: Guids::Unavailable(match e.downcast_ref::<HcsError>().map(HcsError::kind) {
                Some(ErrorKind::Unavailable(why)) => why.clone(),
                _ => format!("{e:#}"),
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
            let choice: Choice = text.parse().unwrap();
            assert_eq!(choice.to_string(), text);
        }
        assert_eq!(
            "vmcompute=C:\\x.dll".parse::<Choice>().unwrap(),
            Choice::VmCompute(Some("C:\\x.dll".into()))
        );
        assert_eq!(
            "windows".parse::<Choice>().unwrap_err(),
            "unknown compute service \"windows\": expected linux, vmcompute or vmcompute=PATH"
        );
        assert!("linux=x".parse::<Choice>().is_err());
        assert!("vmcompute="
            .parse::<Choice>()
            .unwrap_err()
            .contains("needs a library path"));
    }

    #[test]
    fn the_default_is_the_platforms_own() {
        let expected = if cfg!(target_os = "linux") {
            Choice::Linux
        } else {
            Choice::VmCompute(None)
        };
        assert_eq!(Choice::default(), expected);
    }

    #[test]
    fn linux_facts_need_nothing_running() {
        let facts = facts(&Choice::Linux);
        assert_eq!(facts.capabilities().service, "linux");
        assert_eq!(
            facts.name_to_guid("4").unwrap(),
            hcs_linux::name_to_guid("4")
        );
    }

    #[test]
    fn a_missing_library_says_so_when_used() {
        let choice = Choice::VmCompute(Some("/nonexistent/libvmcompute.so".into()));
        let facts = facts(&choice);
        assert_eq!(facts.capabilities().service, "vmcompute");
        let err = facts.name_to_guid("4").unwrap_err();
        assert_eq!(
            err.to_string(),
            "compute service encountered an error during Load: HCS is not available on this host: \
             /nonexistent/libvmcompute.so does not exist"
        );
        let err = open(&choice).map(drop).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "opening the vmcompute=/nonexistent/libvmcompute.so compute service: compute service \
             encountered an error during Load: HCS is not available on this host: \
             /nonexistent/libvmcompute.so does not exist"
        );
    }
}
