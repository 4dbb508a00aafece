//! Helpers shared by the tests: the `runc spec` bundle and JSON patches.

#![allow(dead_code)]

use std::{fs, path::Path, process::Command};

use hcsrun_linux_spec::{KnownHost, LinuxSpec, SpecError};
use serde_json::Value;

/// What `runc spec` writes: run here when runc is on `PATH`, else the copy
/// in `tests/fixtures` (runc 1.1.5's output, unmodified).
pub fn runc_spec_text() -> String {
    let dir = tempfile::tempdir().unwrap();
    match Command::new("runc")
        .arg("spec")
        .current_dir(dir.path())
        .status()
    {
        Ok(status) if status.success() => {
            fs::read_to_string(dir.path().join("config.json")).unwrap()
        }
        _ => {
            eprintln!("runc is not on PATH: using the runc spec fixture");
            fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runc-spec.json"),
            )
            .unwrap()
        }
    }
}

pub fn runc_spec() -> Value {
    serde_json::from_str(&runc_spec_text()).unwrap()
}

/// A host that enforces no security module, on cgroup v1, with kernel 5.9's
/// capabilities: the same answers on every machine.
pub fn host() -> KnownHost {
    KnownHost {
        last_capability: Some(40),
        ..Default::default()
    }
}

/// `patch` merged into `base`: objects key by key, anything else replaced,
/// `null` removes the key.
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// The runc spec with `patch`, read against `/bundle`.
pub fn parse(patch: Value) -> Result<LinuxSpec, SpecError> {
    let mut spec = runc_spec();
    merge(&mut spec, patch);
    LinuxSpec::from_json_on(&spec.to_string(), "/bundle", &host())
}
