//! Paths: host paths resolved against the bundle directory, container
//! paths checked. Both follow Unix rules on every host, so a spec is read
//! the same wherever it is translated.

use std::path::{Component, Path, PathBuf};

use crate::error::{FieldResult, SpecFieldError};

/// Starts at the root (`/`).
pub(crate) fn is_absolute(path: &Path) -> bool {
    path.to_string_lossy().starts_with('/')
}

/// `path`, resolved against `bundle` (itself absolute) when relative, as
/// runc does by running in the bundle directory. `.` components and
/// repeated separators are dropped; `..` is kept.
pub(crate) fn resolve(bundle: &Path, path: &Path) -> PathBuf {
    let joined = if is_absolute(path) {
        path.to_path_buf()
    } else {
        bundle.join(path)
    };
    clean(&joined)
}

/// A path inside the container: absolute, without NUL; returned without
/// `.` components or a trailing separator.
pub(crate) fn container_path(field: &str, path: &Path) -> FieldResult<PathBuf> {
    let text = path.to_string_lossy();
    if text.contains('\0') {
        return Err(SpecFieldError::new(field, "contains a NUL character"));
    }
    if !is_absolute(path) {
        return Err(SpecFieldError::new(
            field,
            format!("{text:?} is not an absolute path"),
        ));
    }
    Ok(clean(path))
}

fn clean(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// A host path given by the spec: not empty, without NUL, resolved against
/// the bundle.
pub(crate) fn host_path(field: &str, bundle: &Path, path: &Path) -> FieldResult<PathBuf> {
    let text = path.to_string_lossy();
    if text.is_empty() {
        return Err(SpecFieldError::new(field, "required"));
    }
    if text.contains('\0') {
        return Err(SpecFieldError::new(field, "contains a NUL character"));
    }
    Ok(resolve(bundle, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_bundle() {
        let b = Path::new("/b/bundle");
        assert_eq!(
            resolve(b, Path::new("rootfs")),
            Path::new("/b/bundle/rootfs")
        );
        assert_eq!(
            resolve(b, Path::new("./data/")),
            Path::new("/b/bundle/data")
        );
        assert_eq!(resolve(b, Path::new("../x")), Path::new("/b/bundle/../x"));
        assert_eq!(resolve(b, Path::new("/abs//p/./q")), Path::new("/abs/p/q"));
    }

    #[test]
    fn container_paths_are_absolute() {
        assert!(container_path("f", Path::new("/data")).is_ok());
        let e = container_path("mounts[0].destination", Path::new("data")).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"mounts[0].destination: "data" is not an absolute path"#
        );
        assert!(host_path("root.path", Path::new("/b"), Path::new("")).is_err());
    }
}
