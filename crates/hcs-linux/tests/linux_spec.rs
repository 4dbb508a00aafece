//! A Linux container's spec applied to its processes: ids, capabilities,
//! no_new_privs, rlimits, the root read-only; later processes inherit the
//! first one's settings unless their own spec says otherwise; docker's
//! defaults where there is no spec.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use hcs::ComputeSystem;
use hcs_testkit::{
    linux::{self, status_field},
    process::*,
    require_root, rootfs, Fixture, ServiceKind,
};
use serde_json::{json, Value};

const REPORT: &str = "cat /proc/self/status; echo limits $(ulimit -n) $(ulimit -Hn); \
                      touch /x 2>&1; echo touch $?";

/// The spec of the example: uid and gid 1000, groups 10 and 20,
/// only CAP_NET_BIND_SERVICE, no_new_privs, 100/200 open files, a
/// read-only root.
fn restricted(root: &std::path::Path, args: Value) -> Value {
    let only = json!(["CAP_NET_BIND_SERVICE"]);
    let mut spec = linux::spec(
        root,
        json!({
            "args": args,
            "cwd": "/",
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]},
            "capabilities": {"bounding": only, "effective": only, "permitted": only,
                             "inheritable": only, "ambient": only},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}],
            "noNewPrivileges": true
        }),
    );
    spec["root"]["readonly"] = json!(true);
    spec["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}]});
    spec
}

async fn start(fx: &Fixture, id: &str, spec: &Value) -> (Box<dyn ComputeSystem>, String) {
    let root = spec["root"]["path"].as_str().unwrap();
    let config = linux::config(fx, id, std::path::Path::new(root));
    let system = fx.service.create_system(id, &config).await.unwrap();
    system.start().await.unwrap();
    let (code, out, err) = run(&*system, &linux::init(spec)).await;
    assert_eq!(code, 0, "{err}");
    (system, out)
}

#[tokio::test]
#[ignore = "needs root"]
async fn the_first_process_runs_as_its_spec_says() {
    require_root();
    let fx = Fixture::new("spec-init", ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    let spec = restricted(&root, json!(["/bin/sh", "-c", REPORT]));
    let config = linux::config(&fx, "spec-init", &root);
    let system = fx
        .service
        .create_system("spec-init", &config)
        .await
        .unwrap();
    system.start().await.unwrap();
    let (_, out, err) = run(&*system, &linux::init(&spec)).await;
    for (key, want) in [
        ("Uid", "1000\t1000\t1000\t1000"),
        ("Gid", "1000\t1000\t1000\t1000"),
        ("Groups", "10 20"),
        ("CapBnd", "0000000000000400"),
        ("CapPrm", "0000000000000400"),
        ("CapEff", "0000000000000400"),
        ("CapAmb", "0000000000000400"),
        ("NoNewPrivs", "1"),
        ("Seccomp", "2"),
    ] {
        assert_eq!(status_field(&out, key), want, "{key}: {out}{err}");
    }
    assert!(out.contains("limits 100 200\n"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!root.join("x").exists());
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn later_processes_inherit_the_first_ones_settings() {
    require_root();
    let fx = Fixture::new("spec-exec", ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    let spec = restricted(&root, json!(["/bin/sleep", "1000"]));
    let config = linux::config(&fx, "spec-exec", &root);
    let system = fx
        .service
        .create_system("spec-exec", &config)
        .await
        .unwrap();
    system.start().await.unwrap();
    let init = system.create_process(&linux::init(&spec)).await.unwrap();
    let (code, out, err) = run(&*system, &linux::exec(&["/bin/sh", "-c", REPORT], None)).await;
    assert_eq!(code, 0, "{err}");
    for (key, want) in [
        ("Uid", "1000\t1000\t1000\t1000"),
        ("Groups", "10 20"),
        ("CapBnd", "0000000000000400"),
        ("CapEff", "0000000000000400"),
        ("NoNewPrivs", "1"),
        ("Seccomp", "2"),
    ] {
        assert_eq!(status_field(&out, key), want, "{key}: {out}");
    }
    assert!(out.contains("limits 100 200\n"), "{out}");
    // Its own spec: root, CAP_KILL only, no rlimits given (the
    // container's), no_new_privs not given (the container's).
    let kill = json!(["CAP_KILL"]);
    let own = json!({
        "args": ["/bin/sh", "-c", REPORT], "cwd": "/",
        "user": {"uid": 0, "gid": 0},
        "capabilities": {"bounding": kill, "effective": kill, "permitted": kill}
    });
    let (code, out, err) = run(
        &*system,
        &linux::exec(&["/bin/sh", "-c", REPORT], Some(own)),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    for (key, want) in [
        ("Uid", "0\t0\t0\t0"),
        ("Groups", ""),
        ("CapBnd", "0000000000000020"),
        ("CapEff", "0000000000000020"),
        ("NoNewPrivs", "1"),
        ("Seccomp", "2"),
    ] {
        assert_eq!(status_field(&out, key), want, "{key}: {out}");
    }
    assert!(out.contains("limits 100 200\n"), "{out}");
    init.close().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn without_a_spec_processes_get_dockers_defaults() {
    require_root();
    let fx = Fixture::new("spec-none", ServiceKind::Linux);
    let system = fx.start_default("spec-none").await;
    let mine = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    let (code, out, err) = run(
        &*system,
        &sh("cat /proc/self/status; echo oom $(cat /proc/self/oom_score_adj); umask"),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(status_field(&out, "CapBnd"), "00000000a80425fb", "{out}");
    assert_eq!(status_field(&out, "CapEff"), "00000000a80425fb", "{out}");
    assert_eq!(status_field(&out, "CapInh"), "0000000000000000", "{out}");
    assert_eq!(status_field(&out, "NoNewPrivs"), "0", "{out}");
    // Not the holder's own -1000: the OOM killer may choose the
    // container's processes.
    assert!(out.contains(&format!("oom {}", mine.trim())), "{out}");
    assert!(out.ends_with("0022\n"), "{out}");
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_spec_without_settings_changes_nothing() {
    require_root();
    let fx = Fixture::new("spec-bare", ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    // runc's reading: no capabilities section, no change (root keeps all).
    let spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", "cat /proc/self/status"], "cwd": "/"}),
    );
    let (system, out) = start(&fx, "spec-bare", &spec).await;
    // Every capability the caller has.
    let mine = std::fs::read_to_string("/proc/self/status").unwrap();
    let all = status_field(&mine, "CapBnd");
    assert_eq!(status_field(&out, "CapEff"), all, "{out}");
    assert_eq!(status_field(&out, "CapBnd"), all, "{out}");
    assert_eq!(status_field(&out, "NoNewPrivs"), "0", "{out}");
    fx.remove(system).await;
}
