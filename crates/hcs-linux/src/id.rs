//! Container ids become paths and cgroup names, so they are checked before
//! anything is built from them.

use hcs::{ErrorCode, ErrorKind, HcsError, MAX_ID_LEN};

/// Accepts the ids [`hcs::is_plain_id`] does: 1 to 128 ASCII letters,
/// digits, `-`, `_` and `.`, starting with a letter or digit (docker's
/// rule): never `.`, `..`, or a hidden name such as the service's own
/// `.new-…` records.
pub fn validate_id(id: &str, operation: &'static str) -> Result<(), HcsError> {
    if hcs::is_plain_id(id) {
        return Ok(());
    }
    Err(HcsError::system(
        id.escape_debug().to_string(),
        operation,
        ErrorKind::Code(ErrorCode::INVALID_PARAMETER),
    )
    .with_extra(format!(
        "(invalid container id: use 1 to {MAX_ID_LEN} letters, digits, '-', '_' or '.', starting with a letter or digit)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_docker_style_ids() {
        for id in ["a", "5e0055c814a6", "my-app_1.2", &"x".repeat(MAX_ID_LEN)] {
            validate_id(id, "Create").unwrap();
        }
    }

    #[test]
    fn refuses_anything_that_could_escape_a_path() {
        for id in [
            "",
            ".",
            "..",
            "../x",
            ".hidden",
            "-flag",
            "_x",
            "a/b",
            "a\\b",
            "a b",
            "a\0b",
            "é",
            "a\nb",
            &"x".repeat(MAX_ID_LEN + 1),
        ] {
            let err = validate_id(id, "Create").unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::INVALID_PARAMETER), "{id:?}");
            assert!(err.to_string().contains("invalid container id"));
        }
    }
}
