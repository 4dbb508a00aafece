//! `state`, `kill`, `delete`, `list`, `ps`, `pause`, `resume`: read from
//! the record, the pid and the cgroups (no holder to ask).

use std::{fs, thread, time::Duration};

use anyhow::{anyhow, bail, Context as _, Result};
use hcsrun_cgroup::Cgroup;
use hcsrun_linux_spec::LinuxSpec;
use nix::{
    sys::{
        signal::{kill, Signal},
        wait::{waitpid, WaitStatus},
    },
    unistd::Pid,
};
use serde_json::{json, Value};

use crate::{
    args::{flag, parse, val},
    cli::{one_id, Global},
    hooks,
    state::{Dir, Record, Status},
};

/// The container's cgroups.
pub fn cgroup_of(record: &Record) -> Result<Cgroup> {
    Cgroup::new(&record.cgroup_parent, &record.cgroup_name)
        .with_context(|| format!("container {}: its cgroups", record.id))
}

/// The status, from the pid, the FIFO and the freezer.
pub fn status(dir: &Dir, record: &Record) -> Status {
    if !record.alive() {
        return Status::Stopped;
    }
    if dir.fifo().exists() {
        return Status::Created;
    }
    let frozen = cgroup_of(record).and_then(|c| Ok(c.is_frozen()?));
    if frozen.unwrap_or(false) {
        Status::Paused
    } else {
        Status::Running
    }
}

/// The runtime spec's state, with runc's extra fields.
pub fn state_json(dir: &Dir, record: &Record) -> Value {
    let status = status(dir, record);
    let pid = if status == Status::Stopped {
        0
    } else {
        record.pid
    };
    json!({
        "ociVersion": "1.0.2",
        "id": record.id,
        "pid": pid,
        "status": status.as_str(),
        "bundle": record.bundle,
        "rootfs": record.rootfs,
        "created": record.created,
        "owner": record.owner,
        "annotations": record.annotations,
    })
}

/// `state ID`.
pub fn state_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let p = parse(rest, &[])?;
    let id = one_id(&p.rest, "state")?;
    let dir = Dir::new(&g.root, &id)?;
    let record = dir.load(&id)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&state_json(&dir, &record))?
    );
    Ok(())
}

/// A signal by name (`TERM`, `SIGTERM`, `term`) or number.
pub fn parse_signal(text: &str) -> Result<Signal> {
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| anyhow!("unknown signal {text:?}"));
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>()
        .map_err(|_| anyhow!("unknown signal {text:?}"))
}

/// `kill [--all] ID [SIGNAL]` (default SIGTERM).
pub fn kill_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let p = parse(rest, &[flag(&["all", "a"])])?;
    let (id, signal) = match p.rest.as_slice() {
        [id] => (id.clone(), Signal::SIGTERM),
        [id, sig] => (id.clone(), parse_signal(sig)?),
        _ => bail!("kill: usage: hcsrun-oci kill [--all] ID [SIGNAL]"),
    };
    let dir = Dir::new(&g.root, &id)?;
    let record = dir.load(&id)?;
    if status(&dir, &record) == Status::Stopped {
        bail!("container not running: {id}");
    }
    if p.flag("all") {
        for pid in cgroup_of(&record)?.pids()? {
            let _ = kill(Pid::from_raw(pid), signal);
        }
        return Ok(());
    }
    kill(Pid::from_raw(record.pid as i32), signal)
        .with_context(|| format!("kill {id}: signalling pid {}", record.pid))
}

/// `delete [--force] ID`.
pub fn delete_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let p = parse(rest, &[flag(&["force", "f"])])?;
    let id = one_id(&p.rest, "delete")?;
    delete(g, &id, p.flag("force"))
}

/// Deletes the container: a created one or, with `force`, a running one
/// is killed first; cgroups and the state directory are removed;
/// poststop hooks run (their failures only warn).
pub fn delete(g: &Global, id: &str, force: bool) -> Result<()> {
    let dir = Dir::new(&g.root, id)?;
    let record = match dir.load(id) {
        Ok(record) => record,
        Err(e) if force => {
            // A directory left without a record by a failed create.
            let _ = fs::remove_dir_all(&dir.path);
            return if dir.path.exists() { Err(e) } else { Ok(()) };
        }
        Err(e) => return Err(e),
    };
    let st = status(&dir, &record);
    match st {
        Status::Stopped | Status::Created => {}
        _ if force => {}
        other => bail!(
            "cannot delete container {id} that is not stopped: {} (use --force)",
            other.as_str()
        ),
    }
    let cgroup = cgroup_of(&record)?;
    if st != Status::Stopped {
        if st == Status::Paused {
            let _ = cgroup.freeze(false);
        }
        let _ = kill(Pid::from_raw(record.pid as i32), Signal::SIGKILL);
        wait_gone(&record);
    }
    // What outlived pid 1: nothing with a pid namespace of its own (the
    // kernel ended it with pid 1), the rest of the container when it
    // shares the host's or another's, as runc ends them at delete.
    kill_the_rest(&cgroup);
    cgroup
        .remove()
        .with_context(|| format!("delete {id}: removing its cgroups"))?;
    // A parent named by a spec is its caller's (runc leaves it too).
    if record.cgroup_parent == crate::create::DEFAULT_CGROUP_PARENT {
        cgroup.remove_empty_parents();
    }
    if let Ok(spec) = LinuxSpec::from_json(&record.spec, &record.bundle) {
        hooks::run_poststop(&spec, &record);
    }
    fs::remove_dir_all(&dir.path)
        .with_context(|| format!("delete {id}: removing {}", dir.path.display()))
}

