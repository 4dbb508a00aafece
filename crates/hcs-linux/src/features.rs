//! What the Linux compute service supports and needs.

use hcs::{HypervIsolation, ServiceFeatures};

/// The Linux compute service's features. Hyper-V isolation is emulated
/// (`HvPartition` systems run in the same namespaces as process-isolated
/// ones) and network endpoints are refused; see `docs/ARCHITECTURE.md`.
pub fn features() -> ServiceFeatures {
    ServiceFeatures {
        service: "linux",
        os_build: None,
        named_pipe_mounts: true,
        needs_root: true,
        hyperv: HypervIsolation::Emulated,
        native_linux: true,
    }
}
