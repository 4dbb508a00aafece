//! oci-spec 0.10's defects in the `windows` section, each shown against the
//! crate itself and against hcsrun's own reading of the section. Should an
//! oci-spec upgrade fix one, its first half fails and says so: the owned
//! section may then be reconsidered.

use hcs::Guid;
use hcsrun::translate::{container_config, CreateOptions, HostFacts, Spec};
use oci_spec::runtime::Spec as OciSpec;

fn oci(text: &str) -> Result<OciSpec, serde_json::Error> {
    serde_json::from_str(text)
}

fn translate(text: &str) -> hcs_schema::ContainerConfig {
    let host = HostFacts {
        service: "test".into(),
        cpu_count: 8,
        os_build: None,
        named_pipe_mounts: true,
        owner: "hcsrun".into(),
        native_linux: false,
        hyperv: hcs::HypervIsolation::Hypervisor,
    };
    let guid = |_: &str| Ok(Guid::default());
    container_config(
        "c1",
        &Spec::from_json(text).unwrap(),
        &CreateOptions::default(),
        &host,
        &guid,
    )
    .unwrap()
}

#[test]
fn utility_vm_path_is_dropped_by_oci_spec() {
    let text = r#"{"windows":{"layerFolders":["C:\\l","C:\\s"],
        "hyperv":{"utilityVMPath":"C:\\uvm"}}}"#;
    let theirs = oci(text).unwrap();
    let hyperv = theirs
        .windows()
        .as_ref()
        .unwrap()
        .hyperv()
        .as_ref()
        .unwrap();
    assert_eq!(
        hyperv.utility_vm_path(),
        &None,
        "oci-spec reads `utilityVmPath` and drops the spec's `utilityVMPath`"
    );

    let ours = Spec::from_json(text).unwrap();
    let hyperv = ours.windows().unwrap().hyperv.as_ref().unwrap();
    assert_eq!(hyperv.utility_vm_path.as_deref(), Some(r"C:\uvm"));
    assert_eq!(translate(text).hv_runtime.unwrap().image_path, r"C:\uvm");
}

#[test]
fn windows_resources_have_no_getters_in_oci_spec() {
    let text = r#"{"windows":{"layerFolders":["C:\\l","C:\\s"],
        "resources":{"cpu":{"count":2,"shares":7},"memory":{"limit":1048576},
                     "storage":{"iops":5}}}}"#;
    // `WindowsResources` derives `Getters` but marks its fields `get_copy`,
    // which only `CopyGetters` reads: `resources.cpu()` does not exist. The
    // values can be reached only by serializing the struct again.
    let theirs = oci(text).unwrap();
    let resources = theirs.windows().as_ref().unwrap().resources().unwrap();
    let as_json = serde_json::to_value(resources).unwrap();
    assert_eq!(as_json["cpu"]["count"], 2);

    let ours = Spec::from_json(text).unwrap();
    let resources = ours.windows().unwrap().resources.unwrap();
    assert_eq!(resources.cpu.unwrap().count, Some(2));
    assert_eq!(resources.cpu.unwrap().shares, Some(7));
    assert_eq!(resources.memory.unwrap().limit, Some(1048576));
    assert_eq!(resources.storage.unwrap().iops, Some(5));
    let config = translate(text);
    assert_eq!(
        (
            config.processor_count,
            config.processor_weight,
            config.memory_maximum_in_mb,
            config.storage_iops_maximum
        ),
        (2, 7, 1, 5)
    );
}

#[test]
fn a_string_credential_spec_fails_in_oci_spec() {
    // moby sends the credential spec file's content as a JSON string.
    let text = r#"{"windows":{"layerFolders":["C:\\l","C:\\s"],
        "credentialSpec":"{\"CmsPlugins\":[\"ActiveDirectory\"]}"}}"#;
    let err = oci(text).unwrap_err();
    assert!(err.to_string().contains("expected a map"), "{err}");

    let ours = Spec::from_json(text).unwrap();
    let cs = ours.windows().unwrap().credential_spec.as_ref().unwrap();
    assert_eq!(cs.as_str(), Some(r#"{"CmsPlugins":["ActiveDirectory"]}"#));
    assert_eq!(
        translate(text).credentials,
        r#"{"CmsPlugins":["ActiveDirectory"]}"#
    );
}

#[test]
fn unknown_fields_pass_silently_in_oci_spec() {
    // A misspelt field: oci-spec parses the spec and the field is gone.
    let text = r#"{"windows":{"layerFolders":["C:\\l","C:\\s"],
        "hyperv":{"utilityVmPaht":"C:\\uvm"},"ignoreFlushesDuringBooot":true}}"#;
    let theirs = oci(text).unwrap();
    let round_trip = serde_json::to_string(&theirs).unwrap();
    assert!(!round_trip.contains("Paht") && !round_trip.contains("Booot"));

    // hcsrun accepts the spec too (Go does, and producers add fields), but
    // names what it ignores; `container_config` logs each as a warning.
    let ours = Spec::from_json(text).unwrap();
    let mut unknown = ours.unknown_windows_fields().to_vec();
    unknown.sort();
    assert_eq!(
        unknown,
        [
            "windows.hyperv.utilityVmPaht",
            "windows.ignoreFlushesDuringBooot"
        ]
    );
}
