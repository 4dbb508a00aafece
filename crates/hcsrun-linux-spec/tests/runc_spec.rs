//! An unmodified `runc spec` bundle is honoured field by field.

mod common;

use std::fs;

use common::{host, runc_spec, runc_spec_text};
use hcsrun_linux_spec::{
    CapSet, Capability::*, LinuxSpec, Mount, MountKind, Namespace, PosixRlimitType, StandardMount,
};
use serde_json::Value;

fn bundle() -> (tempfile::TempDir, LinuxSpec) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("config.json"), runc_spec_text()).unwrap();
    fs::create_dir(dir.path().join("rootfs")).unwrap();
    let spec = LinuxSpec::from_bundle_on(dir.path(), &host()).unwrap();
    (dir, spec)
}

/// Capability lists in a fixed order, to compare JSON.
fn sort_caps(spec: &mut Value) {
    if let Some(Value::Object(sets)) = spec.pointer_mut("/process/capabilities") {
        for list in sets.values_mut() {
            list.as_array_mut()
                .unwrap()
                .sort_by_key(|v| v.as_str().unwrap().to_owned());
        }
    }
}

#[test]
fn the_normalized_json_is_runc_spec_with_an_absolute_root() {
    let (dir, spec) = bundle();
    let mut ours: Value = serde_json::from_str(&spec.to_json()).unwrap();
    let mut theirs = runc_spec();
    theirs["root"]["path"] = dir.path().join("rootfs").to_str().unwrap().into();
    sort_caps(&mut ours);
    sort_caps(&mut theirs);
    assert_eq!(ours, theirs, "nothing is lost or added");
}

#[test]
fn round_trips() {
    let (_dir, spec) = bundle();
    let text = spec.to_json();
    let again = LinuxSpec::from_json_on(&text, "/elsewhere", &host()).unwrap();
    assert_eq!(again, spec);
    assert_eq!(again.to_json(), text, "the text is stable too");
}

#[test]
fn process_settings_are_typed() {
    let (_dir, spec) = bundle();
    let p = spec.process().unwrap();
    assert_eq!(p.args, ["sh"]);
    assert!(p.terminal);
    assert_eq!(p.cwd.to_str(), Some("/"));
    assert_eq!((p.user.uid, p.user.gid), (0, 0));
    assert_eq!(p.no_new_privileges, Some(true));
    let rlimits = p.rlimits.as_ref().unwrap();
    assert_eq!(rlimits.len(), 1);
    assert_eq!(rlimits[0].kind, PosixRlimitType::RlimitNofile);
    assert_eq!((rlimits[0].soft, rlimits[0].hard), (1024, 1024));
    let caps = p.capabilities.unwrap();
    let three: CapSet = [AuditWrite, Kill, NetBindService].into_iter().collect();
    assert_eq!(caps.bounding, three);
    assert_eq!(caps.effective, three);
    assert_eq!(caps.permitted, three);
    assert!(caps.inheritable.is_empty());
    // runc spec's ambient set is not inheritable, so the kernel cannot raise
    // it: said, not hidden.
    assert!(caps.ambient.is_empty());
    assert_eq!(spec.warnings().len(), 3, "{:?}", spec.warnings());
    assert!(spec.warnings()[0].starts_with("process.capabilities.ambient: CAP_KILL is not raised"));
}

#[test]
fn root_namespaces_and_paths() {
    let (dir, spec) = bundle();
    let root = spec.root().unwrap();
    assert_eq!(root.path, dir.path().join("rootfs"));
    assert!(root.readonly);
    assert_eq!(spec.hostname(), Some("runc"));
    let ns = spec.namespaces();
    assert_eq!(
        (&ns.network, &ns.ipc, &ns.uts),
        (&Namespace::New, &Namespace::New, &Namespace::New)
    );
    assert_eq!(ns.cgroup, Namespace::Host);
    assert_eq!(spec.masked_paths().len(), 10);
    assert!(spec
        .masked_paths()
        .iter()
        .any(|p| p.to_str() == Some("/sys/firmware")));
    assert_eq!(spec.readonly_paths().len(), 5);
    assert!(spec
        .readonly_paths()
        .iter()
        .any(|p| p.to_str() == Some("/proc/sys")));
    let rules = spec.device_rules();
    assert_eq!(rules.len(), 1);
    assert!(!rules[0].allow && rules[0].major.is_none() && rules[0].access.mknod);
    assert!(!spec.has_hooks());
}

#[test]
fn every_mount_is_a_standard_one() {
    let (_dir, spec) = bundle();
    use StandardMount::*;
    let standard: Vec<_> = spec
        .mounts()
        .iter()
        .map(|m| match m {
            Mount::Kernel(k) => k.standard.unwrap(),
            Mount::Bind(b) => panic!("{b:?}"),
        })
        .collect();
    assert_eq!(
        standard,
        [Proc, Dev, DevPts, DevShm, DevMqueue, Sys, SysFsCgroup]
    );
    let sys = spec.standard_mount(Sys).unwrap();
    assert!(sys.readonly && sys.flags.nosuid && sys.flags.noexec && sys.flags.nodev);
    let dev = spec.standard_mount(Dev).unwrap();
    assert_eq!(dev.data, ["mode=755", "size=65536k"]);
    let pts = spec.standard_mount(DevPts).unwrap();
    assert_eq!(pts.kind, MountKind::Devpts);
    assert_eq!(
        pts.data,
        ["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
    );
    assert_eq!(spec.standard_mount(DevShm).unwrap().source, "shm");
}
