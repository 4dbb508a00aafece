//! The container ids hcsrun accepts: they become file names (scratch
//! folders, records) and cgroup names, so the rule is one every embedder
//! and service shares.

/// The longest id accepted.
pub const MAX_ID_LEN: usize = 128;

/// 1 to [`MAX_ID_LEN`] ASCII letters, digits, `-`, `_` and `.`, starting
/// with a letter or digit (docker's rule): a single plain file name, never
/// `.`, `..` or a hidden one.
pub fn is_plain_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_only() {
        for id in ["a", "5e0055c814a6", "my-app_1.2", &"x".repeat(MAX_ID_LEN)] {
            assert!(is_plain_id(id), "{id:?}");
        }
        for id in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            ".hidden",
            "-x",
            "_x",
            "a b",
            "é",
            &"x".repeat(MAX_ID_LEN + 1),
        ] {
            assert!(!is_plain_id(id), "{id:?}");
        }
    }
}
