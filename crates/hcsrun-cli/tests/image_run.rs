//! `hcsrun run IMAGE [COMMAND]` through the binary, as root: an image
//! pulled from a real registry (or loaded) runs on its own layers with its
//! config's Cmd, Entrypoint, Env, WorkingDir and User, `--entrypoint` and
//! the flags override them, `rmi` is refused while a container uses the
//! image, and `--isolation hyperv` runs it from layer.vhd images.

mod common;
mod image_support;

use std::time::Duration;

use hcs_testkit::require_root;
use image_support::{app_image, build, built::docker_save, registry_with_app, with_config, Store};
use serde_json::json;

fn text(out: &std::process::Output) -> String {
    common::text(&out.stdout)
}

#[test]
#[ignore = "needs root"]
fn a_pulled_image_runs_with_its_config() {
    require_root();
    let (reg, name, _) = registry_with_app();
    let store = Store::new();

    // docker's grammar: IMAGE COMMAND...; an image not in the store is
    // pulled first, its lines on stderr (the registry named insecure as a
    // daemon's setting would).
    let out = store
        .command()
        .env("HCSRUN_INSECURE_REGISTRIES", &reg.host)
        .args(["run", &name, "echo", "hi"])
        .output()
        .unwrap();
    let err = common::text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(text(&out), "hi\n");
    assert!(
        err.starts_with(&format!("Unable to find image '{name}:latest' locally\n")),
        "{err}"
    );
    assert!(
        err.contains("Pull complete") && err.contains("Status: Downloaded newer image"),
        "{err}"
    );
    // The image's Cmd, Env, WorkingDir and User (daemon is uid 1); the top
    // layer's /etc/motd over the base's.
    assert_eq!(store.ok(&["run", &name]), "cmd hello /home/app 1 amd64\n");
    // The flags win over the config.
    assert_eq!(
        store.ok(&["run", "-e", "GREETING=bye", "-w", "/tmp", "-u", "0", &name]),
        "cmd bye /tmp 0 amd64\n"
    );
    // A working directory no layer has is made, as docker makes it.
    assert_eq!(
        store.ok(&["run", "-w", "/made/here", &name, "pwd"]),
        "/made/here\n"
    );
    // A COMMAND replaces Cmd; the image's environment stays.
    assert_eq!(
        store.ok(&["run", &name, "sh", "-c", "echo $GREETING $PATH"]),
        "hello /bin\n"
    );
    // --entrypoint replaces the entrypoint and drops Cmd.
    assert_eq!(
        store.ok(&["run", "--entrypoint", "pwd", &name]),
        "/home/app\n"
    );
    assert_eq!(
        store.ok(&["run", "--entrypoint", "echo", &name, "a", "-n"]),
        "a -n\n"
    );
    // A `--` after the image only separates.
    assert_eq!(store.ok(&["run", &name, "--", "echo", "x"]), "x\n");
    // The exit code is the container's; writes go to the scratch, not the
    // image's layers.
    let out = store.hcsrun(&["run", &name, "sh", "-c", "touch /etc/new; exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        store.ok(&["run", &name, "ls", "/etc"]),
        "extra\ngroup\nmotd\npasswd\n"
    );

    // Without an image nothing changes: after -- is the command, on the
    // host's root.
    assert_eq!(store.ok(&["run", "--", "echo", "host"]), "host\n");
    // --pull: always pulls what is there (nothing new to download),
    // never refuses what is not; --platform pulls another platform's.
    let out = store
        .command()
        .env("HCSRUN_INSECURE_REGISTRIES", &reg.host)
        .args(["run", "--pull", "always", &name, "echo", "again"])
        .output()
        .unwrap();
    let err = common::text(&out.stderr);
    assert_eq!(text(&out), "again\n", "{err}");
    assert!(err.contains("Status: Image is up to date"), "{err}");
    assert!(!err.contains("Unable to find"), "{err}");
    let out = store.hcsrun(&["run", "--pull", "never", "127.0.0.1:1/nosuch", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = common::text(&out.stderr);
    assert!(
        err.contains("No such image: 127.0.0.1:1/nosuch (--pull never)")
            && !err.contains("pulling"),
        "{err}"
    );
    let out = store
        .command()
        .env("HCSRUN_INSECURE_REGISTRIES", &reg.host)
        .args(["run", "--platform", "linux/s390x", &name, "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = common::text(&out.stderr);
    assert!(
        err.contains("is for linux/amd64, not the platform asked for (linux/s390x)"),
        "{err}"
    );
    let out = store.hcsrun(&["run", "--platform", "linux/amd64", "--", "true"]);
    assert!(common::text(&out.stderr).contains("--platform needs an IMAGE"));

    // An image that is not in the store.
    let out = store.hcsrun(&["run", "127.0.0.1:1/nosuch", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(common::text(&out.stderr)
        .contains("hcsrun: run: Unable to find image '127.0.0.1:1/nosuch' locally: pulling"));
}

#[test]
#[ignore = "needs root"]
fn an_entrypoint_takes_cmd_as_its_arguments() {
    require_root();
    let store = Store::new();
    let (built, tars) = app_image("amd64");
    let built = with_config(
        built,
        json!({"Entrypoint": ["echo", "ep"], "Cmd": ["default"], "Env": ["PATH=/bin"]}),
    );
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("ep.tar");
    std::fs::write(&archive, docker_save(&built, &tars, &["ep:1"])).unwrap();
    store.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    assert_eq!(store.ok(&["run", "ep:1"]), "ep default\n");
    assert_eq!(store.ok(&["run", "ep:1", "mine"]), "ep mine\n");
    assert_eq!(
        store.ok(&["run", "--entrypoint", "", "ep:1", "echo", "x"]),
        "x\n"
    );
    // No Entrypoint and no Cmd: docker's refusal.
    let bare = with_config(build(&tars, "amd64"), json!({"Env": ["PATH=/bin"]}));
    let archive = work.path().join("bare.tar");
    std::fs::write(&archive, docker_save(&bare, &tars, &["bare:1"])).unwrap();
    store.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let out = store.hcsrun(&["run", "bare:1"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(common::text(&out.stderr).contains("no command specified"));
}

#[test]
#[ignore = "needs root"]
fn rmi_is_refused_while_a_container_uses_the_image() {
    require_root();
    let (reg, name, built) = registry_with_app();
    let store = Store::new();
    store.ok(&["pull", "-q", "--insecure-registry", &reg.host, &name]);
    let id = format!("img-rmi-{}", std::process::id());

    // A running container.
    let mut child = store
        .command()
        .args(["run", "--name", &id, &name, "sh", "-c", "echo up; sleep 3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "up\n");
    for force in [false, true] {
        let mut args = vec!["rmi"];
        if force {
            args.push("-f");
        }
        args.push(&name);
        let out = store.hcsrun(&args);
        assert!(!out.status.success(), "removed under a running container");
        let err = common::text(&out.stderr);
        assert!(
            err.contains(&format!("being used by running container {id}")),
            "{err}"
        );
    }
    // Once it has ended, its claim is gone.
    let status = common::wait_within(&mut child, Duration::from_secs(30));
    assert!(status.success());
    common::assert_no_state(&id);

    // A kept container uses its image until `hcsrun rm` removes its
    // scratch folder (as run's "already exists" error says it does) and
    // the record of its use.
    let kept = format!("{id}-kept");
    store.ok(&["run", "--keep", "--name", &kept, &name, "true"]);
    let out = store.hcsrun(&["rmi", &name]);
    assert!(!out.status.success());
    assert!(common::text(&out.stderr).contains(&format!("container {kept} is using")));
    let scratch = std::path::Path::new("/var/lib/hcsrun/scratch").join(&kept);
    let use_record = store.path().join("containers").join(format!("{kept}.json"));
    assert!(scratch.is_dir() && use_record.exists());
    assert_eq!(store.ok(&["rm", &kept]).trim(), kept);
    assert!(!scratch.exists(), "rm left the kept scratch folder");
    assert!(
        !use_record.exists(),
        "rm left the record of the image's use"
    );
    let out = store.hcsrun(&["rm", &kept]);
    assert!(common::text(&out.stderr).contains(&format!("no such container: {kept}")));

    // So does a detached one.
    let detached = format!("{id}-d");
    store.ok(&["run", "-d", "--name", &detached, &name, "sleep", "30"]);
    store.ok(&["rm", "-f", &detached]);
    let use_record = store
        .path()
        .join("containers")
        .join(format!("{detached}.json"));
    assert!(
        !use_record.exists(),
        "rm left the record of the image's use"
    );

    // A run that ended leaves no claim.
    store.ok(&["run", &name, "true"]);
    let out = store.ok(&["rmi", &name]);
    assert!(out.contains(&format!("Deleted: {}", built.id())), "{out}");
    assert_eq!(store.layer_folders(), 0);
    common::assert_no_state(&id);
}

#[test]
#[ignore = "needs root"]
fn hyperv_isolation_runs_the_image_from_layer_vhds() {
    require_root();
    let store = Store::new();
    let (built, tars) = app_image("amd64");
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("app.tar");
    std::fs::write(&archive, docker_save(&built, &tars, &["app:vhd"])).unwrap();
    store.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let out = store.hcsrun(&["run", "--isolation", "hyperv", "app:vhd"]);
    assert!(out.status.success());
    assert_eq!(text(&out), "cmd hello /home/app 1 amd64\n");
    let vhds = std::fs::read_dir(store.path().join("vhd")).unwrap().count();
    assert_eq!(vhds, 2, "one layer.vhd per layer");
    for entry in std::fs::read_dir(store.path().join("vhd")).unwrap() {
        assert!(entry.unwrap().path().join("layer.vhd").is_file());
    }
}
