//! Diagnostics go to stderr, filtered by `HCSRUN_LOG` (tracing's
//! `EnvFilter` syntax, e.g. `debug` or `hcsrun=debug`); warnings by default,
//! everything from debug up with `--debug`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::output::Stderr;

pub fn init(debug: bool, json: bool) {
    let filter = if debug {
        EnvFilter::new("debug")
    } else {
        EnvFilter::try_from_env("HCSRUN_LOG").unwrap_or_else(|_| EnvFilter::new("warn"))
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Never panics when stderr is closed (tracing's own stderr writer
        // reports the failure with `eprintln!`, which does).
        .with_writer(|| Stderr)
        .with_target(false);
    if json {
        builder.json().init();
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .without_time()
            .init();
    }
}
