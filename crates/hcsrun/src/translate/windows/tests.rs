//! The Windows rules of the translation contract, one test each.

use std::fs;

use crate::translate::{test_support::*, TranslateErrorKind};

/// A minimal process-isolated spec: one read-only layer and a scratch folder.
const LAYERS: &str = r#""layerFolders":["C:\\l\\base","C:\\l\\scratch"]"#;

fn windows(extra: &str) -> String {
    format!(r#"{{"windows":{{{LAYERS}{extra}}}}}"#)
}

#[test]
fn base_fields() {
    let c = config(
        &format!(
            r#"{{"hostname":"h1","root":{{"path":"\\\\?\\Volume{{x}}\\"}},"windows":{{{LAYERS}}}}}"#
        ),
        "{}",
    )
    .unwrap();
    assert_eq!(
        json(&c),
        concat!(
            r#"{"SystemType":"Container","Name":"c1","Owner":"hcsrun","#,
            r#""VolumePath":"\\\\?\\Volume{x}\\","LayerFolderPath":"C:\\l\\scratch","#,
            r#""Layers":[{"ID":"62617365-0000-0000-0000-000000000000","Path":"C:\\l\\base"}],"#,
            r#""HostName":"h1","HvPartition":false}"#
        )
    );
}

#[test]
fn owner_comes_from_the_host_facts() {
    let mut h = host();
    h.owner = "docker".into();
    let c = crate::translate::container_config(
        "c1",
        &spec(&windows("")),
        &options("{}"),
        &h,
        &windows_guids,
    )
    .unwrap();
    assert_eq!(c.owner, "docker");
}

#[test]
fn resources_as_the_seed_maps_them() {
    let c = config(
        &windows(
            r#","resources":{"cpu":{"count":3,"shares":500,"maximum":5000},
                "memory":{"limit":3221225471},"storage":{"bps":1000,"iops":20,"sandboxSize":9}}"#,
        ),
        "{}",
    )
    .unwrap();
    assert_eq!(c.processor_count, 3);
    assert_eq!(c.processor_weight, 500);
    assert_eq!(c.processor_maximum, 5000);
    // Bytes to MiB, rounded down: 3 GiB less one byte is 3071 MiB.
    assert_eq!(c.memory_maximum_in_mb, 3071);
    assert_eq!(c.storage_bandwidth_maximum, 1000);
    assert_eq!(c.storage_iops_maximum, 20);
    assert_eq!(
        c.storage_sandbox_size, 0,
        "the seed does not map sandboxSize"
    );
    assert!(json(&c).contains(
        r#""ProcessorCount":3,"ProcessorWeight":500,"ProcessorMaximum":5000,"StorageIOPSMaximum":20,"StorageBandwidthMaximum":1000,"MemoryMaximumInMB":3071,"#
    ));
}

