//! Errors of compute-service calls, named for their subject and operation,
//! and classified the way hcsshim classifies them.

use std::{borrow::Cow, error::Error as StdError, fmt};

use crate::ErrorCode;

/// A compute-service call's result.
pub type Result<T, E = HcsError> = std::result::Result<T, E>;

/// What an error is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The compute service as a whole (enumerate, service properties).
    Service,
    /// A compute system, by id.
    System {
        /// The system's id.
        id: String,
    },
    /// A process, by pid, in a compute system.
    Process {
        /// The system's id.
        id: String,
        /// The process id, in the system.
        pid: u32,
    },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Service => f.write_str("compute service"),
            Subject::System { id } => write!(f, "container {id}"),
            Subject::Process { id, pid } => write!(f, "process {pid} in container {id}"),
        }
    }
}

/// Why a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The compute service returned this code.
    Code(ErrorCode),
    /// No notification arrived in time (hcsshim's ErrTimeout).
    Timeout,
    /// The handle was closed before the call (ErrAlreadyClosed).
    AlreadyClosed,
    /// The handle was closed while the call waited (ErrHandleClose).
    HandleClosed,
    /// The system exited while something else was awaited.
    UnexpectedContainerExit,
    /// The service went away while the call waited.
    ServiceDisconnect,
    /// The process is still running (exit code asked too early).
    InvalidProcessState,
    /// The compute service cannot be reached on this host at all.
    Unavailable(String),
    /// What supervised the system died, and the system with it; the text
    /// says so in the host's terms ("the holder of container c1 died
    /// (killed by signal 9)").
    SystemLost(Box<str>),
}

impl ErrorKind {
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Code(code) => write!(
                f,
                "failure in a Windows system call: {code} ({:#x})",
                code.0
            ),
            ErrorKind::Timeout => f.write_str("hcsshim: timeout waiting for notification"),
            ErrorKind::AlreadyClosed => f.write_str("hcsshim: the handle has already been closed"),
            ErrorKind::HandleClosed => {
                f.write_str("hcsshim: the handle generating this notification has been closed")
            }
            ErrorKind::UnexpectedContainerExit => f.write_str("unexpected container exit"),
            ErrorKind::ServiceDisconnect => f.write_str("lost communication with compute service"),
            ErrorKind::InvalidProcessState => {
                f.write_str("the process is in an invalid state for the attempted operation")
            }
            ErrorKind::Unavailable(why) => f.write_str(why),
            ErrorKind::SystemLost(why) => f.write_str(why),
        }
    }
}

