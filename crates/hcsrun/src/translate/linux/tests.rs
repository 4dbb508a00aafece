//! The native Linux path: a `runc spec` bundle, its options and processes.

use std::{fs, path::Path, process::Command};

use hcs::HypervIsolation;
use hcsrun_linux_spec::KnownHost;
use serde_json::{json, Value};

use super::*;
use crate::translate::test_support::{self, capture_logs, options, windows_guids};

/// What `runc spec` writes, run here when runc is on PATH, else the
/// fixture captured from runc 1.1.5.
fn runc_spec() -> Value {
    let dir = tempfile::tempdir().unwrap();
    let text = match Command::new("runc")
        .arg("spec")
        .current_dir(dir.path())
        .status()
    {
        Ok(s) if s.success() => fs::read_to_string(dir.path().join("config.json")).unwrap(),
        _ => include_str!("../../../../hcsrun-linux-spec/tests/fixtures/runc-spec.json").to_owned(),
    };
    serde_json::from_str(&text).unwrap()
}

/// The runc spec in a bundle at `dir`, with `process` fields and `extra`
/// top-level fields replaced.
fn bundle(dir: &Path, process: Value, extra: Value) -> LinuxSpec {
    let mut spec = runc_spec();
    for (k, v) in process.as_object().unwrap() {
        spec["process"][k] = v.clone();
    }
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    fs::write(dir.join("config.json"), spec.to_string()).unwrap();
    LinuxSpec::from_bundle_on(dir, &KnownHost::default()).unwrap()
}

/// A host whose service runs Linux containers natively.
fn native() -> HostFacts {
    HostFacts {
        native_linux: true,
        hyperv: HypervIsolation::Emulated,
        ..test_support::host()
    }
}

fn config(spec: &LinuxSpec, options_json: &str) -> Result<ContainerConfig, TranslateError> {
    container_config(
        "c1",
        spec,
        &options(options_json),
        &native(),
        &windows_guids,
    )
}

#[test]
fn a_runc_spec_bundle_is_a_process_isolated_linux_container() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bundle(dir.path(), json!({}), json!({}));
    let c = config(&spec, "{}").unwrap();
    let rootfs = dir.path().join("rootfs");
    assert_eq!(
        test_support::json(&c),
        format!(
            r#"{{"SystemType":"Container","Name":"c1","Owner":"hcsrun","VolumePath":{},"Layers":null,"HostName":"runc","HvPartition":false,"ContainerType":"linux"}}"#,
            Value::from(rootfs.to_str().unwrap())
        )
    );
}

#[test]
fn the_init_process_carries_the_normalized_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bundle(
        dir.path(),
        json!({"user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}, "consoleSize": {"height": 30, "width": 100}}),
        json!({}),
    );
    let p = init_process_config("c1", &spec, &options("{}")).unwrap();
    assert_eq!(p.command_args, ["sh"]);
    assert_eq!(p.working_directory, "/");
    assert_eq!(p.user, "1000:1000");
    assert!(
        p.emulate_console
            && p.create_std_in_pipe
            && p.create_std_out_pipe
            && !p.create_std_err_pipe
    );
    assert_eq!(p.console_size, [30, 100]);
    assert_eq!(p.environment["TERM"], "xterm");
    let carried = p.oci_specification.unwrap();
    assert_eq!(carried.get(), spec.to_json());
    // What the service reads back is what was validated here.
    let read = LinuxSpec::from_json_on(carried.get(), "/", &KnownHost::default()).unwrap();
    assert_eq!(read, spec);
    let v: Value = serde_json::from_str(carried.get()).unwrap();
    assert_eq!(
        v["process"]["user"],
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]})
    );
    assert_eq!(v["process"]["noNewPrivileges"], true);
    assert_eq!(v["root"]["readonly"], true);
    assert_eq!(v["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
}

#[test]
fn bind_mounts_are_mapped_directories_from_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let mut mounts = runc_spec()["mounts"].clone();
    mounts.as_array_mut().unwrap().extend([
        json!({"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro"]}),
        json!({"destination": "/rw", "source": "/srv/rw", "options": ["bind"]}),
    ]);
    let spec = bundle(dir.path(), json!({}), json!({"mounts": mounts}));
    let c = config(&spec, "{}").unwrap();
    let dirs: Vec<_> = c
        .mapped_directories
        .iter()
        .map(|d| (d.host_path.as_str(), d.container_path.as_str(), d.read_only))
        .collect();
    let data = dir.path().join("data");
    assert_eq!(
        dirs,
        [
            (data.to_str().unwrap(), "/data", true),
            ("/srv/rw", "/rw", false)
        ]
    );
}

