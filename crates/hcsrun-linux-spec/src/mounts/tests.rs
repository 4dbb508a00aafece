use serde_json::json;

use super::*;

fn mount(m: serde_json::Value) -> FieldResult<Mount> {
    classify(0, &serde_json::from_value(m).unwrap(), Path::new("/bundle"))
}

#[test]
fn flags_set_and_clear_in_order() {
    let list: Vec<String> = [
        "nosuid",
        "suid",
        "nodev",
        "noexec",
        "exec",
        "sync",
        "async",
        "ro",
        "rw",
        "ro",
        "strictatime",
        "atime",
        "nodiratime",
        "lazytime",
        "nosymfollow",
        "silent",
        "dirsync",
        "defaults",
    ]
    .map(String::from)
    .to_vec();
    let o = options(&list, "m").unwrap();
    assert!(o.readonly && !o.recursive_readonly && o.bind.is_none() && o.data.is_empty());
    let f = o.flags;
    assert!(!f.nosuid && f.nodev && !f.noexec && !f.sync && f.dirsync);
    assert!(f.nodiratime && f.lazytime && f.nosymfollow && f.silent);
    assert_eq!(f.atime, None);
}

#[test]
fn bind_or_rbind_decides_recursion() {
    let b = |opts: serde_json::Value| match mount(
        json!({"destination": "/d", "source": "s", "type": "bind", "options": opts}),
    )
    .unwrap()
    {
        Mount::Bind(b) => b,
        other => panic!("{other:?}"),
    };
    assert!(!b(json!([])).recursive, "type bind alone");
    assert!(!b(json!(["bind"])).recursive);
    assert!(b(json!(["rbind"])).recursive);
    assert!(b(json!(["bind", "rbind"])).recursive);
    let rro = b(json!(["rbind", "rro"]));
    assert!(rro.readonly && rro.recursive_readonly);
    assert_eq!(rro.source, Path::new("/bundle/s"));
    // Any type with a bind option is a bind mount, as runc reads it.
    assert!(matches!(
        mount(json!({"destination": "/d", "source": "/s", "type": "none", "options": ["rbind"]})),
        Ok(Mount::Bind(_))
    ));
}

#[test]
fn kernel_mounts_keep_their_data_and_source() {
    let Mount::Kernel(k) = mount(json!({"destination": "/dev/pts/", "type": "devpts",
        "options": ["nosuid", "newinstance", "ptmxmode=0666", "rshared"]}))
    .unwrap() else {
        panic!()
    };
    assert_eq!(k.destination, Path::new("/dev/pts"));
    assert_eq!(
        k.standard,
        Some(StandardMount::DevPts),
        "a trailing / is the same place"
    );
    assert_eq!(
        k.source, "devpts",
        "the type's name when there is no source"
    );
    assert_eq!(k.data, ["newinstance", "ptmxmode=0666"]);
    assert_eq!(k.propagation, Some(Propagation::RShared));
    assert!(k.propagation.unwrap().recursive());
}

#[test]
fn a_standard_place_with_another_type_is_not_standard() {
    let Mount::Kernel(k) = mount(json!({"destination": "/dev", "type": "devpts"})).unwrap() else {
        panic!()
    };
    assert_eq!(k.standard, None);
    let Mount::Kernel(k) =
        mount(json!({"destination": "/sys/fs/cgroup", "type": "cgroup2"})).unwrap()
    else {
        panic!()
    };
    assert_eq!(k.standard, Some(StandardMount::SysFsCgroup));
    assert!(matches!(
        mount(json!({"destination": "/proc", "source": "/proc", "options": ["rbind"]})),
        Ok(Mount::Bind(_))
    ));
}
