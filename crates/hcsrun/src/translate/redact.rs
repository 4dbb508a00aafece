//! What may be logged of a spec and a configuration: everything but
//! credentials and environment values.

use hcs_schema::ContainerConfig;
use serde_json::Value;

use super::spec::Spec;

const REDACTED: &str = "[redacted]";

/// The spec as JSON, with `windows.credentialSpec` and the values of
/// `process.env` replaced.
pub(crate) fn spec(spec: &Spec) -> String {
    let Ok(mut value) = serde_json::from_str::<Value>(spec.raw().get()) else {
        return REDACTED.to_owned();
    };
    for (key, section) in value.as_object_mut().into_iter().flatten() {
        if key.eq_ignore_ascii_case("windows") {
            for (key, field) in section.as_object_mut().into_iter().flatten() {
                if key.eq_ignore_ascii_case("credentialSpec") {
                    *field = REDACTED.into();
                }
            }
        } else if key.eq_ignore_ascii_case("process") {
            for (key, field) in section.as_object_mut().into_iter().flatten() {
                if key.eq_ignore_ascii_case("env") {
                    redact_env(field);
                }
            }
        }
    }
    value.to_string()
}

/// A Linux spec as JSON (normalized), with the values of `process.env`
/// and of every hook's `env` replaced.
pub(crate) fn linux_spec(spec: &hcsrun_linux_spec::LinuxSpec) -> String {
    match serde_json::from_str::<Value>(&spec.to_json()) {
        Ok(value) => linux_value(value),
        Err(_) => REDACTED.to_owned(),
    }
}

/// [`linux_spec`] on a spec's JSON value.
fn linux_value(mut value: Value) -> String {
    if let Some(env) = value.pointer_mut("/process/env") {
        redact_env(env);
    }
    // Hooks run with environments of their own (a registry's token, say).
    for (_, hooks) in value
        .pointer_mut("/hooks")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flatten()
    {
        for hook in hooks.as_array_mut().into_iter().flatten() {
            if let Some(env) = hook.get_mut("env") {
                redact_env(env);
            }
        }
    }
    value.to_string()
}

fn redact_env(env: &mut Value) {
    match env {
        Value::Array(entries) => {
            for entry in entries {
                *entry = match entry.as_str().and_then(|e| e.split_once('=')) {
                    Some((name, _)) => format!("{name}={REDACTED}").into(),
                    None => REDACTED.into(),
                }
            }
        }
        other => *other = REDACTED.into(),
    }
}

/// The configuration as HCS will receive it, with `Credentials` replaced.
pub(crate) fn config(config: &ContainerConfig) -> String {
    let mut shown = config.clone();
    if !shown.credentials.is_empty() {
        shown.credentials = REDACTED.to_owned();
    }
    hcs_schema::to_string(&shown).unwrap_or_else(|e| format!("<unencodable: {e}>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_loses_credentials_and_environment_values() {
        let s = Spec::from_json(
            r#"{"process":{"env":["PASSWORD=hunter2","PATH=C:\\x","junk"],"cwd":"C:\\"},
                "WINDOWS":{"CredentialSpec":"{\"secret\":\"gmsa\"}","layerFolders":["l"]}}"#,
        )
        .unwrap();
        let shown = spec(&s);
        for secret in ["hunter2", "gmsa", r"C:\\x"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains(r#""PASSWORD=[redacted]""#), "{shown}");
        assert!(shown.contains(r#""layerFolders":["l"]"#), "{shown}");
    }

    #[test]
    fn linux_spec_loses_process_and_hook_environment_values() {
        let value = serde_json::json!({
            "process": {"env": ["TOKEN=hunter2", "PATH=/bin"], "args": ["sh"]},
            "hooks": {"prestart": [{"path": "/bin/h", "env": ["KEY=s3cret"]}],
                      "poststop": [{"path": "/bin/p"}]},
        });
        let shown = linux_value(value);
        for secret in ["hunter2", "s3cret", "=/bin"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains(r#""TOKEN=[redacted]""#), "{shown}");
        assert!(shown.contains(r#""KEY=[redacted]""#), "{shown}");
        assert!(shown.contains(r#""path":"/bin/p""#), "{shown}");
    }

    #[test]
    fn config_loses_credentials() {
        let c = ContainerConfig {
            name: "c1".into(),
            credentials: "hunter2".into(),
            ..Default::default()
        };
        let shown = config(&c);
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains(r#""Credentials":"[redacted]""#), "{shown}");
    }
}
