//! `hcsrun --service vmcompute=<libvmcompute.so>`: the CLI's layer GUIDs
//! come through the library's NameToGuid, and a container's output ends
//! when its reader does.

#![cfg(target_os = "linux")]

use std::{
    io::Read,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use hcs_testkit::{artifacts, require_root};

#[test]
fn layer_id_through_the_library() {
    let hcsrun = artifacts::hcsrun();
    let library = artifacts::vmcompute_library();
    let name = "65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c";
    let out = Command::new(&hcsrun)
        .arg("layer-id")
        .arg(format!("--service=vmcompute={}", library.display()))
        .arg(format!("C:\\layers\\{name}"))
        .env_remove("HCSRUN_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", hcs_linux::name_to_guid(name))
    );

    let out = Command::new(&hcsrun)
        .args([
            "--service",
            "vmcompute=/nonexistent/libvmcompute.so",
            "layer-id",
            "4",
        ])
        .env_remove("HCSRUN_LOG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "hcsrun: layer-id: compute service encountered an error during Load: HCS is not available \
         on this host: /nonexistent/libvmcompute.so does not exist\n"
    );
}

/// `hcsrun --service vmcompute=... run -- yes | head -1` ends: once the
/// reader of hcsrun's stdout is gone, the container's writer gets `EPIPE`,
/// because the library keeps no reader of its own once the runtime client
/// took the streams (`CloseHandle` `StdOut`).
#[test]
#[ignore = "needs root"]
fn a_container_writing_to_a_closed_pipeline_ends() {
    require_root();
    let mut child = Command::new(artifacts::hcsrun())
        .arg(format!(
            "--service=vmcompute={}",
            artifacts::vmcompute_library().display()
        ))
        .args(["run", "--", "sh", "-c", "yes; echo yes-ended >&2"])
        .env_remove("HCSRUN_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 2];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"y\n");
    drop(stdout);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hcsrun still runs 30 s after its reader closed");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    // `yes` ended by SIGPIPE, and the script went on.
    assert_eq!(stderr, "yes-ended\n");
    assert_eq!(status.code(), Some(0));
}
