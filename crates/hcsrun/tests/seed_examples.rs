//! Seed 000's "Isolation=Process" and "Isolation=Hyper-V" examples,
//! reconstructed as the OCI spec and options moby would pass, translated and
//! compared with the exact JSON hcsshim v0.6.3 sends.

use std::fs;

use hcs::Guid;
use hcsrun::translate::{container_config, init_process_config, CreateOptions, HostFacts, Spec};

const LAYER: &str = "65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c";
const LAYER_PATH: &str =
    r"C:\control\windowsfilter\65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c";

/// `vmcompute!NameToGuid`, for the one layer of the examples (reference §4).
fn name_to_guid(name: &str) -> hcs::Result<Guid> {
    assert_eq!(name, LAYER);
    Ok("18955d65-d45a-557b-bf1c-49d6dfefc526".parse().unwrap())
}

/// A Windows host as moby's was: owner "docker".
fn host() -> HostFacts {
    HostFacts {
        service: "vmcompute".into(),
        cpu_count: 8,
        os_build: Some(16299),
        named_pipe_mounts: true,
        owner: "docker".into(),
        native_linux: false,
        hyperv: hcs::HypervIsolation::Hypervisor,
    }
}

fn translate(id: &str, spec: &str, options: &str) -> String {
    let spec = Spec::from_json(spec).unwrap();
    let options = CreateOptions::from_json(options).unwrap();
    let config = container_config(id, &spec, &options, &host(), &name_to_guid).unwrap();
    hcs_schema::to_string(&config).unwrap()
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn process_isolation_example() {
    let id = "5e0055c814a6005b8e57ac59f9a522066e0af12b48b3c26a9416e23907698776";
    let spec = r#"{"ociVersion":"1.0.0","platform":{"os":"windows","arch":"amd64"},
        "process":{"user":{"uid":0,"gid":0},"args":["cmd"],"cwd":"C:\\"},
        "root":{"path":"\\\\?\\Volume{66d1ef4c-7a00-11e6-8948-00155ddbef9d}"},
        "hostname":"5e0055c814a6","windows":{}}"#;
    let options = format!(
        r#"{{"servicing":false,"ignore_flushes_during_boot":true,"hyperv":{{"is_hyperv":false}},
            "layers":{{"layer_folder_path":"C:\\control\\windowsfilter\\{id}",
                       "layer_paths":[{}]}},
            "network":{{"endpoints":["eef2649d-bb17-4d53-9937-295a8efe6f2c"]}}}}"#,
        quoted(LAYER_PATH)
    );
    let expected = concat!(
        r#"{"SystemType":"Container","#,
        r#""Name":"5e0055c814a6005b8e57ac59f9a522066e0af12b48b3c26a9416e23907698776","#,
        r#""Owner":"docker","#,
        r#""VolumePath":"\\\\?\\Volume{66d1ef4c-7a00-11e6-8948-00155ddbef9d}","#,
        r#""IgnoreFlushesDuringBoot":true,"#,
        r#""LayerFolderPath":"C:\\control\\windowsfilter\\5e0055c814a6005b8e57ac59f9a522066e0af12b48b3c26a9416e23907698776","#,
        r#""Layers":[{"ID":"18955d65-d45a-557b-bf1c-49d6dfefc526","Path":"C:\\control\\windowsfilter\\65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c"}],"#,
        r#""HostName":"5e0055c814a6","#,
        r#""HvPartition":false,"#,
        r#""EndpointList":["eef2649d-bb17-4d53-9937-295a8efe6f2c"]}"#,
    );
    assert_eq!(translate(id, spec, &options), expected);

    // The same container described by the spec alone, as later moby
    // versions write it: layer folders and network in the windows section.
    let spec_only = format!(
        r#"{{"process":{{"args":["cmd"],"cwd":"C:\\"}},
            "root":{{"path":"\\\\?\\Volume{{66d1ef4c-7a00-11e6-8948-00155ddbef9d}}"}},
            "hostname":"5e0055c814a6",
            "windows":{{"layerFolders":[{},"C:\\control\\windowsfilter\\{id}"],
                        "ignoreFlushesDuringBoot":true,
                        "network":{{"endpointList":["eef2649d-bb17-4d53-9937-295a8efe6f2c"]}}}}}}"#,
        quoted(LAYER_PATH)
    );
    assert_eq!(translate(id, &spec_only, "{}"), expected);
}

/// The seed's Hyper-V example: no `LayerFolderPath` (the seed's table sends
/// it only when servicing) and the utility VM found in the base layer.
fn hyperv_expected(layer_path: &str) -> String {
    format!(
        concat!(
            r#"{{"SystemType":"Container","#,
            r#""Name":"475c2c58933b72687a88a441e7e0ca4bd72d76413c5f9d5031fee83b98f6045d","#,
            r#""Owner":"docker","IgnoreFlushesDuringBoot":true,"#,
            r#""Layers":[{{"ID":"18955d65-d45a-557b-bf1c-49d6dfefc526","Path":{}}}],"#,
            r#""HostName":"475c2c58933b","HvPartition":true,"#,
            r#""EndpointList":["e1bb1e61-d56f-405e-b75d-fd520cefa0cb"],"#,
            r#""HvRuntime":{{"ImagePath":{}}},"#,
            r#""DNSSearchList":"a.com,b.com,c.com"}}"#,
        ),
        quoted(layer_path),
        quoted(&format!(
            "{layer_path}{}UtilityVM",
            if layer_path.contains('\\') { '\\' } else { '/' }
        )),
    )
}

