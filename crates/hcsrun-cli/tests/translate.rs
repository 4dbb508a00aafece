//! `hcsrun translate` and `hcsrun layer-id`, through the built binary.

use std::{fs, path::Path, process::Command};

use tempfile::TempDir;

/// What the Linux compute service calls layer `4` (pinned in `hcs-linux`).
const GUID_4: &str = "1b35a1c7-20ac-5fdf-ba5d-0f513df5585f";

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn hcsrun(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_hcsrun"))
        .args(args)
        .env_remove("HCSRUN_LOG")
        .output()
        .expect("hcsrun runs");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs a command that must succeed; returns its stdout without the newline.
fn ok(args: &[&str]) -> String {
    let run = hcsrun(args);
    assert!(run.ok, "{args:?} failed: {}", run.stderr);
    run.stdout.strip_suffix('\n').expect("one line").to_owned()
}

/// Runs a command that must fail; returns its one line of stderr.
fn fails(args: &[&str]) -> String {
    let run = hcsrun(args);
    assert!(!run.ok, "{args:?} succeeded: {}", run.stdout);
    assert_eq!(run.stdout, "");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", run.stderr);
    lines[0].to_owned()
}

const SPEC: &str = r#"{"ociVersion":"1.0.0","hostname":"web1",
 "process":{"args":["cmd","/S","/C","echo hello world"],"env":["A=b=c","NOEQ","A=d=e"],
            "cwd":"C:\\","user":{"username":"ContainerUser"},"consoleSize":{"height":25,"width":80}},
 "root":{"path":"\\\\?\\Volume{1}\\"},
 "mounts":[{"destination":"\\\\.\\pipe\\docker_engine","source":"\\\\.\\pipe\\docker_engine"}],
 "windows":{"layerFolders":["C:\\layers\\4","C:\\layers\\web1"],"resources":{"cpu":{"count":4}}}}"#;

const CONFIG: &str = concat!(
    r#"{"SystemType":"Container","Name":"web1","Owner":"hcsrun","VolumePath":"\\\\?\\Volume{1}\\","#,
    r#""LayerFolderPath":"C:\\layers\\web1","#,
    r#""Layers":[{"ID":"1b35a1c7-20ac-5fdf-ba5d-0f513df5585f","Path":"C:\\layers\\4"}],"#,
    r#""ProcessorCount":4,"HostName":"web1","#,
    r#""MappedPipes":[{"HostPath":"\\\\.\\pipe\\docker_engine","ContainerPipeName":"docker_engine"}],"#,
    r#""HvPartition":false}"#
);

const PROCESS: &str = concat!(
    r#"{"CommandLine":"cmd /S /C \"echo hello world\"","User":"ContainerUser","#,
    r#""WorkingDirectory":"C:\\","Environment":{"A":"d=e"},"#,
    r#""CreateStdInPipe":true,"CreateStdOutPipe":true,"CreateStdErrPipe":true,"#,
    r#""ConsoleSize":[25,80]}"#
);

/// A bundle directory holding `config.json`.
fn bundle(config: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("config.json"), config).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn prints_the_container_config() {
    let b = bundle(SPEC);
    let config = b.path().join("config.json");
    let args = [
        "translate",
        "--id",
        "web1",
        "--host-cpus",
        "8",
        path(&config),
    ];
    assert_eq!(ok(&args), CONFIG);
}

#[test]
fn reads_a_bundle_directory() {
    let b = bundle(SPEC);
    assert_eq!(
        ok(&[
            "translate",
            "--id",
            "web1",
            "--host-cpus",
            "8",
            path(b.path())
        ]),
        CONFIG
    );
}

#[test]
fn prints_the_init_process() {
    let b = bundle(SPEC);
    assert_eq!(
        ok(&["translate", "--id", "web1", "--process", path(b.path())]),
        PROCESS
    );
}

