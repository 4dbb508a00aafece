use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use tar::EntryType;

use super::tars::{gzip, tree, TarBuf};
use super::*;

struct Fixture {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    layer: PathBuf,
}

/// A temporary directory holding `outside/secret` (what an escape would
/// reach) and the empty layer directory.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_path_buf();
    std::fs::create_dir(base.join("outside")).unwrap();
    std::fs::write(base.join("outside/secret"), b"s").unwrap();
    let layer = base.join("layer");
    std::fs::create_dir(&layer).unwrap();
    Fixture {
        _tmp: tmp,
        base,
        layer,
    }
}

impl Fixture {
    fn unpack(&self, blob: &[u8], limits: &Limits) -> Result<Unpacked, ErrorKind> {
        unpack_blob(blob, &self.layer, limits)
    }

    /// The fixture outside the layer is as it was.
    fn untouched(&self) {
        let mut all = tree(&self.base);
        all.retain(|p| !p.starts_with("layer"));
        assert_eq!(all, ["outside", "outside/secret"]);
        assert_eq!(
            std::fs::read(self.base.join("outside/secret")).unwrap(),
            b"s"
        );
    }
}

fn unique_abs() -> String {
    format!("/tmp/hcsrun-escape-{}", uuid::Uuid::new_v4())
}

fn refused(kind: ErrorKind, needle: &str) {
    let text = kind.to_string();
    assert!(matches!(kind, ErrorKind::Unsafe { .. }), "{kind:?}");
    assert!(text.contains(needle), "{text}");
}

#[test]
fn dot_dot_is_refused() {
    let f = fixture();
    let tar = TarBuf::new().file("../x", b"x").finish();
    refused(f.unpack(&tar, &Limits::default()).unwrap_err(), "'..'");
    let tar = TarBuf::new().file("a/../../outside/secret", b"x").finish();
    refused(f.unpack(&tar, &Limits::default()).unwrap_err(), "'..'");
    f.untouched();
    assert!(!f.base.join("x").exists());
}

#[test]
fn absolute_paths_are_refused() {
    let f = fixture();
    let abs = unique_abs();
    let tar = TarBuf::new().file(&abs, b"x").finish();
    refused(f.unpack(&tar, &Limits::default()).unwrap_err(), "absolute");
    assert!(!Path::new(&abs).exists());
    f.untouched();
}

#[test]
fn writing_through_a_symlink_out_is_refused() {
    let f = fixture();
    let abs = unique_abs();
    // a -> / then a/tmp/hcsrun-escape-…
    let tar = TarBuf::new()
        .symlink("a", "/")
        .file(&format!("a{abs}"), b"x")
        .finish();
    refused(
        f.unpack(&tar, &Limits::default()).unwrap_err(),
        "leaves the layer",
    );
    assert!(!Path::new(&abs).exists());
    // d -> ../outside (a relative link that climbs out) then d/x
    let f = fixture();
    let tar = TarBuf::new()
        .symlink("d", "../outside")
        .file("d/x", b"x")
        .finish();
    refused(
        f.unpack(&tar, &Limits::default()).unwrap_err(),
        "leaves the layer",
    );
    // A symlinked parent several levels down.
    let f2 = fixture();
    let tar = TarBuf::new()
        .dir("p")
        .symlink("p/q", "../../outside")
        .file("p/q/secret", b"overwritten")
        .finish();
    refused(
        f2.unpack(&tar, &Limits::default()).unwrap_err(),
        "leaves the layer",
    );
    f.untouched();
    f2.untouched();
}

#[test]
fn hard_links_out_are_refused() {
    let f = fixture();
    let tar = TarBuf::new().hardlink("p", "/etc/passwd").finish();
    refused(f.unpack(&tar, &Limits::default()).unwrap_err(), "absolute");
    let tar = TarBuf::new().hardlink("p", "../outside/secret").finish();
    refused(f.unpack(&tar, &Limits::default()).unwrap_err(), "'..'");
    // Through a symlinked directory: e -> /etc, p => e/passwd.
    let tar = TarBuf::new()
        .symlink("e", "/etc")
        .hardlink("p", "e/passwd")
        .finish();
    refused(
        f.unpack(&tar, &Limits::default()).unwrap_err(),
        "leaves the layer",
    );
    let tar = TarBuf::new().hardlink("p", "missing").finish();
    refused(
        f.unpack(&tar, &Limits::default()).unwrap_err(),
        "not in the layer",
    );
    assert_eq!(std::fs::metadata("/etc/passwd").unwrap().nlink(), 1);
    f.untouched();
}

