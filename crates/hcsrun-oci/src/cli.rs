//! Global options and the commands, as runc spells them. Exit codes as
//! runc's: 0, 1 on any failure, the process's own code for `run` and
//! `exec` in the foreground.

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::{
    args::{flag, parse, val, Opt},
    create, exec, info, log, ops, resources,
    state::DEFAULT_ROOT,
};

const GLOBAL: &[Opt] = &[
    val(&["root"]),
    val(&["log"]),
    val(&["log-format"]),
    flag(&["debug"]),
    flag(&["systemd-cgroup"]),
    val(&["criu"]),
    val(&["rootless"]),
    flag(&["version", "v"]),
    flag(&["help", "h"]),
];

/// What every command gets.
pub struct Global {
    /// `--root`: the state directories.
    pub root: PathBuf,
}

/// Runs the command line; the exit code.
pub fn main(argv: Vec<String>) -> i32 {
    match run(argv) {
        Ok(code) => code,
        Err(e) => {
            log::error(&format!("{e:#}"));
            1
        }
    }
}

fn run(argv: Vec<String>) -> Result<i32> {
    let global = parse(&argv, GLOBAL)?;
    log::init(
        global.get("log"),
        global.get("log-format"),
        global.flag("debug"),
    )?;
    if global.flag("version") {
        print!("{}", info::version());
        return Ok(0);
    }
    if global.flag("systemd-cgroup") {
        bail!("--systemd-cgroup: not supported by hcsrun-oci, which manages cgroups through cgroupfs (podman: --cgroup-manager cgroupfs; containerd: SystemdCgroup = false)");
    }
    if global.get("rootless").is_some_and(|v| v == "true") {
        bail!("--rootless=true: not supported by hcsrun-oci (root only)");
    }
    let g = Global {
        root: PathBuf::from(global.get("root").unwrap_or(DEFAULT_ROOT)),
    };
    let Some((command, rest)) = global.rest.split_first() else {
        print!("{}", info::usage());
        return Ok(if global.flag("help") { 0 } else { 1 });
    };
    log::debug(&format!("hcsrun-oci {command} {rest:?}"));
    match command.as_str() {
        "create" => create::create_cmd(&g, rest).map(|()| 0),
        "start" => create::start_cmd(&g, rest).map(|()| 0),
        "run" => create::run_cmd(&g, rest),
        "state" => ops::state_cmd(&g, rest).map(|()| 0),
        "kill" => ops::kill_cmd(&g, rest).map(|()| 0),
        "delete" => ops::delete_cmd(&g, rest).map(|()| 0),
        "list" => ops::list_cmd(&g, rest).map(|()| 0),
        "ps" => ops::ps_cmd(&g, rest).map(|()| 0),
        "pause" => ops::pause_cmd(&g, rest, true).map(|()| 0),
        "resume" => ops::pause_cmd(&g, rest, false).map(|()| 0),
        "exec" => exec::exec_cmd(&g, rest),
        "update" => resources::update_cmd(&g, rest).map(|()| 0),
        "events" => resources::events_cmd(&g, rest).map(|()| 0),
        "features" => info::features_cmd(rest).map(|()| 0),
        "spec" => info::spec_cmd(rest).map(|()| 0),
        "checkpoint" | "restore" => {
            bail!("{command}: not supported by hcsrun-oci (no CRIU checkpoint/restore)")
        }
        "help" => {
            print!("{}", info::usage());
            Ok(0)
        }
        other => bail!("unknown command {other:?}; see hcsrun-oci help"),
    }
}

/// The one positional argument a command takes: the container id.
pub fn one_id(rest: &[String], command: &str) -> Result<String> {
    match rest {
        [id] => Ok(id.clone()),
        [] => bail!("{command}: requires a container id (hcsrun-oci {command} [options] ID)"),
        _ => bail!("{command}: takes exactly one container id, got {rest:?}"),
    }
}
