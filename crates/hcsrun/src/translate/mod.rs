//! OCI runtime spec + create options → the `ContainerConfig` and
//! `ProcessConfig` documents a compute service receives (moby's
//! `createWindows`, `createLinux`, `start` and `AddProcess`).
//!
//! ```no_run
//! use hcsrun::translate::{self, CreateOptions, HostFacts, Spec};
//!
//! fn configs(service: &dyn hcs::ComputeService) -> Result<(), Box<dyn std::error::Error>> {
//!     let spec = Spec::load("bundle")?;
//!     let options = CreateOptions::from_json(r#"{"hyperv":{"is_hyperv":false}}"#)?;
//!     let host = HostFacts::of_service(service);
//!     let name_to_guid = |name: &str| service.name_to_guid(name);
//!     let config = translate::container_config("c1", &spec, &options, &host, &name_to_guid)?;
//!     let init = translate::init_process_config("c1", &spec, &options)?;
//!     # let _ = (config, init);
//!     Ok(())
//! }
//! ```
//!
//! The rules are DESIGN.md's translation contract; `docs/ARCHITECTURE.md`
//! says where and why they go beyond it.

mod env;
mod error;
mod host;
mod layers;
mod lcow;
pub mod linux;
mod mounts;
mod network;
mod options;
mod platform;
mod process;
mod redact;
mod spec;
mod windows;
mod windows_section;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

pub use env::environment;
pub use error::{Operation, TranslateError, TranslateErrorKind};
use hcs_schema::ContainerConfig;
pub use hcsrun_linux_spec::{ExecProcess, LinuxSpec, SpecFieldError};
pub use host::{host_cpu_count, HostFacts, DEFAULT_OWNER, NAMED_PIPE_MIN_BUILD};
pub use layers::{layer_id, layer_name, NameToGuid};
pub use oci_spec::runtime::Process as OciProcess;
pub use options::{
    CreateOptions, Credentials, HypervOption, LayerOption, LcowMode, LcowOption, NetworkOption,
};
pub use platform::Platform;
pub use process::{exec_process_config, init_process_config};
pub use spec::{parse_process, read_document, Spec, SpecError, MAX_DOCUMENT_BYTES};
use tracing::{debug, enabled, warn, Level};
pub use windows_section::{
    CredentialSpec, WindowsCpuResources, WindowsDevice, WindowsHyperV, WindowsMemoryResources,
    WindowsNetwork, WindowsResources, WindowsSection, WindowsStorageResources,
};

/// The configuration that creates the container `id` from `spec`: a
/// Windows container, or a Linux one with the LCOW option. (A Linux
/// container the host runs natively is translated by [`linux`] from its
/// [`LinuxSpec`].)
///
/// `host` describes the host and its compute service; `name_to_guid` is
/// that service's (it names the layers). The spec's `windows` section fills
/// in what `options` leaves out.
pub fn container_config(
    id: &str,
    spec: &Spec,
    options: &CreateOptions,
    host: &HostFacts,
    name_to_guid: &NameToGuid<'_>,
) -> Result<ContainerConfig, TranslateError> {
    if enabled!(Level::DEBUG) {
        debug!(container = id, spec = %redact::spec(spec), "translating spec");
    }
    for field in spec.unknown_windows_fields() {
        warn!(container = id, "ignoring unknown field {field} of the spec");
    }
    // Refuses a Linux spec without the LCOW option.
    Platform::resolve(id, spec, options, Operation::Create)?;
    let config = match &options.lcow {
        Some(lcow) => lcow::container_config(id, spec, options, lcow, host, name_to_guid)?,
        None => windows::container_config(id, spec, options, host, name_to_guid)?,
    };
    if enabled!(Level::DEBUG) {
        debug!(container = id, config = %redact::config(&config), "ContainerConfig");
    }
    Ok(config)
}