const HYPERV_ID: &str = "475c2c58933b72687a88a441e7e0ca4bd72d76413c5f9d5031fee83b98f6045d";

fn hyperv_options(layer_path: &str) -> String {
    format!(
        r#"{{"ignore_flushes_during_boot":true,"hyperv":{{"is_hyperv":true}},
            "layers":{{"layer_paths":[{}]}},
            "network":{{"endpoints":["e1bb1e61-d56f-405e-b75d-fd520cefa0cb"],
                        "dns_search_list":["a.com","b.com","c.com"]}}}}"#,
        quoted(layer_path)
    )
}

#[test]
fn hyperv_isolation_example_discovers_the_utility_vm() {
    // The layer lives on this host, so that the UtilityVM folder can be found.
    let dir = tempfile::tempdir().unwrap();
    let layer = dir.path().join(LAYER);
    fs::create_dir_all(layer.join("UtilityVM")).unwrap();
    let layer = layer.to_str().unwrap();
    let spec = r#"{"process":{"args":["cmd"],"cwd":"C:\\"},"hostname":"475c2c58933b",
        "windows":{"hyperv":{}}}"#;
    assert_eq!(
        translate(HYPERV_ID, spec, &hyperv_options(layer)),
        hyperv_expected(layer)
    );
}

#[test]
fn hyperv_isolation_example_word_for_word() {
    // A Windows host's paths cannot be found here; the spec names the utility
    // VM instead (`windows.hyperv.utilityVMPath`), and the result is the
    // seed's example exactly.
    let spec = format!(
        r#"{{"hostname":"475c2c58933b","windows":{{"hyperv":{{"utilityVMPath":{}}}}}}}"#,
        quoted(&format!(r"{LAYER_PATH}\UtilityVM"))
    );
    let got = translate(HYPERV_ID, &spec, &hyperv_options(LAYER_PATH));
    assert_eq!(got, hyperv_expected(LAYER_PATH));
    assert!(got.contains(
        r#""HvRuntime":{"ImagePath":"C:\\control\\windowsfilter\\65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c\\UtilityVM"}"#
    ));
}

#[test]
fn a_moby_windows_spec() {
    // What moby 17.x writes for `docker run -it -e A=1 -v C:\d:C:\data:ro
    // -v \\.\pipe\docker_engine:\\.\pipe\docker_engine --cpu-count 2 ...`.
    let spec = format!(
        r#"{{"ociVersion":"1.0.0","platform":{{"os":"windows","arch":"amd64"}},
        "process":{{"terminal":true,"consoleSize":{{"height":30,"width":120}},
            "user":{{"uid":0,"gid":0,"username":"ContainerAdministrator"}},
            "args":["cmd","/S","/C","echo hi"],"env":["A=1","PATH=C:\\Windows"],"cwd":"C:\\"}},
        "root":{{"path":"\\\\?\\Volume{{1}}\\"}},"hostname":"abc",
        "mounts":[{{"destination":"C:\\data","source":"C:\\d","options":["ro"]}},
                  {{"destination":"\\\\.\\pipe\\docker_engine","source":"\\\\.\\pipe\\docker_engine"}}],
        "windows":{{"layerFolders":[{},"C:\\s"],"resources":{{"cpu":{{"count":2}}}},
            "credentialSpec":"{{\"CmsPlugins\":[\"ActiveDirectory\"]}}"}}}}"#,
        quoted(LAYER_PATH)
    );
    let spec = Spec::from_json(&spec).unwrap();
    let options = CreateOptions::default();
    let config = container_config("abc", &spec, &options, &host(), &name_to_guid).unwrap();
    assert_eq!(
        hcs_schema::to_string(&config).unwrap(),
        concat!(
            r#"{"SystemType":"Container","Name":"abc","Owner":"docker","#,
            r#""VolumePath":"\\\\?\\Volume{1}\\","LayerFolderPath":"C:\\s","#,
            r#""Layers":[{"ID":"18955d65-d45a-557b-bf1c-49d6dfefc526","Path":"C:\\control\\windowsfilter\\65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c"}],"#,
            r#""Credentials":"{\"CmsPlugins\":[\"ActiveDirectory\"]}","ProcessorCount":2,"#,
            r#""HostName":"abc","#,
            r#""MappedDirectories":[{"HostPath":"C:\\d","ContainerPath":"C:\\data","ReadOnly":true,"BandwidthMaximum":0,"IOPSMaximum":0}],"#,
            r#""MappedPipes":[{"HostPath":"\\\\.\\pipe\\docker_engine","ContainerPipeName":"docker_engine"}],"#,
            r#""HvPartition":false}"#
        )
    );
    let init = init_process_config("abc", &spec, &options).unwrap();
    assert_eq!(
        hcs_schema::to_string(&init).unwrap(),
        concat!(
            r#"{"CommandLine":"cmd /S /C \"echo hi\"","User":"ContainerAdministrator","#,
            r#""WorkingDirectory":"C:\\","Environment":{"A":"1","PATH":"C:\\Windows"},"#,
            r#""EmulateConsole":true,"CreateStdInPipe":true,"CreateStdOutPipe":true,"#,
            r#""ConsoleSize":[30,120]}"#
        )
    );
}
