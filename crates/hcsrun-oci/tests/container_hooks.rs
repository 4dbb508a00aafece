//! `createContainer` and `startContainer` hooks, run by the container's
//! pid 1 at the runtime spec's times, through the binary.

mod common;

use std::{fs, os::unix::fs::PermissionsExt};

use common::*;
use serde_json::{json, Value};

fn read_state(path: &std::path::Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text:?}", path.display()))
}

#[test]
#[ignore = "needs root"]
fn container_hooks_run_in_the_containers_namespaces_at_their_times() {
    let env = Env::new(&["true"]);
    let out = env.out_dir();
    // A script of the host's, outside the bundle's root: a path that only
    // resolves in the runtime's mount tree.
    let script = env.dir.path().join("create-hook");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat > {o}/create.state\nreadlink /proc/self/ns/mnt > {o}/create.mnt\n\
             [ -e ./bin/sh ] && echo root > {o}/create.cwd\n[ -e ./start.state ] && echo early > {o}/create.early\nexit 0\n",
            o = out.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let mut spec = spec(&["sh", "-c", "cat /start.state > /seen"]);
    spec["annotations"] = json!({"k": "v"});
    spec["hooks"] = json!({
        "createContainer": [{"path": script, "args": ["create-hook"], "timeout": 5}],
        // Resolved in the container: busybox's sh.
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c",
            "cat > /start.state; readlink /proc/self/ns/pid > /start.pidns; id -u > /start.uid"]}]
    });
    env.write_spec(spec.clone());
    let pid = env.create("c1");
    let rootfs = env.bundle().join("rootfs");

    let created = read_state(&out.join("create.state"));
    assert_eq!(created["id"], "c1");
    assert_eq!(created["status"], "creating");
    assert_eq!(created["pid"], pid, "the host's pid of pid 1");
    assert_eq!(created["annotations"]["k"], "v");
    assert_eq!(
        created["bundle"],
        env.bundle().to_str().unwrap(),
        "{created}"
    );
    let mnt = fs::read_to_string(out.join("create.mnt")).unwrap();
    assert_eq!(
        mnt.trim(),
        ns(&pid.to_string(), "mnt").to_str().unwrap(),
        "createContainer runs in the container's mount namespace"
    );
    assert!(
        out.join("create.cwd").exists(),
        "the working directory is the root"
    );
    assert!(
        !rootfs.join("start.state").exists(),
        "startContainer ran before start"
    );
    let pidns = ns(&pid.to_string(), "pid");

    env.ok(&["start", "c1"]);
    assert_eq!(reap(pid), 0);
    let started = read_state(&rootfs.join("start.state"));
    assert_eq!(started["status"], "created");
    assert_eq!(started["pid"], pid);
    assert_eq!(
        fs::read_to_string(rootfs.join("start.pidns"))
            .unwrap()
            .trim(),
        pidns.to_str().unwrap(),
        "startContainer runs in the container's pid namespace"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("start.uid")).unwrap().trim(),
        "0"
    );
    // It ran before the program, which read what it wrote.
    assert_eq!(
        fs::read_to_string(rootfs.join("seen")).unwrap(),
        fs::read_to_string(rootfs.join("start.state")).unwrap()
    );
    assert!(!out.join("create.early").exists());
    env.ok(&["delete", "c1"]);

    // A failing createContainer hook fails create, naming it, and leaves
    // no container behind.
    spec["hooks"] = json!({"createContainer": [{"path": "/bin/sh",
        "args": ["sh", "-c", "echo nope >&2; exit 3"]}]});
    env.write_spec(spec.clone());
    let failed = env.output(&["create", "--bundle", env.bundle().to_str().unwrap(), "c2"]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        stderr.contains("hooks.createContainer /bin/sh") && stderr.contains("nope"),
        "{stderr}"
    );
    assert!(!env.root().join("c2").exists());

    // A failing startContainer hook ends the process before its program
    // runs, with 127 and the hook named on the container's stderr.
    fs::remove_file(rootfs.join("seen")).unwrap();
    spec["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]});
    env.write_spec(spec);
    let run = env.output(&["run", "--bundle", env.bundle().to_str().unwrap(), "c3"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(127), "{stderr}");
    assert!(
        stderr.contains("hooks.startContainer /bin/false"),
        "{stderr}"
    );
    assert!(!rootfs.join("seen").exists(), "the program ran");
}
