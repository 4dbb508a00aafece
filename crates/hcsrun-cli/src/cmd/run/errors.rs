//! A failure to create a container, said in the user's Linux terms first
//! and then which container and operation:
//!
//! `exec nosuchcmd: no such file or directory in the container (container
//! c1, CreateProcess)`
//!
//! The compute service's own wording (the HCS code and the seed's text)
//! is logged at debug level (`--debug`) and stays in the library's
//! `HcsError`.

use hcs::{ErrorCode, ErrorKind, HcsError};
use hcsrun::{client::ClientError, service::ServiceChoice};

/// The one-line message for `error`, from creating container `id`, where
/// there is a better one than its own text.
pub fn describe(error: &ClientError, id: &str, choice: &ServiceChoice) -> Option<String> {
    let hcs = error.hcs_error()?;
    if hcs.code() == Some(ErrorCode::SYSTEM_ALREADY_EXISTS) {
        return Some(already_exists(id, choice));
    }
    in_linux_terms(hcs)
}

/// "container NAME already exists", and what to do about it.
pub fn already_exists(id: &str, choice: &ServiceChoice) -> String {
    let record = match choice {
        ServiceChoice::Linux => format!(", remove {}/{id}", crate::containers::LINUX_SYSTEMS),
        ServiceChoice::VmCompute(_) => String::new(),
    };
    format!(
        "container {id} already exists: choose another --name, or if it no longer runs (its \
         hcsrun was killed){record} and its scratch folder (`hcsrun rm {id}` will do this)"
    )
}

/// `WHAT: CAUSE [in the container] (SUBJECT, OPERATION)`, for an error
/// with a code; `None` if there is nothing better to say than the error's
/// own text.
pub fn in_linux_terms(error: &HcsError) -> Option<String> {
    let ErrorKind::Code(code) = error.kind() else {
        return None;
    };
    let detail = error
        .extra()
        .map(|e| {
            e.strip_prefix('(')
                .and_then(|e| e.strip_suffix(')'))
                .unwrap_or(e)
        })
        .filter(|d| !d.is_empty());
    let (what, cause) = match detail.and_then(|d| d.split_once(": ")) {
        Some((what, cause)) => (what, Some(cause)),
        None => (detail?, None),
    };
    let cause = cause
        .and_then(errno_text)
        .or_else(|| linux_phrase(*code).map(str::to_owned))
        .or_else(|| cause.map(str::to_owned));
    let place = if error.operation() == "CreateProcess" {
        " in the container"
    } else {
        ""
    };
    let said = match cause {
        Some(cause) => format!("{what}: {cause}"),
        None => what.to_owned(),
    };
    Some(format!(
        "{said}{place} ({}, {})",
        error.subject(),
        error.operation()
    ))
}

/// The errno a Linux message names, as the kernel says it, in lower case:
/// `... (os error 2)` or `ENOENT: ...` give "no such file or directory".
fn errno_text(cause: &str) -> Option<String> {
    if let Some(start) = cause.rfind("(os error ") {
        let number = &cause[start + "(os error ".len()..];
        let number: i32 = number.strip_suffix(')')?.parse().ok()?;
        let text = std::io::Error::from_raw_os_error(number).to_string();
        let text = text.split(" (os error").next().unwrap_or(&text);
        return Some(lower_first(text));
    }
    let (name, text) = cause.split_once(": ")?;
    let is_errno_name = name.len() > 1
        && name.starts_with('E')
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    is_errno_name.then(|| lower_first(text))
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What Linux calls the failure a Win32 code stands for (the Linux
/// service's codes map back to the errno they came from).
fn linux_phrase(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::FILE_NOT_FOUND | ErrorCode::PATH_NOT_FOUND => "no such file or directory",
        ErrorCode::ACCESS_IS_DENIED => "permission denied",
        ErrorCode::BAD_EXE_FORMAT => "exec format error",
        ErrorCode::DIRECTORY => "not a directory",
        ErrorCode::ALREADY_EXISTS => "file exists",
        ErrorCode::NOT_ENOUGH_MEMORY => "cannot allocate memory",
        ErrorCode::DISK_FULL => "no space left on device",
        ErrorCode::BUSY => "device or resource busy",
        ErrorCode::INVALID_PARAMETER => "invalid argument",
        ErrorCode::NOT_SUPPORTED => "operation not supported",
        ErrorCode::NONE_MAPPED => "no such user or group",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(operation: &'static str, code: ErrorCode, extra: &str) -> Option<String> {
        in_linux_terms(&HcsError::system("c1", operation, ErrorKind::Code(code)).with_extra(extra))
    }

    #[test]
    fn linux_words_first_then_where() {
        assert_eq!(
            said(
                "CreateProcess",
                ErrorCode::FILE_NOT_FOUND,
                "(exec nosuchcmd: executable file not found in $PATH)"
            )
            .unwrap(),
            "exec nosuchcmd: no such file or directory in the container \
             (container c1, CreateProcess)"
        );
        assert_eq!(
            said(
                "CreateProcess",
                ErrorCode::ACCESS_IS_DENIED,
                "(exec /etc/hostname: Permission denied (os error 13))"
            )
            .unwrap(),
            "exec /etc/hostname: permission denied in the container (container c1, CreateProcess)"
        );
        // The errno, where the detail has one, over the code.
        assert_eq!(
            said(
                "CreateProcess",
                ErrorCode::DIRECTORY,
                "(working directory /no/dir: No such file or directory (os error 2))"
            )
            .unwrap(),
            "working directory /no/dir: no such file or directory in the container \
             (container c1, CreateProcess)"
        );
        assert_eq!(
            said(
                "Start",
                ErrorCode::FILE_NOT_FOUND,
                "(opening /dev/null: ENOENT: No such file or directory)"
            )
            .unwrap(),
            "opening /dev/null: no such file or directory (container c1, Start)"
        );
        assert_eq!(
            said(
                "CreateProcess",
                ErrorCode::BAD_EXE_FORMAT,
                "(exec /x: oops)"
            )
            .unwrap(),
            "exec /x: exec format error in the container (container c1, CreateProcess)"
        );
        // A code without a Linux name keeps the detail's words.
        assert_eq!(
            said(
                "Start",
                ErrorCode::INTERNAL_ERROR,
                "(mounting /x: it broke)"
            )
            .unwrap(),
            "mounting /x: it broke (container c1, Start)"
        );
        assert_eq!(
            said(
                "Start",
                ErrorCode::SYSTEM_ALREADY_STOPPED,
                "(the system has stopped)"
            )
            .unwrap(),
            "the system has stopped (container c1, Start)"
        );
        // Nothing better to say: the error's own text.
        assert_eq!(said("Start", ErrorCode::INTERNAL_ERROR, ""), None);
        let timeout = HcsError::system("c1", "Start", ErrorKind::Timeout);
        assert_eq!(in_linux_terms(&timeout), None);
    }

    #[test]
    fn errno_texts() {
        assert_eq!(
            errno_text("Permission denied (os error 13)").as_deref(),
            Some("permission denied")
        );
        assert_eq!(
            errno_text("EACCES: Permission denied").as_deref(),
            Some("permission denied")
        );
        assert_eq!(errno_text("executable file not found in $PATH"), None);
        assert_eq!(errno_text("Exec: x"), None);
    }
}
