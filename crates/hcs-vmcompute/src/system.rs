//! A compute system handle of the vmcompute backend.

use std::{collections::BTreeMap, ptr, time::Duration};

use async_trait::async_trait;
use hcs::{ComputeSystem, ErrorCode, ErrorKind, Process, Result, Subject};
use hcs_schema::{
    ContainerProperties, MappedVirtualDiskController, ProcessConfig, ProcessListItem,
    PropertyQuery, PropertyType, ResourceModificationRequestResponse, Statistics,
};

use crate::{
    abi::{self, Handle},
    error,
    handle::{close_raw, no_handle, with_output, with_result, HandleKind, HcsHandle, NO_OPTIONS},
    library::{Exports, Library},
    notify::Kind,
    process::VmComputeProcess,
    wide::to_wide,
};

pub(crate) struct VmComputeSystem {
    id: String,
    handle: HcsHandle,
    /// How long create, start, pause and resume wait for completion.
    timeout: Duration,
    /// Start, pause and resume run one at a time, each to its completion,
    /// so that a completion is never taken for another's.
    serial: tokio::sync::Mutex<()>,
}

impl VmComputeSystem {
    /// Wraps a handle the service returned (blocking: registers the
    /// callback). On failure the handle is closed, and the system
    /// terminated first if asked.
    pub fn attach(
        lib: &'static Library,
        id: String,
        raw: Handle,
        timeout: Duration,
        operation: &'static str,
        terminate_on_failure: bool,
    ) -> Result<Self> {
        let subject = Subject::System { id: id.clone() };
        match HcsHandle::attach(lib, HandleKind::System, subject, raw, operation) {
            Ok(handle) => Ok(Self {
                id,
                handle,
                timeout,
                serial: tokio::sync::Mutex::new(()),
            }),
            Err(e) => {
                if terminate_on_failure {
                    let terminate = lib.exports.terminate;
                    // SAFETY: `raw` is live; the options are ""; the result
                    // is read and freed.
                    unsafe {
                        with_result(lib, |result| terminate(raw, NO_OPTIONS.as_ptr(), result))
                    };
                }
                // SAFETY: `raw` is live and nobody else holds it.
                unsafe { close_raw(lib, HandleKind::System, raw) };
                Err(e)
            }
        }
    }

    fn subject(&self) -> &Subject {
        self.handle.subject()
    }

    /// Start, shutdown, terminate, pause or resume: the HRESULT and result.
    async fn operation(
        &self,
        operation: &'static str,
        export: fn(&Exports) -> abi::HcsSystemOperation,
    ) -> Result<(abi::Hresult, Option<String>)> {
        self.handle
            .call(operation, move |lib, h| {
                let f = export(&lib.exports);
                // SAFETY: `h` is live while the call holds the handle; the
                // options are "" and the result is read and freed.
                unsafe { with_result(lib, |result| f(h, NO_OPTIONS.as_ptr(), result)) }
            })
            .await
    }

    /// Finishes an operation the service may complete later with `kind`.
    pub async fn complete(
        &self,
        operation: &'static str,
        (hr, result): (abi::Hresult, Option<String>),
        kind: Kind,
    ) -> Result<()> {
        if hr == abi::OPERATION_PENDING {
            let waited = self.handle.watcher().wait(kind, Some(self.timeout)).await;
            return error::from_wait(self.subject(), operation, waited);
        }
        error::check(self.subject(), operation, hr, result.as_deref())
    }

    /// An operation that completes by notification (start, pause, resume).
    async fn run_to_completion(
        &self,
        operation: &'static str,
        export: fn(&Exports) -> abi::HcsSystemOperation,
        kind: Kind,
    ) -> Result<()> {
        let _serial = self.serial.lock().await;
        self.handle.watcher().clear(kind);
        let outcome = self.operation(operation, export).await?;
        self.complete(operation, outcome, kind).await
    }

    /// Shutdown and terminate: a pending result is the caller's to see;
    /// `wait` completes it.
    async fn stop(
        &self,
        operation: &'static str,
        export: fn(&Exports) -> abi::HcsSystemOperation,
    ) -> Result<()> {
        let (hr, result) = self.operation(operation, export).await?;
        error::check(self.subject(), operation, hr, result.as_deref())
    }

    async fn wait_for_exit(
        &self,
        operation: &'static str,
        timeout: Option<Duration>,
    ) -> Result<()> {
        self.handle.check_open(operation)?;
        let waited = self
            .handle
            .watcher()
            .wait(Kind::SystemExited, timeout)
            .await;
        error::from_wait(self.subject(), operation, waited)
    }

    async fn properties(
        &self,
        operation: &'static str,
        types: &[PropertyType],
    ) -> Result<ContainerProperties> {
        let query = hcs_schema::to_string(&PropertyQuery::of(types))
            .expect("a property query always encodes");
        let query = to_wide(&query).expect("a property query holds no NUL");
        let (hr, properties, result) = self
            .handle
            .call(operation, move |lib, h| {
                let f = lib.exports.system_properties;
                // SAFETY: `h` is live; `query` is NUL-terminated and outlives
                // the call; both outputs are read and freed.
                unsafe { with_output(lib, |props, result| f(h, query.as_ptr(), props, result)) }
            })
            .await?;
        error::check(self.subject(), operation, hr, result.as_deref())?;
        hcs_schema::from_str(properties.as_deref().unwrap_or("{}"))
            .map_err(|e| error::bad_document(self.subject(), operation, "properties", e))
    }

