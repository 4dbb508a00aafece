//! Image layers: which folders a container is built from, their GUIDs, and
//! where a Hyper-V container's utility VM image is.

use std::{fs, io};

use hcs::Guid;
use hcs_schema::Layer;

use super::{
    error::{Operation, TranslateError, TranslateErrorKind},
    options::CreateOptions,
    spec::Spec,
};

/// How the selected compute service names a layer folder
/// ([`hcs::ComputeService::name_to_guid`]).
pub type NameToGuid<'a> = dyn Fn(&str) -> hcs::Result<Guid> + 'a;

/// A container's storage.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Layers<'a> {
    /// The container's own writable layer folder.
    pub folder: &'a str,
    /// Read-only layers, top-most first; never empty.
    pub paths: &'a [String],
}

impl<'a> Layers<'a> {
    /// The layer option, else `windows.layerFolders` (whose last folder is
    /// the container's own); refused when neither names a read-only layer.
    pub fn resolve(
        id: &str,
        spec: &'a Spec,
        options: &'a CreateOptions,
    ) -> Result<Self, TranslateError> {
        let layers = match &options.layers {
            Some(o) => Some((o.layer_folder_path.as_str(), o.layer_paths.as_slice())),
            None => spec
                .windows()
                .and_then(|w| w.layer_folders.split_last())
                .map(|(folder, paths)| (folder.as_str(), paths)),
        };
        match layers {
            Some((folder, paths)) if !paths.is_empty() => Ok(Self { folder, paths }),
            _ => Err(TranslateError::new(
                id,
                Operation::Create,
                TranslateErrorKind::NoLayers,
            )),
        }
    }

    /// The layers as HCS takes them: each read-only layer's GUID, and its
    /// path as `path_of` gives it.
    pub fn to_hcs(
        &self,
        id: &str,
        name_to_guid: &NameToGuid<'_>,
        path_of: impl Fn(&str) -> String,
    ) -> Result<Vec<Layer>, TranslateError> {
        self.paths
            .iter()
            .map(|path| {
                let guid = layer_id(path, name_to_guid).map_err(|source| {
                    TranslateError::new(
                        id,
                        Operation::Create,
                        TranslateErrorKind::LayerId {
                            path: path.clone(),
                            source: Box::new(source),
                        },
                    )
                })?;
                Ok(Layer {
                    id: guid.to_string(),
                    path: path_of(path),
                })
            })
            .collect()
    }
}

/// The name of a layer folder: the last element of its path, whether
/// Windows (`\`) or Unix (`/`) separators are used.
pub fn layer_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The GUID of the layer at `path`: its folder name, as the compute service
/// names it.
pub fn layer_id(path: &str, name_to_guid: &NameToGuid<'_>) -> hcs::Result<Guid> {
    name_to_guid(layer_name(path))
}

/// `base` joined with `name`, with the separator `base` uses: `\` for a
/// Windows path (one with a `\` or a drive letter), `/` otherwise. So a
/// configuration built on Linux for a Windows host keeps Windows paths.
pub(crate) fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        return name.to_owned();
    }
    if base.ends_with(['/', '\\']) {
        return format!("{base}{name}");
    }
    let b = base.as_bytes();
    let windows =
        base.contains('\\') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':');
    let sep = if windows { '\\' } else { '/' };
    format!("{base}{sep}{name}")
}

