//! The boundary: arguments in, strings and HRESULTs out, and no panic
//! across it.

use std::{
    any::Any,
    panic::{catch_unwind, AssertUnwindSafe},
    ptr,
};

use hcs::{ErrorCode, ErrorKind, HcsError};
use hcs_schema::{ErrorEvent, HcsResult};
use vmcompute_abi::{wide, Hresult, Pcwstr, Pwstr};

/// A failed call: its HRESULT and result document.
#[derive(Clone, Debug)]
pub struct Failure {
    pub hr: Hresult,
    pub result: String,
}

impl Failure {
    /// A failure with `code` and a message of our own.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        let hr = code.to_hresult();
        Self {
            hr,
            result: document(hr, format!("{code} {message}"), &message),
        }
    }

    pub fn invalid_handle(export: &str) -> Self {
        Self::new(
            ErrorCode::INVALID_HANDLE,
            format!("({export}: no such handle)"),
        )
    }

    pub fn invalid_argument(export: &str, what: &str) -> Self {
        Self::new(ErrorCode::INVALID_PARAMETER, format!("({export}: {what})"))
    }

    fn panicked(export: &str, panic: Box<dyn Any + Send>) -> Self {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        Self::new(
            ErrorCode::INTERNAL_ERROR,
            format!("({export} failed inside libvmcompute: {what})"),
        )
    }
}

/// The result document: the error's whole text as the message, and its
/// detail (the part after the code) as an event, which is what a caller
/// shows after the code's own text.
fn document(hr: Hresult, message: String, detail: &str) -> String {
    let result = HcsResult {
        error: hr,
        error_message: message,
        error_events: (!detail.is_empty())
            .then(|| ErrorEvent {
                message: detail.to_owned(),
                source: "hcsrun-linux".to_owned(),
                ..Default::default()
            })
            .into_iter()
            .collect(),
    };
    hcs_schema::to_string(&result).expect("a result document always encodes")
}

impl From<HcsError> for Failure {
    fn from(e: HcsError) -> Self {
        let hr = e.hresult();
        let detail = match e.kind() {
            ErrorKind::Code(_) => e.extra().unwrap_or_default().to_owned(),
            // Not a service code: the HRESULT stands in for it, so the text
            // says what happened.
            _ => format!("({e})"),
        };
        Self {
            hr,
            result: document(hr, e.to_string(), &detail),
        }
    }
}

/// Runs an export: clears `result`, turns a panic into an HRESULT, and
/// hands out the result document of a failure.
pub fn guard(
    export: &str,
    result: *mut Pwstr,
    f: impl FnOnce() -> Result<Hresult, Failure>,
) -> Hresult {
    if !result.is_null() {
        // SAFETY: a non-NULL result pointer is writable (the ABI).
        unsafe { *result = ptr::null_mut() };
    }
    let outcome =
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(Failure::panicked(export, p)));
    match outcome {
        Ok(hr) => hr,
        Err(failure) => {
            // SAFETY: as above.
            unsafe { give(result, &failure.result) };
            failure.hr
        }
    }
}

/// Hands `text` out through `slot`, for the caller to free with
/// `CoTaskMemFree`. A NULL slot gets nothing.
///
/// # Safety
/// `slot` is NULL or writable.
pub unsafe fn give(slot: *mut Pwstr, text: &str) {
    if slot.is_null() {
        return;
    }
    // Our own documents never hold a NUL; one from elsewhere is cut there.
    let units: Vec<u16> = text
        .encode_utf16()
        .take_while(|&u| u != 0)
        .chain([0])
        .collect();
    let bytes = units.len() * std::mem::size_of::<u16>();
    // SAFETY: a fresh allocation of `bytes`, freed by `CoTaskMemFree`.
    let buf = unsafe { libc::malloc(bytes) }.cast::<u16>();
    assert!(!buf.is_null(), "out of memory handing out a string");
    // SAFETY: `buf` has room for every unit; the regions are distinct.
    unsafe { ptr::copy_nonoverlapping(units.as_ptr(), buf, units.len()) };
    // SAFETY: the caller promises `slot` is writable.
    unsafe { *slot = buf };
}

/// Frees a string handed out by [`give`].
///
/// # Safety
/// `ptr` is NULL or came from [`give`] and was not freed.
pub unsafe fn free(ptr: *mut std::ffi::c_void) {
    // SAFETY: allocated by malloc in `give` (the caller's promise).
    unsafe { libc::free(ptr) }
}

/// A required string argument.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid during the call.
pub unsafe fn arg(export: &str, what: &str, p: Pcwstr) -> Result<String, Failure> {
    // SAFETY: the caller's promise.
    let units = unsafe { wide::units(p) }
        .ok_or_else(|| Failure::invalid_argument(export, &format!("{what} is NULL")))?;
    wide::from_wide(units).map_err(|e| Failure::invalid_argument(export, &format!("{what}: {e}")))
}

/// Parses a JSON document argument as HCS does (keys in any case).
pub fn parse<T: serde::de::DeserializeOwned>(
    export: &str,
    what: &str,
    text: &str,
) -> Result<T, Failure> {
    hcs_schema::from_str(text).map_err(|e| {
        Failure::new(
            ErrorCode::INVALID_JSON,
            format!("({export}: the {what} does not parse: {e})"),
        )
    })
}

/// Fails for a NULL out-pointer.
pub fn non_null<T>(export: &str, what: &str, p: *mut T) -> Result<*mut T, Failure> {
    if p.is_null() {
        return Err(Failure::invalid_argument(
            export,
            &format!("{what} is NULL"),
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_an_hresult_with_a_document() {
        let mut result: Pwstr = ptr::null_mut();
        let hr = guard("HcsTest", &mut result, || panic!("boom"));
        assert_eq!(ErrorCode::from_hresult(hr), ErrorCode::INTERNAL_ERROR);
        // SAFETY: `give` handed out a NUL-terminated string.
        let text = unsafe { wide::from_ptr_lossy(result) }.unwrap();
        // SAFETY: handed out by `give`, freed once.
        unsafe { free(result.cast()) };
        let doc: HcsResult = hcs_schema::from_str(&text).unwrap();
        assert_eq!(doc.error, hr);
        assert!(doc.error_events[0]
            .message
            .contains("HcsTest failed inside libvmcompute: boom"));
    }

    #[test]
    fn an_hcs_error_keeps_its_text_and_detail() {
        let e = HcsError::system("c1", "Start", ErrorKind::Code(ErrorCode::FILE_NOT_FOUND))
            .with_extra("(no such layer)");
        let f = Failure::from(e);
        assert_eq!(f.hr as u32, 0x8007_0002);
        let doc: HcsResult = hcs_schema::from_str(&f.result).unwrap();
        assert!(doc
            .error_message
            .starts_with("container c1 encountered an error during Start"));
        assert_eq!(doc.error_events[0].message, "(no such layer)");
        let f = Failure::from(HcsError::system("c1", "Wait", ErrorKind::Timeout));
        let doc: HcsResult = hcs_schema::from_str(&f.result).unwrap();
        assert!(doc.error_events[0]
            .message
            .contains("timeout waiting for notification"));
    }

    #[test]
    fn success_leaves_result_null() {
        let mut result: Pwstr = 1 as Pwstr;
        assert_eq!(guard("HcsTest", &mut result, || Ok(0)), 0);
        assert!(result.is_null());
    }
}