/// An error from a compute-service call. Its message names the subject and
/// the operation, as hcsshim's do:
///
/// `container <id> encountered an error during Start: failure in a Windows
/// system call: <text> (0xc0370110)`.
#[derive(Debug)]
pub struct HcsError {
    subject: Subject,
    operation: Cow<'static, str>,
    kind: ErrorKind,
    extra: Option<String>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl HcsError {
    /// An error of `subject` during `operation`.
    pub fn new(subject: Subject, operation: impl Into<Cow<'static, str>>, kind: ErrorKind) -> Self {
        Self {
            subject,
            operation: operation.into(),
            kind,
            extra: None,
            source: None,
        }
    }

    /// An error of a compute system.
    pub fn system(
        id: impl Into<String>,
        operation: impl Into<Cow<'static, str>>,
        kind: ErrorKind,
    ) -> Self {
        Self::new(Subject::System { id: id.into() }, operation, kind)
    }

    /// An error of a process.
    pub fn process(
        id: impl Into<String>,
        pid: u32,
        operation: impl Into<Cow<'static, str>>,
        kind: ErrorKind,
    ) -> Self {
        Self::new(Subject::Process { id: id.into(), pid }, operation, kind)
    }

    /// An error of the service itself.
    pub fn service(operation: impl Into<Cow<'static, str>>, kind: ErrorKind) -> Self {
        Self::new(Subject::Service, operation, kind)
    }

    /// Adds detail that follows the message (hcsshim's ExtraInfo), such as
    /// the service's own explanation.
    pub fn with_extra(mut self, extra: impl Into<String>) -> Self {
        let extra = extra.into();
        if !extra.is_empty() {
            self.extra = Some(extra);
        }
        self
    }

    /// Records the lower-level error this one came from.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What the error is about.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The operation that failed (hcsshim's names: `Start`,
    /// `CreateProcess`, ...).
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Why it failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The detail that follows the message, if any.
    pub fn extra(&self) -> Option<&str> {
        self.extra.as_deref()
    }

    /// The service's code, if the service returned one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self.kind {
            ErrorKind::Code(code) => Some(code),
            _ => None,
        }
    }

    /// The HRESULT to hand a C caller for this error.
    pub fn hresult(&self) -> i32 {
        match &self.kind {
            ErrorKind::Code(code) => code.to_hresult(),
            ErrorKind::Timeout => ErrorCode::TIMEOUT.to_hresult(),
            ErrorKind::AlreadyClosed | ErrorKind::HandleClosed => {
                ErrorCode::CONNECTION_CLOSED.to_hresult()
            }
            ErrorKind::UnexpectedContainerExit => ErrorCode::UNEXPECTED_EXIT.to_hresult(),
            ErrorKind::ServiceDisconnect => ErrorCode::CONNECTION_CLOSED.to_hresult(),
            ErrorKind::InvalidProcessState => ErrorCode::INVALID_STATE.to_hresult(),
            ErrorKind::Unavailable(_) => ErrorCode::PROC_NOT_FOUND.to_hresult(),
            ErrorKind::SystemLost(_) => ErrorCode::UNEXPECTED_EXIT.to_hresult(),
        }
    }

    fn has_code(&self, codes: &[ErrorCode]) -> bool {
        self.code().is_some_and(|c| codes.contains(&c))
    }

    /// The operation continues in the background (create, start, pause and
    /// resume complete by notification; shutdown and terminate by `wait`).
    pub fn is_pending(&self) -> bool {
        self.has_code(&[ErrorCode::OPERATION_PENDING])
    }

    /// The system or process does not exist.
    pub fn is_not_exist(&self) -> bool {
        self.has_code(&[
            ErrorCode::COMPUTE_SYSTEM_DOES_NOT_EXIST,
            ErrorCode::ELEMENT_NOT_FOUND,
            ErrorCode::PROC_NOT_FOUND,
        ])
    }

    /// The system or process has already stopped.
    pub fn is_already_stopped(&self) -> bool {
        self.has_code(&[
            ErrorCode::SYSTEM_ALREADY_STOPPED,
            ErrorCode::PROCESS_ALREADY_STOPPED,
            ErrorCode::ELEMENT_NOT_FOUND,
            ErrorCode::PROC_NOT_FOUND,
        ])
    }

    /// The platform does not recognize or support the request.
    pub fn is_not_supported(&self) -> bool {
        self.has_code(&[
            ErrorCode::INVALID_JSON,
            ErrorCode::INVALID_DATA,
            ErrorCode::NOT_SUPPORTED,
            ErrorCode::UNKNOWN_MESSAGE,
        ])
    }

    /// A wait ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout)
    }

    /// The handle had been closed before the call.
    pub fn is_already_closed(&self) -> bool {
        matches!(self.kind, ErrorKind::AlreadyClosed)
    }

    /// The handle was closed while the call waited.
    pub fn is_handle_closed(&self) -> bool {
        matches!(self.kind, ErrorKind::HandleClosed)
    }

    /// What supervised the system died, taking the system with it
    /// ([`ErrorKind::SystemLost`]).
    pub fn is_system_lost(&self) -> bool {
        matches!(self.kind, ErrorKind::SystemLost(_))
    }
}

impl fmt::Display for HcsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.subject)?;
        if !self.operation.is_empty() {
            write!(f, " encountered an error during {}", self.operation)?;
        }
        f.write_str(": ")?;
        self.kind.describe(f)?;
        if let Some(extra) = &self.extra {
            write!(f, " {extra}")?;
        }
        Ok(())
    }
}

