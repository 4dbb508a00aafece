//! Processes: the init process a container starts with (the seed's
//! `start`) and processes added later (the seed's `AddProcess`).

use hcs_schema::ProcessConfig;
use oci_spec::runtime::Process;
use tracing::debug;

use super::{
    env::environment,
    error::{Operation, TranslateError, TranslateErrorKind},
    options::CreateOptions,
    platform::Platform,
    spec::Spec,
    windows::servicing,
};

/// The init process of the container `id`: the spec's `process`.
///
/// Its stdin and stdout are piped unless the container is servicing an
/// image; stderr too unless a console is emulated, which merges it.
pub fn init_process_config(
    id: &str,
    spec: &Spec,
    options: &CreateOptions,
) -> Result<ProcessConfig, TranslateError> {
    let platform = Platform::resolve(id, spec, options, Operation::Start)?;
    let process = spec
        .process()
        .ok_or_else(|| TranslateError::new(id, Operation::Start, TranslateErrorKind::NoProcess))?;
    let terminal = process.terminal().unwrap_or(false);
    let servicing = servicing(spec, options);
    let mut config = ProcessConfig {
        emulate_console: terminal,
        create_std_in_pipe: !servicing,
        create_std_out_pipe: !servicing,
        create_std_err_pipe: !terminal && !servicing,
        working_directory: cwd(process),
        console_size: console_size(process),
        ..common(process)
    };
    set_command(&mut config, process, platform);
    if platform == Platform::Linux {
        config.oci_specification = Some(spec.raw().to_owned());
    }
    log(id, "init", &config);
    Ok(config)
}

/// A process added to the running container `id`, whose spec is `init`.
///
/// stdin and stdout are always piped (stdout so that logs can always be
/// read; stdin is closed soon when unused), stderr unless there is a
/// console. The working directory falls back to the init process's.
pub fn exec_process_config(
    id: &str,
    exec: &Process,
    init: &Spec,
    platform: Platform,
) -> ProcessConfig {
    let terminal = exec.terminal().unwrap_or(false);
    let mut working_directory = cwd(exec);
    if working_directory.is_empty() {
        working_directory = init.process().map(cwd).unwrap_or_default();
    }
    let mut config = ProcessConfig {
        emulate_console: terminal,
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        create_std_err_pipe: !terminal,
        working_directory,
        console_size: if terminal { console_size(exec) } else { [0, 0] },
        ..common(exec)
    };
    set_command(&mut config, exec, platform);
    log(id, "exec", &config);
    config
}

/// Environment and user, the same for every process.
fn common(process: &Process) -> ProcessConfig {
    ProcessConfig {
        environment: environment(process.env().as_deref().unwrap_or_default()),
        user: process.user().username().clone().unwrap_or_default(),
        ..Default::default()
    }
}

/// A Windows process gets `commandLine`, else its args quoted by the
/// Windows argv rules; a Linux process gets its args.
fn set_command(config: &mut ProcessConfig, process: &Process, platform: Platform) {
    let args = process.args().as_deref().unwrap_or_default();
    match platform {
        Platform::Windows => {
            config.command_line = match process.command_line() {
                Some(line) if !line.is_empty() => line.clone(),
                _ => hcs::cmdline::join(args),
            }
        }
        Platform::Linux | Platform::LinuxNative => config.command_args = args.to_vec(),
    }
}

fn cwd(process: &Process) -> String {
    process.cwd().to_string_lossy().into_owned()
}

/// `[height, width]`, as HCS takes it.
fn console_size(process: &Process) -> [u64; 2] {
    process
        .console_size()
        .map_or([0, 0], |b| [b.height(), b.width()])
}

/// What the seed logs of a new process: no environment, no spec.
fn log(id: &str, which: &str, config: &ProcessConfig) {
    debug!(
        container = id,
        command_line = %config.command_line,
        command_args = ?config.command_args,
        working_directory = %config.working_directory,
        emulate_console = config.emulate_console,
        "{which} process configured"
    );
}

#[cfg(test)]
mod tests;
