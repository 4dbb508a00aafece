//! The store without a registry: loading `docker save` and OCI-layout
//! archives, hostile layers refused with nothing left anywhere, layer
//! sharing and removal, layer.vhd, and the sweep of interrupted work.

mod common;

use std::{os::unix::fs::FileTypeExt, path::Path};

use common::{build, busybox_layer, docker_save, gzip, oci_layout, tar_dir, tree, TarBuf};
use hcsrun_image::{digest::chain_ids, ErrorKind, LayerFormat, LoadOptions, Reference, Store};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("images")).unwrap();
    (dir, store)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn a_docker_save_archive_loads() {
    let (dir, store) = store();
    let tars = vec![
        busybox_layer("saved"),
        TarBuf::new().file("etc/top", b"t").finish(),
    ];
    let built = build(&tars, "amd64");
    // gzip-compressed as `docker save | gzip` makes it.
    let archive = write(
        dir.path(),
        "save.tar.gz",
        &gzip(&docker_save(&built, &tars, &["busybox:saved", "me/app:1"])),
    );
    let images = store.load(&archive, &LoadOptions::default()).unwrap();
    assert_eq!(images.len(), 1);
    let image = &images[0];
    assert_eq!(image.id, built.id());
    assert_eq!(
        image.repo_tags,
        ["docker.io/library/busybox:saved", "docker.io/me/app:1"]
    );
    let paths = store.layer_paths(image, LayerFormat::Folder).unwrap();
    assert_eq!(std::fs::read(paths[0].join("etc/top")).unwrap(), b"t");
    assert!(paths[1].join("bin/busybox").is_file());
    assert_eq!(store.get("busybox:saved").unwrap().id, built.id());
    assert_eq!(store.get(&built.id().hex()[..12]).unwrap().id, built.id());
    let rows = store.images().unwrap();
    let names: Vec<_> = rows
        .iter()
        .map(|r| format!("{}:{}", r.repository, r.tag))
        .collect();
    assert_eq!(names, ["busybox:saved", "me/app:1"]);
}

#[test]
fn an_oci_layout_archive_loads_from_a_pipe() {
    let (dir, store) = store();
    let tars = vec![busybox_layer("oci")];
    let built = build(&tars, "amd64");
    let layout = dir.path().join("layout");
    oci_layout(&layout, &[("v1", &built)], None);
    let archive = tar_dir(&layout);
    let options = LoadOptions {
        repository: Some(Reference::parse("example.com/tools/busybox").unwrap()),
        ..LoadOptions::default()
    };
    let images = store.load_reader(&archive[..], "stdin", &options).unwrap();
    assert_eq!(images[0].id, built.id());
    assert_eq!(images[0].manifest_digest, Some(built.manifest_digest()));
    assert_eq!(images[0].repo_tags, ["example.com/tools/busybox:v1"]);
    assert_eq!(
        store.blob(&built.manifest_digest()).unwrap(),
        built.manifest
    );
}

#[test]
fn a_tampered_oci_blob_is_refused() {
    let (dir, store) = store();
    let tars = vec![TarBuf::new().file("a", b"original").finish()];
    let built = build(&tars, "amd64");
    let layout = dir.path().join("layout");
    oci_layout(&layout, &[("v1", &built)], None);
    let blob = layout
        .join("blobs/sha256")
        .join(hcsrun_image::Digest::of(&built.layers[0]).hex());
    std::fs::write(&blob, gzip(&TarBuf::new().file("a", b"tampered").finish())).unwrap();
    let err = store
        .load_reader(&tar_dir(&layout)[..], "tampered", &LoadOptions::default())
        .unwrap_err();
    assert!(
        matches!(err.kind.innermost(), ErrorKind::DigestMismatch { .. }),
        "{err}"
    );
    assert_nothing_stored(&store);
}

/// The store holds no layer, image or work in progress.
fn assert_nothing_stored(store: &Store) {
    for dir in ["layers", "layerdb", "images", "tmp"] {
        assert_eq!(tree(&store.root().join(dir)), Vec::<String>::new(), "{dir}");
    }
    assert!(store.images().unwrap().is_empty());
}

#[test]
fn hostile_layers_are_refused_with_nothing_written() {
    let abs = format!("/tmp/hcsrun-hostile-{}", uuid::Uuid::new_v4());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("dot-dot", TarBuf::new().file("../escaped", b"x").finish()),
        ("absolute", TarBuf::new().file(&abs, b"x").finish()),
        (
            "symlink to /",
            TarBuf::new()
                .symlink("a", "/")
                .file(&format!("a{abs}"), b"x")
                .finish(),
        ),
        (
            "hard link out",
            TarBuf::new().hardlink("p", "/etc/passwd").finish(),
        ),
        (
            "symlinked parent",
            TarBuf::new()
                .symlink("d", "../../..")
                .file("d/escaped", b"x")
                .finish(),
        ),
        (
            "device",
            TarBuf::new()
                .device("null", tar::EntryType::Char, 1, 3)
                .finish(),
        ),
        (
            "oversize claim",
            TarBuf::new()
                .raw(b"huge", tar::EntryType::Regular, 1 << 40, b"", b"")
                .finish(),
        ),
    ];
    for (what, tar) in cases {
        let (dir, store) = store();
        let before = tree(dir.path());
        let built = build(std::slice::from_ref(&tar), "amd64");
        let archive = write(
            dir.path(),
            "hostile.tar",
            &docker_save(&built, &[tar], &["hostile:1"]),
        );
        let err = store.load(&archive, &LoadOptions::default()).unwrap_err();
        assert!(
            matches!(
                err.kind.innermost(),
                ErrorKind::Unsafe { .. } | ErrorKind::Device { .. } | ErrorKind::Limit { .. }
            ),
            "{what}: {err}"
        );
        assert!(
            err.to_string().contains("layer sha256:"),
            "{what}: the error names the layer: {err}"
        );
        assert_nothing_stored(&store);
        let mut after = tree(dir.path());
        // The layer's lock file stays until the store is next opened alone.
        after.retain(|p| p != "hostile.tar" && !p.starts_with("images/locks/"));
        let mut before = before.clone();
        before.retain(|p| !p.starts_with("images/locks/"));
        assert_eq!(after, before, "{what}");
        assert!(
            !Path::new(&abs).exists() && !dir.path().parent().unwrap().join("escaped").exists()
        );
    }
    assert_eq!(
        std::fs::metadata("/etc/passwd")
            .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
            .unwrap(),
        1
    );
}