impl StdError for HcsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// The innermost [`HcsError`] in `err`'s chain of sources, which is the one
/// the classification functions below look at.
pub fn innermost<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a HcsError> {
    let mut found = None;
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(hcs) = e.downcast_ref::<HcsError>() {
            found = Some(hcs);
        }
        next = e.source();
    }
    found
}

macro_rules! classify {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(err: &(dyn StdError + 'static)) -> bool {
            innermost(err).is_some_and(HcsError::$name)
        }
    )*};
}

classify! {
    /// [`HcsError::is_pending`] of the innermost HCS error in `err`.
    is_pending;
    /// [`HcsError::is_not_exist`] of the innermost HCS error in `err`.
    is_not_exist;
    /// [`HcsError::is_already_stopped`] of the innermost HCS error in `err`.
    is_already_stopped;
    /// [`HcsError::is_not_supported`] of the innermost HCS error in `err`.
    is_not_supported;
    /// [`HcsError::is_timeout`] of the innermost HCS error in `err`.
    is_timeout;
    /// [`HcsError::is_already_closed`] of the innermost HCS error in `err`.
    is_already_closed;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: ErrorCode) -> HcsError {
        HcsError::system("c1", "Start", ErrorKind::Code(c))
    }

    /// Every class and the exact set of codes in it (hcs-v1-reference §2).
    #[test]
    fn classification_is_exactly_hcsshims() {
        let all = [
            ErrorCode::COMPUTE_SYSTEM_DOES_NOT_EXIST,
            ErrorCode::ELEMENT_NOT_FOUND,
            ErrorCode::NOT_SUPPORTED,
            ErrorCode::INVALID_DATA,
            ErrorCode::ACCESS_IS_DENIED,
            ErrorCode::PROC_NOT_FOUND,
            ErrorCode::OPERATION_PENDING,
            ErrorCode::INVALID_STATE,
            ErrorCode::UNEXPECTED_EXIT,
            ErrorCode::UNKNOWN_MESSAGE,
            ErrorCode::INVALID_JSON,
            ErrorCode::SYSTEM_ALREADY_EXISTS,
            ErrorCode::SYSTEM_ALREADY_STOPPED,
            ErrorCode::TIMEOUT,
            ErrorCode::FILE_NOT_FOUND,
            ErrorCode::PROCESS_ALREADY_STOPPED,
        ];
        let members = |pred: fn(&HcsError) -> bool| -> Vec<ErrorCode> {
            all.iter().copied().filter(|c| pred(&code(*c))).collect()
        };
        assert_eq!(
            members(HcsError::is_not_exist),
            [
                ErrorCode::COMPUTE_SYSTEM_DOES_NOT_EXIST,
                ErrorCode::ELEMENT_NOT_FOUND,
                ErrorCode::PROC_NOT_FOUND
            ]
        );
        assert_eq!(
            members(HcsError::is_already_stopped),
            [
                ErrorCode::ELEMENT_NOT_FOUND,
                ErrorCode::PROC_NOT_FOUND,
                ErrorCode::SYSTEM_ALREADY_STOPPED,
                ErrorCode::PROCESS_ALREADY_STOPPED
            ]
        );
        assert_eq!(
            members(HcsError::is_pending),
            [ErrorCode::OPERATION_PENDING]
        );
        assert_eq!(
            members(HcsError::is_not_supported),
            [
                ErrorCode::NOT_SUPPORTED,
                ErrorCode::INVALID_DATA,
                ErrorCode::UNKNOWN_MESSAGE,
                ErrorCode::INVALID_JSON
            ]
        );
        // Service codes are never client-side timeouts or closed handles,
        // not even HCS's own timeout code.
        assert!(members(HcsError::is_timeout).is_empty());
        assert!(members(HcsError::is_already_closed).is_empty());
    }

    #[test]
    fn client_side_kinds() {
        let e = HcsError::system("c1", "Wait", ErrorKind::Timeout);
        assert!(e.is_timeout() && !e.is_pending() && !e.is_already_closed());
        let e = HcsError::system("c1", "Start", ErrorKind::AlreadyClosed);
        assert!(e.is_already_closed() && !e.is_handle_closed() && !e.is_timeout());
        let e = HcsError::system("c1", "Wait", ErrorKind::HandleClosed);
        assert!(e.is_handle_closed() && !e.is_already_closed());
        for kind in [
            ErrorKind::UnexpectedContainerExit,
            ErrorKind::ServiceDisconnect,
            ErrorKind::InvalidProcessState,
            ErrorKind::SystemLost("the holder of container c1 died".into()),
        ] {
            let e = HcsError::system("c1", "Wait", kind);
            assert!(!e.is_not_exist() && !e.is_already_stopped() && !e.is_pending());
        }
    }

    #[test]
    fn messages_name_subject_and_operation() {
        assert_eq!(
            code(ErrorCode::SYSTEM_ALREADY_STOPPED).to_string(),
            "container c1 encountered an error during Start: failure in a Windows system call: \
             The virtual machine or container with the specified identifier is not running. (0xc0370110)"
        );
        let e = HcsError::process(
            "c1",
            42,
            "Kill",
            ErrorKind::Code(ErrorCode::ELEMENT_NOT_FOUND),
        );
        assert_eq!(
            e.to_string(),
            "process 42 in container c1 encountered an error during Kill: \
             failure in a Windows system call: Element not found. (0x490)"
        );
        let e = HcsError::system("c1", "WaitTimeout", ErrorKind::Timeout);
        assert_eq!(
            e.to_string(),
            "container c1 encountered an error during WaitTimeout: hcsshim: timeout waiting for notification"
        );
        let e = HcsError::system("c1", "Create", ErrorKind::Code(ErrorCode::PATH_NOT_FOUND))
            .with_extra("layer /no/such does not exist");
        assert!(e
            .to_string()
            .ends_with("(0x3) layer /no/such does not exist"));
        let e = HcsError::service(
            "Enumerate",
            ErrorKind::Unavailable("HCS is not available on this host".into()),
        );
        assert_eq!(
            e.to_string(),
            "compute service encountered an error during Enumerate: HCS is not available on this host"
        );
    }

    #[derive(Debug)]
    struct Wrapper(HcsError);
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "client: {}", self.0)
        }
    }
    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn classification_looks_at_the_innermost_hcs_error() {
        let inner = code(ErrorCode::OPERATION_PENDING);
        let outer = HcsError::system("c1", "Shutdown", ErrorKind::Code(ErrorCode::INVALID_STATE))
            .with_source(inner);
        assert!(is_pending(&outer));
        assert!(!outer.is_pending());
        let wrapped = Wrapper(code(ErrorCode::SYSTEM_ALREADY_STOPPED));
        assert!(is_already_stopped(&wrapped));
        assert!(!is_not_exist(&wrapped));
        let io = std::io::Error::other("plain");
        assert!(!is_pending(&io));
    }

    #[test]
    fn a_lost_system_says_so_in_the_hosts_terms() {
        let e = HcsError::system(
            "c1",
            "Wait",
            ErrorKind::SystemLost("the holder of container c1 died (killed by signal 9)".into()),
        );
        assert!(e.is_system_lost() && !e.is_already_stopped());
        assert_eq!(
            e.to_string(),
            "container c1 encountered an error during Wait: the holder of container c1 died (killed by signal 9)"
        );
    }

    #[test]
    fn hresults_for_c_callers() {
        assert_eq!(
            code(ErrorCode::ELEMENT_NOT_FOUND).hresult() as u32,
            0x8007_0490
        );
        assert_eq!(
            code(ErrorCode::OPERATION_PENDING).hresult() as u32,
            0xC037_0103
        );
        // Not a Win32-facility HRESULT: its own code, both ways.
        assert_eq!(
            code(ErrorCode::PROCESS_ALREADY_STOPPED).hresult() as u32,
            0x8037_011F
        );
        assert_eq!(
            ErrorCode::from_hresult(0x8037_011F_u32 as i32),
            ErrorCode::PROCESS_ALREADY_STOPPED
        );
    }
}
