//! Rules that span the translation: logging.

use super::{test_support::*, *};

const SECRETS: [&str; 3] = ["OPTION-SECRET", "SPEC-SECRET", "ENV-SECRET"];

/// Every step of a translation that logs, at every level, with credentials
/// in the options, in the spec and in the environment.
fn translate_everything(options_json: &str) -> String {
    let spec_json = r#"{"hostname":"h","process":{"args":["cmd"],"env":["PASSWORD=ENV-SECRET"],"cwd":"C:\\"},
        "linux":null,
        "windows":{"layerFolders":["C:\\l","C:\\s"],"credentialSpec":"SPEC-SECRET",
                   "resources":{"cpu":{"count":99}},"unknownField":"x"}}"#;
    let (result, logs) = capture_logs(|| {
        let spec = spec(spec_json);
        let opts = options(options_json);
        let config = container_config("c1", &spec, &opts, &host(), &windows_guids).unwrap();
        let init = init_process_config("c1", &spec, &opts).unwrap();
        let exec = parse_process(r#"{"args":["x"],"env":["PASSWORD=ENV-SECRET"]}"#).unwrap();
        exec_process_config("c1", &exec, &spec, Platform::Windows);
        (config, init)
    });
    let (config, _) = result;
    assert!(
        config.credentials.contains("SECRET"),
        "the credentials do reach the config"
    );
    logs
}

#[test]
fn credentials_never_appear_in_logs() {
    for options in [r#"{"credentials":"OPTION-SECRET"}"#, "{}"] {
        let logs = translate_everything(options);
        // The spec and the config were logged, so there was something to leak.
        assert!(logs.contains("translating spec"), "{logs}");
        assert!(logs.contains(r#""Credentials":"[redacted]""#), "{logs}");
        assert!(logs.contains("init process configured"), "{logs}");
        for secret in SECRETS {
            assert!(!logs.contains(secret), "{secret} leaked:\n{logs}");
        }
    }
}

#[test]
fn unknown_windows_fields_are_warned_about() {
    let logs = translate_everything("{}");
    assert!(
        logs.contains("WARN")
            && logs.contains("ignoring unknown field windows.unknownField of the spec"),
        "{logs}"
    );
}