/// The first layer with a `UtilityVM` folder, joined with it. A layer
/// without one is skipped; any other failure to look is an error naming the
/// path.
pub(crate) fn find_utility_vm(paths: &[String]) -> Result<Option<String>, TranslateErrorKind> {
    for layer in paths {
        let candidate = join(layer, "UtilityVM");
        match fs::metadata(&candidate) {
            Ok(meta) if meta.is_dir() => return Ok(Some(candidate)),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) => {}
            Err(source) => {
                return Err(TranslateErrorKind::UtilityVmProbe {
                    path: candidate,
                    source,
                })
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::options::LayerOption;

    fn spec(json: &str) -> Spec {
        Spec::from_json(json).unwrap()
    }

    #[test]
    fn layer_option_wins_over_layer_folders() {
        let s = spec(r#"{"windows":{"layerFolders":["C:\\l1","C:\\scratch"]}}"#);
        let o = CreateOptions {
            layers: Some(LayerOption {
                layer_folder_path: "F".into(),
                layer_paths: vec!["A".into(), "B".into()],
            }),
            ..Default::default()
        };
        let l = Layers::resolve("c", &s, &o).unwrap();
        assert_eq!(
            (l.folder, l.paths),
            ("F", &["A".to_owned(), "B".to_owned()][..])
        );
        let none = CreateOptions::default();
        let l = Layers::resolve("c", &s, &none).unwrap();
        assert_eq!(l.folder, r"C:\scratch");
        assert_eq!(l.paths, [r"C:\l1"]);
    }

    #[test]
    fn no_read_only_layer_is_refused() {
        let none = CreateOptions::default();
        for json in [
            "{}",
            r#"{"windows":{}}"#,
            r#"{"windows":{"layerFolders":[]}}"#,
            r#"{"windows":{"layerFolders":["C:\\only-scratch"]}}"#,
        ] {
            let e = Layers::resolve("c1", &spec(json), &none).unwrap_err();
            assert!(matches!(e.kind, TranslateErrorKind::NoLayers), "{json}");
        }
        // An option without paths is used, not passed over for the spec's.
        let empty = CreateOptions {
            layers: Some(LayerOption::default()),
            ..Default::default()
        };
        let s = spec(r#"{"windows":{"layerFolders":["C:\\l1","C:\\scratch"]}}"#);
        assert!(Layers::resolve("c1", &s, &empty).is_err());
    }

    #[test]
    fn layer_names_split_on_both_separators() {
        assert_eq!(layer_name(r"C:\control\windowsfilter\abc"), "abc");
        assert_eq!(layer_name("/var/lib/layers/abc"), "abc");
        assert_eq!(layer_name(r"C:\mixed/dirs\abc"), "abc");
        assert_eq!(layer_name("abc"), "abc");
        assert_eq!(layer_name(r"C:\trailing\"), "");
    }

    #[test]
    fn layer_ids_come_from_the_service() {
        let seen = std::cell::RefCell::new(Vec::new());
        let n2g = |name: &str| {
            seen.borrow_mut().push(name.to_owned());
            Ok(Guid::default())
        };
        let layers = Layers {
            folder: "",
            paths: &[r"C:\l\one".to_owned(), "/l/two".to_owned()],
        };
        let hcs = layers.to_hcs("c", &n2g, |p| format!("{p}!")).unwrap();
        assert_eq!(*seen.borrow(), ["one", "two"]);
        assert_eq!(hcs[1].path, "/l/two!");
        assert_eq!(hcs[1].id, "00000000-0000-0000-0000-000000000000");
    }

    #[test]
    fn join_keeps_the_paths_separator() {
        assert_eq!(join(r"C:\l\base", "UtilityVM"), r"C:\l\base\UtilityVM");
        assert_eq!(join("C:", "UtilityVM"), r"C:\UtilityVM");
        assert_eq!(join("D:/l/base", "layer.vhd"), r"D:/l/base\layer.vhd");
        assert_eq!(join("/l/base", "layer.vhd"), "/l/base/layer.vhd");
        assert_eq!(join("/l/base/", "layer.vhd"), "/l/base/layer.vhd");
        assert_eq!(join(r"C:\l\", "x"), r"C:\l\x");
        assert_eq!(join("", "x"), "x");
    }

    #[test]
    fn utility_vm_is_the_first_layer_with_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let layer = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        for name in ["top", "mid", "base"] {
            fs::create_dir(layer(name)).unwrap();
        }
        fs::create_dir(dir.path().join("mid/UtilityVM")).unwrap();
        fs::create_dir(dir.path().join("base/UtilityVM")).unwrap();
        // A file of that name is not the folder.
        fs::write(dir.path().join("top/UtilityVM"), "").unwrap();
        let paths = [layer("missing"), layer("top"), layer("mid"), layer("base")];
        assert_eq!(
            find_utility_vm(&paths).unwrap(),
            Some(format!("{}/UtilityVM", layer("mid")))
        );
        assert_eq!(find_utility_vm(&paths[..2]).unwrap(), None);
        // A layer path that is a file: nothing below it exists.
        fs::write(layer("file"), "").unwrap();
        assert_eq!(find_utility_vm(&[layer("file")]).unwrap(), None);
    }

    #[test]
    fn utility_vm_lookup_failures_name_the_path() {
        // A path too long to stat fails for a reason other than absence,
        // without needing root or permissions.
        let long = format!("/{}", "x".repeat(5000));
        match find_utility_vm(std::slice::from_ref(&long)) {
            Err(TranslateErrorKind::UtilityVmProbe { path, .. }) => {
                assert_eq!(path, format!("{long}/UtilityVM"))
            }
            other => panic!("{other:?}"),
        }
    }
}
