//! HCS and Win32 error codes, and how an HRESULT becomes one.

use std::fmt;

/// An error code as hcsshim compares them: a Win32 error number for
/// HRESULTs of the Win32 facility, the HRESULT itself otherwise.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub u32);

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal, $text:literal;)*) => {
        impl ErrorCode {
            $(
                $(#[$doc])*
                #[doc = ""]
                #[doc = $text]
                pub const $name: Self = Self($value);
            )*

            /// The constant's name, for codes this crate knows.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// What Windows says of the code (`FormatMessage`), for codes this
            /// crate knows.
            pub fn text(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    FILE_NOT_FOUND = 0x2, "The system cannot find the file specified.";
    PATH_NOT_FOUND = 0x3, "The system cannot find the path specified.";
    ACCESS_IS_DENIED = 0x5, "Access is denied.";
    INVALID_HANDLE = 0x6, "The handle is invalid.";
    NOT_ENOUGH_MEMORY = 0x8, "Not enough memory resources are available to process this command.";
    INVALID_DATA = 0xD, "The data is invalid.";
    NOT_SUPPORTED = 0x32, "The request is not supported.";
    INVALID_PARAMETER = 0x57, "The parameter is incorrect.";
    DISK_FULL = 0x70, "There is not enough space on the disk.";
    PROC_NOT_FOUND = 0x7F, "The specified procedure could not be found.";
    BUSY = 0xAA, "The requested resource is in use.";
    ALREADY_EXISTS = 0xB7, "Cannot create a file when that file already exists.";
    BAD_EXE_FORMAT = 0xC1, "The executable is not a valid application for this OS platform.";
    DIRECTORY = 0x10B, "The directory name is invalid.";
    NOT_ENOUGH_QUOTA = 0x718, "Not enough quota is available to process this command.";
    ELEMENT_NOT_FOUND = 0x490, "Element not found.";
    NONE_MAPPED = 0x534, "No mapping between account names and security IDs was done.";
    INTERNAL_ERROR = 0x54F, "An internal error occurred.";
    /// `HCS_E_TERMINATED_DURING_START`
    TERMINATED_DURING_START = 0xC0370100, "The virtual machine or container exited unexpectedly while starting.";
    IMAGE_MISMATCH = 0xC0370101, "The container operating system does not match the host operating system.";
    HYPERV_NOT_INSTALLED = 0xC0370102, "The virtual machine could not be started because a required feature is not installed.";
    /// `ERROR_VMCOMPUTE_OPERATION_PENDING`: completes later, by notification.
    OPERATION_PENDING = 0xC0370103, "A virtual machine or container operation is pending.";
    TOO_MANY_NOTIFICATIONS = 0xC0370104, "The call to the compute service was rejected because too many notifications are outstanding.";
    INVALID_STATE = 0xC0370105, "The requested virtual machine or container operation is not valid in the current state.";
    UNEXPECTED_EXIT = 0xC0370106, "The virtual machine or container exited unexpectedly.";
    TERMINATED = 0xC0370107, "The virtual machine or container was forcefully exited.";
    CONNECT_FAILED = 0xC0370108, "A connection could not be established with the container or virtual machine.";
    TIMEOUT = 0xC0370109, "The operation timed out because a response was not received from the virtual machine or container.";
    CONNECTION_CLOSED = 0xC037010A, "The connection with the virtual machine or container was closed.";
    UNKNOWN_MESSAGE = 0xC037010B, "An unknown internal message was received by the virtual machine or container.";
    UNSUPPORTED_PROTOCOL_VERSION = 0xC037010C, "The virtual machine or container does not support an available version of the communication protocol with the host.";
    INVALID_JSON = 0xC037010D, "The virtual machine or container JSON document is invalid.";
    /// `HCS_E_SYSTEM_NOT_FOUND`, hcsshim's ErrComputeSystemDoesNotExist.
    COMPUTE_SYSTEM_DOES_NOT_EXIST = 0xC037010E, "A virtual machine or container with the specified identifier does not exist.";
    SYSTEM_ALREADY_EXISTS = 0xC037010F, "A virtual machine or container with the specified identifier already exists.";
    SYSTEM_ALREADY_STOPPED = 0xC0370110, "The virtual machine or container with the specified identifier is not running.";
    PROTOCOL_ERROR = 0xC0370111, "A communication protocol error has occurred between the virtual machine or container and the host.";
    INVALID_LAYER = 0xC0370112, "The container image contains a layer with an unrecognized format.";
    WINDOWS_INSIDER_REQUIRED = 0xC0370113, "To use this container image, you must join the Windows Insider Program.";
    /// `HCS_E_PROCESS_ALREADY_STOPPED`, later hcsshim's
    /// ErrProcessAlreadyStopped: a kill of a process that has exited.
    PROCESS_ALREADY_STOPPED = 0x8037011F, "The process has already exited.";
}

impl ErrorCode {
    /// The code hcsshim derives from an HRESULT: Win32-facility HRESULTs
    /// (`hr & 0x1fff0000 == 0x00070000`) carry a Win32 error in their low
    /// 16 bits; every other HRESULT is its own code.
    pub fn from_hresult(hr: i32) -> Self {
        let hr = hr as u32;
        if hr & 0x1fff_0000 == 0x0007_0000 {
            Self(hr & 0xffff)
        } else {
            Self(hr)
        }
    }

    /// The HRESULT that carries this code: `HRESULT_FROM_WIN32` for Win32
    /// error numbers, the code itself otherwise.
    pub fn to_hresult(self) -> i32 {
        if self.0 != 0 && self.0 <= 0xffff {
            (0x8007_0000 | self.0) as i32
        } else {
            self.0 as i32
        }
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({:#x})", self.0),
            None => write!(f, "ErrorCode({:#x})", self.0),
        }
    }
}

/// Go's `syscall.Errno` text: the system message, or `winapi error #N` for
/// a code without one.
impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            Some(text) => f.write_str(text),
            None => write!(f, "winapi error #{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win32_facility_hresults_become_win32_codes() {
        // HRESULT_FROM_WIN32(ERROR_NOT_FOUND) = 0x80070490
        assert_eq!(
            ErrorCode::from_hresult(0x8007_0490_u32 as i32),
            ErrorCode::ELEMENT_NOT_FOUND
        );
        assert_eq!(
            ErrorCode::from_hresult(0x8007_0032_u32 as i32),
            ErrorCode::NOT_SUPPORTED
        );
        assert_eq!(
            ErrorCode::from_hresult(0x8007_007F_u32 as i32),
            ErrorCode::PROC_NOT_FOUND
        );
        // The mask ignores the severity and reserved bits above the facility.
        assert_eq!(
            ErrorCode::from_hresult(0x0007_0005),
            ErrorCode::ACCESS_IS_DENIED
        );
        assert_eq!(
            ErrorCode::from_hresult(0xE007_000D_u32 as i32),
            ErrorCode::INVALID_DATA
        );
    }

    #[test]
    fn other_hresults_are_their_own_code() {
        for code in [
            ErrorCode::OPERATION_PENDING,
            ErrorCode::COMPUTE_SYSTEM_DOES_NOT_EXIST,
            ErrorCode::SYSTEM_ALREADY_STOPPED,
        ] {
            assert_eq!(ErrorCode::from_hresult(code.0 as i32), code);
            assert_eq!(code.to_hresult() as u32, code.0);
        }
        // Facility 0x17 (not Win32) keeps its low word.
        assert_eq!(
            ErrorCode::from_hresult(0x8017_0490_u32 as i32),
            ErrorCode(0x8017_0490)
        );
        assert_eq!(ErrorCode::from_hresult(0), ErrorCode(0));
    }

    #[test]
    fn win32_codes_round_trip_through_hresult() {
        for code in [
            ErrorCode::ELEMENT_NOT_FOUND,
            ErrorCode::FILE_NOT_FOUND,
            ErrorCode(0xffff),
        ] {
            let hr = code.to_hresult();
            assert_eq!(hr as u32 & 0xffff_0000, 0x8007_0000);
            assert_eq!(ErrorCode::from_hresult(hr), code);
        }
    }

    #[test]
    fn text_and_names() {
        assert_eq!(ErrorCode::INVALID_DATA.to_string(), "The data is invalid.");
        assert_eq!(ErrorCode(0x1234).to_string(), "winapi error #4660");
        assert_eq!(
            format!("{:?}", ErrorCode::OPERATION_PENDING),
            "OPERATION_PENDING(0xc0370103)"
        );
        assert_eq!(ErrorCode::INVALID_JSON.name(), Some("INVALID_JSON"));
    }
}