#[test]
fn a_layer_shared_by_two_images_outlives_one_of_them() {
    let (dir, store) = store();
    let base = busybox_layer("base");
    let a = vec![base.clone(), TarBuf::new().file("a", b"a").finish()];
    let b = vec![base.clone(), TarBuf::new().file("b", b"b").finish()];
    let (ia, ib) = (build(&a, "amd64"), build(&b, "amd64"));
    store
        .load(
            &write(dir.path(), "a.tar", &docker_save(&ia, &a, &["a:1"])),
            &LoadOptions::default(),
        )
        .unwrap();
    store
        .load(
            &write(dir.path(), "b.tar", &docker_save(&ib, &b, &["b:1"])),
            &LoadOptions::default(),
        )
        .unwrap();
    let shared = chain_ids(&ia.diff_ids)[0].clone();
    assert_eq!(shared, chain_ids(&ib.diff_ids)[0]);
    let err = store.remove_layer(&shared).unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Conflict(_)) && err.to_string().contains("used by image(s)"),
        "{err}"
    );
    let removed = store.remove("a:1", false).unwrap();
    assert_eq!(
        removed.layers,
        [chain_ids(&ia.diff_ids)[1].clone()],
        "the shared layer stays"
    );
    assert!(store.has_layer(&shared));
    let image_b = store.get("b:1").unwrap();
    assert!(store.layer_paths(&image_b, LayerFormat::Folder).unwrap()[1]
        .join("bin/busybox")
        .exists());
    store.remove("b:1", false).unwrap();
    assert!(!store.has_layer(&shared));
    assert_nothing_stored(&store);
}

#[test]
fn interrupted_work_is_swept_when_no_one_else_has_the_store_open() {
    let (dir, store) = store();
    let root = dir.path().join("images");
    std::fs::create_dir_all(root.join("tmp/work-crashed/layer/bin")).unwrap();
    std::fs::write(root.join("locks/stale.lock"), b"").unwrap();
    // While a store is open, another opener leaves tmp/ alone...
    let other = Store::open(&root).unwrap();
    assert!(root.join("tmp/work-crashed").exists());
    drop((store, other));
    // ...and the first opener after everyone closed it sweeps.
    let _store = Store::open(&root).unwrap();
    assert!(!root.join("tmp/work-crashed").exists());
    assert!(!root.join("locks/stale.lock").exists());
}

#[test]
fn layer_vhd_is_ext4_with_a_fixed_vhd_footer() {
    let (dir, store) = store();
    let tars = vec![TarBuf::new()
        .dir("d")
        .file("d/.wh..wh..opq", b"")
        .file("d/f", b"file")
        .file(".wh.gone", b"")
        .finish()];
    let built = build(&tars, "amd64");
    let images = store
        .load(
            &write(dir.path(), "v.tar", &docker_save(&built, &tars, &["v:1"])),
            &LoadOptions::default(),
        )
        .unwrap();
    let folders = store.layer_paths(&images[0], LayerFormat::Vhd).unwrap();
    let chain = &chain_ids(&built.diff_ids)[0];
    assert_eq!(
        folders[0].file_name().unwrap().to_str().unwrap(),
        chain.hex(),
        "same name, same GUID"
    );
    let vhd = folders[0].join("layer.vhd");
    // What the Linux compute service reads: the image before the footer.
    let mut file = std::fs::File::open(&vhd).unwrap();
    let len = file.metadata().unwrap().len();
    assert_eq!(hcsrun_shim::vhd_image_len(&mut file).unwrap(), len - 512);
    let fs_image = dir.path().join("fs.img");
    std::fs::write(
        &fs_image,
        &std::fs::read(&vhd).unwrap()[..(len - 512) as usize],
    )
    .unwrap();
    let fsck = std::process::Command::new("e2fsck")
        .args(["-fn"])
        .arg(&fs_image)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let debugfs = |cmd: &str| {
        let out = std::process::Command::new("debugfs")
            .args(["-R", cmd])
            .arg(&fs_image)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let root = debugfs("ls /");
    assert!(!root.contains("lost+found"), "{root}");
    assert!(debugfs("stat /gone").contains("character special"));
    assert!(
        debugfs("ea_list /d").contains("trusted.overlay.opaque"),
        "{}",
        debugfs("ea_list /d")
    );
    assert!(debugfs("cat /d/f").contains("file"));
    // A second call finds it built.
    assert_eq!(
        store.layer_paths(&images[0], LayerFormat::Vhd).unwrap(),
        folders
    );
    let gone = std::fs::symlink_metadata(store.layer_dir(chain).join("gone")).unwrap();
    assert!(gone.file_type().is_char_device());
}
