//! Seccomp: docker's default profile where there is no Linux spec, a
//! spec's own filter (none when it has none, as runc), the same filter in
//! later processes; applied last before `execve` with no_new_privs, or
//! while the process still has `CAP_SYS_ADMIN` without.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use hcs_testkit::{
    linux::{self, status_field},
    process::*,
    require_root, Fixture, ServiceKind,
};
use serde_json::{json, Value};

/// Creates a user namespace: refused by docker's profile without
/// `CAP_SYS_ADMIN`.
const USERNS: &str = "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; \
                      unshare -U -r true 2>/dev/null && echo userns || echo no-userns";

fn userns_allowed_on_this_host() -> bool {
    std::fs::read_to_string("/proc/sys/user/max_user_namespaces").is_ok_and(|n| n.trim() != "0")
}

/// A spec on the host's root running [`USERNS`] with docker's
/// capabilities, `seccomp` (`Value::Null`: none) and `nnp`.
fn spec(seccomp: Value, nnp: bool) -> Value {
    let mut spec = linux::spec(
        std::path::Path::new("/"),
        json!({"args": ["sh", "-c", USERNS], "cwd": "/",
               "capabilities": linux::docker_capabilities(), "noNewPrivileges": nnp}),
    );
    if !seccomp.is_null() {
        spec["linux"]["seccomp"] = seccomp;
    }
    spec
}

async fn run_spec(fx: &Fixture, id: &str, spec: &Value) -> String {
    let config = linux::config_on_host(fx, id);
    let system = fx.service.create_system(id, &config).await.unwrap();
    system.start().await.unwrap();
    let (code, out, err) = run(&*system, &linux::init(spec)).await;
    assert_eq!(code, 0, "{id}: {err}");
    fx.remove(system).await;
    out
}

#[tokio::test]
#[ignore = "needs root"]
async fn dockers_profile_refuses_user_namespaces_in_every_process() {
    require_root();
    let fx = Fixture::new("seccomp-default", ServiceKind::Linux);
    let system = fx
        .start_parked("seccomp-default", &fx.config("seccomp-default"))
        .await;
    let keep = "; exec perl -e '$SIG{TERM} = sub { exit 0 }; sleep'";
    let first = system
        .create_process(&sh(&format!("{{ {USERNS}; }} > /tmp/init-report.tmp; mv /tmp/init-report.tmp /tmp/init-report{keep}")))
        .await
        .unwrap();
    let wait = "for i in $(seq 100); do [ -s /tmp/init-report ] && break; sleep 0.05; done; \
                cat /tmp/init-report";
    let (_, init, _) = run(&*system, &sh(wait)).await;
    let (code, exec, err) = run(&*system, &sh(USERNS)).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(init, exec, "a later process is confined as the first one");
    assert_eq!(status_field(&init, "Seccomp"), "2", "{init}");
    assert_eq!(status_field(&init, "NoNewPrivs"), "0", "{init}");
    assert_eq!(status_field(&init, "CapEff"), "00000000a80425fb", "{init}");
    assert!(init.ends_with("\nno-userns\n"), "{init}");
    first.close().await.unwrap();
    fx.remove(system).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_spec_without_seccomp_has_no_filter() {
    require_root();
    let fx = Fixture::new("seccomp-none", ServiceKind::Linux);
    let out = run_spec(&fx, "seccomp-none", &spec(Value::Null, false)).await;
    assert_eq!(status_field(&out, "Seccomp"), "0", "{out}");
    if userns_allowed_on_this_host() {
        assert!(out.ends_with("\nuserns\n"), "{out}");
    }
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_specs_filter_is_applied_with_or_without_no_new_privs() {
    require_root();
    let fx = Fixture::new("seccomp-spec", ServiceKind::Linux);
    let allow_all = json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let no_unshare = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}]});
    for (i, (seccomp, nnp, userns)) in [
        (allow_all.clone(), false, true),
        (allow_all, true, true),
        (no_unshare.clone(), false, false),
        (no_unshare, true, false),
    ]
    .into_iter()
    .enumerate()
    {
        let out = run_spec(&fx, &format!("seccomp-spec-{i}"), &spec(seccomp, nnp)).await;
        assert_eq!(status_field(&out, "Seccomp"), "2", "{i}: {out}");
        assert_eq!(
            status_field(&out, "NoNewPrivs"),
            if nnp { "1" } else { "0" }
        );
        assert_eq!(
            status_field(&out, "CapEff"),
            "00000000a80425fb",
            "{i}: {out}"
        );
        if userns_allowed_on_this_host() || !userns {
            let want = if userns {
                "\nuserns\n"
            } else {
                "\nno-userns\n"
            };
            assert!(out.ends_with(want), "{i}: {out}");
        }
    }
}
