//! Pulls from a real registry: Debian's docker-registry on 127.0.0.1,
//! images built from busybox-static and pushed with skopeo. Ignored by a
//! plain `cargo test` (they start a server); `.ci/run` runs them with
//! `--include-ignored`.

mod common;

use std::sync::{Arc, Mutex};

use common::{build, busybox_layer, oci_layout, registry::Registry, TarBuf};
use hcsrun_image::{
    digest::chain_ids, ErrorKind, LayerFormat, Platform, Progress, PullOptions, Reference, Store,
};

const NEEDS: &str = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it";

fn options(reg: &Registry, events: &Arc<Mutex<Vec<Progress>>>) -> PullOptions {
    let sink = events.clone();
    PullOptions {
        insecure_registries: vec![reg.host.clone()],
        progress: Some(Arc::new(move |p: &Progress| {
            sink.lock().unwrap().push(p.clone())
        })),
        platform: Platform::parse("linux/amd64").unwrap(),
        ..PullOptions::default()
    }
}

fn reference(reg: &Registry, repo_tag: &str) -> Reference {
    Reference::parse(&format!("{}/{repo_tag}", reg.host)).unwrap()
}

fn two_layers(motd: &str) -> Vec<Vec<u8>> {
    vec![
        busybox_layer(motd),
        TarBuf::new()
            .dir("etc")
            .file("etc/hello", motd.as_bytes())
            .file("etc/.wh.motd", b"")
            .finish(),
    ]
}

#[tokio::test]
#[ignore = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it"]
async fn pull_verifies_reports_progress_and_never_downloads_twice() {
    let _ = NEEDS;
    let reg = Registry::start();
    let tars = two_layers("amd64");
    let built = build(&tars, "amd64");
    let layout = tempfile::tempdir().unwrap();
    oci_layout(layout.path(), &[("latest", &built)], None);
    reg.push(layout.path(), "latest", "busybox:latest");

    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let r = reference(&reg, "busybox");
    let image = store.pull(&r, &options(&reg, &events)).await.unwrap();
    assert_eq!(image.id, built.id());
    assert_eq!(image.repo_tags, [format!("{}/busybox:latest", reg.host)]);
    assert_eq!(
        image.config.config.as_ref().unwrap().cmd.as_deref(),
        Some(&["sh".to_owned()][..])
    );

    // Progress: every byte of each layer, then its end.
    let seen = events.lock().unwrap().clone();
    for blob in &built.layers {
        let digest = hcsrun_image::Digest::of(blob);
        let last = seen.iter().rev().find_map(|p| match p {
            Progress::LayerDownloading {
                layer,
                downloaded,
                total,
            } if *layer == digest => Some((*downloaded, *total)),
            _ => None,
        });
        assert_eq!(
            last,
            Some((blob.len() as u64, blob.len() as u64)),
            "{seen:?}"
        );
        assert!(seen
            .iter()
            .any(|p| matches!(p, Progress::LayerDone { layer, .. } if *layer == digest)));
    }

    // Layer folders: chain ids, top-most first, unpacked with the whiteout.
    let chains = chain_ids(&built.diff_ids);
    let paths = store.layer_paths(&image, LayerFormat::Folder).unwrap();
    assert_eq!(
        paths,
        [store.layer_dir(&chains[1]), store.layer_dir(&chains[0])]
    );
    assert_eq!(
        paths[0].file_name().unwrap().to_str().unwrap(),
        chains[1].hex()
    );
    assert!(paths[1].join("bin/busybox").is_file());
    assert_eq!(std::fs::read(paths[0].join("etc/hello")).unwrap(), b"amd64");
    let guids: Vec<_> = paths
        .iter()
        .map(|p| hcs_linux::name_to_guid(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    assert_ne!(guids[0], guids[1]);

    let rows = store.images().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].repository.as_str(), rows[0].tag.as_str()),
        (&*format!("{}/busybox", reg.host), "latest")
    );
    assert!(rows[0].size > 1_000_000, "{}", rows[0].size);
    assert_eq!(rows[0].created.as_deref(), Some("2024-01-02T03:04:05Z"));

    // The same pull again downloads no blob, from a new Store as another
    // process would.
    let gets = reg.blob_gets("busybox");
    assert!(gets >= 2, "{}", reg.log());
    events.lock().unwrap().clear();
    let again = Store::open(root.path())
        .unwrap()
        .pull(&r, &options(&reg, &events))
        .await
        .unwrap();
    assert_eq!(again.id, image.id);
    assert_eq!(reg.blob_gets("busybox"), gets, "no second download");
    let seen = events.lock().unwrap().clone();
    assert_eq!(
        seen.iter()
            .filter(|p| matches!(p, Progress::LayerExists { .. }))
            .count(),
        2,
        "{seen:?}"
    );
    assert!(!seen
        .iter()
        .any(|p| matches!(p, Progress::LayerDownloading { .. })));

    // rmi: a second tag is only untagged; the last removes image and layers.
    store
        .tag("busybox", &Reference::parse("copy:1").unwrap())
        .unwrap_err();
    store
        .tag(&r.to_string(), &Reference::parse("copy:1").unwrap())
        .unwrap();
    let err = store.remove(&image.id.to_string(), false).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Conflict(_)), "{err}");
    let removed = store.remove("copy:1", false).unwrap();
    assert_eq!((removed.untagged.len(), removed.deleted.clone()), (1, None));
    let removed = store.remove(&r.to_string(), false).unwrap();
    assert_eq!(removed.deleted, Some(image.id.clone()));
    assert_eq!(removed.layers, [chains[1].clone(), chains[0].clone()]);
    assert!(!paths[0].exists() && !paths[1].exists());
    assert!(store.images().unwrap().is_empty());
}

