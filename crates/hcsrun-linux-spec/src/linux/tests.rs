use super::*;

#[test]
fn sysctls_belong_to_namespaces() {
    assert_eq!(sysctl_namespace("net.core.somaxconn"), Some("network"));
    assert_eq!(sysctl_namespace("kernel.shmmax"), Some("ipc"));
    assert_eq!(sysctl_namespace("fs.mqueue.msg_max"), Some("ipc"));
    assert_eq!(sysctl_namespace("kernel.domainname"), Some("uts"));
    assert_eq!(sysctl_namespace("kernel.shmmaxx"), None);
    assert_eq!(sysctl_namespace("vm.overcommit_memory"), None);
    assert_eq!(sysctl_namespace("net/ipv4/ip_forward"), None);
}

#[test]
fn names_need_a_private_uts_namespace() {
    let none = BTreeMap::new();
    assert!(check_names(Some("h"), None, &Namespace::New, &none).is_ok());
    assert!(check_names(None, None, &Namespace::Host, &none).is_ok());
    let e = check_names(None, Some("d"), &Namespace::Host, &none).unwrap_err();
    assert_eq!(e.field, "domainname");
    let same = BTreeMap::from([("kernel.hostname".to_owned(), "h".to_owned())]);
    assert!(check_names(Some("h"), None, &Namespace::New, &same).is_ok());
}

#[test]
fn cgroups_paths() {
    assert_eq!(
        cgroups_path(Some(Path::new("rel/c1"))).unwrap(),
        Some(PathBuf::from("rel/c1"))
    );
    assert_eq!(cgroups_path(Some(Path::new(""))).unwrap(), None);
    assert!(cgroups_path(Some(Path::new("a:b:c"))).is_err());
}
