//! What a container must not see or change: hcsrun's own state (the
//! runtime directory, the scratch root, the image store) where the host's
//! root is the base layer, docker's masked paths (`/sys/firmware`,
//! `/proc/kcore`, ...) and read-only paths (`/proc/sys`, ...), and a Linux
//! spec's `maskedPaths` and `readonlyPaths`.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use std::sync::Arc;

use hcs_linux::LinuxComputeService;
use hcs_testkit::{artifacts, linux, process::*, require_root, rootfs, Fixture, ServiceKind};
use serde_json::json;

/// A fixture whose service hides the sandbox's scratch root too, as the
/// CLI's hides its own.
fn fixture(name: &str) -> Fixture {
    let fx = Fixture::new(name, ServiceKind::Linux);
    let service = LinuxComputeService::builder()
        .shim(artifacts::shim())
        .runtime_dir(fx.sandbox.runtime_dir())
        .hide(fx.sandbox.scratch_root())
        .build()
        .unwrap();
    Fixture {
        service: Arc::new(service),
        sandbox: fx.sandbox,
    }
}

/// Prints `NAME: N` with the number of entries of each directory (`-`
/// when it is missing), and whether each can be written.
fn report(dirs: &[&str]) -> String {
    dirs.iter()
        .map(|d| {
            format!(
                "echo {d}: $(ls -A {d} 2>/dev/null | wc -l) \
                 $(touch {d}/probe 2>/dev/null && echo writable || echo read-only); "
            )
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs root"]
async fn hcsruns_state_and_dockers_masked_paths_are_hidden() {
    require_root();
    let fx = fixture("masks-host");
    // Another system, whose scratch and record the second must not see.
    let other = fx.start_default("masks-other").await;
    let (code, _, err) = run(&*other, &sh("echo secret > /secret")).await;
    assert_eq!(code, 0, "{err}");
    let scratch = fx.sandbox.scratch_root().to_string_lossy().into_owned();
    let runtime = fx.sandbox.runtime_dir().to_string_lossy().into_owned();
    assert!(std::path::Path::new(&scratch)
        .join("masks-other/upper/secret")
        .exists());

    let system = fx.start_default("masks-host").await;
    let script = format!(
        "{} echo kcore $(wc -c < /proc/kcore); echo timer_list $(wc -c < /proc/timer_list); \
         for p in /proc/sys /proc/sysrq-trigger /proc/bus /proc/fs /proc/irq; do \
           echo $p $(awk -v p=$p '$5 == p {{ split($6, o, \",\"); print o[1] }}' /proc/self/mountinfo | tail -n 1); \
         done; echo proc-bus $(ls /proc/bus | wc -l)",
        report(&[
            &runtime,
            &scratch,
            "/var/lib/hcsrun",
            "/sys/firmware",
        ])
    );
    let (code, out, err) = run(&*system, &sh(&script)).await;
    assert_eq!(code, 0, "{err}");
    for dir in [&runtime, &scratch, &"/sys/firmware".to_owned()] {
        assert!(
            out.contains(&format!("{dir}: 0 read-only\n")),
            "{dir} is hidden: {out}"
        );
    }
    for dir in ["/var/lib/hcsrun"] {
        if std::path::Path::new(dir).is_dir() {
            assert!(out.contains(&format!("{dir}: 0 read-only\n")), "{out}");
        }
    }
    for (path, line) in [
        ("/proc/kcore", "kcore 0\n"),
        ("/proc/timer_list", "timer_list 0\n"),
        ("/proc/sys", "/proc/sys ro\n"),
        ("/proc/sysrq-trigger", "/proc/sysrq-trigger ro\n"),
        ("/proc/bus", "/proc/bus ro\n"),
        ("/proc/fs", "/proc/fs ro\n"),
        ("/proc/irq", "/proc/irq ro\n"),
    ] {
        // Where this kernel has it.
        if std::path::Path::new(path).exists() {
            assert!(out.contains(line), "{line}: {out}");
        }
    }
    assert!(
        !out.contains("proc-bus 0\n"),
        "read-only, not masked: {out}"
    );
    // /sys/devices/virtual/powercap, where this kernel has it.
    if std::path::Path::new("/sys/devices/virtual/powercap").exists() {
        let (_, out, _) = run(&*system, &sh("ls -A /sys/devices/virtual/powercap | wc -l")).await;
        assert_eq!(out, "0\n");
    }
    fx.remove(system).await;
    fx.remove(other).await;
}

#[tokio::test]
#[ignore = "needs root"]
async fn a_specs_masked_and_read_only_paths_are_applied() {
    require_root();
    let fx = Fixture::new("masks-spec", ServiceKind::Linux);
    let root = rootfs::busybox(&fx.sandbox.scratch("root"));
    std::fs::create_dir_all(root.join("secret-dir/inner")).unwrap();
    std::fs::write(root.join("secret-file"), "secret\n").unwrap();
    std::fs::create_dir_all(root.join("frozen")).unwrap();
    let script = "ls -A /secret-dir | wc -l; cat /secret-file; echo end; \
                  touch /frozen/x 2>/dev/null && echo frozen-written || echo frozen-refused; \
                  touch /free && echo free-written; cat /sys/firmware/* 2>/dev/null | wc -c; \
                  head -c1 /proc/timer_list | wc -c";
    let mut spec = linux::spec(
        &root,
        json!({"args": ["/bin/sh", "-c", script], "cwd": "/"}),
    );
    spec["linux"]["maskedPaths"] = json!(["/secret-dir", "/secret-file", "/missing"]);
    spec["linux"]["readonlyPaths"] = json!(["/frozen", "/missing-too"]);
    let config = linux::config(&fx, "masks-spec", &root);
    let system = fx.start_parked("masks-spec", &config).await;
    let (code, out, err) = run(&*system, &linux::init(&spec)).await;
    assert_eq!(code, 0, "{err}");
    // Exactly the spec's lists, as runc: docker's (/proc/timer_list among
    // them) are for configurations without a Linux spec.
    assert_eq!(out, "0\nend\nfrozen-refused\nfree-written\n0\n1\n");
    assert!(root.join("free").exists() && !root.join("frozen/x").exists());
    fx.remove(system).await;
}