#[test]
fn devices_are_refused_but_whiteouts_and_fifos_are_not() {
    let f = fixture();
    let tar = TarBuf::new().device("null", EntryType::Char, 1, 3).finish();
    let err = f.unpack(&tar, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::Device {
                major: 1,
                minor: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("character device 1:3 refused") && text.contains("whiteout"),
        "{text}"
    );
    let tar = TarBuf::new().device("sda", EntryType::Block, 8, 0).finish();
    let err = f.unpack(&tar, &Limits::default()).unwrap_err();
    assert!(
        err.to_string().contains("block device 8:0 refused"),
        "{err}"
    );

    let f = fixture();
    let tar = TarBuf::new()
        .device("gone", EntryType::Char, 0, 0)
        .raw(b"pipe", EntryType::Fifo, 0, b"", b"")
        .finish();
    f.unpack(&tar, &Limits::default()).unwrap();
    let gone = std::fs::symlink_metadata(f.layer.join("gone")).unwrap();
    assert!(gone.file_type().is_char_device() && gone.rdev() == 0);
    assert!(std::fs::symlink_metadata(f.layer.join("pipe"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn an_oversize_entry_claim_is_refused_before_reading() {
    let f = fixture();
    // A header claiming a terabyte with nothing behind it.
    let tar = TarBuf::new()
        .raw(b"huge", EntryType::Regular, 1 << 40, b"", b"")
        .finish();
    let err = f.unpack(&tar, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::Limit {
                field: "max_layer_bytes",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("1099511627776 bytes"), "{err}");
}

#[test]
fn entry_count_and_path_length_are_bounded() {
    let f = fixture();
    let mut tar = TarBuf::new();
    for i in 0..20 {
        tar = tar.file(&format!("f{i}"), b"");
    }
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let err = f.unpack(&tar.finish(), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::Limit {
                field: "max_entries",
                max: 10,
                ..
            }
        ),
        "{err:?}"
    );

    let f = fixture();
    let limits = Limits {
        max_path_len: 50,
        ..Limits::default()
    };
    let err = f
        .unpack(&TarBuf::new().file(&"n".repeat(80), b"").finish(), &limits)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::Limit {
                field: "max_path_len",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Limits::max_path_len"), "{err}");
}

#[test]
fn gzip_bombs_are_bounded() {
    let limits = Limits {
        max_layer_bytes: 4 << 20,
        ..Limits::default()
    };
    // 64 MiB of zeros behind a small archive: the archive ends, the rest
    // must still be read for the digest, and the bound stops it.
    let mut tar = TarBuf::new().file("a", b"a").finish();
    tar.resize(tar.len() + (64 << 20), 0);
    let bomb = gzip(&tar);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let f = fixture();
    let err = f.unpack(&bomb, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::Limit {
                field: "max_layer_bytes",
                ..
            }
        ),
        "{err:?}"
    );

    // One entry whose header tells the truth about 64 MiB of zeros.
    let zeros = vec![0u8; 64 << 20];
    let bomb = gzip(&TarBuf::new().file("z", &zeros).finish());
    let f = fixture();
    let err = f.unpack(&bomb, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ErrorKind::Limit {
                field: "max_layer_bytes",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_layer_unpacks_with_its_metadata_and_digests() {
    let f = fixture();
    let tar = TarBuf::new()
        .dir("usr")
        .dir("usr/lib")
        .symlink("lib", "usr/lib")
        .file("lib/inner", b"through an inside link")
        .file_mode("bin/su", b"#!", 0o4755)
        .symlink("bin/sh", "/bin/busybox")
        .hardlink("bin/su2", "bin/su")
        .file("etc/.wh.passwd", b"")
        .file("var/.wh..wh..opq", b"")
        .file("var/kept", b"k")
        .file("again", b"first")
        .file("again", b"second")
        .finish();
    let gz = gzip(&tar);
    let out = f.unpack(&gz, &Limits::default()).unwrap();
    assert_eq!(out.blob, (Digest::of(&gz), gz.len() as u64));
    assert_eq!(out.diff_id, Digest::of(&tar));
    assert_eq!(out.entries, 12);
    let l = &f.layer;
    assert_eq!(
        std::fs::read(l.join("usr/lib/inner")).unwrap(),
        b"through an inside link"
    );
    assert_eq!(
        std::fs::read_link(l.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    let su = std::fs::metadata(l.join("bin/su")).unwrap();
    assert_eq!(su.permissions().mode() & 0o7777, 0o4755, "setuid is kept");
    assert_eq!(su.nlink(), 2);
    assert_eq!(su.mtime(), 1_700_000_000);
    let wh = std::fs::symlink_metadata(l.join("etc/passwd")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
    assert!(!l.join("etc/.wh.passwd").exists());
    if nix::unistd::geteuid().is_root() {
        assert_eq!(
            crate::fsops::get_xattr(&l.join("var"), "trusted.overlay.opaque").unwrap(),
            Some(b"y".to_vec())
        );
    }
    assert_eq!(std::fs::read(l.join("var/kept")).unwrap(), b"k");
    assert_eq!(std::fs::read(l.join("again")).unwrap(), b"second");
    assert_eq!(
        std::fs::metadata(l.join("usr")).unwrap().mtime(),
        1_700_000_000
    );
    f.untouched();
}

#[test]
fn zstd_and_plain_layers_unpack() {
    for blob in [
        TarBuf::new().file("a", b"plain").finish(),
        zstd::encode_all(&TarBuf::new().file("a", b"plain").finish()[..], 3).unwrap(),
    ] {
        let f = fixture();
        let out = f.unpack(&blob, &Limits::default()).unwrap();
        assert_eq!(
            out.diff_id,
            Digest::of(&TarBuf::new().file("a", b"plain").finish())
        );
        assert_eq!(std::fs::read(f.layer.join("a")).unwrap(), b"plain");
    }
}
