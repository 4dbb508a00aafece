//! The image verbs through the binary, as a user runs them: `pull` from a
//! real registry (Debian's docker-registry on 127.0.0.1, images pushed with
//! skopeo), `load` of both archive formats, `images`, `tag`, `rmi`; a
//! corrupted blob and hostile layers refused. No container runs here
//! (`image_run.rs` runs them). Each test has its own store.

mod common;
mod image_support;

use hcsrun_image::Digest;
use image_support::{
    app_image, build, built::docker_save, built::tar_dir, oci_layout, registry_with_app, Registry,
    Store, TarBuf,
};

#[test]
#[ignore = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it"]
fn pull_shows_each_layer_verifies_and_never_downloads_twice() {
    let (reg, name, built) = registry_with_app();
    let store = Store::new();
    let out = store.ok(&["pull", "--insecure-registry", &reg.host, &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Using default tag: latest", "{out}");
    assert_eq!(lines[1], "latest: Pulling from test/app");
    for blob in &built.layers {
        let short = Digest::of(blob).short().to_owned();
        assert!(
            out.contains(&format!("{short}: Pull complete")),
            "{short} in {out}"
        );
    }
    assert!(out.contains(&format!("Digest: {}\n", built.manifest_digest())));
    assert!(out.contains(&format!(
        "Status: Downloaded newer image for {name}:latest\n"
    )));
    assert_eq!(lines.last().unwrap(), &format!("{name}:latest"));
    assert_eq!(store.layer_folders(), 2);
    let gets = reg.blob_gets("test/app");
    assert!(gets >= 3, "config and two layers downloaded: {gets}");

    // The second pull downloads no blob and says so.
    let again = store.ok(&["pull", "--insecure-registry", &reg.host, &name]);
    for blob in &built.layers {
        let short = Digest::of(blob).short().to_owned();
        assert!(
            again.contains(&format!("{short}: Already exists")),
            "{again}"
        );
    }
    assert!(again.contains(&format!("Status: Image is up to date for {name}:latest")));
    assert_eq!(
        reg.blob_gets("test/app"),
        gets,
        "a blob was downloaded again"
    );

    // images: docker's columns; the id is the config's digest.
    let table = store.ok(&["images"]);
    let mut rows = table.lines();
    let header = rows.next().unwrap();
    for column in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(column), "{header}");
    }
    let row: Vec<&str> = rows.next().unwrap().split("   ").map(str::trim).collect();
    let row: Vec<&str> = row.into_iter().filter(|c| !c.is_empty()).collect();
    assert_eq!(row[0], name);
    assert_eq!(row[1], "latest");
    assert_eq!(row[2], built.id().short());
    assert!(row[3].ends_with(" ago"), "{row:?}");
    assert!(row[4].ends_with("MB"), "{row:?}");
    assert_eq!(
        store.ok(&["images", "-q"]),
        format!("{}\n", built.id().short())
    );

    // Plain HTTP only when asked.
    let refused = store.hcsrun(&["pull", &format!("{name}:other")]);
    assert!(!refused.status.success());
}

#[test]
#[ignore = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it"]
fn a_corrupted_blob_is_refused_and_nothing_is_kept() {
    let (reg, name, built) = registry_with_app();
    let top = Digest::of(built.layers.last().unwrap());
    let blob = reg.blob_file(top.hex());
    let mut bytes = std::fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let store = Store::new();
    let out = store.hcsrun(&["pull", "-q", "--insecure-registry", &reg.host, &name]);
    assert!(!out.status.success());
    let err = common::text(&out.stderr);
    assert!(err.starts_with("hcsrun: pull: "), "{err}");
    assert!(err.contains(&top.to_string()), "the layer is named: {err}");
    assert!(
        err.contains("digest mismatch") || err.contains("size mismatch") || err.contains("gzip"),
        "{err}"
    );
    assert_eq!(store.ok(&["images", "-q"]), "");
    // The intact base layer may stay (it is verified); the corrupt one not.
    assert!(store.layer_folders() <= 1);
}

