//! The compute service the CLI drives. Only the Linux compute service is
//! available yet; choosing one (`--service linux|vmcompute[=PATH]`) belongs
//! here when there is a choice.

use hcs::{Capabilities, Guid};

/// The facts of the selected compute service that commands use.
pub struct Service {
    capabilities: Capabilities,
    name_to_guid: fn(&str) -> hcs::Result<Guid>,
}

impl Service {
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The GUID the service assigns to a layer folder name.
    pub fn name_to_guid(&self, name: &str) -> hcs::Result<Guid> {
        (self.name_to_guid)(name)
    }
}

/// The service commands run against.
pub fn selected() -> Service {
    Service {
        capabilities: hcs_linux::capabilities(),
        name_to_guid: |name| Ok(hcs_linux::name_to_guid(name)),
    }
}
