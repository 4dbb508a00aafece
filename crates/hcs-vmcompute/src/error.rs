//! HRESULTs, result documents and wait outcomes as [`HcsError`]s naming
//! their subject and operation.

use std::borrow::Cow;

use hcs::{ErrorCode, ErrorKind, HcsError, Subject};
use hcs_schema::HcsResult;

use crate::notify::{Event, WaitError};

/// The error for a failed call (`hr` negative) with the service's result
/// document, if it sent one.
pub(crate) fn from_hresult(
    subject: &Subject,
    operation: impl Into<Cow<'static, str>>,
    hr: i32,
    result: Option<&str>,
) -> HcsError {
    let code = ErrorCode::from_hresult(hr);
    HcsError::new(subject.clone(), operation, ErrorKind::Code(code))
        .with_extra(detail(code, result))
}

/// What a result document adds to the code: the messages of its error
/// events; else its error message where the code has no text of its own.
/// The message usually restates the code, which the error already says.
fn detail(code: ErrorCode, result: Option<&str>) -> String {
    let Some(text) = result.map(str::trim).filter(|t| !t.is_empty()) else {
        return String::new();
    };
    match hcs_schema::from_str::<HcsResult>(text) {
        Ok(result) => {
            let events: Vec<&str> = result
                .error_events
                .iter()
                .map(|e| e.message.trim())
                .filter(|m| !m.is_empty())
                .collect();
            if !events.is_empty() {
                events.join(" ")
            } else if code.text().is_none() {
                result.error_message.trim().to_owned()
            } else {
                String::new()
            }
        }
        // Not a result document: show it as it came.
        Err(_) => format!("(result: {text})"),
    }
}

/// The result of an operation: `Ok` for success, the error otherwise.
pub(crate) fn check(
    subject: &Subject,
    operation: &'static str,
    hr: i32,
    result: Option<&str>,
) -> Result<(), HcsError> {
    if hr < 0 {
        Err(from_hresult(subject, operation, hr, result))
    } else {
        Ok(())
    }
}

/// The outcome of waiting for a completion.
pub(crate) fn from_wait(
    subject: &Subject,
    operation: &'static str,
    waited: Result<Event, WaitError>,
) -> Result<(), HcsError> {
    let kind = match waited {
        Ok(event) => return check(subject, operation, event.status, event.data.as_deref()),
        Err(WaitError::Timeout) => ErrorKind::Timeout,
        Err(WaitError::UnexpectedExit(_)) => ErrorKind::UnexpectedContainerExit,
        Err(WaitError::ServiceDisconnect(_)) => ErrorKind::ServiceDisconnect,
        Err(WaitError::Closed) => ErrorKind::HandleClosed,
    };
    Err(HcsError::new(subject.clone(), operation, kind))
}

/// A document the service sent that does not parse.
pub(crate) fn bad_document(
    subject: &Subject,
    operation: &'static str,
    what: &str,
    err: impl std::fmt::Display,
) -> HcsError {
    HcsError::new(
        subject.clone(),
        operation,
        ErrorKind::Code(ErrorCode::INVALID_JSON),
    )
    .with_extra(format!("(the service's {what} does not parse: {err})"))
}

/// A string of ours that cannot cross the ABI.
pub(crate) fn bad_string(
    subject: &Subject,
    operation: &'static str,
    err: crate::wide::InteriorNul,
) -> HcsError {
    HcsError::new(
        subject.clone(),
        operation,
        ErrorKind::Code(ErrorCode::INVALID_PARAMETER),
    )
    .with_extra(format!("({err})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system() -> Subject {
        Subject::System { id: "c1".into() }
    }

    #[test]
    fn names_subject_operation_and_code() {
        let e = from_hresult(&system(), "Start", 0xC037_0110_u32 as i32, None);
        assert_eq!(
            e.to_string(),
            "container c1 encountered an error during Start: failure in a Windows system call: \
             The virtual machine or container with the specified identifier is not running. (0xc0370110)"
        );
        assert!(e.is_already_stopped());
        let p = Subject::Process {
            id: "c1".into(),
            pid: 42,
        };
        let e = from_hresult(&p, "Kill", 0x8007_0490_u32 as i32, Some(""));
        assert!(e.to_string().starts_with(
            "process 42 in container c1 encountered an error during Kill: failure in a Windows system call: Element not found. (0x490)"
        ));
        assert!(e.is_not_exist());
    }

    #[test]
    fn result_documents_add_their_events() {
        let doc = r#"{"Error":-2147024894,"ErrorMessage":"The system cannot find the file specified.",
                      "ErrorEvents":[{"Message":"(layer /x does not exist)","Source":"hcsrun-linux"},{"Message":""}]}"#;
        let e = from_hresult(&system(), "Create", 0x8007_0002_u32 as i32, Some(doc));
        assert!(
            e.to_string().ends_with("(0x2) (layer /x does not exist)"),
            "{e}"
        );
        // The message alone restates a known code: not repeated.
        let doc =
            r#"{"Error":-2147024894,"ErrorMessage":"The system cannot find the file specified."}"#;
        let e = from_hresult(&system(), "Create", 0x8007_0002_u32 as i32, Some(doc));
        assert!(e.to_string().ends_with("(0x2)"), "{e}");
        // A code without a text of ours gets the service's message.
        let doc = r#"{"error":-1,"errormessage":"Catastrophic"}"#;
        let e = from_hresult(&system(), "Create", 0x8000_FFFF_u32 as i32, Some(doc));
        assert!(e.to_string().ends_with("(0x8000ffff) Catastrophic"), "{e}");
        let e = from_hresult(&system(), "Create", -1, Some("not json"));
        assert!(e.to_string().ends_with("(result: not json)"), "{e}");
    }

    #[test]
    fn wait_outcomes() {
        let s = system();
        let ok = Event {
            status: 0,
            data: None,
        };
        assert!(from_wait(&s, "Start", Ok(ok.clone())).is_ok());
        let failed = Event {
            status: 0xC037_0105_u32 as i32,
            data: None,
        };
        let e = from_wait(&s, "Start", Ok(failed)).unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::INVALID_STATE));
        let kinds = [
            (
                WaitError::Timeout,
                "hcsshim: timeout waiting for notification",
            ),
            (
                WaitError::UnexpectedExit(ok.clone()),
                "unexpected container exit",
            ),
            (
                WaitError::ServiceDisconnect(ok),
                "lost communication with compute service",
            ),
            (
                WaitError::Closed,
                "hcsshim: the handle generating this notification has been closed",
            ),
        ];
        for (waited, text) in kinds {
            let e = from_wait(&s, "Start", Err(waited)).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("container c1 encountered an error during Start: {text}")
            );
        }
    }
}