#[test]
#[ignore = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it"]
fn a_manifest_list_is_resolved_to_the_platform_asked() {
    let reg = Registry::start();
    let (amd, _) = app_image("amd64");
    let (arm, _) = app_image("arm64");
    let layout = tempfile::tempdir().unwrap();
    oci_layout(
        layout.path(),
        &[],
        Some(("multi", &[(&amd, "amd64"), (&arm, "arm64")])),
    );
    reg.push(layout.path(), "multi", "test/multi:1");
    let name = format!("{}/test/multi:1", reg.host);
    let store = Store::new();
    let insecure = ["--insecure-registry", reg.host.as_str()];
    let args = |platform: &[&'static str]| -> Vec<String> {
        let mut v = vec!["pull".to_owned(), "-q".into()];
        v.extend(insecure.iter().map(|s| s.to_string()));
        v.extend(platform.iter().map(|s| s.to_string()));
        v.push(name.clone());
        v
    };
    let run = |v: Vec<String>| store.ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        run(args(&["--platform", "linux/arm64"])),
        format!("{name}\n")
    );
    assert_eq!(
        store.ok(&["images", "-q"]),
        format!("{}\n", arm.id().short())
    );
    run(args(&[]));
    // The tag moved to the host's; the other stays, untagged, as docker's.
    assert_eq!(
        store.ok(&["images", "-q", &name]),
        format!("{}\n", amd.id().short())
    );
    let table = store.ok(&["images"]);
    assert!(
        table.lines().any(|l| {
            l.split_whitespace().take(3).collect::<Vec<_>>()
                == ["<none>", "<none>", arm.id().short()]
        }),
        "{table}"
    );
    let out = store.hcsrun(
        &args(&["--platform", "linux/s390x"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!out.status.success());
    assert!(common::text(&out.stderr).contains("s390x"));
}

#[test]
fn load_reads_docker_save_and_oci_archives() {
    let store = Store::new();
    let work = tempfile::tempdir().unwrap();
    let (built, tars) = app_image("amd64");
    let saved = work.path().join("saved.tar");
    std::fs::write(&saved, docker_save(&built, &tars, &["saved/app:1.0"])).unwrap();
    let out = store.ok(&["load", "-i", saved.to_str().unwrap()]);
    assert_eq!(out, "Loaded image: saved/app:1.0\n");

    let other = build(&[image_support::top_layer("oci")], "amd64");
    let layout = work.path().join("layout");
    oci_layout(&layout, &[("example.com/oci/app:2", &other)], None);
    let archive = work.path().join("oci.tar");
    std::fs::write(&archive, tar_dir(&layout)).unwrap();
    let out = store.ok(&["load", "--input", archive.to_str().unwrap()]);
    assert_eq!(out, "Loaded image: example.com/oci/app:2\n");

    let table = store.ok(&["images"]);
    assert!(table.contains("saved/app"), "{table}");
    assert!(table.contains("example.com/oci/app"), "{table}");
    assert!(table.contains(built.id().short()) && table.contains(other.id().short()));
    assert_eq!(
        store.ok(&["images", "-q", "saved/app"]),
        format!("{}\n", built.id().short())
    );

    // From stdin too, as docker load < FILE.
    let fresh = Store::new();
    let out = fresh
        .command()
        .args(["load", "-q"])
        .stdin(std::fs::File::open(&saved).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_eq!(common::text(&out.stdout), "saved/app:1.0\n");
}

#[test]
fn hostile_layers_are_refused_with_nothing_written_outside() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("escaped");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot",
            TarBuf::new()
                .file(
                    &format!("../../../../../../../..{}", target.display()),
                    b"x",
                )
                .finish(),
        ),
        (
            "absolute",
            TarBuf::new().file(target.to_str().unwrap(), b"x").finish(),
        ),
        (
            "symlinked parent",
            TarBuf::new()
                .symlink("out", outside.path().to_str().unwrap())
                .file("out/escaped", b"x")
                .finish(),
        ),
        (
            "hard link out",
            TarBuf::new().hardlink("passwd", "/etc/passwd").finish(),
        ),
        (
            "device",
            TarBuf::new()
                .device("sda", tar::EntryType::Block, 8, 0)
                .finish(),
        ),
    ];
    for (what, tar) in cases {
        let store = Store::new();
        let built = build(std::slice::from_ref(&tar), "amd64");
        let archive = outside.path().join("hostile.tar");
        std::fs::write(&archive, docker_save(&built, &[tar], &["hostile:1"])).unwrap();
        let out = store.hcsrun(&["load", "-i", archive.to_str().unwrap()]);
        assert!(!out.status.success(), "{what}: loaded");
        assert!(
            common::text(&out.stderr).starts_with("hcsrun: load: "),
            "{what}: {}",
            common::text(&out.stderr)
        );
        assert!(!target.exists(), "{what}: wrote outside the store");
        assert_eq!(store.ok(&["images", "-q"]), "", "{what}: an image was kept");
        assert_eq!(store.layer_folders(), 0, "{what}: a layer was kept");
    }
}