/// Kills every process left in the container's cgroups and waits (up to
/// about 5 s) for them to leave. The cgroup is frozen while the pids are
/// read and signalled, as runc does: nothing forks or exits meanwhile, so
/// no pid can be reused by a process of the host before its kill; the
/// kills land when it thaws.
fn kill_the_rest(cgroup: &Cgroup) {
    for _ in 0..500 {
        if cgroup.pids().unwrap_or_default().is_empty() {
            return;
        }
        let frozen = cgroup.freeze(true).is_ok();
        for pid in cgroup.pids().unwrap_or_default() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if frozen {
            let _ = cgroup.freeze(false);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to about 5 s) until pid 1 is no longer alive: the caller
/// reaps it; a zombie counts as gone.
fn wait_gone(record: &Record) {
    for _ in 0..500 {
        if !record.alive() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for child `pid`; its exit code (128 + signal if killed).
pub fn wait_child(pid: u32) -> i32 {
    loop {
        match waitpid(Pid::from_raw(pid as i32), None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            Err(nix::errno::Errno::EINTR) | Ok(_) => continue,
            Err(_) => return 255,
        }
    }
}

/// `list [--format table|json] [-q]`.
pub fn list_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let p = parse(rest, &[val(&["format", "f"]), flag(&["quiet", "q"])])?;
    let mut states = Vec::new();
    if let Ok(entries) = fs::read_dir(&g.root) {
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            let Ok(dir) = Dir::new(&g.root, &id) else {
                continue;
            };
            if let Ok(record) = dir.load(&id) {
                states.push(state_json(&dir, &record));
            }
        }
    }
    states.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    if p.flag("quiet") {
        for s in &states {
            println!("{}", s["id"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    match p.get("format").unwrap_or("table") {
        "json" => println!("{}", Value::Array(states)),
        "table" => {
            println!("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER");
            for s in &states {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s["id"].as_str().unwrap_or_default(),
                    s["pid"],
                    s["status"].as_str().unwrap_or_default(),
                    s["bundle"].as_str().unwrap_or_default(),
                    s["created"].as_str().unwrap_or_default(),
                    s["owner"].as_str().unwrap_or_default()
                );
            }
        }
        other => bail!("list: invalid format {other:?}: table or json"),
    }
    Ok(())
}

/// `ps [--format table|json] ID [ps options]`: host pids of the
/// container's processes.
pub fn ps_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let p = parse(rest, &[val(&["format", "f"])])?;
    let Some((id, ps_args)) = p.rest.split_first() else {
        bail!("ps: requires a container id");
    };
    let dir = Dir::new(&g.root, id)?;
    let record = dir.load(id)?;
    let pids = cgroup_of(&record)?.pids()?;
    match p.get("format").unwrap_or("table") {
        "json" => println!("{}", serde_json::to_string(&pids)?),
        "table" => ps_table(&pids, ps_args)?,
        other => bail!("ps: invalid format {other:?}: table or json"),
    }
    Ok(())
}

/// `ps`'s own table (default `-ef`), the container's rows only, as runc.
fn ps_table(pids: &[i32], ps_args: &[String]) -> Result<()> {
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("running ps")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Ok(());
    };
    let column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow!("ps: no PID column in {header:?}"))?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(())
}

/// `pause ID` (`frozen`) and `resume ID`.
pub fn pause_cmd(g: &Global, rest: &[String], frozen: bool) -> Result<()> {
    let command = if frozen { "pause" } else { "resume" };
    let p = parse(rest, &[])?;
    let id = one_id(&p.rest, command)?;
    let dir = Dir::new(&g.root, &id)?;
    let record = dir.load(&id)?;
    match (status(&dir, &record), frozen) {
        (Status::Running, true) | (Status::Paused, false) => {}
        (Status::Paused, true) => bail!("container {id} is already paused"),
        (other, true) => bail!("cannot pause container {id}: it is {}", other.as_str()),
        (other, false) => bail!(
            "cannot resume container {id}: it is {}, not paused",
            other.as_str()
        ),
    }
    cgroup_of(&record)?
        .freeze(frozen)
        .with_context(|| format!("{command} {id}: the freezer"))
}
