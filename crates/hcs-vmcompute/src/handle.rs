//! A compute system or process handle of the service: its calls on the
//! blocking pool, its callback registration, and its close.
//!
//! Calls hold the handle's read lock while they run; close takes the write
//! lock, so the service never sees a handle after it was closed, and marks
//! the watcher closed first, so waiters wake at once with "handle closed"
//! and later calls fail with "already closed".

use std::{
    borrow::Cow,
    ptr,
    sync::{Arc, Mutex, RwLock},
};

use hcs::{ErrorCode, ErrorKind, HcsError, Result, Subject};

use crate::{
    abi::{self, Handle},
    error,
    library::Library,
    notify::{self, Context, Watcher},
};

/// The options argument: `""`, never NULL.
pub(crate) static NO_OPTIONS: [u16; 1] = [0];

/// Runs a blocking call on the blocking pool, so that no runtime worker
/// waits for the service.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("a compute-service call was cancelled: {e}"),
    }
}

/// Whose exports register, unregister and close the handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandleKind {
    System,
    Process,
}

impl HandleKind {
    fn register(self, lib: &Library) -> abi::HcsRegisterCallback {
        match self {
            HandleKind::System => lib.exports.register_system_callback,
            HandleKind::Process => lib.exports.register_process_callback,
        }
    }

    fn unregister(self, lib: &Library) -> abi::HcsUnregisterCallback {
        match self {
            HandleKind::System => lib.exports.unregister_system_callback,
            HandleKind::Process => lib.exports.unregister_process_callback,
        }
    }
}

/// Closes a handle that has no callback registered.
///
/// # Safety
/// `raw` is a live handle of `kind`, closed by nobody else.
pub(crate) unsafe fn close_raw(lib: &Library, kind: HandleKind, raw: Handle) -> abi::Hresult {
    // SAFETY: the caller's promise.
    unsafe {
        match kind {
            HandleKind::System => (lib.exports.close_system)(raw),
            HandleKind::Process => (lib.exports.close_process)(raw),
        }
    }
}

/// Calls `f` with a result out-pointer, then reads and frees the result.
///
/// # Safety
/// `f` makes a call that leaves NULL or a service-allocated string in the
/// pointer it is given.
pub(crate) unsafe fn with_result(
    lib: &Library,
    f: impl FnOnce(*mut abi::Pwstr) -> abi::Hresult,
) -> (abi::Hresult, Option<String>) {
    let mut result: abi::Pwstr = ptr::null_mut();
    let hr = f(&mut result);
    // SAFETY: the call left NULL or a string for us to free.
    (hr, unsafe { lib.take_string(result) })
}

/// As [`with_result`], with a second output string (properties, lists).
///
/// # Safety
/// As for [`with_result`], for both pointers.
pub(crate) unsafe fn with_output(
    lib: &Library,
    f: impl FnOnce(*mut abi::Pwstr, *mut abi::Pwstr) -> abi::Hresult,
) -> (abi::Hresult, Option<String>, Option<String>) {
    let (mut output, mut result): (abi::Pwstr, abi::Pwstr) = (ptr::null_mut(), ptr::null_mut());
    let hr = f(&mut output, &mut result);
    // SAFETY: the call left NULL or strings for us to free.
    unsafe { (hr, lib.take_string(output), lib.take_string(result)) }
}

struct Registered {
    handle: usize,
    callback: usize,
}

/// An open handle with its callback registered.
pub(crate) struct HcsHandle {
    lib: &'static Library,
    kind: HandleKind,
    subject: Subject,
    raw: Arc<RwLock<Option<Registered>>>,
    watcher: Arc<Watcher>,
    context: Mutex<Option<Context>>,
}

