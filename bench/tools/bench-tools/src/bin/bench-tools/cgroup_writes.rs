//! What moving a process into a cgroup costs: a `cgroup.procs` write after
//! the cgroups were left alone for a while ("idle") and right after another
//! ("hot"), with the writer's kernel stack sampled during idle writes.
//!
//! Every container start moves its first process into its cgroups (runc's
//! and hcsrun's alike), so this is a floor under both.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};

use bench_tools::series::{CgroupWrites, Series, Timings};

/// Measures `runs` idle writes (each after `idle` without any) and as many
/// hot ones, in the `pids` hierarchy of cgroup v1, or the unified one.
pub fn measure(runs: usize, idle: Duration) -> anyhow::Result<CgroupWrites> {
    let mount = hierarchy()?;
    let parent = mount.join(format!("hcsrun-bench-writes-{}", std::process::id()));
    let cgroups = [parent.join("a"), parent.join("b")];
    for dir in &cgroups {
        fs::create_dir_all(dir).with_context(|| format!("creating cgroup {}", dir.display()))?;
    }
    let mut child = Command::new("sleep")
        .arg("1000000")
        .stdin(Stdio::null())
        .spawn()
        .context("starting sleep")?;
    let measured = writes(child.id(), &cgroups, runs, idle);
    let removed = remove(&mut child, &parent, &cgroups);
    let (timings, stacks) = measured?;
    removed?;
    Ok(CgroupWrites {
        hierarchy: mount.display().to_string(),
        idle_ms: idle.as_millis() as u64,
        timings,
        stacks,
    })
}

type Stacks = Vec<(usize, String)>;

fn writes(
    pid: u32,
    cgroups: &[PathBuf; 2],
    runs: usize,
    idle: Duration,
) -> anyhow::Result<(Timings, Stacks)> {
    let sampler = Sampler::start();
    let (mut idle_ms, mut hot_ms) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        thread::sleep(idle);
        idle_ms.push(sampler.sampled(|| move_to(pid, &cgroups[0]))?);
        hot_ms.push(move_to(pid, &cgroups[1])?);
    }
    let stacks = sampler.stop();
    let timings = Timings {
        series: vec![
            Series::new(CgroupWrites::IDLE, idle_ms),
            Series::new(CgroupWrites::HOT, hot_ms),
        ],
    };
    Ok((timings, stacks))
}

/// Moves `pid` into `cgroup`; returns how long the write took, in ms.
fn move_to(pid: u32, cgroup: &Path) -> anyhow::Result<f64> {
    let procs = cgroup.join("cgroup.procs");
    let text = pid.to_string();
    let t0 = Instant::now();
    fs::write(&procs, &text).with_context(|| format!("writing {text} to {}", procs.display()))?;
    Ok(t0.elapsed().as_secs_f64() * 1e3)
}

fn remove(child: &mut Child, parent: &Path, cgroups: &[PathBuf; 2]) -> anyhow::Result<()> {
    child.kill().context("killing sleep")?;
    child.wait().context("waiting for sleep")?;
    for dir in cgroups.iter().map(PathBuf::as_path).chain([parent]) {
        fs::remove_dir(dir).with_context(|| format!("removing cgroup {}", dir.display()))?;
    }
    Ok(())
}

/// The `pids` hierarchy of cgroup v1, else the unified hierarchy.
fn hierarchy() -> anyhow::Result<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
    let mut unified = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split_whitespace().nth(4);
        let mut right = right.split_whitespace();
        let (fstype, options) = (right.next(), right.nth(1));
        match (fstype, mount_point, options) {
            (Some("cgroup"), Some(dir), Some(opts)) if opts.split(',').any(|o| o == "pids") => {
                return Ok(dir.into())
            }
            (Some("cgroup2"), Some(dir), _) => unified = unified.or(Some(PathBuf::from(dir))),
            _ => {}
        }
    }
    match unified {
        Some(dir) => Ok(dir),
        None => bail!("no cgroup hierarchy with pids, nor a unified one, is mounted"),
    }
}

/// Samples the kernel stack of the calling thread from another thread while
/// a closure runs.
struct Sampler {
    writing: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    thread: thread::JoinHandle<HashMap<String, usize>>,
}

impl Sampler {
    fn start() -> Self {
        let tid = nix::unistd::gettid();
        let writing = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (w, d) = (writing.clone(), done.clone());
        let thread = thread::spawn(move || {
            let path = format!("/proc/self/task/{tid}/stack");
            let mut seen = HashMap::new();
            while !d.load(Ordering::Acquire) {
                if !w.load(Ordering::Acquire) {
                    thread::sleep(Duration::from_micros(200));
                    continue;
                }
                if let Ok(stack) = fs::read_to_string(&path) {
                    let stack = symbols(&stack);
                    if !stack.is_empty() {
                        *seen.entry(stack).or_insert(0) += 1;
                    }
                }
                thread::sleep(Duration::from_micros(100));
            }
            seen
        });
        Self {
            writing,
            done,
            thread,
        }
    }

    fn sampled<T>(&self, f: impl FnOnce() -> T) -> T {
        self.writing.store(true, Ordering::Release);
        let result = f();
        self.writing.store(false, Ordering::Release);
        result
    }

    /// The stacks seen, most frequent first.
    fn stop(self) -> Stacks {
        self.done.store(true, Ordering::Release);
        let seen = self.thread.join().unwrap_or_default();
        let mut stacks: Stacks = seen.into_iter().map(|(s, n)| (n, s)).collect();
        stacks.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        stacks.truncate(5);
        stacks
    }
}

/// `[<0>] rcu_sync_enter+0x5e/0x110` lines → `rcu_sync_enter < ...`, the
/// innermost frame first, offsets dropped.
fn symbols(stack: &str) -> String {
    stack
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|f| f.split('+').next().unwrap_or(f))
        .collect::<Vec<_>>()
        .join(" < ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_read_innermost_first_without_offsets() {
        let stack = "[<0>] rcu_sync_enter+0x5e/0x110\n[<0>] percpu_down_write+0x2a/0x1c0\n";
        assert_eq!(symbols(stack), "rcu_sync_enter < percpu_down_write");
        assert_eq!(symbols(""), "");
    }
}
