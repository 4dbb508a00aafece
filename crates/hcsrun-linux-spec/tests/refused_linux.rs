//! Each field of the `linux` section hcsrun cannot honour is refused by name.

mod common;

use common::parse;
use hcsrun_linux_spec::SpecError;
use serde_json::{json, Value};

fn refused(patch: Value) -> hcsrun_linux_spec::SpecFieldError {
    match parse(patch.clone()) {
        Err(SpecError::Field(e)) => e,
        other => panic!("{patch}: {other:?}"),
    }
}

const NS: &str =
    r#"[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]"#;

fn with_ns(extra: Value) -> Value {
    let mut list: Vec<Value> = serde_json::from_str(NS).unwrap();
    list.push(extra);
    json!({"linux": {"namespaces": list}})
}

#[test]
fn each_refused_linux_field_is_named() {
    let cases: Vec<(Value, &str, &str)> = vec![
        // linux
        (
            json!({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}),
            "linux.uidMappings",
            "user namespaces",
        ),
        (
            json!({"linux": {"gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}),
            "linux.gidMappings",
            "user namespaces",
        ),
        (
            json!({"linux": {"intelRdt": {"closID": "c"}}}),
            "linux.intelRdt",
            "not supported by hcsrun (Intel RDT)",
        ),
        (
            json!({"linux": {"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0"}}}),
            "linux.memoryPolicy",
            "NUMA",
        ),
        (
            json!({"linux": {"netDevices": {"eth1": {}}}}),
            "linux.netDevices",
            "network devices",
        ),
        (
            json!({"linux": {"timeOffsets": {"monotonic": {"secs": 1}}}}),
            "linux.timeOffsets",
            "time namespaces",
        ),
        (
            json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}}}),
            "linux.seccomp.listenerPath",
            "user notification",
        ),
        (
            json!({"linux": {"personality": {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}}}),
            "linux.personality.flags",
            "not supported",
        ),
        (
            json!({"linux": {"rootfsPropagation": "sideways"}}),
            "linux.rootfsPropagation",
            "not a propagation",
        ),
        (
            json!({"linux": {"cgroupsPath": "system.slice:hcsrun:c1"}}),
            "linux.cgroupsPath",
            "systemd",
        ),
        (
            json!({"linux": {"cgroupsPath": "/a/../../b"}}),
            "linux.cgroupsPath",
            "..",
        ),
        (
            json!({"linux": {"sysctl": {"kernel.panic": "1"}}}),
            "linux.sysctl.kernel.panic",
            "would change the host",
        ),
        (
            json!({"linux": {"sysctl": {"net.ipv4.ip_forward": "1"}, "namespaces": [{"type": "pid"}, {"type": "mount"}]}}),
            "linux.sysctl.net.ipv4.ip_forward",
            "own network namespace",
        ),
        (
            json!({"linux": {"sysctl": {"kernel.hostname": "other"}}}),
            "linux.sysctl.kernel.hostname",
            "conflicts with hostname",
        ),
        (
            json!({"linux": {"devices": [{"type": "a", "path": "/dev/x", "major": 1, "minor": 1}]}}),
            "linux.devices[0].type",
            "not a device node",
        ),
        (
            json!({"linux": {"devices": [{"type": "c", "path": "/dev/x", "major": 1, "minor": 1, "fileMode": 65535}]}}),
            "linux.devices[0].fileMode",
            "permission bits",
        ),
        (
            json!({"linux": {"devices": [{"type": "c", "path": "dev/x", "major": 1, "minor": 1}]}}),
            "linux.devices[0].path",
            "not an absolute path",
        ),
        (
            json!({"linux": {"mountLabel": "x", "namespaces": null}}),
            "linux.namespaces",
            "mount namespace is required",
        ),
        // namespaces
        (
            with_ns(json!({"type": "user"})),
            "linux.namespaces[5]",
            "not supported by hcsrun (user namespaces)",
        ),
        (
            with_ns(json!({"type": "time"})),
            "linux.namespaces[5]",
            "not supported by hcsrun (time namespaces)",
        ),
        (
            json!({"linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}]}}),
            "linux.namespaces",
            "a new mount namespace is required",
        ),
        (
            json!({"linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}),
            "hostname",
            "own uts namespace",
        ),
        // resources
        (
            json!({"linux": {"resources": {"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}}}),
            "linux.resources.hugepageLimits",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"network": {"classID": 1}}}}),
            "linux.resources.network",
            "net_cls",
        ),
        (
            json!({"linux": {"resources": {"rdma": {"mlx5_0": {"hcaHandles": 1}}}}}),
            "linux.resources.rdma",
            "RDMA",
        ),
        (
            json!({"linux": {"resources": {"unified": {"memory.high": "1G"}}}}),
            "linux.resources.unified",
            "cgroup v1 host",
        ),
        (
            json!({"linux": {"resources": {"memory": {"kernel": 1}}}}),
            "linux.resources.memory.kernel",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"memory": {"kernelTCP": 1}}}}),
            "linux.resources.memory.kernelTCP",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"memory": {"useHierarchy": true}}}}),
            "linux.resources.memory.useHierarchy",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"memory": {"checkBeforeUpdate": true}}}}),
            "linux.resources.memory.checkBeforeUpdate",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"memory": {"limit": 2000000, "swap": 1000000}}}}),
            "linux.resources.memory.swap",
            "below the memory limit",
        ),
        (
            json!({"linux": {"resources": {"memory": {"swappiness": 101}}}}),
            "linux.resources.memory.swappiness",
            "above 100",
        ),
        (
            json!({"linux": {"resources": {"memory": {"limit": -5}}}}),
            "linux.resources.memory.limit",
            "-1 for none",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"idle": 1}}}}),
            "linux.resources.cpu.idle",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"burst": 1}}}}),
            "linux.resources.cpu.burst",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"realtimeRuntime": 1}}}}),
            "linux.resources.cpu.realtimeRuntime",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"realtimePeriod": 1}}}}),
            "linux.resources.cpu.realtimePeriod",
            "not supported",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"shares": 1}}}}),
            "linux.resources.cpu.shares",
            "outside 2..262144",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"quota": 500}}}}),
            "linux.resources.cpu.quota",
            "below",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"period": 10}}}}),
            "linux.resources.cpu.period",
            "outside",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"cpus": "0-x"}}}}),
            "linux.resources.cpu.cpus",
            "not a list",
        ),
        (
            json!({"linux": {"resources": {"cpu": {"mems": "3-1"}}}}),
            "linux.resources.cpu.mems",
            "not a list",
        ),
        (
            json!({"linux": {"resources": {"devices": [{"allow": true, "type": "p"}]}}}),
            "linux.resources.devices[0].type",
            "not a device cgroup type",
        ),
        (
            json!({"linux": {"resources": {"devices": [{"allow": true, "access": "rwx"}]}}}),
            "linux.resources.devices[0].access",
            "'x' is not r, w or m",
        ),
        (
            json!({"linux": {"resources": {"blockIO": {"leafWeight": 10}}}}),
            "linux.resources.blockIO.leafWeight",
            "CFQ",
        ),
        (
            json!({"linux": {"resources": {"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 100, "leafWeight": 10}]}}}}),
            "linux.resources.blockIO.weightDevice[0].leafWeight",
            "CFQ",
        ),
        (
            json!({"linux": {"resources": {"blockIO": {"weight": 5}}}}),
            "linux.resources.blockIO.weight",
            "outside 10..1000",
        ),
    ];
    for (patch, field, reason) in cases {
        let e = refused(patch.clone());
        assert_eq!(e.field, field, "{patch}: {e}");
        assert!(e.reason.contains(reason), "{patch}: {e}");
        assert!(e.to_string().starts_with(&format!("{field}: ")), "{e}");
    }
}
