//! Reading an OCI runtime spec: `oci-spec` for everything but the `windows`
//! section, which is read by [`WindowsSection`], and the original text kept
//! for Linux containers (their `OCISpecification`).

use std::{
    fmt, fs,
    io::{self, Read},
    path::{Path, PathBuf},
};

use oci_spec::runtime::{Process, Spec as OciSpec};
use serde_json::{value::RawValue, Map, Value};

use super::windows_section::{unknown_fields, WindowsSection};

/// The spec could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("reading {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The text is not what it should be.
    #[error("invalid {what}{}", in_file(.path))]
    Invalid {
        /// `"OCI spec"`, `"windows section of the OCI spec"` or `"OCI process"`.
        what: &'static str,
        /// The file it came from, if any.
        path: Option<PathBuf>,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
}

/// The largest spec or options document read from a file: 16 MiB, far
/// beyond any real one (runc's example spec is 3 KiB), so that `/dev/zero`
/// or a runaway file is refused instead of read until memory runs out.
pub const MAX_DOCUMENT_BYTES: u64 = 16 << 20;

/// Reads the text of a spec or options document at `path`, refusing one
/// larger than [`MAX_DOCUMENT_BYTES`] (`ErrorKind::FileTooLarge`, saying
/// the limit) without reading past it.
pub fn read_document(path: &Path) -> io::Result<String> {
    let file = fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_DOCUMENT_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "larger than the {} MiB limit for a document",
                MAX_DOCUMENT_BYTES >> 20
            ),
        ));
    }
    Ok(text)
}

fn in_file(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" in {}", p.display()))
        .unwrap_or_default()
}

/// A parsed OCI runtime spec.
#[derive(Clone)]
pub struct Spec {
    /// Everything but `windows`, which oci-spec cannot read.
    oci: OciSpec,
    windows: Option<WindowsSection>,
    unknown_windows_fields: Vec<String>,
    has_linux: bool,
    raw: Box<RawValue>,
}

impl Spec {
    /// Reads `path`: a `config.json`, or a bundle directory holding one.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SpecError> {
        let mut path = path.as_ref().to_path_buf();
        if path.is_dir() {
            path.push("config.json");
        }
        let text = read_document(&path).map_err(|source| SpecError::Read {
            path: path.clone(),
            source,
        })?;
        Self::from_json(&text).map_err(|e| match e {
            SpecError::Invalid { what, source, .. } => SpecError::Invalid {
                what,
                path: Some(path),
                source,
            },
            other => other,
        })
    }

    /// Parses the JSON text of a spec.
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        let invalid = |what| {
            move |source| SpecError::Invalid {
                what,
                path: None,
                source,
            }
        };
        let raw: Box<RawValue> = serde_json::from_str(text).map_err(invalid("OCI spec"))?;
        let mut value: Value = serde_json::from_str(raw.get()).map_err(invalid("OCI spec"))?;
        let Some(map) = value.as_object_mut() else {
            return Err(invalid("OCI spec")(serde::de::Error::custom(
                "a spec is a JSON object",
            )));
        };
        let has_linux = map.get("linux").is_some_and(|l| !l.is_null());
        let (windows, unknown_windows_fields) = match map.remove("windows") {
            None | Some(Value::Null) => (None, Vec::new()),
            Some(w) => {
                let unknown = unknown_fields(&w);
                let section = WindowsSection::from_value(w)
                    .map_err(invalid("windows section of the OCI spec"))?;
                (Some(section), unknown)
            }
        };
        if let Some(process) = map.get_mut("process") {
            fill_go_zero_values(process);
        }
        let oci = serde_json::from_value(value).map_err(invalid("OCI spec"))?;
        Ok(Self {
            oci,
            windows,
            unknown_windows_fields,
            has_linux,
            raw,
        })
    }

    /// The spec as `oci-spec` reads it, without its `windows` section: use
    /// [`Spec::windows`] for that.
    pub fn oci(&self) -> &OciSpec {
        &self.oci
    }

    /// The spec's `process`, the init process.
    pub fn process(&self) -> Option<&Process> {
        self.oci.process().as_ref()
    }

    /// The `windows` section.
    pub fn windows(&self) -> Option<&WindowsSection> {
        self.windows.as_ref()
    }

    /// Keys of the `windows` section that no field reads, such as
    /// `windows.hyperv.utilityVmPaht`.
    pub fn unknown_windows_fields(&self) -> &[String] {
        &self.unknown_windows_fields
    }

    /// The spec has a (non-null) `linux` section.
    pub fn has_linux(&self) -> bool {
        self.has_linux
    }

    /// The spec exactly as given. It may hold credentials: never log it.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }
}

