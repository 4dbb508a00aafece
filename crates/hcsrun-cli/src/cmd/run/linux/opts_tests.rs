use super::*;

#[test]
fn security_options_as_docker_reads_them() {
    assert_eq!(
        parse_security_opt("seccomp=unconfined"),
        Ok(SecurityOpt::Seccomp(Seccomp::Unconfined))
    );
    assert_eq!(
        parse_security_opt("seccomp:builtin"),
        Ok(SecurityOpt::Seccomp(Seccomp::Default))
    );
    for (text, on) in [
        ("no-new-privileges", true),
        ("no-new-privileges=true", true),
        ("no-new-privileges:1", true),
        ("no-new-privileges=false", false),
    ] {
        assert_eq!(
            parse_security_opt(text),
            Ok(SecurityOpt::NoNewPrivileges(on)),
            "{text}"
        );
    }
    assert_eq!(
        parse_security_opt("systempaths=unconfined"),
        Ok(SecurityOpt::UnconfinedSystemPaths)
    );
    assert_eq!(
        parse_security_opt("apparmor=unconfined"),
        Ok(SecurityOpt::NoLabel)
    );
    for bad in [
        "bogus",
        "bogus=1",
        "seccomp=",
        "no-new-privileges=maybe",
        "systempaths=strict",
    ] {
        assert_eq!(
            parse_security_opt(bad),
            Err(format!("Invalid --security-opt: {bad:?}")),
            "{bad}"
        );
    }
    assert!(parse_security_opt("apparmor=docker-default")
        .unwrap_err()
        .contains("no AppArmor profiles"));
    assert!(parse_security_opt("label=type:svirt_t")
        .unwrap_err()
        .contains("no SELinux labels"));
}

#[test]
fn seccomp_profiles_are_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#).unwrap();
    let opt = parse_security_opt(&format!("seccomp={}", good.display())).unwrap();
    let SecurityOpt::Seccomp(Seccomp::Profile(profile)) = opt else {
        panic!("{opt:?}")
    };
    assert!(profile.syscalls.is_empty());
    let e = parse_security_opt("seccomp=/no/such.json").unwrap_err();
    assert!(
        e.starts_with("opening seccomp profile (/no/such.json) failed: "),
        "{e}"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
    let e = parse_security_opt(&format!("seccomp={}", bad.display())).unwrap_err();
    assert!(e.starts_with("seccomp profile "), "{e}");
    assert!(parse_security_opt("seccomp=/dev/zero")
        .unwrap_err()
        .contains("16 MiB"));
}

#[test]
fn ulimits_as_docker_reads_them() {
    let u = parse_ulimit("nofile=100:200").unwrap();
    assert_eq!(
        (u.kind.as_str(), u.soft, u.hard),
        ("RLIMIT_NOFILE", 100, 200)
    );
    let u = parse_ulimit("nproc=50").unwrap();
    assert_eq!((u.soft, u.hard), (50, 50));
    let u = parse_ulimit("core=-1").unwrap();
    assert_eq!((u.soft, u.hard), (u64::MAX, u64::MAX));
    let u = parse_ulimit("memlock=64:-1").unwrap();
    assert_eq!((u.soft, u.hard), (64, u64::MAX));
    assert_eq!(
        parse_ulimit("nofile"),
        Err("invalid ulimit argument: nofile".into())
    );
    assert!(parse_ulimit("files=1")
        .unwrap_err()
        .starts_with("invalid ulimit type: files"));
    assert_eq!(
        parse_ulimit("nofile=300:200"),
        Err("ulimit soft limit must be less than or equal to hard limit: 300 > 200".into())
    );
    assert_eq!(
        parse_ulimit("nofile=-1:200"),
        Err("ulimit soft limit must be less than or equal to hard limit: -1 > 200".into())
    );
    assert!(parse_ulimit("nofile=1:2:3")
        .unwrap_err()
        .starts_with("too many limit value arguments"));
    assert!(parse_ulimit("nofile=x")
        .unwrap_err()
        .contains("invalid ulimit value"));
    assert!(parse_ulimit("nofile=-2")
        .unwrap_err()
        .contains("invalid ulimit value"));
}

