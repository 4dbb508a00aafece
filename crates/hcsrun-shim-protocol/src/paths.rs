//! Windows paths in a configuration, read as paths inside a Linux
//! container: `C:\data\x` is `/data/x`.

/// The Linux path inside the container for a path of the configuration:
/// backslashes become slashes and a drive letter is dropped. `None` for a
/// relative path.
pub fn container_path(path: &str) -> Option<String> {
    let path = path.replace('\\', "/");
    let path = match path.as_bytes() {
        [d, b':', rest @ ..] if d.is_ascii_alphabetic() => {
            let rest = std::str::from_utf8(rest).expect("ASCII prefix split");
            if rest.is_empty() {
                "/".to_owned()
            } else {
                rest.to_owned()
            }
        }
        _ => path,
    };
    path.starts_with('/').then_some(path)
}

/// Where a mapped named pipe `\\.\pipe\NAME` appears in a Linux container.
pub const PIPE_DIR: &str = "/run/pipe";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_paths_become_container_paths() {
        assert_eq!(container_path(r"C:\data\x").as_deref(), Some("/data/x"));
        assert_eq!(container_path(r"c:\").as_deref(), Some("/"));
        assert_eq!(container_path("C:").as_deref(), Some("/"));
        assert_eq!(container_path("/var/lib").as_deref(), Some("/var/lib"));
        assert_eq!(container_path(r"\tmp").as_deref(), Some("/tmp"));
    }

    #[test]
    fn relative_paths_are_refused() {
        assert_eq!(container_path("data"), None);
        assert_eq!(container_path(r"C:data"), None);
        assert_eq!(container_path(""), None);
    }
}