#[test]
fn tag_and_rmi_as_docker() {
    let store = Store::new();
    let work = tempfile::tempdir().unwrap();
    let (built, tars) = app_image("amd64");
    let saved = work.path().join("saved.tar");
    std::fs::write(&saved, docker_save(&built, &tars, &["app:1"])).unwrap();
    store.ok(&["load", "-q", "-i", saved.to_str().unwrap()]);
    assert_eq!(store.ok(&["tag", "app:1", "app2"]), "");
    let table = store.ok(&["images"]);
    assert!(
        table.contains("app2 ") && table.contains("latest"),
        "{table}"
    );

    // By id, with two tags: refused without -f.
    let out = store.hcsrun(&["rmi", built.id().short()]);
    assert!(!out.status.success());
    assert!(common::text(&out.stderr).contains("2 tags"));
    // A tag of several only untags.
    assert_eq!(store.ok(&["rmi", "app2"]), "Untagged: app2:latest\n");
    assert_eq!(store.layer_folders(), 2);
    // The last tag deletes the image and its layers.
    let out = store.ok(&["rmi", "app:1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Untagged: app:1");
    assert_eq!(lines[1], format!("Deleted: {}", built.id()));
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(store.layer_folders(), 0);
    let out = store.hcsrun(&["rmi", "app:1"]);
    assert!(!out.status.success());
    assert!(common::text(&out.stderr).contains("no such image"));
}

#[test]
#[ignore = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it"]
fn concurrent_and_interrupted_pulls_leave_a_whole_image() {
    let (reg, name, built) = registry_with_app();
    let store = Store::new();
    let pull = || {
        store
            .command()
            .args(["pull", "-q", "--insecure-registry", &reg.host, &name])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Killed part way (or done already: either way nothing half-made).
    let mut killed = pull();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = killed.kill();
    killed.wait().unwrap();
    let listed = store.ok(&["images", "-q"]);
    assert!(listed.is_empty() || listed == format!("{}\n", built.id().short()));
    // Three at once: each layer unpacked once, all succeed.
    let mut pulls: Vec<_> = (0..3).map(|_| pull()).collect();
    for p in &mut pulls {
        assert!(p.wait().unwrap().success());
    }
    assert_eq!(
        store.ok(&["images", "-q"]),
        format!("{}\n", built.id().short())
    );
    assert_eq!(store.layer_folders(), 2);
    let tmp = std::fs::read_dir(store.path().join("tmp")).map_or(0, |d| d.count());
    assert_eq!(tmp, 0, "work left in the store's tmp");
}
