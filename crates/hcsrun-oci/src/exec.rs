//! `exec`: a process forked into the running container (its namespaces,
//! its cgroups), this program's child: with `--detach` it is left to the
//! caller (reparented when this program exits; `--pid-file` names it),
//! otherwise waited for and its exit code returned, as runc does.

use anyhow::{anyhow, bail, Context as _, Result};
use hcsrun::translate::linux as translate;
use hcsrun_linux_spec::{ExecProcess, LinuxSpec};
use hcsrun_shim::caller;
use serde_json::{json, Value};

use crate::{
    args::{flag, parse, val, Opt},
    cli::Global,
    console,
    create::write_pid_file,
    ops::{cgroup_of, status, wait_child},
    state::{Dir, Status},
};

const EXEC: &[Opt] = &[
    val(&["process", "p"]),
    val(&["pid-file"]),
    flag(&["detach", "d"]),
    flag(&["tty", "t"]),
    val(&["console-socket"]),
    val(&["cwd"]),
    val(&["env", "e"]),
    val(&["user", "u"]),
    val(&["additional-gids", "g"]),
    val(&["cap", "c"]),
    flag(&["no-new-privs"]),
    val(&["process-label"]),
    val(&["apparmor"]),
    val(&["preserve-fds"]),
    val(&["cgroup"]),
    flag(&["ignore-paused"]),
];

/// `exec [options] ID [COMMAND [ARG…]]`; the exit code.
pub fn exec_cmd(g: &Global, rest: &[String]) -> Result<i32> {
    let p = parse(rest, EXEC)?;
    let Some((id, command)) = p.rest.split_first() else {
        bail!("exec: requires a container id (hcsrun-oci exec [options] ID COMMAND…)");
    };
    let dir = Dir::new(&g.root, id)?;
    let record = dir.load(id)?;
    match status(&dir, &record) {
        Status::Created | Status::Running => {}
        Status::Paused if p.flag("ignore-paused") => {}
        Status::Paused => bail!("cannot exec in a paused container {id} (use --ignore-paused)"),
        Status::Stopped => bail!("cannot exec in a stopped container: {id}"),
    }
    let preserve_fds = crate::preserve::checked(p.number::<u32>("preserve-fds")?)
        .with_context(|| format!("exec {id}"))?;
    let text = match p.get("process") {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("exec {id}: reading --process {file}"))?;
            let mut value: Value = serde_json::from_str(&text)
                .with_context(|| format!("exec {id}: --process {file}"))?;
            if p.flag("tty") {
                value["terminal"] = json!(true);
            }
            value.to_string()
        }
        None => process_of_flags(&p, command, &record.spec)?,
    };
    let exec = ExecProcess::from_json(&text).map_err(|e| anyhow!("exec {id}: process: {e}"))?;
    let init = LinuxSpec::from_json(&record.spec, &record.bundle)
        .map_err(|e| anyhow!("exec {id}: the recorded spec: {e}"))?;
    let config = translate::exec_process_config(id, &exec, &init);
    let detach = p.flag("detach");
    if config.emulate_console && p.get("console-socket").is_none() && detach {
        bail!(
            "exec {id}: a detached process's terminal needs --console-socket to be sent to \
             (exec it in the foreground to use this terminal)"
        );
    }
    let cgroup_join = cgroup_of(&record)?
        .join_fds()
        .with_context(|| format!("exec {id}: opening its cgroups"))?
        .into_iter()
        .map(|(_, _, fd)| fd)
        .collect();
    let runtime_dir = crate::create::open_dir(&g.root)?;
    let started = caller::exec(caller::Exec {
        id,
        init_pid: record.pid,
        init_process: &record.init_process,
        process: &serde_json::to_string(&config)?,
        cgroup_join,
        runtime_dir: std::os::fd::AsFd::as_fd(&runtime_dir),
        preserve_fds,
    })?;
    if let (Some(master), Some(socket)) = (&started.console, p.get("console-socket")) {
        use std::os::fd::AsFd;
        console::send(socket.as_ref(), master.as_fd())
            .with_context(|| format!("exec {id}: --console-socket {socket}"))?;
    }
    if let Some(pid_file) = p.get("pid-file") {
        write_pid_file(pid_file.as_ref(), started.pid)?;
    }
    if detach {
        return Ok(0);
    }
    // In the foreground a terminal with nowhere to send it is relayed.
    if let Some(master) = started
        .console
        .filter(|_| p.get("console-socket").is_none())
    {
        crate::relay::relay(master, started.pid);
    }
    Ok(wait_child(started.pid))
}

/// A process document from runc's exec flags: the init process's settings
/// where a flag does not say otherwise.
fn process_of_flags(p: &crate::args::Parsed, command: &[String], spec: &str) -> Result<String> {
    if command.is_empty() {
        bail!("exec: no command given (hcsrun-oci exec ID COMMAND… or --process FILE)");
    }
    let spec: Value = serde_json::from_str(spec)?;
    let init = &spec["process"];
    let mut process = json!({
        "args": command,
        "cwd": p.get("cwd").map_or_else(|| init["cwd"].clone(), |c| json!(c)),
        "terminal": p.flag("tty"),
        "env": init["env"].clone(),
        "user": init["user"].clone(),
    });
    let mut env: Vec<Value> = init["env"].as_array().cloned().unwrap_or_default();
    env.extend(p.all("env").iter().map(|e| json!(e)));
    process["env"] = Value::Array(env);
    if let Some(user) = p.get("user") {
        let (uid, gid) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user, None),
        };
        let number = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| anyhow!("exec: --user {user:?}: uid[:gid] as numbers"))
        };
        process["user"] =
            json!({"uid": number(uid)?, "gid": gid.map(number).transpose()?.unwrap_or(0)});
    }
    if !p.all("additional-gids").is_empty() {
        let gids = p
            .all("additional-gids")
            .iter()
            .map(|g| {
                g.parse::<u32>()
                    .map_err(|_| anyhow!("exec: --additional-gids {g:?}"))
            })
            .collect::<Result<Vec<_>>>()?;
        process["user"]["additionalGids"] = json!(gids);
    }
    if !p.all("cap").is_empty() {
        let mut caps = init["capabilities"].clone();
        if caps.is_null() {
            caps = json!({});
        }
        for set in ["bounding", "effective", "permitted"] {
            let mut list: Vec<Value> = caps[set].as_array().cloned().unwrap_or_default();
            list.extend(p.all("cap").iter().map(|c| json!(c)));
            caps[set] = Value::Array(list);
        }
        process["capabilities"] = caps;
    }
    if p.flag("no-new-privs") {
        process["noNewPrivileges"] = json!(true);
    }
    Ok(process.to_string())
}