#[test]
fn cpu_count_is_clamped_to_the_host_with_a_warning() {
    let (c, logs) = capture_logs(|| config(&windows(r#","resources":{"cpu":{"count":64}}"#), "{}"));
    assert_eq!(c.unwrap().processor_count, 4);
    assert!(logs.contains("WARN"), "{logs}");
    assert!(
        logs.contains("Changing requested CPUCount of 64 to current number of processors, 4"),
        "{logs}"
    );
    let (c, logs) = capture_logs(|| config(&windows(r#","resources":{"cpu":{"count":4}}"#), "{}"));
    assert_eq!(c.unwrap().processor_count, 4);
    assert!(!logs.contains("CPUCount"), "{logs}");
}

#[test]
fn servicing_and_flushes_from_the_option_else_the_spec() {
    let from_spec = windows(r#","servicing":true,"ignoreFlushesDuringBoot":true"#);
    let c = config(&from_spec, "{}").unwrap();
    assert!(c.servicing && c.ignore_flushes_during_boot);
    let c = config(
        &from_spec,
        r#"{"servicing":false,"ignore_flushes_during_boot":false}"#,
    )
    .unwrap();
    assert!(!c.servicing && !c.ignore_flushes_during_boot);
    let c = config(
        &windows(""),
        r#"{"servicing":true,"ignore_flushes_during_boot":true}"#,
    )
    .unwrap();
    assert!(c.servicing && c.ignore_flushes_during_boot);
}

#[test]
fn hyperv_from_the_option_else_the_spec_section() {
    let with_uvm = |extra: &str| {
        format!(
            r#"{{"windows":{{"layerFolders":["C:\\l\\base","C:\\s"],"hyperv":{{"utilityVMPath":"C:\\uvm"}}{extra}}}}}"#
        )
    };
    assert!(config(&with_uvm(""), "{}").unwrap().hv_partition);
    let c = config(&with_uvm(""), r#"{"hyperv":{"is_hyperv":false}}"#).unwrap();
    assert!(!c.hv_partition && c.hv_runtime.is_none());
    assert!(!config(&windows(""), "{}").unwrap().hv_partition);
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("base/UtilityVM")).unwrap();
    let base = dir.path().join("base");
    let spec = format!(
        r#"{{"windows":{{"layerFolders":[{:?},"scratch"]}}}}"#,
        base.to_str().unwrap()
    );
    assert!(
        config(&spec, r#"{"hyperv":{"is_hyperv":true}}"#)
            .unwrap()
            .hv_partition
    );
}

#[test]
fn hyperv_utility_vm_is_discovered_in_the_layers() {
    let dir = tempfile::tempdir().unwrap();
    let layer = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    fs::create_dir_all(dir.path().join("top")).unwrap();
    fs::create_dir_all(dir.path().join("base/UtilityVM")).unwrap();
    let spec = r#"{"root":{"path":"ignored"},"windows":{"hyperv":{}}}"#;
    let opts = format!(
        r#"{{"layers":{{"layer_folder_path":"s","layer_paths":[{:?},{:?}]}}}}"#,
        layer("top"),
        layer("base")
    );
    let c = config(spec, &opts).unwrap();
    assert_eq!(
        c.hv_runtime.unwrap().image_path,
        format!("{}/UtilityVM", layer("base"))
    );
    assert_eq!(c.volume_path, "", "no VolumePath for Hyper-V");
}

#[test]
fn hyperv_without_a_utility_vm_is_refused() {
    let e = config(&windows(r#","hyperv":{}"#), "{}").unwrap_err();
    assert!(
        matches!(e.kind, TranslateErrorKind::UtilityVmNotFound),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "creating container c1: utility VM image could not be found"
    );
    // An empty explicit path is no path.
    let e = config(&windows(r#","hyperv":{"utilityVMPath":""}"#), "{}").unwrap_err();
    assert!(
        matches!(e.kind, TranslateErrorKind::UtilityVmNotFound),
        "{e}"
    );
}

#[test]
fn hyperv_lookup_failure_names_the_path() {
    let long = format!("/{}", "x".repeat(5000));
    let opts =
        format!(r#"{{"hyperv":{{"is_hyperv":true}},"layers":{{"layer_paths":["{long}"]}}}}"#);
    let e = config("{}", &opts).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "creating container c1: looking for the utility VM image at {long}/UtilityVM"
        )),
        "{e}"
    );
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn hyperv_explicit_utility_vm_path_is_used() {
    // Both spellings: the spec's `utilityVMPath` and oci-spec's `utilityVmPath`.
    for key in ["utilityVMPath", "utilityVmPath"] {
        let c = config(
            &windows(&format!(r#","hyperv":{{"{key}":"C:\\uvm"}}"#)),
            "{}",
        )
        .unwrap();
        assert_eq!(c.hv_runtime.unwrap().image_path, r"C:\uvm", "{key}");
    }
}

#[test]
fn layers_from_the_option_else_layer_folders() {
    let c = config(
        r#"{"windows":{"layerFolders":["C:\\l\\top","C:\\l\\4","C:\\l\\scratch"]}}"#,
        "{}",
    )
    .unwrap();
    assert_eq!(c.layer_folder_path, r"C:\l\scratch");
    assert_eq!(
        json(&c.layers),
        r#"[{"ID":"746f7000-0000-0000-0000-000000000000","Path":"C:\\l\\top"},{"ID":"bd9c3ef9-f239-59b5-a27e-15c523b1d149","Path":"C:\\l\\4"}]"#
    );
    let c = config(
        &windows(""),
        r#"{"layers":{"layer_folder_path":"/s","layer_paths":["/l/4"]}}"#,
    )
    .unwrap();
    assert_eq!(c.layer_folder_path, "/s");
    assert_eq!(c.layers[0].id, "bd9c3ef9-f239-59b5-a27e-15c523b1d149");
    assert_eq!(c.layers[0].path, "/l/4");
}

#[test]
fn no_layers_is_refused() {
    let e = config(r#"{"windows":{"layerFolders":["C:\\scratch"]}}"#, "{}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "creating container c1: no layer option or paths were supplied to the runtime"
    );
    // Checked before the utility VM is looked for, as the seed does.
    let e = config(r#"{"windows":{"hyperv":{}}}"#, "{}").unwrap_err();
    assert!(matches!(e.kind, TranslateErrorKind::NoLayers), "{e}");
}

#[test]
fn a_failing_layer_id_names_the_layer() {
    let fail = |_: &str| -> hcs::Result<hcs::Guid> {
        Err(hcs::HcsError::new(
            hcs::Subject::Service,
            "NameToGuid",
            hcs::ErrorKind::Code(hcs::ErrorCode::INVALID_DATA),
        ))
    };
    let e = crate::translate::container_config(
        "c1",
        &spec(&windows("")),
        &options("{}"),
        &host(),
        &fail,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r"creating container c1: deriving the ID of layer C:\l\base"
    );
    assert!(matches!(e.kind, TranslateErrorKind::LayerId { .. }));
}

#[test]
fn credentials_from_the_option_else_a_string_credential_spec() {
    let string = windows(r#","credentialSpec":"{\"cred\":1}""#);
    assert_eq!(config(&string, "{}").unwrap().credentials, r#"{"cred":1}"#);
    assert_eq!(
        config(&string, r#"{"credentials":"from-option"}"#)
            .unwrap()
            .credentials,
        "from-option"
    );
    let (c, logs) = capture_logs(|| config(&windows(r#","credentialSpec":{"cred":1}"#), "{}"));
    assert_eq!(c.unwrap().credentials, "", "an object is not passed on");
    assert!(
        logs.contains("credentialSpec is not a JSON string"),
        "{logs}"
    );
}

#[test]
fn mounts_become_mapped_directories_and_pipes() {
    let c = config(
        &format!(
            r#"{{"mounts":[{{"destination":"C:\\data","source":"C:\\d","options":["Ro"]}},
                {{"destination":"\\\\.\\pipe\\engine","source":"\\\\.\\pipe\\docker_engine"}}],
              "windows":{{{LAYERS}}}}}"#
        ),
        "{}",
    )
    .unwrap();
    let j = json(&c);
    assert!(
        j.contains(r#""MappedDirectories":[{"HostPath":"C:\\d","ContainerPath":"C:\\data","ReadOnly":true,"BandwidthMaximum":0,"IOPSMaximum":0}],"MappedPipes":[{"HostPath":"\\\\.\\pipe\\docker_engine","ContainerPipeName":"engine"}]"#),
        "{j}"
    );
}

#[test]
fn pipe_mounts_are_refused_before_build_16210() {
    let spec = spec(&format!(
        r#"{{"mounts":[{{"destination":"\\\\.\\pipe\\p","source":"s"}}],"windows":{{{LAYERS}}}}}"#
    ));
    let translate = |os_build, named_pipe_mounts| {
        let h = crate::translate::HostFacts {
            os_build,
            named_pipe_mounts,
            ..host()
        };
        crate::translate::container_config("c1", &spec, &options("{}"), &h, &windows_guids)
    };
    let e = translate(Some(14393), true).unwrap_err();
    assert_eq!(
        e.to_string(),
        "creating container c1: named pipe mounts are not supported on this version of Windows"
    );
    assert!(translate(Some(16210), true).is_ok());
    let e = translate(Some(17763), false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "creating container c1: named pipe mounts are not supported by the test compute service"
    );
}

#[test]
fn hyperv_where_it_is_emulated_needs_no_utility_vm() {
    // The Linux compute service's Hyper-V isolation has no hypervisor: a
    // missing utility VM is no reason to refuse, and none is named.
    let emulated = crate::translate::HostFacts {
        hyperv: hcs::HypervIsolation::Emulated,
        ..host()
    };
    let with = |text: &str, opts: &str| {
        crate::translate::container_config(
            "c1",
            &spec(text),
            &options(opts),
            &emulated,
            &windows_guids,
        )
    };
    let c = with(&windows(r#","hyperv":{}"#), "{}").unwrap();
    assert!(c.hv_partition);
    assert_eq!(c.hv_runtime, None);
    // One found in the layers, or named, is still passed on.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("base/UtilityVM")).unwrap();
    let base = dir.path().join("base");
    let opts = format!(
        r#"{{"hyperv":{{"is_hyperv":true}},"layers":{{"layer_folder_path":"s","layer_paths":[{:?}]}}}}"#,
        base.to_str().unwrap()
    );
    let c = with("{}", &opts).unwrap();
    assert_eq!(
        c.hv_runtime.unwrap().image_path,
        format!("{}/UtilityVM", base.to_str().unwrap())
    );
    let c = with(&windows(r#","hyperv":{"utilityVMPath":"C:\\uvm"}"#), "{}").unwrap();
    assert_eq!(c.hv_runtime.unwrap().image_path, r"C:\uvm");
}
