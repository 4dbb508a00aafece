//! hcsrun's exit codes, as docker's: the container's own, 125 when hcsrun
//! fails before the container runs, 126 when the command cannot be invoked,
//! 127 when it is not found.

use hcs::ErrorCode;
use hcsrun::client::ClientError;

pub const FAILED: u8 = 125;
pub const CANNOT_INVOKE: u8 = 126;
pub const NOT_FOUND: u8 = 127;

/// The exit code for a container that could not be created.
pub fn for_create_error(error: &ClientError) -> u8 {
    error.hcs_error().map_or(FAILED, for_hcs_error)
}

/// The exit code for the compute service's refusal to create or start a
/// container or process: 127 for a program not found, 126 for one that
/// cannot be run, else 125.
pub fn for_hcs_error(hcs: &hcs::HcsError) -> u8 {
    if hcs.operation() != "CreateProcess" {
        return FAILED;
    }
    match hcs.code() {
        Some(ErrorCode::FILE_NOT_FOUND | ErrorCode::PATH_NOT_FOUND) => NOT_FOUND,
        Some(ErrorCode::ACCESS_IS_DENIED | ErrorCode::BAD_EXE_FORMAT | ErrorCode::DIRECTORY) => {
            CANNOT_INVOKE
        }
        _ => FAILED,
    }
}

/// The exit code for a container's exit code: itself where it fits, else
/// 255 (a failure must not wrap around to success).
pub fn for_exit(code: u32) -> u8 {
    u8::try_from(code).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_codes_pass_through() {
        assert_eq!(for_exit(0), 0);
        assert_eq!(for_exit(72), 72);
        assert_eq!(for_exit(137), 137);
        assert_eq!(for_exit(256), 255);
        assert_eq!(for_exit(0xC000_013A), 255);
    }
}
