//! runc's log: `--log FILE` (else stderr), `--log-format text|json`. JSON
//! lines are `{"level","msg","time"}`, which containerd's runc shim reads
//! back when a command fails. An error goes to stderr as one line too.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    sync::Mutex,
};

use anyhow::{bail, Context, Result};

/// Where the log goes.
pub struct Log {
    file: Option<Mutex<File>>,
    json: bool,
    debug: bool,
}

static LOG: Mutex<Option<Log>> = Mutex::new(None);

/// Sets the log up from the global options.
pub fn init(path: Option<&str>, format: Option<&str>, debug: bool) -> Result<()> {
    let json = match format.unwrap_or("text") {
        "text" => false,
        "json" => true,
        other => bail!("unknown log-format {other:?}: text or json"),
    };
    let file = path
        .filter(|p| !p.is_empty())
        .map(|p| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening the log {p}"))
        })
        .transpose()?
        .map(Mutex::new);
    *LOG.lock().unwrap_or_else(|e| e.into_inner()) = Some(Log { file, json, debug });
    Ok(())
}

fn line(json: bool, level: &str, msg: &str) -> String {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    if json {
        serde_json::json!({"level": level, "msg": msg, "time": time}).to_string() + "\n"
    } else {
        format!("time={time:?} level={level} msg={msg:?}\n")
    }
}

/// Logs `msg` at `level` (`debug` only with `--debug`).
pub fn log(level: &str, msg: &str) {
    let guard = LOG.lock().unwrap_or_else(|e| e.into_inner());
    let Some(log) = guard.as_ref() else {
        return;
    };
    if level == "debug" && !log.debug {
        return;
    }
    let text = line(log.json, level, msg);
    match &log.file {
        Some(file) => {
            let _ = file
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .write_all(text.as_bytes());
        }
        None if level != "error" => {
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        None => {}
    }
}

/// A warning.
pub fn warn(msg: &str) {
    log("warning", msg)
}

/// A debug line.
pub fn debug(msg: &str) {
    log("debug", msg)
}

/// A failed command: one line on stderr, and the log.
pub fn error(msg: &str) {
    log("error", msg);
    let _ = std::io::stderr().write_all(format!("hcsrun-oci: {msg}\n").as_bytes());
}