impl HcsHandle {
    /// Registers the notification callback for `raw` (blocking). On failure
    /// the handle is left open for the caller to dispose of.
    pub fn attach(
        lib: &'static Library,
        kind: HandleKind,
        subject: Subject,
        raw: Handle,
        operation: &'static str,
    ) -> Result<Self> {
        let watcher = Arc::new(Watcher::default());
        let context = Context::new(&watcher);
        let mut callback: Handle = ptr::null_mut();
        // SAFETY: `raw` is a live handle of `kind`; the callback matches the
        // ABI and stays valid forever; the context is a number the callback
        // looks up, never dereferenced.
        let hr =
            unsafe { (kind.register(lib))(raw, notify::callback, context.value(), &mut callback) };
        if hr < 0 {
            return Err(error::from_hresult(&subject, operation, hr, None)
                .with_extra("(registering for notifications)"));
        }
        Ok(Self {
            lib,
            kind,
            subject,
            raw: Arc::new(RwLock::new(Some(Registered {
                handle: raw as usize,
                callback: callback as usize,
            }))),
            watcher,
            context: Mutex::new(Some(context)),
        })
    }

    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    pub fn watcher(&self) -> &Watcher {
        &self.watcher
    }

    pub fn error(&self, operation: impl Into<Cow<'static, str>>, kind: ErrorKind) -> HcsError {
        HcsError::new(self.subject.clone(), operation, kind)
    }

    /// Fails with "already closed" once the handle is closed.
    pub fn check_open(&self, operation: &'static str) -> Result<()> {
        if self.watcher.is_closed() {
            return Err(self.error(operation, ErrorKind::AlreadyClosed));
        }
        Ok(())
    }

    /// Runs `f` with the live handle on the blocking pool.
    pub async fn call<T, F>(&self, operation: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&'static Library, Handle) -> T + Send + 'static,
    {
        self.check_open(operation)?;
        let (lib, raw) = (self.lib, self.raw.clone());
        let out = blocking(move || {
            let guard = raw.read().unwrap();
            guard.as_ref().map(|r| f(lib, r.handle as Handle))
        })
        .await;
        out.ok_or_else(|| self.error(operation, ErrorKind::AlreadyClosed))
    }

    /// Closes the handle: waiters wake with "handle closed", the callback is
    /// unregistered, the handle closed. A second close is "already closed".
    pub async fn close(&self) -> Result<()> {
        let operation = "Close";
        if !self.watcher.close() {
            return Err(self.error(operation, ErrorKind::AlreadyClosed));
        }
        let (lib, kind, raw) = (self.lib, self.kind, self.raw.clone());
        let released = blocking(move || release(lib, kind, &raw)).await;
        // No callback can come any more: the context may go.
        self.context.lock().unwrap().take();
        match released {
            Some(hr) => error::check(&self.subject, operation, hr, None),
            None => Err(self.error(operation, ErrorKind::AlreadyClosed)),
        }
    }
}

/// Unregisters the callback and closes the handle, if still open; the
/// HRESULT of the close.
fn release(
    lib: &Library,
    kind: HandleKind,
    raw: &RwLock<Option<Registered>>,
) -> Option<abi::Hresult> {
    let registered = raw.write().unwrap().take()?;
    // SAFETY: the callback handle came from the registration and is
    // unregistered once, here; the service calls the callback no more after
    // this returns.
    let unregistered = unsafe { (kind.unregister(lib))(registered.callback as Handle) };
    // SAFETY: the handle is live and, taken out of the lock, closed once.
    let closed = unsafe { close_raw(lib, kind, registered.handle as Handle) };
    Some(if closed < 0 { closed } else { unregistered })
}

impl Drop for HcsHandle {
    /// A handle dropped without `close` is released all the same, on the
    /// blocking pool when there is a runtime.
    fn drop(&mut self) {
        if self.raw.read().unwrap().is_none() {
            return;
        }
        self.watcher.close();
        let (lib, kind, raw) = (self.lib, self.kind, self.raw.clone());
        let context = self.context.lock().unwrap().take();
        let job = move || {
            release(lib, kind, &raw);
            drop(context);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(job)),
            Err(_) => job(),
        }
    }
}

/// The error when the service returned success without the handle.
pub(crate) fn no_handle(subject: &Subject, operation: &'static str) -> HcsError {
    HcsError::new(
        subject.clone(),
        operation,
        ErrorKind::Code(ErrorCode::INTERNAL_ERROR),
    )
    .with_extra("(the service returned no handle)")
}
