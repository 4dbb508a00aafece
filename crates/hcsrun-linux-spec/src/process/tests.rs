use serde_json::json;

use super::*;
use crate::{caps::Capability::*, host::KnownHost};

fn process(p: serde_json::Value, role: Role) -> (FieldResult<Process>, Vec<String>) {
    let oci: OciProcess = serde_json::from_value(p).unwrap();
    let mut warnings = Vec::new();
    let r = classify(&oci, "process", role, &KnownHost::default(), &mut warnings);
    (r, warnings)
}

#[test]
fn ambient_capabilities_need_permitted_and_inheritable() {
    let (p, warnings) = process(
        json!({"args": ["x"], "cwd": "/", "user": {}, "capabilities": {
            "permitted": ["CAP_KILL", "CAP_CHOWN"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL", "CAP_CHOWN"]}}),
        Role::Init,
    );
    let caps = p.unwrap().capabilities.unwrap();
    assert_eq!(caps.ambient.iter().collect::<Vec<_>>(), [Kill]);
    assert!(caps.bounding.is_empty(), "a set left out is empty");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("process.capabilities.ambient: CAP_CHOWN is not raised"));
}

#[test]
fn absent_settings_stay_absent() {
    let (p, warnings) = process(json!({"args": ["x"], "cwd": "/", "user": {}}), Role::Init);
    let p = p.unwrap();
    assert!(p.capabilities.is_none() && p.rlimits.is_none() && p.no_new_privileges.is_none());
    assert_eq!(p.user, User::default());
    assert!(!p.terminal && p.console_size.is_none() && warnings.is_empty());
}

#[test]
fn a_console_size_without_a_terminal_is_warned_about() {
    let (p, warnings) = process(
        json!({"args": ["x"], "cwd": "/", "user": {}, "consoleSize": {"height": 1, "width": 2}}),
        Role::Init,
    );
    assert_eq!(
        p.unwrap().console_size,
        Some(ConsoleSize {
            height: 1,
            width: 2
        })
    );
    assert_eq!(
        warnings,
        ["process.consoleSize: no terminal is asked for, so there is no console to size"]
    );
}

#[test]
fn exec_may_leave_out_the_working_directory() {
    let p = json!({"args": ["x"], "cwd": "", "user": {}});
    assert!(process(p.clone(), Role::Exec).0.is_ok());
    assert_eq!(process(p, Role::Init).0.unwrap_err().field, "process.cwd");
}
