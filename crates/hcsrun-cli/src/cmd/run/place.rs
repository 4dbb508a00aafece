//! Where the scratch folder may be: outside every read-only layer, or the
//! container's writes would land in a layer (and a layer inside the scratch
//! folder would be written through).

use std::path::{Component, Path, PathBuf};

/// Refuses a scratch folder inside one of `layers`, or a layer inside it.
/// The host's root as the base layer (`/`, hcsrun run's default) is the
/// one exception: every folder is inside it, and the host's root is no
/// read-only image. Paths that do not exist (Windows paths of an options
/// file) are compared as written.
pub fn check_scratch(scratch: &Path, layers: &[PathBuf]) -> Result<(), String> {
    let scratch_real = resolve(scratch);
    for layer in layers {
        let layer_real = resolve(layer);
        if layer_real == Path::new("/") {
            continue;
        }
        if scratch_real.starts_with(&layer_real) {
            return Err(format!(
                "the scratch folder {} is inside the layer {}: layers are read-only, so the \
                 scratch folder must be outside every layer",
                scratch.display(),
                layer.display()
            ));
        }
        if layer_real.starts_with(&scratch_real) {
            return Err(format!(
                "the layer {} is inside the scratch folder {}: the scratch folder must be \
                 outside every layer",
                layer.display(),
                scratch.display()
            ));
        }
    }
    Ok(())
}

/// `path` made absolute, component by component: symbolic links resolved
/// as far as it exists (as the kernel would follow them), the part that
/// does not exist yet taken as written, `.` and `..` applied in order.
fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut resolved = PathBuf::from("/");
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(part) => {
                resolved.push(part);
                if let Ok(real) = resolved.canonicalize() {
                    resolved = real;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_outside_every_layer() {
        let dir = tempfile::tempdir().unwrap();
        let layer = dir.path().join("layer");
        std::fs::create_dir_all(layer.join("sub")).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&layer, &link).unwrap();
        let layers = [layer.clone()];
        for inside in [
            layer.join("s"),
            layer.join("sub/new/s"),
            layer.clone(),
            link.join("s"),
            dir.path().join("other/../layer/s"),
        ] {
            let err = check_scratch(&inside, &layers).unwrap_err();
            assert!(
                err.contains("is inside the layer"),
                "{}: {err}",
                inside.display()
            );
        }
        let err = check_scratch(dir.path(), &layers).unwrap_err();
        assert!(err.contains("is inside the scratch folder"), "{err}");
        for outside in [dir.path().join("scratch"), dir.path().join("layer2")] {
            assert_eq!(check_scratch(&outside, &layers), Ok(()));
        }
        // The host's root as base layer holds everything, by design.
        assert_eq!(
            check_scratch(&layer.join("s"), &[PathBuf::from("/")]),
            Ok(())
        );
    }
}
