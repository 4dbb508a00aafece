//! Stdio throughput: a command's stdout read to its end by this process,
//! the consumer, with 128 KiB reads (as `cat` does).

use std::{
    io::Read,
    process::{Command, Stdio},
    thread,
    time::Instant,
};

use anyhow::{bail, Context};
use bench_tools::{
    series::{Series, Timings},
    timed::Timed,
};

use crate::results;

const READ_SIZE: usize = 128 * 1024;

/// One run: the whole command's wall time, the time from its first byte to
/// its last, and the processor time it and its descendants used.
struct Run {
    wall_ms: f64,
    streaming_ms: f64,
    cpu_ms: f64,
}

/// Series name suffixes: first-to-last-byte times, and processor time.
pub const STREAMING: &str = "-streaming";
pub const CPU: &str = "-cpu";

/// Runs each command in turn, `warmup` times untimed and `runs` timed; each
/// must write exactly `bytes` bytes and succeed.
pub fn measure(
    commands: &[Timed],
    bytes: u64,
    warmup: usize,
    runs: usize,
) -> anyhow::Result<results::Stdio> {
    let mut measured: Vec<Vec<Run>> = commands.iter().map(|_| Vec::new()).collect();
    for run in 0..warmup + runs {
        for (command, measured) in commands.iter().zip(&mut measured) {
            let r = consume(command, run, bytes)?;
            if run >= warmup {
                measured.push(r);
            }
        }
    }
    let mut series = Vec::new();
    for (command, runs) in commands.iter().zip(measured) {
        let what = command.argv.join(" ");
        let column = |f: fn(&Run) -> f64| runs.iter().map(f).collect::<Vec<_>>();
        series.push(Series::new(&command.name, column(|r| r.wall_ms)).of(&what));
        series.push(
            Series::new(
                format!("{}{STREAMING}", command.name),
                column(|r| r.streaming_ms),
            )
            .of(&what),
        );
        series.push(Series::new(format!("{}{CPU}", command.name), column(|r| r.cpu_ms)).of(&what));
    }
    Ok(results::Stdio {
        bytes,
        timings: Timings { series },
    })
}

fn consume(command: &Timed, run: usize, bytes: u64) -> anyhow::Result<Run> {
    let argv = command.argv_for(run);
    let line = argv.join(" ");
    let started = Instant::now();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", argv[0]))?;
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let errors = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut buf = vec![0u8; READ_SIZE];
    let mut total = 0u64;
    let mut first = None;
    loop {
        let n = stdout
            .read(&mut buf)
            .with_context(|| format!("reading the output of {line}"))?;
        if n == 0 {
            break;
        }
        first.get_or_insert_with(Instant::now);
        total += n as u64;
    }
    let last = Instant::now();
    let (status, cpu_ms) = wait(child.id()).with_context(|| format!("waiting for {line}"))?;
    let wall = started.elapsed();
    let errors = errors.join().unwrap_or_default();
    if status != 0 {
        bail!(
            "{line} (run {run}) failed (wait status {status:#x}): {}",
            errors.trim()
        );
    }
    if total != bytes {
        bail!("{line} wrote {total} bytes, not {bytes}");
    }
    let streaming = first.map_or(0.0, |f| (last - f).as_secs_f64() * 1e3);
    Ok(Run {
        wall_ms: wall.as_secs_f64() * 1e3,
        streaming_ms: streaming,
        cpu_ms,
    })
}

/// Reaps child `pid`: its wait status, and the processor time (user and
/// system) of it and every descendant it reaped, in ms.
fn wait(pid: u32) -> std::io::Result<(i32, f64)> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: status and usage are valid for writes for the call's length.
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if reaped < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    Ok((status, ms(usage.ru_utime) + ms(usage.ru_stime)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_byte_and_refuses_a_short_stream() {
        let head: Timed = "plain=head -c 1000000 /dev/zero".parse().unwrap();
        let result = measure(std::slice::from_ref(&head), 1_000_000, 0, 2).unwrap();
        assert_eq!(result.timings.get("plain").unwrap().samples_ms.len(), 2);
        assert!(result.timings.get("plain-streaming").is_ok());
        assert!(result.timings.get("plain-cpu").is_ok());
        let failing: Timed = "f=false".parse().unwrap();
        let err = measure(&[failing], 0, 0, 1).unwrap_err().to_string();
        assert!(err.starts_with("false (run 0) failed"), "{err}");
        let err = measure(&[head], 999, 0, 1).unwrap_err().to_string();
        assert!(err.contains("wrote 1000000 bytes, not 999"), "{err}");
    }
}