#[test]
fn devices_as_docker_reads_them() {
    let d = |host: &str, container: &str, permissions: &str| {
        Ok(DeviceMapping {
            host: host.into(),
            container: container.into(),
            permissions: permissions.into(),
        })
    };
    assert_eq!(
        parse_device("/dev/kmsg"),
        d("/dev/kmsg", "/dev/kmsg", "rwm")
    );
    assert_eq!(
        parse_device("/dev/kmsg:r"),
        d("/dev/kmsg", "/dev/kmsg", "r")
    );
    assert_eq!(
        parse_device("/dev/kmsg:/dev/k"),
        d("/dev/kmsg", "/dev/k", "rwm")
    );
    assert_eq!(
        parse_device("/dev/kmsg:/dev/k/:mw"),
        d("/dev/kmsg", "/dev/k", "mw")
    );
    assert_eq!(
        parse_device("/dev/kmsg:/dev/k:rr"),
        Err("bad mode specified: rr".into())
    );
    assert_eq!(
        parse_device("/dev/kmsg:/dev/k:x"),
        Err("bad mode specified: x".into())
    );
    assert_eq!(
        parse_device("/dev/kmsg:dev/k"),
        Err("dev/k is not an absolute path".into())
    );
    for bad in [":/dev/k", "a:b:c:d", ""] {
        assert_eq!(
            parse_device(bad),
            Err(format!("bad format for path: {bad}")),
            "{bad}"
        );
    }
}

#[test]
fn tmpfs_options_merge_as_dockers() {
    let t = parse_tmpfs("/run").unwrap();
    assert_eq!(t.destination, "/run");
    assert_eq!(t.options, ["noexec", "nosuid", "nodev", "rprivate"]);
    let t = parse_tmpfs("/run/:size=64m,mode=1777,exec,size=1m,rshared").unwrap();
    assert_eq!(t.destination, "/run");
    assert_eq!(
        t.options,
        ["nosuid", "nodev", "mode=1777", "exec", "size=1m", "rshared"]
    );
    assert_eq!(
        parse_tmpfs("/run:bogus"),
        Err(r#"invalid tmpfs option "bogus""#.into())
    );
    assert_eq!(
        parse_tmpfs("run"),
        Err("invalid mount path: 'run' mount path must be absolute".into())
    );
    assert!(parse_tmpfs("/")
        .unwrap_err()
        .contains("cannot be mounted over"));
    assert!(parse_tmpfs("/proc")
        .unwrap_err()
        .contains("cannot be mounted over"));
}

#[test]
fn sysctls_are_namespaced() {
    assert_eq!(
        parse_sysctl("net.ipv4.ip_forward=1"),
        Ok(("net.ipv4.ip_forward".into(), "1".into()))
    );
    assert!(parse_sysctl("kernel.shmmax=1").is_ok());
    assert!(parse_sysctl("fs.mqueue.msg_max=20").is_ok());
    for bad in [
        "kernel.panic=1",
        "vm.swappiness=1",
        "net.ipv4.ip_forward",
        "kernel.hostname=x",
    ] {
        assert!(
            parse_sysctl(bad)
                .unwrap_err()
                .starts_with(&format!("sysctl '{bad}' is not allowed")),
            "{bad}"
        );
    }
}

#[test]
fn memory_swap() {
    assert_eq!(parse_memory_swap("-1"), Ok(Swap::Unlimited));
    assert_eq!(parse_memory_swap("1g"), Ok(Swap::Limit(1 << 30)));
    assert_eq!(parse_memory_swap("0"), Ok(Swap::Limit(0)));
    assert!(parse_memory_swap("-2").is_err());
}
