//! Root file systems for systems whose root is not the host's: a busybox
//! tree, as a Linux bundle's `root.path` or a layer.

use std::{
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::Command,
};

/// The static busybox the roots are made of (`busybox-static`, which
/// `scripts/setup.sh` installs).
pub const BUSYBOX: &str = "/bin/busybox";

/// Makes `dir` a root file system holding busybox and a link for each of
/// its applets in `/bin`, and the usual empty directories; returns `dir`.
pub fn busybox(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy(BUSYBOX, bin.join("busybox"))
        .unwrap_or_else(|e| panic!("copying {BUSYBOX} (install busybox-static): {e}"));
    let list = Command::new(BUSYBOX).arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            symlink("busybox", bin.join(applet)).unwrap();
        }
    }
    for empty in ["dev", "proc", "sys", "tmp", "etc", "root"] {
        fs::create_dir_all(dir.join(empty)).unwrap();
    }
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
    )
    .unwrap();
    fs::write(dir.join("etc/group"), "root:x:0:\nuser:x:1000:\n").unwrap();
    dir.to_owned()
}
