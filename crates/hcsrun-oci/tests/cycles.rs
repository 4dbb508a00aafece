//! Many containers without leaks, through the binary. A test program of
//! its own: it counts this process's descriptors and children, which
//! other tests running alongside would change.

mod common;

use std::fs;

use common::*;

#[test]
#[ignore = "needs root"]
fn fifty_create_delete_cycles_leave_nothing_behind() {
    let env = Env::new(&["sleep", "1000"]);
    let fds = hcs_testkit::host::open_fds();
    let children = hcs_testkit::host::children();
    for i in 0..50 {
        let id = format!("cycle{i}");
        let pid = env.create(&id);
        if i % 2 == 0 {
            env.ok(&["start", &id]);
        }
        env.ok(&["delete", "--force", &id]);
        assert_eq!(reap(pid), 128 + 9);
    }
    assert_eq!(hcs_testkit::host::open_fds(), fds, "descriptors leaked");
    assert_eq!(hcs_testkit::host::children(), children, "processes leaked");
    let state = env.root();
    assert_eq!(
        fs::read_dir(&state).unwrap().count(),
        0,
        "state directories"
    );
    assert!(
        hcs_testkit::host::mounts_under(&[env.dir.path()]).is_empty(),
        "mounts"
    );
    // Nor hcsrun-oci's own parent, once its last container is deleted
    // (this test program runs no other).
    for mount in hcs_testkit::host::cgroup_mounts() {
        let parent = mount.join("hcsrun-oci");
        let left: Vec<_> = fs::read_dir(&parent)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            !parent.exists(),
            "{} left, holding {left:?}",
            parent.display()
        );
    }
}
