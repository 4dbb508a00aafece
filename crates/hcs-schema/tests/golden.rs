//! Golden strings: each type encoded exactly as hcsshim v0.6.3 (Go's
//! encoding/json) sends it, and decoded the way HCS reads documents.

use std::collections::BTreeMap;

use hcs_schema::*;

fn json<T: serde::Serialize>(value: &T) -> String {
    to_string(value).unwrap()
}

const LAYER_ID: &str = "18955d65-d45a-557b-bf1c-49d6dfefc526";
const LAYER_PATH: &str =
    r"C:\control\windowsfilter\65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c";

fn seed_layer() -> Layer {
    Layer {
        id: LAYER_ID.into(),
        path: LAYER_PATH.into(),
    }
}

/// Seed 000's "Isolation=Process" example, sent by hcsshim v0.6.3: the empty
/// `MappedDirectories` and the false `Servicing` are omitted there.
#[test]
fn seed_process_isolation_example() {
    let id = "5e0055c814a6005b8e57ac59f9a522066e0af12b48b3c26a9416e23907698776";
    let config = ContainerConfig {
        system_type: "Container".into(),
        name: id.into(),
        owner: "docker".into(),
        volume_path: r"\\?\Volume{66d1ef4c-7a00-11e6-8948-00155ddbef9d}".into(),
        ignore_flushes_during_boot: true,
        layer_folder_path: format!(r"C:\control\windowsfilter\{id}"),
        layers: vec![seed_layer()],
        host_name: "5e0055c814a6".into(),
        hv_partition: false,
        endpoint_list: vec!["eef2649d-bb17-4d53-9937-295a8efe6f2c".into()],
        ..Default::default()
    };
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
    assert_eq!(json(&config), expected);
    assert_eq!(from_str::<ContainerConfig>(expected).unwrap(), config);
}

/// Seed 000's "Isolation=Hyper-V" example.
#[test]
fn seed_hyperv_isolation_example() {
    let config = ContainerConfig {
        system_type: "Container".into(),
        name: "475c2c58933b72687a88a441e7e0ca4bd72d76413c5f9d5031fee83b98f6045d".into(),
        owner: "docker".into(),
        ignore_flushes_during_boot: true,
        layers: vec![seed_layer()],
        host_name: "475c2c58933b".into(),
        hv_partition: true,
        endpoint_list: vec!["e1bb1e61-d56f-405e-b75d-fd520cefa0cb".into()],
        dns_search_list: "a.com,b.com,c.com".into(),
        hv_runtime: Some(HvRuntime {
            image_path: format!(r"{LAYER_PATH}\UtilityVM"),
            ..Default::default()
        }),
        ..Default::default()
    };
    let expected = concat!(
        r#"{"SystemType":"Container","#,
        r#""Name":"475c2c58933b72687a88a441e7e0ca4bd72d76413c5f9d5031fee83b98f6045d","#,
        r#""Owner":"docker","IgnoreFlushesDuringBoot":true,"#,
        r#""Layers":[{"ID":"18955d65-d45a-557b-bf1c-49d6dfefc526","Path":"C:\\control\\windowsfilter\\65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c"}],"#,
        r#""HostName":"475c2c58933b","HvPartition":true,"#,
        r#""EndpointList":["e1bb1e61-d56f-405e-b75d-fd520cefa0cb"],"#,
        r#""HvRuntime":{"ImagePath":"C:\\control\\windowsfilter\\65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c\\UtilityVM"},"#,
        r#""DNSSearchList":"a.com,b.com,c.com"}"#,
    );
    assert_eq!(json(&config), expected);
    assert_eq!(from_str::<ContainerConfig>(expected).unwrap(), config);
}

#[test]
fn empty_container_config_keeps_the_always_present_fields() {
    // SystemType, Name, Layers (nil slice: null) and HvPartition have no
    // omitempty.
    assert_eq!(
        json(&ContainerConfig::default()),
        r#"{"SystemType":"","Name":"","Layers":null,"HvPartition":false}"#
    );
}

