//! Debug trace to a plain file, independent of containerd's `log` FIFO.
//!
//! Enabled by `HCSRUN_SHIM_TRACE=/path/file` in containerd's environment
//! (containerd passes its environment to every shim invocation). The daemon's
//! stdout/stderr are /dev/null, and the `log` FIFO only exists in daemon mode,
//! so this is the one channel that sees `start`, the daemon and `delete`.

use std::{fmt, io::Write};

/// The variable naming the trace file.
pub const ENV: &str = "HCSRUN_SHIM_TRACE";

/// Appends one line (time, pid, `args`) when tracing is on: a small
/// append to a local file, only where the variable is set (tests, debugging).
pub fn line(args: fmt::Arguments<'_>) {
    let Some(path) = std::env::var_os(ENV) else {
        return;
    };
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // One write per line: O_APPEND keeps lines of concurrent processes whole.
    let _ = f.write_all(
        format!(
            "{}.{:06} [{}] {}\n",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            args
        )
        .as_bytes(),
    );
}

/// `trace!("fmt", args..)`: also forwards to the `log` crate (-> containerd log).
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {{
        $crate::trace::line(format_args!($($arg)+));
        log::info!($($arg)+);
    }};
}
