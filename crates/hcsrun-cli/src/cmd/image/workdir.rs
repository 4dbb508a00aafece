//! docker makes a container's working directory when its image lacks it
//! (`-w /new`, or a WorkingDir no layer has): hcsrun makes it in the
//! container's scratch `upper` folder before the container starts, which
//! the overlay shows above the image's layers.

use std::path::{Component, Path, PathBuf};

use anyhow::Context;

/// Makes `workdir` (absolute, inside the container) in `upper` when no
/// layer of `folders` (top-most first, unpacked) has it. Where a layer has
/// a component as something other than a directory (a file, a symbolic
/// link, a whiteout), nothing is made: the container starts as it would
/// have and says what it finds.
pub fn ensure(workdir: &str, folders: &[PathBuf], upper: &Path) -> anyhow::Result<()> {
    let mut relative = PathBuf::new();
    for component in Path::new(workdir).components() {
        match component {
            Component::Normal(name) => relative.push(name),
            Component::ParentDir => {
                relative.pop();
            }
            _ => {}
        }
    }
    let mut prefix = PathBuf::new();
    for component in relative.components() {
        prefix.push(component);
        // What the top-most layer that has this prefix shows.
        let shown = folders
            .iter()
            .find_map(|folder| std::fs::symlink_metadata(folder.join(&prefix)).ok());
        match shown {
            Some(meta) if meta.is_dir() => continue,
            Some(_) => return Ok(()),
            None => {
                let dir = upper.join(&relative);
                return std::fs::create_dir_all(&dir)
                    .with_context(|| format!("making the working directory {workdir}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_no_layer_has_is_made() {
        let root = tempfile::tempdir().unwrap();
        let (top, base, upper) = (
            root.path().join("top"),
            root.path().join("base"),
            root.path().join("upper"),
        );
        std::fs::create_dir_all(base.join("home/app")).unwrap();
        std::fs::create_dir_all(top.join("etc")).unwrap();
        std::fs::write(top.join("etc/file"), "").unwrap();
        std::os::unix::fs::symlink("/etc", top.join("link")).unwrap();
        let folders = [top, base];
        ensure("/home/app", &folders, &upper).unwrap();
        assert!(!upper.exists(), "present in a layer: nothing made");
        ensure("/etc/file/x", &folders, &upper).unwrap();
        ensure("/link/x", &folders, &upper).unwrap();
        assert!(!upper.exists(), "a file or a link on the way: nothing made");
        ensure("/home/app/../new/./dir", &folders, &upper).unwrap();
        assert!(upper.join("home/new/dir").is_dir());
        ensure("/", &folders, &upper).unwrap();
    }
}
