//! Specs translated per second: `translate::container_config` and
//! `translate::init_process_config` of the spec moby sends for a
//! process-isolated Windows Server container (five layers, a volume, a
//! read-only bind, the docker engine's pipe, resource limits, a network
//! endpoint, a credential spec and a dozen variables).
//!
//! `cargo bench -p hcsrun --bench translate`; `bench/run.sh` reports it.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hcsrun::translate::{self, CreateOptions, HostFacts, Spec};

const SPEC: &str = r#"{
  "ociVersion": "1.0.2",
  "process": {
    "user": {"uid": 0, "gid": 0, "username": "ContainerUser"},
    "args": ["cmd", "/S", "/C", "C:\\app\\server.exe --listen 0.0.0.0:8080 --config \"C:\\config\\app.json\""],
    "env": [
      "PATH=C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\;C:\\app",
      "APP_ENV=production", "APP_PORT=8080", "APP_LOG_LEVEL=info",
      "DOTNET_RUNNING_IN_CONTAINER=true", "ASPNETCORE_URLS=http://+:8080",
      "TZ=UTC", "LANG=en_US.UTF-8", "HTTP_PROXY=http://proxy.corp.example.com:3128",
      "NO_PROXY=localhost,127.0.0.1,.corp.example.com", "FEATURE_FLAGS=a=1,b=0,c=1",
      "BUILD_ID=20240501.7"
    ],
    "cwd": "C:\\app",
    "consoleSize": {"height": 30, "width": 120},
    "terminal": false
  },
  "root": {"path": ""},
  "hostname": "web-7f9c4d",
  "mounts": [
    {"destination": "C:\\data", "source": "C:\\ProgramData\\docker\\volumes\\web-data\\_data"},
    {"destination": "C:\\config", "source": "C:\\srv\\web\\config", "options": ["ro"]},
    {"destination": "\\\\.\\pipe\\docker_engine", "source": "\\\\.\\pipe\\docker_engine"}
  ],
  "windows": {
    "layerFolders": [
      "C:\\ProgramData\\docker\\windowsfilter\\8f2b6c1d9e0a4b7c8d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c",
      "C:\\ProgramData\\docker\\windowsfilter\\1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
      "C:\\ProgramData\\docker\\windowsfilter\\65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c",
      "C:\\ProgramData\\docker\\windowsfilter\\d41d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204e9800998ecf8427e",
      "C:\\ProgramData\\docker\\windowsfilter\\9b74c9897bac770ffc029102a200c5de9b74c9897bac770ffc029102a200c5de",
      "C:\\ProgramData\\docker\\windowsfilter\\3f1c9a7e5b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
    ],
    "resources": {
      "memory": {"limit": 2147483648},
      "cpu": {"count": 2, "shares": 500, "maximum": 5000},
      "storage": {"iops": 1000, "bps": 10485760}
    },
    "credentialSpec": "{\"CmsPlugins\":[\"ActiveDirectory\"],\"DomainJoinConfig\":{\"Sid\":\"S-1-5-21-1\",\"MachineAccountName\":\"webgmsa\",\"Guid\":\"2b5a4c6e-0000-4000-8000-000000000001\",\"DnsTreeName\":\"corp.example.com\",\"DnsName\":\"corp.example.com\",\"NetBiosName\":\"CORP\"}}",
    "network": {
      "endpointList": ["7a3b1c2d-4e5f-6789-abcd-ef0123456789"],
      "allowUnqualifiedDNSQuery": true,
      "DNSSearchList": ["corp.example.com", "example.com"]
    }
  }
}"#;

/// A Windows Server 2019 host with 8 processors, as moby describes it.
fn host() -> HostFacts {
    HostFacts {
        service: "vmcompute".into(),
        cpu_count: 8,
        os_build: Some(17763),
        named_pipe_mounts: true,
        owner: "docker".into(),
        native_linux: false,
        hyperv: hcs::HypervIsolation::Hypervisor,
    }
}

fn name_to_guid(name: &str) -> hcs::Result<hcs::Guid> {
    Ok(hcs_linux::name_to_guid(name))
}

/// Both documents a create sends, from a parsed spec.
fn translate(spec: &Spec, options: &CreateOptions, host: &HostFacts) {
    let config = translate::container_config("web1", spec, options, host, &name_to_guid)
        .expect("the bench's spec translates");
    let init = translate::init_process_config("web1", spec, options)
        .expect("the bench's spec has a process");
    black_box((config, init));
}

fn bench(c: &mut Criterion) {
    let spec = Spec::from_json(SPEC).expect("the bench's spec parses");
    let options = CreateOptions::default();
    let host = host();
    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Elements(1));
    group.bench_function("windows_server", |b| {
        b.iter(|| translate(black_box(&spec), &options, &host))
    });
    group.bench_function("windows_server_parsed_too", |b| {
        b.iter(|| {
            let spec = Spec::from_json(black_box(SPEC)).expect("the bench's spec parses");
            translate(&spec, &options, &host)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
