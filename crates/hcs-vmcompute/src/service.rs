//! The compute service behind `vmcompute.dll` (or a library with its ABI).

use std::{
    path::{Path, PathBuf},
    ptr,
    time::Duration,
};

use async_trait::async_trait;
use hcs::{
    ComputeService, ComputeSystem, ErrorCode, ErrorKind, Guid, HcsError, Result, ServiceFeatures,
    Subject, DEFAULT_TIMEOUT,
};
use hcs_schema::{ComputeSystemQuery, ContainerConfig, ContainerProperties};

use crate::{
    abi::Handle,
    error,
    handle::{blocking, close_raw, no_handle, with_output, with_result, HandleKind},
    library::Library,
    notify::Kind,
    system::VmComputeSystem,
    wide::to_wide,
};

/// The Host Compute Service through its v1 C ABI. Cheap to clone.
///
/// Calls run on tokio's blocking pool (`spawn_blocking`), so they need a
/// tokio runtime; notifications arrive on the service's threads and wake
/// the waiting tasks.
#[derive(Clone)]
pub struct VmComputeService {
    lib: &'static Library,
    timeout: Duration,
    features: ServiceFeatures,
}

/// Settings of a [`VmComputeService`].
#[derive(Clone, Debug, Default)]
pub struct Builder {
    library: Option<PathBuf>,
    timeout: Option<Duration>,
    features: Option<ServiceFeatures>,
}

impl Builder {
    /// Load this library instead of Windows' `vmcompute.dll`: any library
    /// exporting the same ABI (hcsrun's `libvmcompute.so` on Linux).
    pub fn library(mut self, path: impl Into<PathBuf>) -> Self {
        self.library = Some(path.into());
        self
    }

    /// How long create, start, pause and resume wait for their completion
    /// (default [`DEFAULT_TIMEOUT`], 4 minutes).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// What the service supports, instead of what Windows' does on this
    /// host.
    pub fn features(mut self, features: ServiceFeatures) -> Self {
        self.features = Some(features);
        self
    }

    /// Loads the library. Where it is absent or lacks an export, the error
    /// is [`ErrorKind::Unavailable`]: "HCS is not available on this host:
    /// ...".
    pub fn build(self) -> Result<VmComputeService> {
        let lib = match &self.library {
            Some(path) => Library::load(path)?,
            None => Library::load_system()?,
        };
        Ok(VmComputeService {
            lib,
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            features: self.features.unwrap_or_else(crate::host::features),
        })
    }
}

impl VmComputeService {
    /// Windows' own compute service (`vmcompute.dll` from System32).
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// The service of the library at `path`, which exports the vmcompute
    /// ABI.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder().library(path.as_ref()).build()
    }

    /// Settings to build a service with.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The service of an already loaded library (the tests' fake).
    #[cfg(test)]
    pub(crate) fn from_library(lib: &'static Library, timeout: Duration) -> Self {
        Self {
            lib,
            timeout,
            features: crate::host::features(),
        }
    }

    /// What Windows' compute service supports on this host: the
    /// features a service has unless its builder says otherwise.
    pub fn default_features() -> ServiceFeatures {
        crate::host::features()
    }

    /// The same service with another completion timeout.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self {
            timeout,
            ..self.clone()
        }
    }

    /// The library in use (`vmcompute.dll` or the path it was loaded from).
    pub fn library(&self) -> &str {
        &self.lib.name
    }

    /// The completion timeout in use.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `HcsGetServiceProperties`: the service's answer to a property query
    /// document, as it sent it.
    pub async fn service_properties(&self, query: &str) -> Result<String> {
        let operation = "GetServiceProperties";
        let query =
            to_wide(query).map_err(|e| error::bad_string(&Subject::Service, operation, e))?;
        let lib = self.lib;
        let (hr, properties, result) = blocking(move || {
            // SAFETY: the query is NUL-terminated and outlives the call; both
            // outputs are read and freed.
            unsafe {
                with_output(lib, |props, result| {
                    (lib.exports.service_properties)(query.as_ptr(), props, result)
                })
            }
        })
        .await;
        error::check(&Subject::Service, operation, hr, result.as_deref())?;
        Ok(properties.unwrap_or_default())
    }

    fn system(
        &self,
        id: &str,
        raw: Handle,
        operation: &'static str,
        terminate_on_failure: bool,
    ) -> Result<VmComputeSystem> {
        VmComputeSystem::attach(
            self.lib,
            id.to_owned(),
            raw,
            self.timeout,
            operation,
            terminate_on_failure,
        )
    }
}

impl std::fmt::Debug for VmComputeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmComputeService")
            .field("library", &self.lib.name)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn wide_id(id: &str, operation: &'static str) -> Result<Vec<u16>> {
    to_wide(id).map_err(|e| {
        error::bad_string(
            &Subject::System {
                id: id.escape_debug().to_string(),
            },
            operation,
            e,
        )
    })
}

