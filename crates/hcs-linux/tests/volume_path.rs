//! `VolumePath` as the container's root: a Linux bundle's root directory,
//! used in place (writes land in it, as with runc), when the configuration
//! gives no layers; ignored when layers build the root.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use std::fs;

use hcs_schema::{ContainerConfig, Layer, ProcessConfig};
use hcs_testkit::{process::*, require_root, rootfs, Fixture, ServiceKind};

/// A configuration whose root is the directory `root`, with no layers.
fn volume_config(fx: &Fixture, id: &str, container_type: &str, root: &str) -> ContainerConfig {
    ContainerConfig {
        container_type: container_type.into(),
        layers: Vec::new(),
        layer_folder_path: String::new(),
        volume_path: root.into(),
        ..fx.config(id)
    }
}

fn busybox_sh(script: &str) -> ProcessConfig {
    ProcessConfig {
        command_args: vec!["/bin/sh".into(), "-c".into(), script.into()],
        ..sh(script)
    }
}

#[tokio::test]
#[ignore = "needs root"]
async fn the_root_is_the_volume_itself() {
    require_root();
    let fx = Fixture::new("volume", ServiceKind::Linux);
    for (id, container_type) in [("volume-linux", "linux"), ("volume-windows", "")] {
        let root = rootfs::busybox(&fx.sandbox.scratch(&format!("{id}-root")));
        let config = volume_config(&fx, id, container_type, root.to_str().unwrap());
        let system = fx.service.create_system(id, &config).await.unwrap();
        system.start().await.unwrap();
        // The first mount of the container is its root: the directory
        // bound (its own file system's type), not an overlay.
        let script = "echo written > /written; \
                      head -n 1 /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1";
        let (code, out, err) = run(&*system, &busybox_sh(script)).await;
        assert_eq!(code, 0, "{container_type:?}: {err}");
        assert_ne!(out.trim(), "overlay", "{container_type:?}: {out}");
        assert_eq!(
            fs::read_to_string(root.join("written")).unwrap(),
            "written\n",
            "{container_type:?}: writes land in the directory"
        );
        fx.remove(system).await;
        // Nothing was made beside it: no scratch folder, no upper layer.
        assert!(!root.join("upper").exists());
    }
}

#[tokio::test]
#[ignore = "needs root"]
async fn layers_win_over_a_volume_path() {
    require_root();
    let fx = Fixture::new("volume-layers", ServiceKind::Linux);
    let layer = rootfs::busybox(&fx.sandbox.scratch("layer"));
    let ignored = fx.sandbox.scratch("ignored");
    fs::write(ignored.join("marker"), "volume\n").unwrap();
    let config = ContainerConfig {
        container_type: "linux".into(),
        volume_path: ignored.to_string_lossy().into(),
        layers: vec![Layer {
            id: String::new(),
            path: layer.to_string_lossy().into(),
        }],
        ..fx.config("volume-layers")
    };
    let system = fx
        .service
        .create_system("volume-layers", &config)
        .await
        .unwrap();
    system.start().await.unwrap();
    let (code, out, _) = run(&*system, &busybox_sh("test ! -e /marker && echo x > /new")).await;
    assert_eq!(code, 0, "{out}");
    assert!(!layer.join("new").exists(), "the layer is read-only");
    assert!(!ignored.join("new").exists());
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_configuration_needs_layers_or_a_volume_path() {
    require_root();
    let fx = Fixture::new("volume-none", ServiceKind::Linux);
    let config = volume_config(&fx, "volume-none", "linux", "");
    let err = fx
        .service
        .create_system("volume-none", &config)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("neither layers nor a VolumePath"),
        "{err}"
    );
}