impl fmt::Debug for Spec {
    /// Leaves out the raw text, which may hold credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("oci", &self.oci)
            .field("windows", &self.windows)
            .field("has_linux", &self.has_linux)
            .finish_non_exhaustive()
    }
}

/// Parses an exec process (`process.json`, as `runc exec --process` takes),
/// as leniently as a spec's process.
pub fn parse_process(text: &str) -> Result<Process, SpecError> {
    let invalid = |source| SpecError::Invalid {
        what: "OCI process",
        path: None,
        source,
    };
    let mut value: Value = serde_json::from_str(text).map_err(invalid)?;
    fill_go_zero_values(&mut value);
    serde_json::from_value(value).map_err(invalid)
}

/// oci-spec requires `process.user` and `process.cwd`, which Windows specs
/// written by hand leave out (Windows has no uid). Go reads a missing field
/// as its zero value; so does this.
fn fill_go_zero_values(process: &mut Value) {
    if let Value::Object(p) = process {
        insert_if_missing(p, "user", Value::Object(Map::new()));
        insert_if_missing(p, "cwd", Value::String(String::new()));
    }
}

fn insert_if_missing(map: &mut Map<String, Value>, key: &str, zero: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_owned(), zero);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_windows_section_and_the_raw_text() {
        let text = r#"{"ociVersion":"1.0.0","process":{"args":["cmd"],"cwd":"C:\\"},
            "windows":{"layerFolders":["C:\\l","C:\\s"],"credentialSpec":"{\"x\":1}"}}"#;
        let spec = Spec::from_json(text).unwrap();
        assert_eq!(spec.raw().get(), text);
        assert!(spec.oci().windows().is_none(), "oci-spec never sees it");
        let w = spec.windows().unwrap();
        assert_eq!(w.layer_folders, [r"C:\l", r"C:\s"]);
        assert_eq!(
            w.credential_spec.as_ref().unwrap().as_str(),
            Some(r#"{"x":1}"#)
        );
        assert!(!spec.has_linux());
    }

    #[test]
    fn missing_user_and_cwd_read_as_empty() {
        let spec = Spec::from_json(r#"{"process":{"args":["cmd"]}}"#).unwrap();
        let p = spec.process().unwrap();
        assert_eq!(p.user().username(), &None);
        assert_eq!(p.cwd(), Path::new(""));
        let p = parse_process(r#"{"args":["x"],"user":null}"#).unwrap();
        assert_eq!(p.args().as_deref(), Some(&["x".to_owned()][..]));
    }

    #[test]
    fn linux_section_is_noticed_and_null_sections_are_absent() {
        assert!(Spec::from_json(r#"{"linux":{}}"#).unwrap().has_linux());
        let spec = Spec::from_json(r#"{"linux":null,"windows":null}"#).unwrap();
        assert!(!spec.has_linux());
        assert!(spec.windows().is_none());
    }

    #[test]
    fn bad_input_is_named() {
        let e = Spec::from_json("{").unwrap_err();
        assert!(e.to_string().starts_with("invalid OCI spec"), "{e}");
        let e = Spec::from_json("[1]").unwrap_err();
        assert_eq!(e.to_string(), "invalid OCI spec");
        let e = Spec::from_json(r#"{"windows":{"layerFolders":"x"}}"#).unwrap_err();
        assert_eq!(e.to_string(), "invalid windows section of the OCI spec");
        let e = Spec::from_json(r#"{"process":{"args":"x"}}"#).unwrap_err();
        assert!(
            matches!(
                e,
                SpecError::Invalid {
                    what: "OCI spec",
                    ..
                }
            ),
            "{e}"
        );
        assert!(parse_process("{").is_err());
    }

    #[test]
    fn load_reads_a_file_or_a_bundle_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        fs::write(&config, r#"{"hostname":"h"}"#).unwrap();
        for path in [dir.path(), config.as_path()] {
            let spec = Spec::load(path).unwrap();
            assert_eq!(spec.oci().hostname().as_deref(), Some("h"));
        }
        fs::write(&config, "{oops").unwrap();
        let e = Spec::load(dir.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("invalid OCI spec in {}", config.display())
        );
        let missing = dir.path().join("nope.json");
        let e = Spec::load(&missing).unwrap_err();
        assert_eq!(e.to_string(), format!("reading {}", missing.display()));
    }
}
