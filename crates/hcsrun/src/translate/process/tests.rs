//! The process rules of the translation contract.

use crate::translate::{
    exec_process_config, init_process_config, parse_process, test_support::*, Platform,
    TranslateErrorKind,
};

fn init(spec_json: &str, options_json: &str) -> hcs_schema::ProcessConfig {
    init_process_config("c1", &spec(spec_json), &options(options_json)).unwrap()
}

const WINDOWS: &str = r#"{"process":{"terminal":false,"consoleSize":{"height":25,"width":80},
    "user":{"username":"ContainerUser"},"args":["cmd","/S","/C","echo hello world"],
    "env":["PATH=C:\\Windows","A=b=c","DROPPED","A2=x","A2=y"],"cwd":"C:\\"},
    "windows":{"layerFolders":["C:\\l","C:\\s"]}}"#;

#[test]
fn windows_init_process() {
    assert_eq!(
        json(&init(WINDOWS, "{}")),
        concat!(
            r#"{"CommandLine":"cmd /S /C \"echo hello world\"","User":"ContainerUser","#,
            r#""WorkingDirectory":"C:\\","Environment":{"A":"b=c","A2":"y","PATH":"C:\\Windows"},"#,
            r#""CreateStdInPipe":true,"CreateStdOutPipe":true,"CreateStdErrPipe":true,"#,
            r#""ConsoleSize":[25,80]}"#
        )
    );
}

