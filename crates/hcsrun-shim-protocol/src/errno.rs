//! The HCS code for a Linux failure, so that callers classify Linux
//! failures as they would Windows ones. The holder reports its failures
//! with these codes, and the service names its own with the same.

use std::io;

use hcs::ErrorCode;

/// The Win32 code closest to an errno.
pub fn errno_code(errno: i32) -> ErrorCode {
    match errno {
        libc::ENOENT => ErrorCode::FILE_NOT_FOUND,
        libc::ENOTDIR => ErrorCode::DIRECTORY,
        libc::EACCES | libc::EPERM | libc::EROFS => ErrorCode::ACCESS_IS_DENIED,
        libc::EEXIST => ErrorCode::ALREADY_EXISTS,
        libc::ENOMEM => ErrorCode::NOT_ENOUGH_MEMORY,
        libc::ENOSPC | libc::EDQUOT => ErrorCode::DISK_FULL,
        libc::EBUSY => ErrorCode::BUSY,
        libc::ENOEXEC => ErrorCode::BAD_EXE_FORMAT,
        libc::EINVAL => ErrorCode::INVALID_PARAMETER,
        libc::ENOSYS | libc::EOPNOTSUPP => ErrorCode::NOT_SUPPORTED,
        _ => ErrorCode::INTERNAL_ERROR,
    }
}

/// The code for an I/O error.
pub fn io_code(err: &io::Error) -> ErrorCode {
    err.raw_os_error()
        .map_or(ErrorCode::INTERNAL_ERROR, errno_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_map_to_what_windows_would_say() {
        assert_eq!(errno_code(libc::ENOENT), ErrorCode::FILE_NOT_FOUND);
        assert_eq!(errno_code(libc::EACCES), ErrorCode::ACCESS_IS_DENIED);
        assert_eq!(errno_code(libc::ENOEXEC), ErrorCode::BAD_EXE_FORMAT);
        assert_eq!(errno_code(libc::EIO), ErrorCode::INTERNAL_ERROR);
        assert_eq!(
            io_code(&io::Error::from_raw_os_error(libc::EBUSY)),
            ErrorCode::BUSY
        );
        assert_eq!(io_code(&io::Error::other("x")), ErrorCode::INTERNAL_ERROR);
    }
}
