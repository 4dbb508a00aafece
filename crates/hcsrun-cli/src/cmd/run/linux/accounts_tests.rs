use std::os::unix::fs::symlink;

use super::*;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000::/home/app:/bin/sh
nohome:x:1001:1001
";
const GROUP: &str = "root:x:0:
daemon:x:1:
wheel:x:10:root,app
audio:x:29:app
app:x:1000:
staff:x:50:
";

/// A layer holding the two account files.
fn layer(dir: &Path, name: &str, passwd: &str, group: &str) -> PathBuf {
    let layer = dir.join(name);
    fs::create_dir_all(layer.join("etc")).unwrap();
    fs::write(layer.join("etc/passwd"), passwd).unwrap();
    fs::write(layer.join("etc/group"), group).unwrap();
    layer
}

fn account(uid: u32, gid: u32, groups: &[u32], home: &str) -> Account {
    Account {
        uid,
        gid,
        additional_gids: groups.to_vec(),
        home: home.into(),
    }
}

#[test]
fn runcs_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = RootFiles {
        folders: vec![layer(dir.path(), "l", PASSWD, GROUP)],
    };
    let r = |user: Option<&str>, add: &[&str]| {
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        resolve(user, &add, &root)
    };
    // Root by default, with the groups that list it.
    assert_eq!(r(None, &[]), Ok(account(0, 0, &[10], "/root")));
    assert_eq!(
        r(Some("app"), &[]),
        Ok(account(1000, 1000, &[10, 29], "/home/app"))
    );
    assert_eq!(
        r(Some("1000"), &[]),
        Ok(account(1000, 1000, &[10, 29], "/home/app"))
    );
    // An explicit group: no supplementary groups from /etc/group.
    assert_eq!(
        r(Some("app:staff"), &[]),
        Ok(account(1000, 50, &[], "/home/app"))
    );
    assert_eq!(
        r(Some("app:7"), &[]),
        Ok(account(1000, 7, &[], "/home/app"))
    );
    // Numbers without an entry: runc's defaults.
    assert_eq!(r(Some("4242"), &[]), Ok(account(4242, 0, &[], "/")));
    assert_eq!(r(Some("4242:4343"), &[]), Ok(account(4242, 4343, &[], "/")));
    assert_eq!(r(Some("nohome"), &[]), Ok(account(1001, 1001, &[], "/")));
    assert_eq!(
        r(Some("nobody"), &[]),
        Err("unable to find user nobody: no matching entries in passwd file".into())
    );
    assert_eq!(
        r(Some("app:nogroup"), &[]),
        Err("unable to find group nogroup: no matching entries in group file".into())
    );
    // --group-add: names or numbers, after the user's own.
    assert_eq!(
        r(Some("daemon"), &["staff", "99", "10"]),
        Ok(account(1, 1, &[50, 99, 10], "/usr/sbin"))
    );
    assert_eq!(
        r(None, &["nogroup"]),
        Err("unable to find group nogroup: no matching entries in group file".into())
    );
}

#[test]
fn upper_folders_win_and_deletions_hide() {
    let dir = tempfile::tempdir().unwrap();
    let lower = layer(dir.path(), "lower", PASSWD, GROUP);
    let upper = layer(dir.path(), "upper", "root:x:0:0::/r2:/bin/sh\n", "");
    let root = RootFiles {
        folders: vec![upper.clone(), lower.clone()],
    };
    assert_eq!(resolve(None, &[], &root), Ok(account(0, 0, &[], "/r2")));
    assert!(resolve(Some("app"), &[], &root).is_err());
    // A folder without the file: the one below shows.
    let empty = dir.path().join("empty");
    fs::create_dir_all(empty.join("etc")).unwrap();
    let root = RootFiles {
        folders: vec![empty, lower.clone()],
    };
    assert_eq!(resolve(Some("app"), &[], &root).unwrap().uid, 1000);
    // `etc` replaced by a file above: nothing below shows.
    let replaced = dir.path().join("replaced");
    fs::create_dir_all(&replaced).unwrap();
    fs::write(replaced.join("etc"), "").unwrap();
    let root = RootFiles {
        folders: vec![replaced, lower],
    };
    assert_eq!(resolve(None, &[], &root), Ok(account(0, 0, &[], "/")));
    // No account files at all: root, as runc's defaults.
    let bare = RootFiles {
        folders: vec![dir.path().join("bare")],
    };
    fs::create_dir_all(&bare.folders[0]).unwrap();
    assert_eq!(resolve(None, &[], &bare), Ok(account(0, 0, &[], "/")));
}