    /// A document as UTF-16 for the service.
    fn encode(
        &self,
        operation: &'static str,
        text: std::result::Result<String, impl std::fmt::Display>,
    ) -> Result<Vec<u16>> {
        let text = text.map_err(|e| {
            self.handle
                .error(operation, ErrorKind::Code(ErrorCode::INVALID_JSON))
                .with_extra(format!("({e})"))
        })?;
        to_wide(&text).map_err(|e| error::bad_string(self.subject(), operation, e))
    }
}

#[async_trait]
impl ComputeSystem for VmComputeSystem {
    fn id(&self) -> &str {
        &self.id
    }

    async fn start(&self) -> Result<()> {
        self.run_to_completion("Start", |e| e.start, Kind::StartCompleted)
            .await
    }

    async fn shutdown(&self) -> Result<()> {
        self.stop("Shutdown", |e| e.shutdown).await
    }

    async fn terminate(&self) -> Result<()> {
        self.stop("Terminate", |e| e.terminate).await
    }

    async fn wait(&self) -> Result<()> {
        self.wait_for_exit("Wait", None).await
    }

    async fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.wait_for_exit("WaitTimeout", Some(timeout)).await
    }

    async fn pause(&self) -> Result<()> {
        self.run_to_completion("Pause", |e| e.pause, Kind::PauseCompleted)
            .await
    }

    async fn resume(&self) -> Result<()> {
        self.run_to_completion("Resume", |e| e.resume, Kind::ResumeCompleted)
            .await
    }

    async fn has_pending_updates(&self) -> Result<bool> {
        let p = self
            .properties("HasPendingUpdates", &[PropertyType::PendingUpdates])
            .await?;
        Ok(p.are_updates_pending)
    }

    async fn statistics(&self) -> Result<Statistics> {
        let p = self
            .properties("Statistics", &[PropertyType::Statistics])
            .await?;
        Ok(p.statistics)
    }

    async fn process_list(&self) -> Result<Vec<ProcessListItem>> {
        let p = self
            .properties("ProcessList", &[PropertyType::ProcessList])
            .await?;
        Ok(p.process_list)
    }

    async fn mapped_virtual_disks(&self) -> Result<BTreeMap<i32, MappedVirtualDiskController>> {
        let p = self
            .properties("MappedVirtualDiskList", &[PropertyType::MappedVirtualDisk])
            .await?;
        Ok(p.mapped_virtual_disk_controllers)
    }

    async fn create_process(&self, config: &ProcessConfig) -> Result<Box<dyn Process>> {
        let operation = "CreateProcess";
        let parameters = self.encode(operation, hcs_schema::to_string(config))?;
        let (id, subject) = (self.id.clone(), self.subject().clone());
        let process = self
            .handle
            .call(operation, move |lib, h| {
                let mut info = abi::ProcessInformation::default();
                let mut process: Handle = ptr::null_mut();
                // SAFETY: `h` is live; the parameters are NUL-terminated and
                // outlive the call; `info` and `process` are written by it;
                // the result is read and freed.
                let (hr, result) = unsafe {
                    with_result(lib, |result| {
                        (lib.exports.create_process)(
                            h,
                            parameters.as_ptr(),
                            &mut info,
                            &mut process,
                            result,
                        )
                    })
                };
                // SAFETY: the handles in `info` are ours now, each owned once.
                let stdio = unsafe { crate::process::stdio_from(&info) };
                if hr < 0 || process.is_null() {
                    if !process.is_null() {
                        // SAFETY: a live handle nobody else has.
                        unsafe { close_raw(lib, HandleKind::Process, process) };
                    }
                    return Err(match hr < 0 {
                        true => error::from_hresult(&subject, operation, hr, result.as_deref()),
                        false => no_handle(&subject, operation),
                    });
                }
                VmComputeProcess::attach(lib, id, info.process_id, process, stdio, operation)
            })
            .await??;
        Ok(Box::new(process))
    }

    async fn open_process(&self, pid: u32) -> Result<Box<dyn Process>> {
        let operation = "OpenProcess";
        let id = self.id.clone();
        let process = self
            .handle
            .call(operation, move |lib, h| {
                let mut process: Handle = ptr::null_mut();
                // SAFETY: `h` is live; `process` is written by the call; the
                // result is read and freed.
                let (hr, result) = unsafe {
                    with_result(lib, |result| {
                        (lib.exports.open_process)(h, pid, &mut process, result)
                    })
                };
                if hr < 0 || process.is_null() {
                    let subject = Subject::Process { id, pid };
                    return Err(match hr < 0 {
                        true => error::from_hresult(&subject, operation, hr, result.as_deref()),
                        false => no_handle(&subject, operation),
                    });
                }
                VmComputeProcess::open(lib, id, pid, process, operation)
            })
            .await??;
        Ok(Box::new(process))
    }

    async fn modify(&self, request: &ResourceModificationRequestResponse) -> Result<()> {
        let operation = "Modify";
        let document = self.encode(operation, hcs_schema::to_string(request))?;
        let (hr, result) = self
            .handle
            .call(operation, move |lib, h| {
                // SAFETY: `h` is live; the document is NUL-terminated and
                // outlives the call; the result is read and freed.
                unsafe {
                    with_result(lib, |result| {
                        (lib.exports.modify_system)(h, document.as_ptr(), result)
                    })
                }
            })
            .await?;
        error::check(self.subject(), operation, hr, result.as_deref())
    }

    async fn close(&self) -> Result<()> {
        self.handle.close().await
    }
}

impl std::fmt::Debug for VmComputeSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmComputeSystem")
            .field("id", &self.id)
            .finish()
    }
}