#[test]
fn layers_replace_the_root_directory() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bundle(dir.path(), json!({}), json!({}));
    let c = config(
        &spec,
        r#"{"layers":{"layer_folder_path":"/s/c1","layer_paths":["/l/top","/l/base"]}}"#,
    )
    .unwrap();
    assert_eq!(c.volume_path, "");
    assert_eq!(c.layer_folder_path, "/s/c1");
    assert_eq!(
        c.layers.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(),
        ["/l/top", "/l/base"]
    );
    let e = config(&spec, r#"{"layers":{"layer_folder_path":"/s/c1"}}"#).unwrap_err();
    assert!(matches!(e.kind, TranslateErrorKind::NoLayers), "{e}");

    let mut text = runc_spec();
    text["root"] = Value::Null;
    let rootless = LinuxSpec::from_json_on(&text.to_string(), "/b", &KnownHost::default()).unwrap();
    assert!(config(&rootless, r#"{"layers":{"layer_paths":["/l"]}}"#).is_ok());
    let e = config(&rootless, "{}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "creating container c1: root: required: no layer option gives the container's root"
    );
}

#[test]
fn hyperv_where_emulated_has_no_utility_vm() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bundle(dir.path(), json!({}), json!({}));
    let c = config(&spec, r#"{"hyperv":{"is_hyperv":true}}"#).unwrap();
    assert!(c.hv_partition);
    assert!(c.hv_runtime.is_none());
    let hypervisor = HostFacts {
        hyperv: HypervIsolation::Hypervisor,
        ..native()
    };
    let e = container_config(
        "c1",
        &spec,
        &options(r#"{"hyperv":{"is_hyperv":true}}"#),
        &hypervisor,
        &windows_guids,
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, TranslateErrorKind::LcowOptionMissing),
        "{e}"
    );
}

#[test]
fn hosts_and_options_this_path_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bundle(dir.path(), json!({}), json!({}));
    let e = container_config(
        "c1",
        &spec,
        &options("{}"),
        &test_support::host(),
        &windows_guids,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "creating container c1: lcow option must be supplied to the runtime"
    );
    for (opts, field) in [
        (r#"{"lcow":{}}"#, "options.lcow"),
        (r#"{"servicing":true}"#, "options.servicing"),
        (r#"{"credentials":"secret"}"#, "options.credentials"),
    ] {
        let e = config(&spec, opts).unwrap_err();
        match &e.kind {
            TranslateErrorKind::LinuxSpec(f) => assert_eq!(f.field, field),
            other => panic!("{opts}: {other:?}"),
        }
        assert!(
            e.to_string().starts_with(&format!(
                "creating container c1: {field}: not supported by hcsrun"
            )),
            "{e}"
        );
    }
    let e = init_process_config("c1", &spec, &options(r#"{"lcow":{}}"#)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("starting container c1: options.lcow"),
        "{e}"
    );
}

#[test]
fn resources_are_stated_in_hcs_units() {
    let dir = tempfile::tempdir().unwrap();
    let linux = json!({"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network"}],
        "resources": {"memory": {"limit": 100_000_000}, "cpu": {"cpus": "0-1,3", "shares": 1024, "quota": 200000, "period": 100000}}});
    let spec = bundle(dir.path(), json!({}), json!({"linux": linux}));
    let c = config(&spec, "{}").unwrap();
    assert_eq!(c.memory_maximum_in_mb, 96, "rounded up");
    assert_eq!(c.processor_count, 3);
    assert_eq!(c.processor_weight, 1 + 1022 * 9999 / 262_142);
    assert_eq!(c.processor_maximum, 5000, "2 of the host's 4 CPUs");
}

#[test]
fn sharing_a_network_needs_the_specs_own_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let shared = r#"{"network":{"network_shared_container_id":"c0","dns_search_list":["a.com"]}}"#;
    let spec = bundle(dir.path(), json!({}), json!({}));
    let c = config(&spec, shared).unwrap();
    assert_eq!(
        (
            c.network_shared_container_name.as_str(),
            c.dns_search_list.as_str()
        ),
        ("c0", "a.com")
    );
    let host_net = json!({"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]});
    let spec = bundle(dir.path(), json!({}), json!({"linux": host_net}));
    let e = config(&spec, shared).unwrap_err();
    assert_eq!(
        e.to_string(),
        "creating container c1: linux.namespaces: the network option shares container c0's network, and the spec asks for the host's"
    );
}

#[test]
fn exec_processes_inherit_unless_they_say_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let init = bundle(
        dir.path(),
        json!({"user": {"uid": 1000, "gid": 1000}, "cwd": "/home"}),
        json!({}),
    );
    let host = KnownHost::default();
    let plain = ExecProcess::from_json_on(r#"{"args":["ps","-ef"],"env":["A=1"],"terminal":true,"consoleSize":{"height":5,"width":6}}"#, &host).unwrap();
    let p = exec_process_config("c1", &plain, &init);
    assert_eq!(p.command_args, ["ps", "-ef"]);
    assert_eq!(
        (p.working_directory.as_str(), p.user.as_str()),
        ("/home", "1000:1000")
    );
    assert!(p.emulate_console && !p.create_std_err_pipe && p.create_std_in_pipe);
    assert_eq!(p.console_size, [5, 6]);
    assert!(
        p.oci_specification.is_none(),
        "the init process's settings apply"
    );

    let privileged = ExecProcess::from_json_on(
        r#"{"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_SYS_ADMIN"],"effective":["CAP_SYS_ADMIN"]},"rlimits":[]}"#,
        &host,
    )
    .unwrap();
    let p = exec_process_config("c1", &privileged, &init);
    assert_eq!(p.user, "1000:1000");
    let v: Value = serde_json::from_str(p.oci_specification.unwrap().get()).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "only the process");
    assert_eq!(
        v["process"]["capabilities"]["bounding"],
        json!(["CAP_SYS_ADMIN"])
    );
    assert_eq!(
        v["process"]["user"],
        json!({"uid": 1000, "gid": 1000}),
        "the init process's user"
    );
    assert_eq!(v["process"]["args"], json!(["sh"]));

    let as_root = ExecProcess::from_json_on(
        r#"{"args":["id"],"cwd":"/","user":{"uid":0,"gid":0}}"#,
        &host,
    )
    .unwrap();
    let p = exec_process_config("c1", &as_root, &init);
    assert_eq!(p.user, "0:0");
    let v: Value = serde_json::from_str(p.oci_specification.unwrap().get()).unwrap();
    assert_eq!(v["process"]["user"], json!({"uid": 0, "gid": 0}));
}

#[test]
fn warnings_are_logged_and_the_environment_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bundle(
        dir.path(),
        json!({"env": ["PASSWORD=ENV-SECRET"]}),
        json!({}),
    );
    let (result, logs) = capture_logs(|| {
        config(&spec, "{}")?;
        init_process_config("c1", &spec, &options("{}"))
    });
    assert!(result.is_ok());
    assert!(
        logs.contains("WARN")
            && logs.contains("process.capabilities.ambient: CAP_KILL is not raised"),
        "{logs}"
    );
    assert!(logs.contains("init process configured"), "{logs}");
    // The spec is logged, as the seed's path logs its own, without values.
    assert!(logs.contains("translating spec"), "{logs}");
    assert!(logs.contains("PASSWORD=[redacted]"), "{logs}");
    assert!(!logs.contains("ENV-SECRET"), "{logs}");
}

#[test]
fn cpu_lists_count() {
    assert_eq!(cpu_count("0"), 1);
    assert_eq!(cpu_count("0-3,6"), 5);
    assert_eq!(cpu_count("2-3,5-7"), 5);
}

#[test]
fn hooks_and_a_shared_pid_namespace_are_refused_where_only_hcsrun_oci_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let plain = bundle(dir.path(), json!({}), json!({}));
    assert!(refuse_for_client(&plain).is_ok());
    let hooked = bundle(
        dir.path(),
        json!({}),
        json!({"hooks": {"poststop": [{"path": "/bin/true"}]}}),
    );
    let e = refuse_for_client(&hooked).unwrap_err();
    assert!(e.to_string().contains("hooks"), "{e}");
    assert!(e.to_string().contains("hcsrun-oci"), "{e}");
    let mut linux = runc_spec()["linux"].clone();
    linux["namespaces"] = json!([{"type": "mount"}, {"type": "network"}, {"type": "uts"}]);
    let host_pid = bundle(dir.path(), json!({}), json!({ "linux": linux }));
    let e = refuse_for_client(&host_pid).unwrap_err();
    assert_eq!(e.field, "linux.namespaces", "{e}");
}
