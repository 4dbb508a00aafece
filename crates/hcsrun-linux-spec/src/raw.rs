//! The spec as JSON: finding the field a type error is in, and the keys
//! oci-spec drops without a word.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{FieldResult, SpecFieldError};

/// The top-level keys of the OCI runtime spec.
pub(crate) const TOP_LEVEL: &[&str] = &[
    "ociVersion",
    "root",
    "mounts",
    "process",
    "hostname",
    "domainname",
    "hooks",
    "annotations",
    "linux",
    "solaris",
    "windows",
    "vm",
    "zos",
];

/// A step in a field's path.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// `path` below `base`, as `linux.resources.memory` or `mounts[2].type`.
fn render(base: &str, path: &[Step]) -> String {
    let mut out = base.to_owned();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Reads `value` as `T`; a failure names the deepest field whose removal
/// would let the rest be read.
pub(crate) fn deserialize<T: DeserializeOwned>(value: &Value, base: &str) -> FieldResult<T> {
    T::deserialize(value).map_err(|e| {
        let path = locate::<T>(value);
        let field = render(base, &path);
        let field = if field.is_empty() {
            "spec".into()
        } else {
            field
        };
        SpecFieldError::new(field, format!("invalid: {e}"))
    })
}

fn locate<T: DeserializeOwned>(root: &Value) -> Vec<Step> {
    let mut path = Vec::new();
    loop {
        let Some(node) = get(root, &path) else {
            return path;
        };
        let steps: Vec<Step> = match node {
            Value::Object(m) => m.keys().cloned().map(Step::Key).collect(),
            Value::Array(a) => (0..a.len()).map(Step::Index).collect(),
            _ => return path,
        };
        let culprit = steps.into_iter().find(|step| {
            let mut doc = root.clone();
            remove(&mut doc, &path, step);
            T::deserialize(&doc).is_ok()
        });
        match culprit {
            Some(step) => path.push(step),
            None => return path,
        }
    }
}

fn get<'a>(mut value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    for step in path {
        value = match step {
            Step::Key(k) => value.get(k)?,
            Step::Index(i) => value.get(i)?,
        };
    }
    Some(value)
}

fn remove(doc: &mut Value, path: &[Step], step: &Step) {
    let mut node = doc;
    for s in path {
        node = match s {
            Step::Key(k) => &mut node[k.as_str()],
            Step::Index(i) => &mut node[*i],
        };
    }
    match (node, step) {
        (Value::Object(m), Step::Key(k)) => {
            m.remove(k);
        }
        (Value::Array(a), Step::Index(i)) => {
            a.remove(*i);
        }
        _ => {}
    }
}

/// The first key of `raw` (in key order, depth first) that `parsed` (what
/// oci-spec read, written out again) lacks: a key oci-spec dropped. A key
/// whose value is `null` stands for nothing and is passed over.
pub(crate) fn first_unknown_key(raw: &Value, parsed: &Value, base: &str) -> Option<String> {
    let mut path = Vec::new();
    unknown_in(raw, parsed, &mut path).then(|| render(base, &path))
}

fn unknown_in(raw: &Value, parsed: &Value, path: &mut Vec<Step>) -> bool {
    match (raw, parsed) {
        (Value::Object(r), Value::Object(p)) => {
            for (key, value) in r {
                if value.is_null() {
                    continue;
                }
                path.push(Step::Key(key.clone()));
                match p.get(key) {
                    None => return true,
                    Some(parsed) if unknown_in(value, parsed, path) => return true,
                    Some(_) => {}
                }
                path.pop();
            }
            false
        }
        (Value::Array(r), Value::Array(p)) if r.len() == p.len() => {
            for (i, (value, parsed)) in r.iter().zip(p).enumerate() {
                path.push(Step::Index(i));
                if unknown_in(value, parsed, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// oci-spec requires `user` and `cwd` in a process; Go (runc) reads a
/// missing one as its zero value, and so does this: uid 0, and an empty
/// working directory that the checks then judge.
pub(crate) fn fill_process_zero_values(process: &mut Value) {
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

/// Whether `value` has a non-null `key`.
pub(crate) fn has(value: &Value, key: &str) -> bool {
    value.get(key).is_some_and(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::{Process, Spec};
    use serde_json::json;

    use super::*;

    #[test]
    fn type_errors_name_the_deepest_field() {
        let doc = json!({"process": {"user": {}, "cwd": "/", "rlimits": [
            {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2},
            {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 2}]}});
        let e = deserialize::<Spec>(&doc, "").unwrap_err();
        // `type` is required, so the entry is as deep as removal can tell.
        assert_eq!(e.field, "process.rlimits[1]");
        assert!(
            e.reason
                .starts_with("invalid: unknown variant `RLIMIT_BOGUS`"),
            "{e}"
        );

        let doc =
            json!({"user": {}, "cwd": "/", "capabilities": {"bounding": ["CAP_KILL", "CAP_NOPE"]}});
        let e = deserialize::<Process>(&doc, "process").unwrap_err();
        assert_eq!(e.field, "process.capabilities.bounding[1]");

        let doc = json!({"linux": {"resources": {"memory": {"limit": "lots"}}}});
        let e = deserialize::<Spec>(&doc, "").unwrap_err();
        assert_eq!(e.field, "linux.resources.memory.limit");

        let e = deserialize::<Spec>(&json!({"process": {"user": {}}}), "").unwrap_err();
        assert_eq!(e.to_string(), "process: invalid: missing field `cwd`");
        let e = deserialize::<Spec>(&json!("text"), "").unwrap_err();
        assert_eq!(e.field, "spec");
    }

    #[test]
    fn unknown_keys_are_found_by_path() {
        let raw = json!({"linux": {"namespaces": [{"type": "pid", "pathh": "/x"}]}});
        let parsed = json!({"linux": {"namespaces": [{"type": "pid"}]}});
        assert_eq!(
            first_unknown_key(&raw, &parsed, "").as_deref(),
            Some("linux.namespaces[0].pathh")
        );
        let raw = json!({"a": null, "b": {"c": [1, 2]}});
        let parsed = json!({"b": {"c": [1]}});
        assert_eq!(first_unknown_key(&raw, &parsed, ""), None);
    }

    #[test]
    fn zero_values_fill_user_and_cwd() {
        let mut p = json!({"args": ["sh"], "user": null});
        fill_process_zero_values(&mut p);
        assert_eq!(p, json!({"args": ["sh"], "user": {}, "cwd": ""}));
    }
}