#[test]
fn full_container_config_in_declaration_order() {
    let config = ContainerConfig {
        system_type: "container".into(),
        name: "c".into(),
        owner: "o".into(),
        volume_path: "v".into(),
        ignore_flushes_during_boot: true,
        layer_folder_path: "lf".into(),
        layers: vec![Layer {
            id: "g".into(),
            path: "p".into(),
        }],
        credentials: "cred".into(),
        processor_count: 2,
        processor_weight: 300,
        processor_maximum: 5000,
        storage_iops_maximum: 7,
        storage_bandwidth_maximum: 8,
        storage_sandbox_size: 9,
        memory_maximum_in_mb: 256,
        host_name: "h".into(),
        mapped_directories: vec![MappedDir {
            host_path: "hp".into(),
            container_path: "cp".into(),
            ..Default::default()
        }],
        mapped_pipes: vec![MappedPipe {
            host_path: r"\\.\pipe\a".into(),
            container_pipe_name: "b".into(),
        }],
        hv_partition: true,
        network_shared_container_name: "other".into(),
        endpoint_list: vec!["e1".into(), "e2".into()],
        hv_runtime: Some(HvRuntime {
            image_path: "i".into(),
            skip_template: true,
            linux_initrd_file: "initrd.img".into(),
            linux_kernel_file: "bootx64.efi".into(),
            linux_boot_parameters: "quiet".into(),
            boot_source: "Vhd".into(),
            writable_boot_source: true,
        }),
        servicing: true,
        allow_unqualified_dns_query: true,
        dns_search_list: "a,b".into(),
        container_type: "linux".into(),
        terminate_on_last_handle_closed: true,
        mapped_virtual_disks: vec![MappedVirtualDisk {
            host_path: "d.vhdx".into(),
            container_path: "/d".into(),
            create_in_utility_vm: true,
            read_only: true,
            cache: "Enabled".into(),
            attach_only: true,
        }],
    };
    let expected = concat!(
        r#"{"SystemType":"container","Name":"c","Owner":"o","VolumePath":"v","#,
        r#""IgnoreFlushesDuringBoot":true,"LayerFolderPath":"lf","#,
        r#""Layers":[{"ID":"g","Path":"p"}],"Credentials":"cred","#,
        r#""ProcessorCount":2,"ProcessorWeight":300,"ProcessorMaximum":5000,"#,
        r#""StorageIOPSMaximum":7,"StorageBandwidthMaximum":8,"StorageSandboxSize":9,"#,
        r#""MemoryMaximumInMB":256,"HostName":"h","#,
        r#""MappedDirectories":[{"HostPath":"hp","ContainerPath":"cp","ReadOnly":false,"BandwidthMaximum":0,"IOPSMaximum":0}],"#,
        r#""MappedPipes":[{"HostPath":"\\\\.\\pipe\\a","ContainerPipeName":"b"}],"#,
        r#""HvPartition":true,"NetworkSharedContainerName":"other","#,
        r#""EndpointList":["e1","e2"],"#,
        r#""HvRuntime":{"ImagePath":"i","SkipTemplate":true,"LinuxInitrdFile":"initrd.img","LinuxKernelFile":"bootx64.efi","LinuxBootParameters":"quiet","BootSource":"Vhd","WritableBootSource":true},"#,
        r#""Servicing":true,"AllowUnqualifiedDNSQuery":true,"DNSSearchList":"a,b","#,
        r#""ContainerType":"linux","TerminateOnLastHandleClosed":true,"#,
        r#""MappedVirtualDisks":[{"HostPath":"d.vhdx","ContainerPath":"/d","CreateInUtilityVM":true,"ReadOnly":true,"Cache":"Enabled","AttachOnly":true}]}"#,
    );
    assert_eq!(json(&config), expected);
    assert_eq!(from_str::<ContainerConfig>(expected).unwrap(), config);
}

