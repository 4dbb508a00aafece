//! `hcsrun --service vmcompute=<libvmcompute.so>`: the CLI's layer GUIDs
//! come through the library's NameToGuid.

#![cfg(target_os = "linux")]

use std::process::Command;

use hcs_testkit::artifacts;

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