#[test]
fn prints_both() {
    let b = bundle(SPEC);
    let both = ok(&[
        "translate",
        "--id",
        "web1",
        "--host-cpus",
        "8",
        "--both",
        path(b.path()),
    ]);
    assert_eq!(
        both,
        format!(r#"{{"ContainerConfig":{CONFIG},"ProcessConfig":{PROCESS}}}"#)
    );
}

#[test]
fn process_and_both_exclude_each_other() {
    let run = hcsrun(&["translate", "--id", "x", "--process", "--both", "spec"]);
    assert!(!run.ok);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

#[test]
fn host_facts_default_to_this_machine_and_flags_override_them() {
    let b = bundle(&SPEC.replace(r#""count":4"#, r#""count":100000"#));
    let cpus = std::thread::available_parallelism().unwrap().get();
    let run = hcsrun(&["translate", "--id", "web1", path(b.path())]);
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!(r#""ProcessorCount":{cpus},"#)),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!(
            "Changing requested CPUCount of 100000 to current number of processors, {cpus}"
        )),
        "the clamp is warned about: {}",
        run.stderr
    );
    let config = ok(&[
        "translate",
        "--id",
        "web1",
        "--host-cpus",
        "3",
        "--owner",
        "docker",
        path(b.path()),
    ]);
    assert!(config.contains(r#""Owner":"docker","#), "{config}");
    assert!(config.contains(r#""ProcessorCount":3,"#), "{config}");
}

#[test]
fn an_old_windows_build_refuses_pipe_mounts() {
    let b = bundle(SPEC);
    assert_eq!(
        fails(&[
            "translate", "--id", "web1", "--host-cpus", "8", "--os-build", "14393", path(b.path())
        ]),
        "hcsrun: translate: creating container web1: named pipe mounts are not supported on this version of Windows"
    );
    ok(&[
        "translate",
        "--id",
        "web1",
        "--os-build",
        "16299",
        path(b.path()),
    ]);
}

#[test]
fn options_hyperv_with_a_utility_vm_on_this_host() {
    let layers = tempfile::tempdir().unwrap();
    let base = layers.path().join("4");
    fs::create_dir_all(base.join("UtilityVM")).unwrap();
    let options = layers.path().join("options.json");
    fs::write(
        &options,
        format!(
            r#"{{"hyperv":{{"is_hyperv":true}},"layers":{{"layer_folder_path":"/s","layer_paths":[{:?}]}}}}"#,
            path(&base)
        ),
    )
    .unwrap();
    let b = bundle(r#"{"process":{"args":["cmd"]}}"#);
    let config = ok(&[
        "translate",
        "--id",
        "hv",
        "--options",
        path(&options),
        path(b.path()),
    ]);
    assert_eq!(
        config,
        format!(
            r#"{{"SystemType":"Container","Name":"hv","Owner":"hcsrun","LayerFolderPath":"/s","Layers":[{{"ID":"{GUID_4}","Path":"{0}"}}],"HvPartition":true,"HvRuntime":{{"ImagePath":"{0}/UtilityVM"}}}}"#,
            path(&base)
        )
    );
    fs::remove_dir(base.join("UtilityVM")).unwrap();
    // The Linux compute service emulates Hyper-V isolation: no utility VM
    // is needed, and none is named.
    let config = ok(&[
        "translate",
        "--id",
        "hv",
        "--options",
        path(&options),
        path(b.path()),
    ]);
    assert!(config.ends_with(r#""HvPartition":true}"#), "{config}");
    // Windows' own service runs one: there, it must be found.
    assert_eq!(
        fails(&[
            "translate",
            "--service",
            "vmcompute=/nonexistent/libvmcompute.so",
            "--id",
            "hv",
            "--options",
            path(&options),
            path(b.path())
        ]),
        "hcsrun: translate: creating container hv: utility VM image could not be found"
    );
}

#[test]
fn options_lcow() {
    let dir = bundle(r#"{"process":{"args":["sh","-c","echo hi"],"cwd":"/"},"linux":{}}"#);
    let options = dir.path().join("options.json");
    fs::write(
        &options,
        r#"{"lcow":{"actual_mode":"vhdx","vhdx":"C:\\uvm.vhdx"},
            "layers":{"layer_folder_path":"C:\\lcow\\c1","layer_paths":["C:\\lcow\\4"]}}"#,
    )
    .unwrap();
    let both = ok(&[
        "translate",
        "--id",
        "c1",
        "--options",
        path(&options),
        "--both",
        path(dir.path()),
    ]);
    assert!(
        both.starts_with(&format!(
            r#"{{"ContainerConfig":{{"SystemType":"container","Name":"c1","Owner":"hcsrun","LayerFolderPath":"C:\\lcow\\c1","Layers":[{{"ID":"{GUID_4}","Path":"C:\\lcow\\4\\layer.vhd"}}],"HvPartition":true,"HvRuntime":{{"ImagePath":"C:\\uvm.vhdx"}},"ContainerType":"linux","TerminateOnLastHandleClosed":true}},"ProcessConfig":{{"CommandArgs":["sh","-c","echo hi"],"WorkingDirectory":"/","#
        )),
        "{both}"
    );
    assert!(both.ends_with(r#""OCISpecification":{"process":{"args":["sh","-c","echo hi"],"cwd":"/"},"linux":{}}}}"#), "{both}");
    // Without the option, a Linux spec is refused.
    assert_eq!(
        fails(&["translate", "--id", "c1", path(dir.path())]),
        "hcsrun: translate: creating container c1: lcow option must be supplied to the runtime"
    );
    assert_eq!(
        fails(&["translate", "--id", "c1", "--process", path(dir.path())]),
        "hcsrun: translate: starting container c1: lcow option must be supplied to the runtime"
    );
}

#[test]
fn contract_violations_are_one_line() {
    let b = bundle(r#"{"process":{"args":["cmd"]},"windows":{"layerFolders":["C:\\only"]}}"#);
    assert_eq!(
        fails(&["translate", "--id", "c1", path(b.path())]),
        "hcsrun: translate: creating container c1: no layer option or paths were supplied to the runtime"
    );
    let b = bundle(r#"{"windows":{"layerFolders":["C:\\l","C:\\s"]}}"#);
    assert_eq!(
        fails(&["translate", "--id", "c1", "--process", path(b.path())]),
        "hcsrun: translate: starting container c1: the spec has no process"
    );
}

#[test]
fn unreadable_and_invalid_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("config.json");
    let line = fails(&["translate", "--id", "c1", path(dir.path())]);
    assert!(
        line.starts_with(&format!(
            "hcsrun: translate: reading {}: No such file or directory",
            missing.display()
        )),
        "{line}"
    );
    fs::write(&missing, "{not json").unwrap();
    let line = fails(&["translate", "--id", "c1", path(&missing)]);
    assert!(
        line.starts_with(&format!(
            "hcsrun: translate: invalid OCI spec in {}: key must be a string at line 1",
            missing.display()
        )),
        "{line}"
    );
    fs::write(&missing, r#"{"windows":{"layerFolders":"C:\\x"}}"#).unwrap();
    let line = fails(&["translate", "--id", "c1", path(&missing)]);
    assert!(
        line.contains("invalid windows section of the OCI spec in"),
        "{line}"
    );

    fs::write(&missing, SPEC).unwrap();
    let options = dir.path().join("options.json");
    fs::write(&options, r#"{"hyper_v":{}}"#).unwrap();
    let line = fails(&[
        "translate",
        "--id",
        "c1",
        "--options",
        path(&options),
        path(&missing),
    ]);
    assert!(
        line.starts_with(&format!(
            "hcsrun: translate: invalid create options in {}: unknown field `hyper_v`",
            options.display()
        )),
        "{line}"
    );
    let nope = dir.path().join("nope.json");
    let line = fails(&[
        "translate",
        "--id",
        "c1",
        "--options",
        path(&nope),
        path(&missing),
    ]);
    assert!(
        line.starts_with(&format!("hcsrun: translate: reading {}: ", nope.display())),
        "{line}"
    );
}

#[test]
fn layer_id_prints_the_services_guid() {
    assert_eq!(ok(&["layer-id", "4"]), GUID_4);
    assert_eq!(ok(&["layer-id", r"C:\control\windowsfilter\4"]), GUID_4);
    assert_eq!(ok(&["layer-id", "/var/lib/layers/4"]), GUID_4);
    assert_ne!(ok(&["layer-id", "5"]), GUID_4);
}

#[test]
fn layer_id_needs_a_name() {
    let run = hcsrun(&["layer-id"]);
    assert!(!run.ok);
    assert!(run.stderr.contains("<NAME>"), "{}", run.stderr);
}

/// Runs hcsrun, killing it (and failing) if it takes more than 10 s.
fn bounded(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hcsrun"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("hcsrun {args:?} was still reading after 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn documents_are_capped_at_16_mib() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("config.json");
    // Valid JSON, just too long: 17 MiB of spaces around an object.
    let mut text = " ".repeat(17 << 20);
    text.push_str(r#"{"process":{"args":["cmd"]}}"#);
    fs::write(&big, &text).unwrap();
    for spec in ["/dev/zero", path(&big)] {
        let run = bounded(&["translate", "--id", "x", spec]);
        assert!(!run.ok);
        assert_eq!(
            run.stderr.trim_end(),
            format!(
                "hcsrun: translate: reading {spec}: larger than the 16 MiB limit for a document"
            ),
        );
    }
    // The options file too.
    fs::write(
        dir.path().join("small.json"),
        r#"{"process":{"args":["cmd"]}}"#,
    )
    .unwrap();
    let small = dir.path().join("small.json");
    let run = bounded(&[
        "translate",
        "--id",
        "x",
        "--options",
        "/dev/zero",
        path(&small),
    ]);
    assert!(!run.ok);
    assert!(run.stderr.contains("16 MiB limit"), "{}", run.stderr);
}