#[test]
fn mapped_dir_sends_every_field() {
    assert_eq!(
        json(&MappedDir::default()),
        r#"{"HostPath":"","ContainerPath":"","ReadOnly":false,"BandwidthMaximum":0,"IOPSMaximum":0}"#
    );
}

#[test]
fn mapped_pipe_sends_both_fields() {
    assert_eq!(
        json(&MappedPipe::default()),
        r#"{"HostPath":"","ContainerPipeName":""}"#
    );
}

#[test]
fn mapped_virtual_disk_always_sends_attach_only_and_container_path() {
    assert_eq!(
        json(&MappedVirtualDisk::default()),
        r#"{"ContainerPath":"","AttachOnly":false}"#
    );
}

#[test]
fn empty_hv_runtime_is_an_empty_object() {
    assert_eq!(json(&HvRuntime::default()), "{}");
}

#[test]
fn process_config_console_size_is_always_height_then_width() {
    // A Go array is never "empty": [0,0] is sent.
    assert_eq!(json(&ProcessConfig::default()), r#"{"ConsoleSize":[0,0]}"#);
    let config = ProcessConfig {
        emulate_console: true,
        console_size: [24, 80],
        ..Default::default()
    };
    assert_eq!(config.console_height(), 24);
    assert_eq!(config.console_width(), 80);
    assert_eq!(
        json(&config),
        r#"{"EmulateConsole":true,"ConsoleSize":[24,80]}"#
    );
}

#[test]
fn process_config_sorts_environment_and_escapes_html() {
    let environment: BTreeMap<String, String> = [
        ("path", "lower"),
        ("PATH", r"C:\Windows"),
        ("A&B", "<x>"),
        ("_", "\u{2028}"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = ProcessConfig {
        application_name: "app.exe".into(),
        command_line: r#"cmd /S /C "echo a&b > c""#.into(),
        user: "ContainerUser".into(),
        working_directory: r"C:\".into(),
        environment,
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        create_std_err_pipe: true,
        ..Default::default()
    };
    let expected = concat!(
        r#"{"ApplicationName":"app.exe","#,
        r#""CommandLine":"cmd /S /C \"echo a\u0026b \u003e c\"","#,
        r#""User":"ContainerUser","WorkingDirectory":"C:\\","#,
        r#""Environment":{"A\u0026B":"\u003cx\u003e","PATH":"C:\\Windows","_":"\u2028","path":"lower"},"#,
        r#""CreateStdInPipe":true,"CreateStdOutPipe":true,"CreateStdErrPipe":true,"#,
        r#""ConsoleSize":[0,0]}"#,
    );
    assert_eq!(json(&config), expected);
    assert_eq!(from_str::<ProcessConfig>(expected).unwrap(), config);
}

#[test]
fn lcow_process_config_passes_the_spec_compacted() {
    let spec = "{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {\"args\": [\"sh\", \"-c\", \"a && b\"]}\n}";
    let config = ProcessConfig {
        command_args: vec!["sh".into(), "-c".into(), "a && b".into()],
        create_in_utility_vm: true,
        oci_specification: Some(RawValue::from_string(spec.to_owned()).unwrap()),
        ..Default::default()
    };
    let expected = concat!(
        r#"{"CommandArgs":["sh","-c","a \u0026\u0026 b"],"ConsoleSize":[0,0],"CreateInUtilityVm":true,"#,
        r#""OCISpecification":{"ociVersion":"1.0.0","process":{"args":["sh","-c","a \u0026\u0026 b"]}}}"#,
    );
    assert_eq!(json(&config), expected);
    let decoded: ProcessConfig = from_str(expected).unwrap();
    assert_eq!(decoded, config);
}

#[test]
fn process_config_decodes_keys_in_any_case() {
    let config: ProcessConfig = from_str(
        r#"{"commandline":"a b","ENVIRONMENT":{"Key":"v"},"consolesize":[3,4],"createstdinpipe":true,"Future":1}"#,
    )
    .unwrap();
    assert_eq!(config.command_line, "a b");
    assert_eq!(config.environment["Key"], "v");
    assert_eq!(config.console_size, [3, 4]);
    assert!(config.create_std_in_pipe);
}

#[test]
fn process_modify_requests() {
    assert_eq!(
        json(&ProcessModifyRequest::close_stdin()),
        r#"{"Operation":"CloseHandle","CloseHandle":{"Handle":"StdIn"}}"#
    );
    assert_eq!(
        json(&ProcessModifyRequest::close_handle(STD_OUT)),
        r#"{"Operation":"CloseHandle","CloseHandle":{"Handle":"StdOut"}}"#
    );
    assert_eq!(
        json(&ProcessModifyRequest::close_handle(STD_ERR)),
        r#"{"Operation":"CloseHandle","CloseHandle":{"Handle":"StdErr"}}"#
    );
    assert_eq!(
        json(&ProcessModifyRequest::console_size(80, 24)),
        r#"{"Operation":"ConsoleSize","ConsoleSize":{"Height":24,"Width":80}}"#
    );
}

#[test]
fn process_status_round_trip() {
    let text =
        r#"{"ProcessId":42,"Exited":true,"ExitCode":3221225786,"LastWaitResult":-2147023170}"#;
    let status: ProcessStatus = from_str(text).unwrap();
    assert_eq!(
        status,
        ProcessStatus {
            process_id: 42,
            exited: true,
            exit_code: 3221225786,
            last_wait_result: -2147023170,
        }
    );
    assert_eq!(json(&status), text);
    assert_eq!(
        from_str::<ProcessStatus>(r#"{"processid":7,"exited":false}"#).unwrap(),
        ProcessStatus {
            process_id: 7,
            ..Default::default()
        }
    );
}

#[test]
fn compute_system_query() {
    assert_eq!(json(&ComputeSystemQuery::default()), "{}");
    let query = ComputeSystemQuery {
        ids: vec!["a".into()],
        types: vec!["Container".into()],
        names: vec!["n".into()],
        owners: vec!["docker".into()],
    };
    let text = r#"{"Ids":["a"],"Types":["Container"],"Names":["n"],"Owners":["docker"]}"#;
    assert_eq!(json(&query), text);
    assert_eq!(from_str::<ComputeSystemQuery>(text).unwrap(), query);
    assert_eq!(
        json(&ComputeSystemQuery::owned_by("hcsrun")),
        r#"{"Owners":["hcsrun"]}"#
    );
}

#[test]
fn query_matching_uses_every_non_empty_filter() {
    let system = ContainerProperties {
        id: "a".into(),
        name: "a".into(),
        system_type: "Container".into(),
        owner: "hcsrun".into(),
        ..Default::default()
    };
    assert!(ComputeSystemQuery::default().matches(&system));
    assert!(ComputeSystemQuery::owned_by("hcsrun").matches(&system));
    assert!(!ComputeSystemQuery::owned_by("docker").matches(&system));
    let wrong_type = ComputeSystemQuery {
        owners: vec!["hcsrun".into()],
        types: vec!["VirtualMachine".into()],
        ..Default::default()
    };
    assert!(!wrong_type.matches(&system));
}

#[test]
fn property_queries() {
    assert_eq!(
        json(&PropertyQuery::of(&[PropertyType::Statistics])),
        r#"{"PropertyTypes":["Statistics"]}"#
    );
    assert_eq!(
        json(&PropertyQuery::of(&[PropertyType::ProcessList])),
        r#"{"PropertyTypes":["ProcessList"]}"#
    );
    assert_eq!(
        json(&PropertyQuery::of(&[PropertyType::PendingUpdates])),
        r#"{"PropertyTypes":["PendingUpdates"]}"#
    );
    assert_eq!(
        json(&PropertyQuery::of(&[PropertyType::MappedVirtualDisk])),
        r#"{"PropertyTypes":["MappedVirtualDisk"]}"#
    );
    let q: PropertyQuery = from_str(r#"{"propertytypes":["ProcessList","Statistics"]}"#).unwrap();
    assert!(q.wants(PropertyType::Statistics) && q.wants(PropertyType::ProcessList));
    assert!(!q.wants(PropertyType::PendingUpdates));
}

#[test]
fn empty_properties_keep_names_and_statistics() {
    assert_eq!(
        json(&ContainerProperties::default()),
        concat!(
            r#"{"Id":"","Name":"","SystemType":"","Owner":"","#,
            r#""Statistics":{"Timestamp":"0001-01-01T00:00:00Z","ContainerStartTime":"0001-01-01T00:00:00Z","#,
            r#""Memory":{},"Processor":{},"Storage":{}}}"#
        )
    );
}

#[test]
fn statistics_full() {
    let stats = Statistics {
        timestamp: from_str("\"2017-08-07T18:34:36.5Z\"").unwrap(),
        container_start_time: from_str("\"2017-08-07T18:30:00Z\"").unwrap(),
        uptime_100ns: 2_765_000_000,
        memory: MemoryStats {
            usage_commit_bytes: 1,
            usage_commit_peak_bytes: 2,
            usage_private_working_set_bytes: 3,
        },
        processor: ProcessorStats {
            total_runtime_100ns: 4,
            runtime_user_100ns: 5,
            runtime_kernel_100ns: 6,
        },
        storage: StorageStats {
            read_count_normalized: 7,
            read_size_bytes: 8,
            write_count_normalized: 9,
            write_size_bytes: 10,
        },
        network: vec![NetworkStats {
            bytes_received: 11,
            bytes_sent: 12,
            packets_received: 13,
            packets_sent: 14,
            dropped_packets_incoming: 15,
            dropped_packets_outgoing: 16,
            endpoint_id: "e".into(),
            instance_id: "i".into(),
        }],
    };
    let text = concat!(
        r#"{"Timestamp":"2017-08-07T18:34:36.5Z","ContainerStartTime":"2017-08-07T18:30:00Z","#,
        r#""Uptime100ns":2765000000,"#,
        r#""Memory":{"MemoryUsageCommitBytes":1,"MemoryUsageCommitPeakBytes":2,"MemoryUsagePrivateWorkingSetBytes":3},"#,
        r#""Processor":{"TotalRuntime100ns":4,"RuntimeUser100ns":5,"RuntimeKernel100ns":6},"#,
        r#""Storage":{"ReadCountNormalized":7,"ReadSizeBytes":8,"WriteCountNormalized":9,"WriteSizeBytes":10},"#,
        r#""Network":[{"BytesReceived":11,"BytesSent":12,"PacketsReceived":13,"PacketsSent":14,"DroppedPacketsIncoming":15,"DroppedPacketsOutgoing":16,"EndpointId":"e","InstanceId":"i"}]}"#,
    );
    assert_eq!(json(&stats), text);
    assert_eq!(from_str::<Statistics>(text).unwrap(), stats);
}

#[test]
fn process_list_item() {
    assert_eq!(
        json(&ProcessListItem::default()),
        r#"{"CreateTimestamp":"0001-01-01T00:00:00Z"}"#
    );
    let item = ProcessListItem {
        create_timestamp: from_str("\"2017-08-07T18:34:36.123Z\"").unwrap(),
        image_name: "cmd.exe".into(),
        kernel_time_100ns: 1,
        memory_commit_bytes: 2,
        memory_working_set_private_bytes: 3,
        memory_working_set_shared_bytes: 4,
        process_id: 5,
        user_time_100ns: 6,
    };
    let text = concat!(
        r#"{"CreateTimestamp":"2017-08-07T18:34:36.123Z","ImageName":"cmd.exe","KernelTime100ns":1,"#,
        r#""MemoryCommitBytes":2,"MemoryWorkingSetPrivateBytes":3,"MemoryWorkingSetSharedBytes":4,"#,
        r#""ProcessId":5,"UserTime100ns":6}"#,
    );
    assert_eq!(json(&item), text);
    assert_eq!(from_str::<ProcessListItem>(text).unwrap(), item);
}

#[test]
fn properties_with_process_list_and_disks() {
    let disk = MappedVirtualDisk {
        container_path: "/tmp".into(),
        ..Default::default()
    };
    let controller = MappedVirtualDiskController {
        mapped_virtual_disks: [(0, disk.clone()), (10, disk.clone()), (2, disk)].into(),
    };
    let props = ContainerProperties {
        id: "c".into(),
        name: "c".into(),
        system_type: "Container".into(),
        owner: "hcsrun".into(),
        runtime_id: "r".into(),
        stopped: true,
        exit_type: "UnexpectedExit".into(),
        are_updates_pending: true,
        process_list: vec![ProcessListItem {
            process_id: 1,
            ..Default::default()
        }],
        mapped_virtual_disk_controllers: [(0, controller)].into(),
        ..Default::default()
    };
    // Integer map keys are strings and sort as strings: "10" before "2".
    let text = concat!(
        r#"{"Id":"c","Name":"c","SystemType":"Container","Owner":"hcsrun","RuntimeId":"r","#,
        r#""Stopped":true,"ExitType":"UnexpectedExit","AreUpdatesPending":true,"#,
        r#""Statistics":{"Timestamp":"0001-01-01T00:00:00Z","ContainerStartTime":"0001-01-01T00:00:00Z","Memory":{},"Processor":{},"Storage":{}},"#,
        r#""ProcessList":[{"CreateTimestamp":"0001-01-01T00:00:00Z","ProcessId":1}],"#,
        r#""MappedVirtualDiskControllers":{"0":{"MappedVirtualDisks":{"#,
        r#""0":{"ContainerPath":"/tmp","AttachOnly":false},"#,
        r#""10":{"ContainerPath":"/tmp","AttachOnly":false},"#,
        r#""2":{"ContainerPath":"/tmp","AttachOnly":false}}}}}"#,
    );
    assert_eq!(json(&props), text);
    assert_eq!(from_str::<ContainerProperties>(text).unwrap(), props);
}

#[test]
fn properties_from_windows_ignore_unknown_fields() {
    let text = r#"{"Id":"c","SystemType":"Container","Name":"c","Owner":"docker","RuntimeOsType":"windows","Statistics":null,"ProcessList":null}"#;
    let props: ContainerProperties = from_str(text).unwrap();
    assert_eq!(props.owner, "docker");
    assert!(props.process_list.is_empty());
}

#[test]
fn resource_modification() {
    let request = ResourceModificationRequestResponse {
        resource: RESOURCE_NETWORK.into(),
        data: serde_json::json!("endpoint-guid"),
        request: REQUEST_ADD.into(),
    };
    let text = r#"{"ResourceType":"Network","Settings":"endpoint-guid","RequestType":"Add"}"#;
    assert_eq!(json(&request), text);
    assert_eq!(
        from_str::<ResourceModificationRequestResponse>(text).unwrap(),
        request
    );
    assert_eq!(
        json(&ResourceModificationRequestResponse::default()),
        r#"{"ResourceType":"","Settings":null}"#
    );
}

#[test]
fn hcs_result_document() {
    let text = r#"{"Error":-1070137072,"ErrorMessage":"already stopped","ErrorEvents":[{"Message":"m","EventId":5}]}"#;
    let result: HcsResult = from_str(text).unwrap();
    assert_eq!(result.error as u32, 0xC0370110);
    assert_eq!(result.error_events[0].event_id, 5);
    assert_eq!(json(&result), text);
}

#[test]
fn debug_never_shows_credentials() {
    let config = ContainerConfig {
        credentials: "hunter2-secret".into(),
        name: "c".into(),
        ..Default::default()
    };
    let text = format!("{config:?} {config:#?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("<redacted>") && text.contains("name: \"c\""),
        "{text}"
    );
}
