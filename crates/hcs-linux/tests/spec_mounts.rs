//! A Linux spec's `mounts`: a bind mount's `nosuid`, `nodev` and `noexec`
//! are in force (the service bound it as a mapped directory), and a kernel
//! file system the spec asks for beyond the standard ones is mounted with
//! its flags and data; its `linux.sysctl` and `domainname` are set in the
//! container's own namespaces.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use std::os::unix::fs::PermissionsExt;

use hcs_schema::MappedDir;
use hcs_testkit::{linux, process::*, require_root, rootfs, Fixture, ServiceKind};
use serde_json::json;

/// Prints the mount options and file system of each mount point, then
/// tries the volume's program.
const REPORT: &str = "for p in /data /scratch; do \
    grep \" $p \" /proc/self/mountinfo | tail -n 1 | awk '{ print $5, $6, $(NF-2), $NF }'; done; \
    /data/hello.sh; echo exec $?";

#[tokio::test]
#[ignore = "needs root"]
async fn a_specs_bind_flags_and_kernel_mounts_are_applied() {
    require_root();
    let id = "spec-mounts";
    let fx = Fixture::new(id, ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    let volume = fx.sandbox.scratch("volume");
    let program = volume.join("hello.sh");
    std::fs::write(&program, "#!/bin/sh\necho hello\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", REPORT], "cwd": "/"}),
    );
    spec["mounts"] = json!([
        {"destination": "/data", "type": "bind", "source": volume,
         "options": ["rbind", "nosuid", "nodev", "noexec"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "scratchfs",
         "options": ["nosuid", "nodev", "size=1m", "mode=700"]}
    ]);
    let mut config = linux::config(&fx, id, &root);
    config.mapped_directories = vec![MappedDir {
        host_path: volume.to_string_lossy().into_owned(),
        container_path: "/data".into(),
        ..Default::default()
    }];
    let system = fx.start_parked(id, &config).await;
    let (code, out, err) = run(&*system, &linux::init(&spec)).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let data: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(data[0], "/data", "{out}");
    for flag in ["nosuid", "nodev", "noexec"] {
        assert!(data[1].split(',').any(|f| f == flag), "{flag}: {out}");
    }
    let scratch: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(&scratch[..3], ["/scratch", scratch[1], "tmpfs"], "{out}");
    assert!(scratch[1].contains("nosuid") && scratch[1].contains("nodev"));
    assert!(
        scratch[3].contains("size=1024k") && scratch[3].contains("mode=700"),
        "{out}"
    );
    assert_eq!(lines[2], "exec 126", "noexec: {out}{err}");
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_specs_sysctl_and_domainname_are_set_in_its_namespaces() {
    require_root();
    let id = "spec-sysctl";
    let fx = Fixture::new(id, ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    let host_msgmax = std::fs::read_to_string("/proc/sys/kernel/msgmax").unwrap();
    let script = "cat /proc/sys/kernel/msgmax /proc/sys/net/ipv4/ip_forward \
                  /proc/sys/kernel/domainname; \
                  awk '$5 == \"/proc/sys\" { split($6, o, \",\"); print o[1] }' /proc/self/mountinfo";
    let mut spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", script], "cwd": "/"}),
    );
    spec["domainname"] = json!("example.org");
    spec["linux"]["sysctl"] = json!({"kernel.msgmax": "4321", "net.ipv4.ip_forward": "1"});
    // Written before the spec's read-only paths are applied, as runc does.
    spec["linux"]["readonlyPaths"] = json!(["/proc/sys"]);
    let config = linux::config(&fx, id, &root);
    let system = fx.start_parked(id, &config).await;
    let (code, out, err) = run(&*system, &linux::init(&spec)).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "4321\n1\nexample.org\nro\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/msgmax").unwrap(),
        host_msgmax,
        "the host's own is untouched"
    );
    fx.remove(system).await;
}

/// `net:[4026531840]` for this process's namespace `name`.
fn own_namespace(name: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_specs_namespaces_are_the_hosts_joined_or_new() {
    require_root();
    let id = "spec-ns";
    let fx = Fixture::new(id, ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    let script = "for n in net ipc uts cgroup; do readlink /proc/self/ns/$n; done";
    let mut spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", script], "cwd": "/"}),
    );
    // No network entry: the host's. IPC joined by path. UTS and cgroup new.
    spec["linux"]["namespaces"] = json!([
        {"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "cgroup"},
        {"type": "ipc", "path": format!("/proc/{}/ns/ipc", std::process::id())}
    ]);
    let config = linux::config(&fx, id, &root);
    let system = fx.start_parked(id, &config).await;
    let init = system
        .create_process(&linux::init(&json!({
            "ociVersion": spec["ociVersion"], "root": spec["root"], "linux": spec["linux"],
            "process": {"args": ["/bin/sleep", "100"], "cwd": "/"}
        })))
        .await
        .unwrap();
    let (code, out, err) = run(&*system, &linux::exec(&["/bin/sh", "-c", script], None)).await;
    assert_eq!(code, 0, "{err}");
    let seen: Vec<&str> = out.lines().collect();
    assert_eq!(seen[0], own_namespace("net"), "the host's network: {out}");
    assert_eq!(seen[1], own_namespace("ipc"), "the joined IPC: {out}");
    assert_ne!(seen[2], own_namespace("uts"), "a new UTS: {out}");
    assert_ne!(seen[3], own_namespace("cgroup"), "a new cgroup: {out}");
    init.close().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_specs_rootfs_propagation_is_set_inside_the_container() {
    require_root();
    let id = "spec-propagation";
    let fx = Fixture::new(id, ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    let script = "awk '$5 == \"/\" { print $7 }' /proc/self/mountinfo | head -n 1";
    let mut spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", script], "cwd": "/"}),
    );
    spec["linux"]["rootfsPropagation"] = json!("rshared");
    let config = linux::config(&fx, id, &root);
    let system = fx.start_parked(id, &config).await;
    let (code, out, err) = run(&*system, &linux::init(&spec)).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("shared:"), "{out}");
    fx.remove(system).await;
}
