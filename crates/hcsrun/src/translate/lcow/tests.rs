//! The Linux-container rules of the translation contract.

use crate::translate::{test_support::*, TranslateErrorKind};

const LINUX_SPEC: &str = r#"{"ociVersion":"1.0.0","hostname":"ignored",
    "process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},
    "root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"pid"}]}}"#;

const LAYERS: &str =
    r#""layers":{"layer_folder_path":"C:\\lcow\\c1","layer_paths":["C:\\lcow\\4","/l/top"]}"#;

#[test]
fn vhdx_mode() {
    let c = config(
        LINUX_SPEC,
        &format!(r#"{{"lcow":{{"actual_mode":"vhdx","vhdx":"C:\\uvm.vhdx","kird_path":"unused"}},{LAYERS}}}"#),
    )
    .unwrap();
    assert_eq!(
        json(&c),
        concat!(
            r#"{"SystemType":"container","Name":"c1","Owner":"hcsrun","#,
            r#""LayerFolderPath":"C:\\lcow\\c1","#,
            r#""Layers":[{"ID":"bd9c3ef9-f239-59b5-a27e-15c523b1d149","Path":"C:\\lcow\\4\\layer.vhd"},"#,
            r#"{"ID":"746f7000-0000-0000-0000-000000000000","Path":"/l/top/layer.vhd"}],"#,
            r#""HvPartition":true,"HvRuntime":{"ImagePath":"C:\\uvm.vhdx"},"#,
            r#""ContainerType":"linux","TerminateOnLastHandleClosed":true}"#
        )
    );
}

#[test]
fn kernel_initrd_mode_is_the_default() {
    let lcow = r#""kird_path":"C:\\lcow","kernel_file":"bootx64.efi","initrd_file":"initrd.img","boot_parameters":"quiet","vhdx":"unused""#;
    for mode in [r#""actual_mode":"kernel_initrd","#, ""] {
        let c = config(
            LINUX_SPEC,
            &format!(r#"{{"lcow":{{{mode}{lcow}}},{LAYERS}}}"#),
        )
        .unwrap();
        assert_eq!(
            json(&c.hv_runtime),
            r#"{"ImagePath":"C:\\lcow","LinuxInitrdFile":"initrd.img","LinuxKernelFile":"bootx64.efi","LinuxBootParameters":"quiet"}"#,
            "{mode}"
        );
    }
}

#[test]
fn layers_from_layer_folders_too() {
    let spec = r#"{"linux":{},"windows":{"layerFolders":["/l/4","/l/scratch"]}}"#;
    let c = config(spec, r#"{"lcow":{}}"#).unwrap();
    assert_eq!(c.layer_folder_path, "/l/scratch");
    assert_eq!(c.layers[0].path, "/l/4/layer.vhd");
}

#[test]
fn network_as_for_windows() {
    let c = config(
        LINUX_SPEC,
        &format!(r#"{{"lcow":{{}},{LAYERS},"network":{{"endpoints":["e1"],"dns_search_list":["a","b"]}}}}"#),
    )
    .unwrap();
    assert_eq!(c.endpoint_list, ["e1"]);
    assert_eq!(c.dns_search_list, "a,b");
    let spec = r#"{"linux":{},"windows":{"layerFolders":["/l/4","/s"],"network":{"endpointList":["s1"]}}}"#;
    assert_eq!(
        config(spec, r#"{"lcow":{}}"#).unwrap().endpoint_list,
        ["s1"]
    );
}

#[test]
fn windows_only_settings_are_not_applied() {
    let spec = r#"{"linux":{},"hostname":"h","mounts":[{"destination":"/d","source":"/s"}],
        "windows":{"layerFolders":["/l/4","/s"],"resources":{"cpu":{"count":1}},"credentialSpec":"c"}}"#;
    let c = config(
        spec,
        r#"{"lcow":{},"servicing":true,"ignore_flushes_during_boot":true}"#,
    )
    .unwrap();
    assert_eq!(c.host_name, "");
    assert!(c.mapped_directories.is_empty());
    assert_eq!(c.processor_count, 0);
    assert_eq!(c.credentials, "");
    assert!(!c.servicing && !c.ignore_flushes_during_boot);
}

#[test]
fn a_linux_spec_needs_the_lcow_option() {
    let e = config(LINUX_SPEC, &format!("{{{LAYERS}}}")).unwrap_err();
    assert!(matches!(e.kind, TranslateErrorKind::LcowOptionMissing));
    assert_eq!(
        e.to_string(),
        "creating container c1: lcow option must be supplied to the runtime"
    );
}

#[test]
fn no_layers_is_refused() {
    let e = config(LINUX_SPEC, r#"{"lcow":{"actual_mode":"vhdx"}}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "creating container c1: no layer option or paths were supplied to the runtime"
    );
}
