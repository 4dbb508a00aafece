use serde_json::json;

use super::*;

fn spec(extra: serde_json::Value) -> Result<LinuxSpec, SpecError> {
    let mut v = json!({"ociVersion": "1.2.0", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"},
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}});
    for (k, e) in extra.as_object().unwrap() {
        v[k] = e.clone();
    }
    LinuxSpec::from_json_on(&v.to_string(), "/b", &KnownHost::default())
}

#[test]
fn a_minimal_spec() {
    let s = spec(json!({})).unwrap();
    assert_eq!(
        s.root().unwrap(),
        &Root {
            path: "/b/r".into(),
            readonly: false
        }
    );
    assert_eq!(
        s.process().unwrap().user,
        User::default(),
        "a missing user is uid 0"
    );
    assert!(s.mounts().is_empty() && s.warnings().is_empty() && !s.has_hooks());
    assert_eq!(s.hostname(), None);
    assert_eq!(s.oci_version(), "1.2.0");
}

#[test]
fn versions() {
    assert!(spec(json!({"ociVersion": ""})).is_ok());
    assert!(spec(json!({"ociVersion": "1.0.2-dev"})).is_ok());
    assert!(spec(json!({"ociVersion": "0.9"})).is_err());
}

#[test]
fn the_json_text_is_deterministic() {
    let caps = json!({"bounding": ["CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"]});
    let s = spec(
        json!({"process": {"args": ["sh"], "cwd": "/", "capabilities": caps},
                        "annotations": {"z": "1", "a": "2", "m": "3"}}),
    )
    .unwrap();
    let text = s.to_json();
    for _ in 0..5 {
        assert_eq!(s.clone().to_json(), text);
        assert_eq!(
            LinuxSpec::from_json_on(&text, "/", &KnownHost::default())
                .unwrap()
                .to_json(),
            text
        );
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["process"]["capabilities"]["bounding"],
        json!([
            "CAP_CHOWN",
            "CAP_KILL",
            "CAP_SETUID",
            "CAP_NET_RAW",
            "CAP_SYS_ADMIN"
        ])
    );
}

#[test]
fn no_root_is_allowed_for_callers_with_layers() {
    let mut v = json!({"process": {"args": ["sh"], "cwd": "/"}, "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}});
    v["root"] = serde_json::Value::Null;
    let s = LinuxSpec::from_json_on(&v.to_string(), "/b", &KnownHost::default()).unwrap();
    assert!(s.root().is_none());
    let e = spec(json!({"root": {"path": ""}})).unwrap_err();
    assert_eq!(e.to_string(), "root.path: required");
}