#[async_trait]
impl ComputeService for VmComputeService {
    async fn create_system(
        &self,
        id: &str,
        config: &ContainerConfig,
    ) -> Result<Box<dyn ComputeSystem>> {
        let operation = "Create";
        let subject = Subject::System { id: id.to_owned() };
        let document = hcs_schema::to_string(config).map_err(|e| {
            HcsError::new(
                subject.clone(),
                operation,
                ErrorKind::Code(ErrorCode::INVALID_JSON),
            )
            .with_extra(format!("({e})"))
        })?;
        let document = to_wide(&document).map_err(|e| error::bad_string(&subject, operation, e))?;
        let wide = wide_id(id, operation)?;
        let (service, id_owned) = (self.clone(), id.to_owned());
        let (hr, result, system) = blocking(move || {
            let lib = service.lib;
            let mut raw: Handle = ptr::null_mut();
            // SAFETY: id and configuration are NUL-terminated and outlive the
            // call; identity is 0; `raw` is written by it; the result is
            // read and freed.
            let (hr, result) = unsafe {
                with_result(lib, |result| {
                    (lib.exports.create_system)(
                        wide.as_ptr(),
                        document.as_ptr(),
                        ptr::null_mut(),
                        &mut raw,
                        result,
                    )
                })
            };
            if raw.is_null() {
                return (hr, result, None);
            }
            // A system nobody can watch is ended, as hcsshim does.
            let system = service.system(&id_owned, raw, operation, true);
            (hr, result, Some(system))
        })
        .await;
        let system = match system {
            Some(system) => system?,
            None if hr < 0 => {
                return Err(error::from_hresult(
                    &subject,
                    operation,
                    hr,
                    result.as_deref(),
                ))
            }
            None => return Err(no_handle(&subject, operation)),
        };
        match system
            .complete(operation, (hr, result), Kind::CreateCompleted)
            .await
        {
            Ok(()) => Ok(Box::new(system)),
            Err(e) => {
                if e.is_timeout() {
                    // Whatever the service is doing, it is not to finish.
                    let _ = system.terminate().await;
                }
                let _ = system.close().await;
                Err(e)
            }
        }
    }

    async fn open_system(&self, id: &str) -> Result<Box<dyn ComputeSystem>> {
        let operation = "Open";
        let wide = wide_id(id, operation)?;
        let (service, id_owned) = (self.clone(), id.to_owned());
        let system = blocking(move || {
            let lib = service.lib;
            let subject = Subject::System {
                id: id_owned.clone(),
            };
            let mut raw: Handle = ptr::null_mut();
            // SAFETY: the id is NUL-terminated and outlives the call; `raw`
            // is written by it; the result is read and freed.
            let (hr, result) = unsafe {
                with_result(lib, |result| {
                    (lib.exports.open_system)(wide.as_ptr(), &mut raw, result)
                })
            };
            if hr < 0 || raw.is_null() {
                if !raw.is_null() {
                    // SAFETY: a live handle nobody else has.
                    unsafe { close_raw(lib, HandleKind::System, raw) };
                }
                return Err(match hr < 0 {
                    true => error::from_hresult(&subject, operation, hr, result.as_deref()),
                    false => no_handle(&subject, operation),
                });
            }
            service.system(&id_owned, raw, operation, false)
        })
        .await?;
        Ok(Box::new(system))
    }

    async fn enumerate(&self, query: &ComputeSystemQuery) -> Result<Vec<ContainerProperties>> {
        let operation = "Enumerate";
        let subject = Subject::Service;
        let query = hcs_schema::to_string(query).expect("a system query always encodes");
        let query = to_wide(&query).map_err(|e| error::bad_string(&subject, operation, e))?;
        let lib = self.lib;
        let (hr, systems, result) = blocking(move || {
            // SAFETY: the query is NUL-terminated and outlives the call; both
            // outputs are read and freed.
            unsafe {
                with_output(lib, |systems, result| {
                    (lib.exports.enumerate)(query.as_ptr(), systems, result)
                })
            }
        })
        .await;
        error::check(&subject, operation, hr, result.as_deref())?;
        let systems: Option<Vec<ContainerProperties>> =
            hcs_schema::from_str(systems.as_deref().unwrap_or("null"))
                .map_err(|e| error::bad_document(&subject, operation, "system list", e))?;
        Ok(systems.unwrap_or_default())
    }

    /// `NameToGuid` of the library. A short computation, called directly.
    fn name_to_guid(&self, name: &str) -> Result<Guid> {
        let operation = "NameToGuid";
        let subject = Subject::Service;
        let wide = to_wide(name).map_err(|e| error::bad_string(&subject, operation, e))?;
        let mut guid = Guid::default();
        // SAFETY: the name is NUL-terminated and outlives the call; `guid`
        // is a 16-byte GUID in Windows layout, written by it.
        let hr = unsafe { (self.lib.exports.name_to_guid)(wide.as_ptr(), &mut guid) };
        error::check(&subject, operation, hr, None)
            .map_err(|e| e.with_extra(format!("(layer name {name:?})")))?;
        Ok(guid)
    }

    fn features(&self) -> ServiceFeatures {
        self.features.clone()
    }
}