#[tokio::test]
#[ignore = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it"]
async fn a_manifest_list_resolves_to_the_platform() {
    let reg = Registry::start();
    let amd = build(&two_layers("amd64"), "amd64");
    let arm = build(&two_layers("arm64"), "arm64");
    let layout = tempfile::tempdir().unwrap();
    oci_layout(
        layout.path(),
        &[],
        Some(("multi", &[(&amd, "amd64"), (&arm, "arm64")])),
    );
    reg.push(layout.path(), "multi", "multi:latest");

    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let r = reference(&reg, "multi");
    let mut opts = options(&reg, &events);
    opts.platform = Platform::parse("linux/arm64").unwrap();
    let image = store.pull(&r, &opts).await.unwrap();
    assert_eq!(image.id, arm.id());
    assert_eq!(image.config.architecture, "arm64");
    let top = &store.layer_paths(&image, LayerFormat::Folder).unwrap()[0];
    assert_eq!(std::fs::read(top.join("etc/hello")).unwrap(), b"arm64");

    opts.platform = Platform::parse("linux/amd64").unwrap();
    assert_eq!(store.pull(&r, &opts).await.unwrap().id, amd.id());
    // The tag moved to the amd64 image; the arm64 one is untagged now.
    let rows = store.images().unwrap();
    assert_eq!(
        rows.iter().filter(|r| r.tag == "<none>").count(),
        1,
        "{rows:?}"
    );

    opts.platform = Platform::parse("linux/s390x").unwrap();
    let err = store.pull(&r, &opts).await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::NotFound(_)), "{err}");
    assert!(
        err.to_string().contains("linux/amd64, linux/arm64"),
        "{err}"
    );
}

#[tokio::test]
#[ignore = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it"]
async fn a_corrupted_blob_is_refused_and_leaves_nothing() {
    let reg = Registry::start();
    let tars = vec![busybox_layer("to be corrupted")];
    let built = build(&tars, "amd64");
    let layout = tempfile::tempdir().unwrap();
    oci_layout(layout.path(), &[("latest", &built)], None);
    reg.push(layout.path(), "latest", "bad:latest");
    // Flip bytes in the middle of the stored layer (same length).
    let layer = hcsrun_image::Digest::of(&built.layers[0]);
    let file = reg.blob_file(layer.hex());
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&file, &bytes).unwrap();

    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let err = store
        .pull(&reference(&reg, "bad"), &options(&reg, &events))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err.kind.innermost(), ErrorKind::DigestMismatch { expected, .. } if *expected == layer),
        "{text}"
    );
    assert!(text.contains("digest mismatch"), "{text}");
    assert!(
        text.contains(&layer.to_string()),
        "the error names the layer: {text}"
    );
    let chain = &chain_ids(&built.diff_ids)[0];
    assert!(!store.has_layer(chain) && !store.layer_dir(chain).exists());
    assert_eq!(
        std::fs::read_dir(root.path().join("tmp")).unwrap().count(),
        0
    );
    assert!(store.images().unwrap().is_empty());
}

#[test]
#[ignore = "needs docker-registry and skopeo (scripts/setup.sh); .ci/run runs it"]
fn two_pullers_of_one_image_unpack_each_layer_once() {
    let reg = Registry::start();
    let built = build(&two_layers("shared"), "amd64");
    let layout = tempfile::tempdir().unwrap();
    oci_layout(layout.path(), &[("latest", &built)], None);
    reg.push(layout.path(), "latest", "shared:latest");
    let root = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let r = reference(&reg, "shared");
    let threads: Vec<_> = (0..2)
        .map(|_| {
            // Each thread its own store handle and runtime, as two processes.
            let (path, opts, r) = (root.path().to_owned(), options(&reg, &events), r.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async { Store::open(path).unwrap().pull(&r, &opts).await.unwrap().id })
            })
        })
        .collect();
    let ids: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(ids, [built.id(), built.id()]);
    let seen = events.lock().unwrap().clone();
    let done = seen
        .iter()
        .filter(|p| matches!(p, Progress::LayerDone { .. }))
        .count();
    let existed = seen
        .iter()
        .filter(|p| matches!(p, Progress::LayerExists { .. }))
        .count();
    assert_eq!(
        (done, existed),
        (2, 2),
        "each layer unpacked once: {seen:?}"
    );
}
