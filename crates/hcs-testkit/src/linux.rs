//! Linux containers as the translation makes them (`translate::linux`): a
//! configuration of `ContainerType` `linux` whose root is a directory
//! (`VolumePath`), and a first process carrying the Linux spec as its
//! `OCISpecification`.

use std::path::Path;

use hcs_schema::{ContainerConfig, ProcessConfig};
use serde_json::{json, value::RawValue, Value};

use crate::Fixture;

/// A Linux spec whose root is `root` and whose process is `process`, with
/// a new pid, mount, ipc, uts and network namespace (`runc spec`'s).
pub fn spec(root: &Path, process: Value) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "root": {"path": root},
        "process": process,
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "mount"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "network"}
            ]
        }
    })
}

/// The configuration of Linux container `id` whose root is `root`.
pub fn config(fx: &Fixture, id: &str, root: &Path) -> ContainerConfig {
    ContainerConfig {
        container_type: "linux".into(),
        layers: Vec::new(),
        layer_folder_path: String::new(),
        volume_path: root.to_string_lossy().into(),
        ..fx.config(id)
    }
}

/// The configuration of Linux container `id` on the host's root (a layer,
/// with a scratch folder: the host's programs, as [`Fixture::config`]).
pub fn config_on_host(fx: &Fixture, id: &str) -> ContainerConfig {
    ContainerConfig {
        container_type: "linux".into(),
        ..fx.config(id)
    }
}

/// Docker's default capabilities, for a spec's five sets but ambient.
pub fn docker_capabilities() -> Value {
    let caps = json!([
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE"
    ]);
    json!({"bounding": caps, "effective": caps, "permitted": caps})
}

/// The first process of a container whose spec is `spec`: its
/// `process.args`, as its uid:gid, with stdout and stderr pipes.
pub fn init(spec: &Value) -> ProcessConfig {
    let process = &spec["process"];
    ProcessConfig {
        command_args: strings(&process["args"]),
        user: format!(
            "{}:{}",
            process["user"]["uid"].as_u64().unwrap_or(0),
            process["user"]["gid"].as_u64().unwrap_or(0)
        ),
        working_directory: process["cwd"].as_str().unwrap_or("/").into(),
        create_std_out_pipe: true,
        create_std_err_pipe: true,
        oci_specification: Some(raw(spec)),
        ..Default::default()
    }
}

/// A later process running `args` with its own spec `{"process": process}`
/// (`None`: the first process's settings).
pub fn exec(args: &[&str], process: Option<Value>) -> ProcessConfig {
    ProcessConfig {
        command_args: args.iter().map(|a| (*a).to_owned()).collect(),
        create_std_out_pipe: true,
        create_std_err_pipe: true,
        oci_specification: process.map(|p| raw(&json!({ "process": p }))),
        ..Default::default()
    }
}

/// `key:\tvalue` lines of a `/proc/PID/status` text, as `(key, value)`.
pub fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn raw(value: &Value) -> Box<RawValue> {
    RawValue::from_string(value.to_string()).unwrap()
}
