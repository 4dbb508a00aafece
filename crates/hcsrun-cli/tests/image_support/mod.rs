//! What the image tests share: hcsrun-image's own test images and registry
//! (a private `docker-registry` on 127.0.0.1, `skopeo` to push), a store of
//! the test's own (`HCSRUN_IMAGE_ROOT`), and `hcsrun` run with it.
#![allow(dead_code)]

#[path = "../../../hcsrun-image/tests/common/mod.rs"]
pub mod built;

use std::{path::Path, process::Output};

pub use built::{build, oci_layout, registry::Registry, Built, TarBuf};
use hcsrun_image::Digest;
use serde_json::{json, Value};

use crate::common;

/// Why the registry tests are ignored by a plain `cargo test`.
pub const NEEDS_REGISTRY: &str = "needs docker-registry and skopeo (scripts/setup.sh)";

/// A store of the test's own, and `hcsrun` run with it.
pub struct Store {
    pub dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Store {
        Store {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// `hcsrun ARGS` with this store, stdin closed.
    pub fn hcsrun(&self, args: &[&str]) -> Output {
        let out = self.command().args(args).output().unwrap();
        eprintln!(
            "hcsrun {args:?}: {}\n{}{}",
            out.status,
            common::text(&out.stdout),
            common::text(&out.stderr)
        );
        out
    }

    /// `hcsrun` with this store.
    pub fn command(&self) -> std::process::Command {
        let mut c = common::command();
        c.env("HCSRUN_IMAGE_ROOT", self.dir.path())
            .stdin(std::process::Stdio::null());
        c
    }

    /// `hcsrun ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.hcsrun(args);
        assert!(out.status.success(), "hcsrun {args:?} failed");
        common::text(&out.stdout)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The unpacked layer folders of the store.
    pub fn layer_folders(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("layers"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

/// A layer of the host's busybox-static with the applets the tests use, and
/// `/etc/motd`, `/home/app`, and a `daemon` account.
pub fn busybox_layer() -> Vec<u8> {
    let busybox =
        std::fs::read("/bin/busybox").expect("busybox-static is installed (scripts/setup.sh)");
    let mut t = TarBuf::new()
        .dir("bin")
        .file_mode("bin/busybox", &busybox, 0o755);
    for applet in [
        "sh", "echo", "cat", "ls", "true", "id", "env", "pwd", "sleep", "touch",
    ] {
        t = t.symlink(&format!("bin/{applet}"), "busybox");
    }
    t.dir("etc")
        .file("etc/motd", b"base\n")
        .file(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/sh\n",
        )
        .file("etc/group", b"root:x:0:\ndaemon:x:1:\n")
        .dir("home")
        .dir("home/app")
        .dir("tmp")
        .finish()
}

/// A second layer: `/etc/motd` replaced, `/etc/extra` added.
pub fn top_layer(motd: &str) -> Vec<u8> {
    TarBuf::new()
        .dir("etc")
        .file("etc/motd", format!("{motd}\n").as_bytes())
        .file("etc/extra", b"extra\n")
        .finish()
}

/// `built` with `run_config` (docker's `config` object) as its config's.
pub fn with_config(built: Built, run_config: Value) -> Built {
    let mut config: Value = serde_json::from_slice(&built.config).unwrap();
    config["config"] = run_config;
    let config = serde_json::to_vec(&config).unwrap();
    let mut manifest: Value = serde_json::from_slice(&built.manifest).unwrap();
    manifest["config"]["digest"] = json!(Digest::of(&config).to_string());
    manifest["config"]["size"] = json!(config.len());
    Built {
        manifest: serde_json::to_vec(&manifest).unwrap(),
        config,
        ..built
    }
}

/// The image the run tests use: two layers, and a config with Cmd, Env,
/// WorkingDir and User.
pub fn app_image(arch: &str) -> (Built, Vec<Vec<u8>>) {
    let tars = vec![busybox_layer(), top_layer(arch)];
    let built = with_config(
        build(&tars, arch),
        json!({
            "Cmd": ["sh", "-c", "echo cmd $GREETING $(pwd) $(id -u) $(cat /etc/motd)"],
            "Env": ["PATH=/bin", "GREETING=hello"],
            "WorkingDir": "/home/app",
            "User": "daemon",
        }),
    );
    (built, tars)
}

/// Starts a registry holding `app_image` as `test/app:latest`; its
/// reference and the image.
pub fn registry_with_app() -> (Registry, String, Built) {
    let reg = Registry::start();
    let (built, _) = app_image("amd64");
    let layout = tempfile::tempdir().unwrap();
    oci_layout(layout.path(), &[("latest", &built)], None);
    reg.push(layout.path(), "latest", "test/app:latest");
    let name = format!("{}/test/app", reg.host);
    (reg, name, built)
}