#[test]
fn command_line_wins_over_args() {
    let spec = r#"{"process":{"args":["ignored"],"commandLine":"cmd /c \"dir\"","cwd":""}}"#;
    assert_eq!(init(spec, "{}").command_line, r#"cmd /c "dir""#);
    // An empty commandLine is no command line.
    let spec = r#"{"process":{"args":["a b"],"commandLine":"","cwd":""}}"#;
    assert_eq!(init(spec, "{}").command_line, r#""a b""#);
}

#[test]
fn args_are_quoted_by_the_windows_argv_rules() {
    let spec =
        r#"{"process":{"args":["C:\\Program Files\\x.exe","say \"hi\"","a\\\\","","tab\there"]}}"#;
    let line = init(spec, "{}").command_line;
    assert_eq!(
        line,
        r#""C:\Program Files\x.exe" "say \"hi\"" a\\ "" "tab	here""#
    );
    assert_eq!(
        hcs::cmdline::split(&line),
        [
            "C:\\Program Files\\x.exe",
            "say \"hi\"",
            "a\\\\",
            "",
            "tab\there"
        ]
    );
}

#[test]
fn terminal_emulates_a_console_and_merges_stderr() {
    let spec =
        r#"{"process":{"terminal":true,"consoleSize":{"height":40,"width":120},"args":["cmd"]}}"#;
    let p = init(spec, "{}");
    assert!(p.emulate_console);
    assert!(p.create_std_in_pipe && p.create_std_out_pipe && !p.create_std_err_pipe);
    assert_eq!(p.console_size, [40, 120], "[height, width]");
}

#[test]
fn no_console_size_is_zero() {
    let p = init(r#"{"process":{"args":["cmd"]}}"#, "{}");
    assert_eq!(p.console_size, [0, 0]);
    assert!(json(&p).ends_with(r#""ConsoleSize":[0,0]}"#), "always sent");
}

#[test]
fn servicing_pipes_nothing() {
    for (spec, opts) in [
        (
            r#"{"process":{"args":["cmd"]},"windows":{"servicing":true}}"#,
            "{}",
        ),
        (r#"{"process":{"args":["cmd"]}}"#, r#"{"servicing":true}"#),
    ] {
        let p = init(spec, opts);
        assert!(
            !p.create_std_in_pipe && !p.create_std_out_pipe && !p.create_std_err_pipe,
            "{spec} {opts}"
        );
    }
    let p = init(
        r#"{"process":{"args":["cmd"]},"windows":{"servicing":true}}"#,
        r#"{"servicing":false}"#,
    );
    assert!(p.create_std_in_pipe && p.create_std_out_pipe && p.create_std_err_pipe);
}

#[test]
fn linux_init_process_carries_args_and_the_spec() {
    let text = r#"{"ociVersion":"1.0.0","process":{"args":["/bin/sh","-c","echo a b"],
        "env":["PATH=/bin"],"cwd":"/work","user":{"uid":0,"gid":0,"username":"root"}},
        "linux":{"namespaces":[{"type":"mount"}]},"annotations":{"x":"<&>"}}"#;
    let p = init(text, r#"{"lcow":{}}"#);
    assert_eq!(p.command_args, ["/bin/sh", "-c", "echo a b"]);
    assert_eq!(p.command_line, "");
    assert_eq!(p.user, "root");
    assert_eq!(p.working_directory, "/work");
    let sent = json(&p);
    let expected_spec = concat!(
        r#"{"ociVersion":"1.0.0","process":{"args":["/bin/sh","-c","echo a b"],"#,
        r#""env":["PATH=/bin"],"cwd":"/work","user":{"uid":0,"gid":0,"username":"root"}},"#,
        r#""linux":{"namespaces":[{"type":"mount"}]},"annotations":{"x":"\u003c\u0026\u003e"}}"#
    );
    assert!(
        sent.ends_with(&format!(r#""OCISpecification":{expected_spec}}}"#)),
        "{sent}"
    );
}

#[test]
fn init_needs_a_process_and_the_right_platform() {
    let e = init_process_config("c1", &spec("{}"), &options("{}")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "starting container c1: the spec has no process"
    );
    let e = init_process_config("c1", &spec(r#"{"linux":{},"process":{}}"#), &options("{}"))
        .unwrap_err();
    assert!(matches!(e.kind, TranslateErrorKind::LcowOptionMissing));
    assert_eq!(
        e.to_string(),
        "starting container c1: lcow option must be supplied to the runtime"
    );
}

#[test]
fn exec_always_pipes_stdin_and_stdout() {
    let init_spec = spec(WINDOWS);
    let exec = parse_process(
        r#"{"args":["powershell"],"env":["X=1"],"cwd":"C:\\work","user":{"username":"u"},
            "consoleSize":{"height":10,"width":20}}"#,
    )
    .unwrap();
    let p = exec_process_config("c1", &exec, &init_spec, Platform::Windows);
    assert_eq!(
        json(&p),
        concat!(
            r#"{"CommandLine":"powershell","User":"u","WorkingDirectory":"C:\\work","#,
            r#""Environment":{"X":"1"},"CreateStdInPipe":true,"CreateStdOutPipe":true,"#,
            r#""CreateStdErrPipe":true,"ConsoleSize":[0,0]}"#
        ),
        "no console size without a terminal"
    );
}

#[test]
fn exec_with_a_terminal() {
    let exec =
        parse_process(r#"{"terminal":true,"args":["cmd"],"consoleSize":{"height":10,"width":20}}"#)
            .unwrap();
    let p = exec_process_config("c1", &exec, &spec(WINDOWS), Platform::Windows);
    assert!(p.emulate_console && p.create_std_in_pipe && p.create_std_out_pipe);
    assert!(!p.create_std_err_pipe);
    assert_eq!(p.console_size, [10, 20]);
}

#[test]
fn exec_cwd_falls_back_to_the_init_process() {
    let exec = parse_process(r#"{"args":["cmd"]}"#).unwrap();
    let p = exec_process_config("c1", &exec, &spec(WINDOWS), Platform::Windows);
    assert_eq!(p.working_directory, r"C:\");
    let p = exec_process_config("c1", &exec, &spec("{}"), Platform::Windows);
    assert_eq!(p.working_directory, "");
}

#[test]
fn exec_command_by_platform() {
    let exec =
        parse_process(r#"{"args":["ls","-l","a b"],"commandLine":"ignored on linux"}"#).unwrap();
    let p = exec_process_config("c1", &exec, &spec("{}"), Platform::Linux);
    assert_eq!(p.command_args, ["ls", "-l", "a b"]);
    assert_eq!(p.command_line, "");
    assert!(p.oci_specification.is_none());
    let p = exec_process_config("c1", &exec, &spec("{}"), Platform::Windows);
    assert_eq!(p.command_line, "ignored on linux");
    let exec = parse_process(r#"{"args":["ls","a b"]}"#).unwrap();
    let p = exec_process_config("c1", &exec, &spec("{}"), Platform::Windows);
    assert_eq!(p.command_line, r#"ls "a b""#);
}
