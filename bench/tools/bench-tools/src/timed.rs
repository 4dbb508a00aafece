//! Wall time of whole commands, run in turn (A, B, C, A, C, B, ...) so that
//! whatever else the machine does weighs on each alike (`bench-tools
//! time`; hcsrun-bench times `runc exec` with it too).

use std::{
    io,
    process::{Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use crate::series::{Series, Timings};

/// A command to time: `NAME=PROGRAM ARG...`, split on spaces. `{id}` in an
/// argument is replaced by an id unique to the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    /// What its series is called.
    pub name: String,
    /// The program and its arguments.
    pub argv: Vec<String>,
}

/// A timed run that failed: a failed run is not a fast one.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program could not be started.
    #[error("starting {program}")]
    Start {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The command failed.
    #[error("{command} (run {run}) failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Which run.
        run: usize,
        /// How it ended.
        status: ExitStatus,
        /// What it said on stderr.
        stderr: String,
    },
}

impl std::str::FromStr for Timed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, command) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected NAME=PROGRAM ARG..."))?;
        let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if name.is_empty() || argv.is_empty() {
            return Err(format!("{s:?}: expected NAME=PROGRAM ARG..."));
        }
        Ok(Self {
            name: name.to_owned(),
            argv,
        })
    }
}

impl Timed {
    /// The arguments of run `run`, with `{id}` replaced.
    pub fn argv_for(&self, run: usize) -> Vec<String> {
        let id = format!("bench-{}-{}-{run}", std::process::id(), self.name);
        self.argv.iter().map(|a| a.replace("{id}", &id)).collect()
    }

    /// Runs it once, stdio to /dev/null except stderr, which a failure
    /// quotes; returns the wall time in milliseconds.
    pub fn run_once(&self, run: usize) -> Result<f64, RunError> {
        let argv = self.argv_for(run);
        let started = Instant::now();
        let output = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| RunError::Start {
                program: argv[0].clone(),
                source,
            })?;
        let elapsed = started.elapsed();
        if !output.status.success() {
            return Err(RunError::Failed {
                command: argv.join(" "),
                run,
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(elapsed.as_secs_f64() * 1e3)
    }
}

/// Runs each command `warmup` times untimed, then `runs` times timed, in
/// turn, idling for `pause` before each run. Any failure stops the
/// measurement: a failed run is not a fast one.
///
/// Every other round runs the commands after the first in reverse order
/// (A B C, A C B, A B C, …): what a command leaves the kernel to finish
/// after it exits (a network namespace torn down, cgroups freed) weighs on
/// the one after it, and so no command always runs right after the same
/// one. With two or three commands each runs after each other one equally
/// often, and never after itself.
pub fn time(
    commands: &[Timed],
    warmup: usize,
    runs: usize,
    pause: Duration,
) -> Result<Timings, RunError> {
    let mut samples = vec![Vec::with_capacity(runs); commands.len()];
    for run in 0..warmup + runs {
        for i in round(commands.len(), run) {
            std::thread::sleep(pause);
            let ms = commands[i].run_once(run)?;
            if run >= warmup {
                samples[i].push(ms);
            }
        }
    }
    Ok(Timings {
        series: commands
            .iter()
            .zip(samples)
            .map(|(c, s)| Series::new(&c.name, s).of(c.argv.join(" ")))
            .collect(),
    })
}

/// The order of the `n` commands in round `run`.
fn round(n: usize, run: usize) -> impl Iterator<Item = usize> {
    let reversed = run % 2 == 1;
    (0..n).map(move |i| if reversed && i > 0 { n - i } else { i })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_words() {
        let t: Timed = "runc=runc run --bundle /b {id}".parse().unwrap();
        assert_eq!(t.name, "runc");
        assert_eq!(t.argv, ["runc", "run", "--bundle", "/b", "{id}"]);
        assert!("runc".parse::<Timed>().is_err());
        assert!("=true".parse::<Timed>().is_err());
        assert!("x=  ".parse::<Timed>().is_err());
    }

    #[test]
    fn ids_differ_per_run_and_command() {
        let a: Timed = "a=echo {id}".parse().unwrap();
        let b: Timed = "b=echo {id}".parse().unwrap();
        assert_ne!(a.argv_for(0), a.argv_for(1));
        assert_ne!(a.argv_for(0)[1], b.argv_for(0)[1]);
        assert!(!a.argv_for(0)[1].contains('{'));
    }

    #[test]
    fn each_command_follows_each_other_alike() {
        for n in [2, 3] {
            let order: Vec<usize> = (0..12).flat_map(|run| round(n, run)).collect();
            for a in 0..n {
                for b in 0..n {
                    let follows = order.windows(2).filter(|w| w == &[a, b]).count();
                    // 12 rounds: 12n - 1 pairs, over n(n - 1) ordered pairs.
                    let expected = (12 * n) / (n * (n - 1));
                    match a == b {
                        true => assert_eq!(follows, 0, "{a} after itself, n = {n}"),
                        false => assert!(
                            follows.abs_diff(expected) <= 1,
                            "{b} after {a}: {follows} times, n = {n}"
                        ),
                    }
                }
            }
        }
        assert_eq!(round(3, 1).collect::<Vec<_>>(), [0, 2, 1]);
    }

    #[test]
    fn times_in_turn_and_reports_failures() {
        let ok: Timed = "ok=true".parse().unwrap();
        let timings = time(&[ok.clone(), ok], 1, 3, Duration::ZERO).unwrap();
        assert_eq!(timings.series.len(), 2);
        assert_eq!(timings.series[0].samples_ms.len(), 3);
        let bad: Timed = "bad=sh -c exit".parse().unwrap();
        assert!(time(&[bad], 0, 1, Duration::ZERO).is_ok());
        let bad: Timed = "bad=false".parse().unwrap();
        let err = time(&[bad], 0, 1, Duration::ZERO).unwrap_err().to_string();
        assert!(err.starts_with("false (run 0) failed"), "{err}");
    }
}
