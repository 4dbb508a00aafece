//! Devices: `/dev` is a fresh tmpfs with docker's nodes, and the kernel
//! enforces docker's allow-list (the devices cgroup; its eBPF equivalent
//! on cgroup v2), so a node a layer ships (`kmsg`, c 1 11) cannot be
//! opened, nor one made with `CAP_MKNOD`; a Linux spec's `linux.devices`
//! adds nodes and allows them.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use hcs_schema::{Layer, ProcessConfig};
use hcs_testkit::{linux, process::*, require_root, rootfs, Fixture, ServiceKind};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use serde_json::json;

/// Reads one byte of kmsg through `path`: `denied` if the open fails.
fn read_kmsg(path: &str) -> String {
    format!("head -c 1 {path} >/dev/null 2>&1 && echo opened || echo denied")
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_device_node_in_a_layer_is_refused() {
    require_root();
    let fx = Fixture::new("dev-layer", ServiceKind::Linux);
    let layer = fx.sandbox.scratch("layer");
    mknod(
        &layer.join("kmsg"),
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        makedev(1, 11),
    )
    .unwrap();
    // Over a busybox root (a layer inside the host's root could not be
    // overlaid on it).
    let base = rootfs::busybox(&fx.sandbox.scratch("base"));
    let script = format!(
        "{}; echo x > /dev/null && echo null; ls /dev | tr '\\n' ' '",
        read_kmsg("/kmsg")
    );
    let want = "denied\nnull\nfd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero ";
    // The container's pid 1, and a process joining a running container.
    for (id, first) in [("dev-layer-init", true), ("dev-layer-exec", false)] {
        let mut config = fx.config(id);
        config.layers = [&layer, &base]
            .into_iter()
            .map(|l| Layer {
                id: String::new(),
                path: l.to_string_lossy().into(),
            })
            .collect();
        let system = fx.start_parked(id, &config).await;
        if !first {
            let sleep = ProcessConfig {
                command_args: vec!["/bin/sleep".into(), "1000".into()],
                ..Default::default()
            };
            system
                .create_process(&sleep)
                .await
                .unwrap()
                .close()
                .await
                .unwrap();
        }
        let busybox = ProcessConfig {
            command_args: vec!["/bin/sh".into(), "-c".into(), script.clone()],
            ..sh(&script)
        };
        let (code, out, err) = run(&*system, &busybox).await;
        assert_eq!((code, out.as_str()), (0, want), "{id}: {err}");
        fx.remove(system).await;
    }
}

#[tokio::test]
#[ignore = "needs root"]
async fn cap_mknod_makes_nodes_that_cannot_be_opened() {
    require_root();
    let fx = Fixture::new("dev-mknod", ServiceKind::Linux);
    let system = fx.start_default("dev-mknod").await;
    let script = format!(
        "grep CapEff /proc/self/status; mknod /tmp/kmsg c 1 11 && echo made; {}; \
         mknod /tmp/null c 1 3 && echo x > /tmp/null && echo null",
        read_kmsg("/tmp/kmsg")
    );
    let (code, out, err) = run(&*system, &sh(&script)).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "CapEff:\t00000000a80425fb\nmade\ndenied\nnull\n");
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_specs_devices_are_made_and_allowed() {
    require_root();
    let fx = Fixture::new("dev-spec", ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    let script = format!(
        "ls -l /dev/kmsg | cut -c1-10; stat -c '%u %g %t %T' /dev/kmsg; {}; {}",
        read_kmsg("/dev/kmsg"),
        // Allowed by the spec's rules, not by docker's: c 1:1 is not.
        "mknod /mem c 1 1; head -c 1 /mem >/dev/null 2>&1 && echo mem || echo no-mem"
    );
    let mut spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", script], "cwd": "/"}),
    );
    spec["linux"]["devices"] = json!([{
        "type": "c", "path": "/dev/kmsg", "major": 1, "minor": 11,
        "fileMode": 0o640, "uid": 0, "gid": 4
    }]);
    let config = linux::config(&fx, "dev-spec", &root);
    let system = fx.service.create_system("dev-spec", &config).await.unwrap();
    system.start().await.unwrap();
    let (code, out, err) = run(&*system, &linux::init(&spec)).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "crw-r-----\n0 4 1 b\nopened\nno-mem\n");
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn dev_is_fresh_and_the_console_is_the_first_processes() {
    require_root();
    let fx = Fixture::new("dev-fresh", ServiceKind::Linux);
    let system = fx.start_parked("dev-fresh", &fx.config("dev-fresh")).await;
    let script = "grep -E ' /dev(/mqueue)? ' /proc/self/mounts | cut -d' ' -f1-4; \
                  stat -L -c %t:%T /proc/self/fd/0 /dev/console; \
                  cp /bin/true /dev/t && /dev/t 2>/dev/null || echo noexec";
    let console = ProcessConfig {
        emulate_console: true,
        create_std_err_pipe: false,
        console_size: [24, 80],
        ..sh(script)
    };
    let (code, out, _) = run(&*system, &console).await;
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(
        lines[0].starts_with("tmpfs /dev tmpfs rw,nosuid,noexec"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec"),
        "{out}"
    );
    assert_eq!(lines[2], lines[3], "/dev/console is the console: {out}");
    assert!(lines[2].starts_with("88:"), "a pty (136): {out}");
    assert_eq!(lines[4], "noexec", "{out}");
    fx.remove(system).await;
}
