//! podman drives hcsrun-oci (`podman --runtime hcsrun-oci`): a busybox
//! image built here and loaded as an OCI archive (no network), a private
//! podman store, cgroupfs, file events, no network, and the ulimits this
//! kind of machine needs (no CAP_SYS_RESOURCE). `scripts/setup.sh`
//! installs podman.

mod common;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use common::OCI;
use serde_json::json;

/// A private podman store whose runtime is hcsrun-oci.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Self {
        hcs_testkit::require_root();
        assert!(
            Command::new("podman").arg("--version").output().is_ok(),
            "podman is missing: scripts/setup.sh installs it"
        );
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(d.join("storage"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--storage-driver", "overlay", "--runtime", OCI])
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .args(args)
            .stdin(std::process::Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        common::stdout_of_success("podman", args, &self.run(args))
    }

    /// Builds a busybox image as an OCI archive and loads it; its id.
    fn load_busybox(&self) -> String {
        let archive = oci_archive(&self.dir.path().join("image"));
        let loaded = self.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
        let name = loaded.lines().last().unwrap().rsplit(' ').next().unwrap();
        self.ok(&["image", "inspect", "--format", "{{.Id}}", name])
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.run(&["system", "reset", "--force"]);
        // Layers podman left mounted under the private store.
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.path().join("storage/overlay"))
            .output();
    }
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap()
        .to_owned()
}

/// Writes a blob into the layout; its digest and size.
fn blob(layout: &Path, file: &Path) -> (String, u64) {
    let digest = sha256(file);
    let dest = layout.join("blobs/sha256").join(&digest);
    fs::copy(file, &dest).unwrap();
    (
        format!("sha256:{digest}"),
        fs::metadata(dest).unwrap().len(),
    )
}

/// An OCI archive of one busybox layer, `localhost/busybox:hcsrun`.
fn oci_archive(dir: &Path) -> PathBuf {
    let rootfs = hcs_testkit::rootfs::busybox(&dir.join("rootfs"));
    let layout = dir.join("layout");
    fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    let layer = dir.join("layer.tar");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&layer)
        .arg(".")
        .status()
        .unwrap();
    assert!(tar.success());
    let (layer_digest, layer_size) = blob(&layout, &layer);
    let config = dir.join("config.json");
    fs::write(
        &config,
        json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]}
        })
        .to_string(),
    )
    .unwrap();
    let (config_digest, config_size) = blob(&layout, &config);
    let manifest = dir.join("manifest.json");
    fs::write(
        &manifest,
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest, "size": layer_size}]
        })
        .to_string(),
    )
    .unwrap();
    let (manifest_digest, manifest_size) = blob(&layout, &manifest);
    fs::write(
        layout.join("index.json"),
        json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest, "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": "localhost/busybox:hcsrun"}
            }]
        })
        .to_string(),
    )
    .unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let archive = dir.join("busybox.tar");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&archive)
        .arg(".")
        .status()
        .unwrap();
    assert!(tar.success());
    archive
}

const RUN: &[&str] = &[
    "--network",
    "none",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=4096:4096",
];

#[test]
#[ignore = "needs root"]
fn podman_runs_containers_through_hcsrun_oci() {
    let podman = Podman::new();
    let image = podman.load_busybox();

    // run --rm: the process is pid 1, its output and exit code podman's.
    let mut args = vec!["run", "--rm"];
    args.extend(RUN);
    args.extend([image.as_str(), "sh", "-c", "echo pid $$"]);
    assert_eq!(podman.ok(&args), "pid 1");
    let mut args = vec!["run", "--rm"];
    args.extend(RUN);
    args.extend([image.as_str(), "sh", "-c", "exit 3"]);
    assert_eq!(podman.run(&args).status.code(), Some(3));
    let mut args = vec!["run", "--rm"];
    args.extend(RUN);
    args.extend([image.as_str(), "true"]);
    podman.ok(&args);

    // --tmpfs (podman adds tmpcopyup; its /etc/hosts and /etc/hostname
    // binds go on top of the tmpfs), --shm-size, --read-only.
    let mut args = vec![
        "run",
        "--rm",
        "--tmpfs",
        "/etc",
        "--shm-size",
        "16m",
        "--read-only",
    ];
    args.extend(RUN);
    let script =
        "cat /etc/passwd >/dev/null && cat /etc/hostname && echo; df -k /dev/shm | tail -1; \
                  touch /x 2>/dev/null || echo read-only; touch /tmp/x && echo tmp";
    args.extend([image.as_str(), "sh", "-c", script]);
    let out = podman.ok(&args);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        !lines[0].is_empty(),
        "the hostname bind is on top of the tmpfs: {out}"
    );
    assert_eq!(lines[1].split_whitespace().nth(1), Some("16384"), "{out}");
    assert_eq!(&lines[2..], ["read-only", "tmp"], "{out}");

    // run -d, exec (with its exit code, and a terminal), stop, rm.
    let mut args = vec!["run", "-d"];
    args.extend(RUN);
    args.extend([image.as_str(), "sleep", "1000"]);
    let id = podman.ok(&args);
    assert_eq!(podman.ok(&["exec", &id, "sh", "-c", "echo $$"]), "2");
    assert_eq!(
        podman
            .run(&["exec", &id, "sh", "-c", "exit 5"])
            .status
            .code(),
        Some(5)
    );
    assert_eq!(podman.ok(&["exec", "-t", &id, "tty"]), "/dev/pts/0");
    podman.ok(&["pause", &id]);
    assert_eq!(
        podman.ok(&["inspect", "--format", "{{.State.Status}}", &id]),
        "paused"
    );
    podman.ok(&["unpause", &id]);
    podman.ok(&["stop", "--time", "1", &id]);
    assert_eq!(
        podman.ok(&["inspect", "--format", "{{.State.Status}}", &id]),
        "exited"
    );
    podman.ok(&["rm", &id]);
}