#[test]
fn links_stay_inside_their_layer() {
    let dir = tempfile::tempdir().unwrap();
    let l = dir.path().join("l");
    fs::create_dir_all(l.join("etc")).unwrap();
    fs::create_dir_all(l.join("real")).unwrap();
    fs::write(l.join("real/passwd"), "app:x:5:6::/h:/bin/sh\n").unwrap();
    // Absolute, and climbing out: both resolve inside the layer.
    symlink("/real/passwd", l.join("etc/passwd")).unwrap();
    symlink("../../../../../../real/passwd", l.join("etc/group")).unwrap();
    fs::write(l.join("real/passwd"), "app:x:5:6::/h:/bin/sh\n").unwrap();
    let root = RootFiles { folders: vec![l] };
    assert_eq!(
        resolve(Some("app"), &[], &root),
        Ok(account(5, 6, &[], "/h"))
    );
    // The host's /etc/passwd (which has root) is never what was read.
    assert!(resolve(Some("root"), &[], &root).is_err());
}

#[test]
fn what_is_no_regular_file_is_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    let l = dir.path().join("l");
    fs::create_dir_all(l.join("etc")).unwrap();
    nix::unistd::mkfifo(&l.join("etc/passwd"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let root = RootFiles { folders: vec![l] };
    let e = resolve(Some("app"), &[], &root).unwrap_err();
    assert!(e.ends_with("etc/passwd: not a regular file"), "{e}");
}

#[test]
fn an_image_layer_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("layer.vhd");
    fs::write(&image, "").unwrap();
    let root = RootFiles {
        folders: vec![image],
    };
    assert_eq!(
        resolve(Some("1000:1000"), &[], &root),
        Ok(account(1000, 1000, &[], "/"))
    );
    assert_eq!(
        resolve(None, &["5".to_owned()], &root),
        Ok(account(0, 0, &[5], "/"))
    );
    let e = resolve(Some("app"), &[], &root).unwrap_err();
    assert!(e.starts_with("cannot look up user app: "), "{e}");
    let e = resolve(None, &["staff".to_owned()], &root).unwrap_err();
    assert!(e.starts_with("cannot look up group staff: "), "{e}");
}

#[test]
#[ignore = "needs root"]
fn whiteouts_and_opaque_folders_hide_what_is_below() {
    hcs_testkit::require_root();
    let dir = tempfile::tempdir().unwrap();
    let lower = layer(dir.path(), "lower", PASSWD, GROUP);
    let upper = dir.path().join("upper");
    fs::create_dir_all(upper.join("etc")).unwrap();
    nix::sys::stat::mknod(
        &upper.join("etc/passwd"),
        SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        0,
    )
    .unwrap();
    let root = RootFiles {
        folders: vec![upper, lower.clone()],
    };
    assert!(resolve(Some("app"), &[], &root).is_err());
    assert_eq!(resolve(None, &[], &root), Ok(account(0, 0, &[], "/")));

    let opaque = dir.path().join("opaque");
    fs::create_dir_all(opaque.join("etc")).unwrap();
    let path = std::ffi::CString::new(opaque.join("etc").to_str().unwrap()).unwrap();
    // SAFETY: NUL-terminated names and a one-byte value of that length.
    let set = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    assert_eq!(set, 0, "{}", std::io::Error::last_os_error());
    let root = RootFiles {
        folders: vec![opaque, lower],
    };
    assert!(resolve(Some("app"), &[], &root).is_err());
}
