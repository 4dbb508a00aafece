//! What the Linux compute service supports.

use hcs::{Capabilities, HypervIsolation};

/// The Linux compute service's capabilities.
pub fn capabilities() -> Capabilities {
    Capabilities {
        service: "linux",
        os_build: None,
        named_pipe_mounts: true,
        hyperv: HypervIsolation::Emulated,
        lcow: true,
        pause_process_isolated: true,
        notes: vec![
            "Hyper-V isolation is emulated: HvPartition systems run in the same namespaces \
             as process-isolated ones; no hypervisor or utility VM is started."
                .to_owned(),
            "Network endpoints (EndpointList) are not supported: a system gets a private \
             network namespace with loopback, or shares another system's \
             (NetworkSharedContainerName)."
                .to_owned(),
        ],
    }
}
