//! Whiteouts and opaque directories as overlayfs reads them: two layers
//! unpacked by the store, mounted as an overlay (needs root, so ignored by
//! a plain `cargo test`; `.ci/run` runs it with `--include-ignored`).

mod common;

use common::{build, docker_save, TarBuf};
use hcsrun_image::{LayerFormat, LoadOptions, Store};

#[test]
#[ignore = "needs root (mounts an overlay); .ci/run runs it"]
fn an_overlay_of_unpacked_layers_hides_what_the_top_layer_whites_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("images")).unwrap();
    let tars = vec![
        TarBuf::new()
            .file("keep", b"kept")
            .file("gone", b"deleted above")
            .file("opaque/old", b"hidden above")
            .file("plain/old", b"stays")
            .finish(),
        TarBuf::new()
            .file(".wh.gone", b"")
            .file("opaque/.wh..wh..opq", b"")
            .file("opaque/new", b"new")
            .file("plain/new", b"new")
            .finish(),
    ];
    let built = build(&tars, "amd64");
    let archive = dir.path().join("a.tar");
    std::fs::write(&archive, docker_save(&built, &tars, &["ovl:1"])).unwrap();
    let image = store
        .load(&archive, &LoadOptions::default())
        .unwrap()
        .remove(0);
    let lowers = store.layer_paths(&image, LayerFormat::Folder).unwrap();
    let lowerdir = lowers
        .iter()
        .map(|p| p.to_str().unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!("lowerdir={lowerdir}"))
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(status.success(), "mount overlay");
    // Read everything before unmounting, so a failed assertion cannot
    // leave the mount behind.
    let seen = (
        list(&mnt),
        list(&mnt.join("opaque")),
        list(&mnt.join("plain")),
    );
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    let (root, opaque, plain) = seen;
    assert_eq!(
        root,
        ["keep", "opaque", "plain"],
        "the whited-out file is gone"
    );
    assert_eq!(opaque, ["new"], "an opaque directory hides the lower one");
    assert_eq!(plain, ["new", "old"], "a plain directory merges");
}

fn list(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
