//! `hcsrun exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] ID CMD…`: the
//! seed's AddProcess, from another command: a process started in a
//! running container from its recorded spec, its streams relayed as
//! `hcsrun run` relays them, and its exit code hcsrun's.

use std::process::ExitCode;

use super::{
    attach::attach,
    common::{running, target},
    run::{exit, io, parse::parse_env},
};
use crate::containers::{Found, Record};
use anyhow::Context;
use hcs_schema::ProcessConfig;
use hcsrun::{
    service::ServiceChoice,
    translate::{self, ExecProcess, LinuxSpec},
};

/// Run a command in a running container.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  hcsrun exec web1 ps\n  hcsrun exec -it web1 sh\n\n\
    Exits with the command's code: 126 if it cannot be run, 127 if it is not found."
)]
pub struct Args {
    /// Keep stdin open and forward this process's stdin to the command.
    #[arg(short, long)]
    interactive: bool,
    /// Give the command a terminal (a pty sized as this one).
    #[arg(short, long)]
    tty: bool,
    /// Start the command and return at once (its output is discarded).
    #[arg(short, long)]
    detach: bool,
    /// Set an environment variable (KEY=VALUE, or KEY to pass this
    /// process's value).
    #[arg(short, long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<String>,
    /// Working directory inside the container [default: the container's].
    #[arg(short, long = "workdir", value_name = "DIR")]
    workdir: Option<String>,
    /// User to run as: NAME or UID, with :GROUP or :GID [default: the
    /// container's].
    #[arg(short, long, value_name = "USER")]
    user: Option<String>,
    /// The container: an id or a unique prefix.
    #[arg(value_name = "CONTAINER")]
    container: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Runs the command; hcsrun's exit code is the command's.
pub fn main(args: Args, choice: &ServiceChoice) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            crate::output::error_line(&format!("hcsrun: exec: {e}"));
            return ExitCode::from(exit::FAILED);
        }
    };
    let result = runtime.block_on(exec(args, choice));
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err((code, e)) => {
            crate::output::error_line(&format!("hcsrun: exec: {e:#}"));
            ExitCode::from(code)
        }
    }
}

async fn exec(args: Args, choice: &ServiceChoice) -> Result<u8, (u8, anyhow::Error)> {
    // docker's code for an unknown or stopped container is 1.
    let (service, found) = target(choice, &args.container).await.map_err(|e| (1, e))?;
    let system = running(&*service, &found).await.map_err(|e| (1, e))?;
    let console = if args.tty { io::terminal_size() } else { None };
    let config = process_config(&found, &args, console).map_err(|e| (exit::FAILED, e))?;
    // The cause in Linux terms first, as `run` says it.
    let process = system.create_process(&config).await.map_err(|e| {
        let said = crate::cmd::run::errors::in_linux_terms(&e);
        (
            exit::for_hcs_error(&e),
            said.map_or_else(|| e.into(), anyhow::Error::msg),
        )
    })?;
    let fail = |e: anyhow::Error| (exit::FAILED, e);
    let stdio = process.take_stdio().map_err(|e| fail(e.into()))?;
    if args.detach {
        drop(stdio);
        let _ = process.close_stdin().await;
        return Ok(0);
    }
    attach(&*process, stdio, args.interactive, config.emulate_console)
        .await
        .map_err(fail)
}

/// The process's configuration: from the container's Linux spec (what its
/// first process runs with) or, for a Windows-schema container, from its
/// first process's configuration.
fn process_config(
    found: &Found,
    args: &Args,
    console: Option<(u16, u16)>,
) -> anyhow::Result<ProcessConfig> {
    let record: &Record = found.record.as_ref().with_context(|| {
        format!(
            "container {} was not started by hcsrun: it has no recorded spec",
            found.id
        )
    })?;
    let env: Vec<String> = args
        .env
        .iter()
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e.clone()),
            None => std::env::var(e).ok().map(|v| format!("{e}={v}")),
        })
        .collect();
    let documents = record.documents()?;
    let mut config = match &documents.linux_spec {
        Some(spec) => {
            let init = LinuxSpec::from_json(&spec.to_string(), "/")
                .with_context(|| format!("container {}: its recorded spec", found.id))?;
            let init_process = init.process();
            let mut all_env = init_process.map(|p| p.env.clone()).unwrap_or_default();
            all_env.extend(env);
            let mut process = serde_json::json!({
                "args": args.command,
                "env": all_env,
                "cwd": args.workdir.clone().unwrap_or_else(|| init_process
                    .map(|p| p.cwd.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "/".into())),
                "terminal": args.tty,
            });
            if let Some((height, width)) = console {
                process["consoleSize"] = serde_json::json!({"height": height, "width": width});
            }
            let exec =
                ExecProcess::from_json(&process.to_string()).map_err(|e| anyhow::anyhow!("{e}"))?;
            translate::linux::exec_process_config(&found.id, &exec, &init)
        }
        None => {
            let mut config = documents.init_config()?;
            config.command_args = args.command.clone();
            config.command_line = hcs::cmdline::join(&args.command);
            config.environment.extend(
                env.iter()
                    .filter_map(|e| e.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))),
            );
            if let Some(dir) = &args.workdir {
                config.working_directory = dir.clone();
            }
            config.emulate_console = args.tty;
            config.create_std_err_pipe = !args.tty;
            config.console_size = console.map_or([0, 0], |(h, w)| [u64::from(h), u64::from(w)]);
            config
        }
    };
    if let Some(user) = &args.user {
        // Looked up in the container, as a name or uid[:gid].
        config.user = user.clone();
        config.oci_specification = None;
    }
    config.create_std_in_pipe = true;
    config.create_std_out_pipe = true;
    Ok(config)
}
