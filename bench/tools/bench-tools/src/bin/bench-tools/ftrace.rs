//! A command's timeline from the kernel's own tracepoints: its processes'
//! forks, execs, exits and cgroup moves, and chosen system calls with how
//! long each took. Recorded in a private tracefs instance, in the kernel,
//! so the command runs at nearly full speed (strace stops it at every
//! traced call).

use std::{
    collections::HashMap,
    fmt::Write,
    fs, io,
    path::PathBuf,
    process::{Command, Stdio},
};

use anyhow::{bail, Context};

const TRACEFS: &str = "/sys/kernel/tracing";

/// The system calls traced, besides process events.
pub const SYSCALLS: &[&str] = &[
    "clone",
    "clone3",
    "vfork",
    "execve",
    "exit_group",
    "wait4",
    "waitid",
    "mount",
    "umount2",
    "pivot_root",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlinkat",
    "unshare",
    "setns",
    "sendmsg",
    "recvmsg",
    "write",
    "sethostname",
    "epoll_wait",
    "poll",
    "ppoll",
    "splice",
    "openat2",
];

const PROCESS_EVENTS: &[&str] = &[
    "sched/sched_process_fork",
    "sched/sched_process_exec",
    "sched/sched_process_exit",
    "cgroup/cgroup_attach_task",
];

/// A tracefs instance of this process's, removed when dropped.
struct Instance {
    dir: PathBuf,
}

impl Instance {
    fn create() -> anyhow::Result<Self> {
        let dir = PathBuf::from(TRACEFS)
            .join("instances")
            .join(format!("hcsrun-bench-{}", std::process::id()));
        fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self { dir })
    }

    fn set(&self, file: &str, value: &str) -> anyhow::Result<()> {
        let path = self.dir.join(file);
        fs::write(&path, value).with_context(|| format!("writing {value} to {}", path.display()))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.set("tracing_on", "0");
        let _ = self.set("events/enable", "0");
        let _ = fs::remove_dir(&self.dir);
    }
}

/// Runs `argv` with this process and its descendants traced, its stdout
/// read to the end through a pipe (as a consumer would) and its other
/// stdio at /dev/null; returns the trace as tracefs prints it.
pub fn record(argv: &[String]) -> anyhow::Result<String> {
    let instance = Instance::create()?;
    instance.set("buffer_size_kb", "8192")?;
    instance.set("options/event-fork", "1")?;
    for event in PROCESS_EVENTS {
        instance.set(&format!("events/{event}/enable"), "1")?;
    }
    for call in SYSCALLS {
        for side in ["enter", "exit"] {
            // A call this kernel lacks (vfork on some arches) is left out.
            let _ = instance.set(&format!("events/syscalls/sys_{side}_{call}/enable"), "1");
        }
    }
    instance.set("set_event_pid", &std::process::id().to_string())?;
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("running {}", argv[0]))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    io::copy(&mut stdout, &mut io::sink())
        .with_context(|| format!("reading the output of {}", argv[0]))?;
    let status = child
        .wait()
        .with_context(|| format!("waiting for {}", argv[0]))?;
    instance.set("tracing_on", "0")?;
    if !status.success() {
        bail!("{} failed ({status})", argv.join(" "));
    }
    let trace = instance.dir.join("trace");
    fs::read_to_string(&trace).with_context(|| format!("reading {}", trace.display()))
}

/// One event of the trace.
struct Event<'a> {
    comm: &'a str,
    pid: u32,
    /// Seconds, the trace clock's.
    at: f64,
    name: &'a str,
    detail: &'a str,
}

fn parse(line: &str) -> Option<Event<'_>> {
    let (task, rest) = line.split_once(" [")?;
    let (comm, pid) = task.trim().rsplit_once('-')?;
    let (_cpu_flags, rest) = rest.split_once("] ")?;
    let rest = rest.trim_start();
    let (_flags, rest) = rest.split_once(' ')?;
    let (at, rest) = rest.trim_start().split_once(": ")?;
    // "sys_mount(...)", "sys_mount -> 0x0", or "sched_process_exec: ...".
    let (name, detail) = match rest.split_once(": ") {
        Some((name, detail)) if !name.contains('(') && !name.contains(' ') => (name, detail),
        _ => match rest.find(['(', ' ']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    Some(Event {
        comm,
        pid: pid.parse().ok()?,
        at: at.parse().ok()?,
        name,
        detail: detail.trim(),
    })
}

/// One line of the rendered timeline.
struct Row {
    at: f64,
    took: Option<f64>,
    task: String,
    what: String,
}

/// The timeline of a trace, without the events of process `skip` (the
/// recorder), then the processes' lives and where system call time went.
pub fn render(trace: &str, skip: u32) -> anyhow::Result<String> {
    let events: Vec<Event> = trace
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(parse)
        .filter(|e| e.pid != skip)
        .collect();
    let Some(t0) = events.first().map(|e| e.at) else {
        bail!("the trace holds no events");
    };
    let ms = |at: f64| (at - t0) * 1e3;
    let mut rows = Vec::new();
    let mut open: HashMap<u32, (f64, &str, String)> = HashMap::new();
    let mut lives: Vec<(u32, String, f64, f64)> = Vec::new();
    let mut totals: HashMap<(String, String), (f64, usize)> = HashMap::new();
    for e in &events {
        let task = format!("{}/{}", e.comm, e.pid);
        match lives.iter_mut().find(|l| l.0 == e.pid) {
            Some(life) => {
                life.1 = e.comm.to_owned();
                life.3 = ms(e.at);
            }
            None => lives.push((e.pid, e.comm.to_owned(), ms(e.at), ms(e.at))),
        }
        if let Some(call) = e.name.strip_prefix("sys_") {
            if let Some(result) = e.detail.strip_prefix("-> ") {
                if let Some((start, name, args)) = open.remove(&e.pid) {
                    let took = ms(e.at) - ms(start);
                    let total = totals
                        .entry((e.comm.to_owned(), name.to_owned()))
                        .or_default();
                    total.0 += took;
                    total.1 += 1;
                    rows.push(Row {
                        at: ms(start),
                        took: Some(took),
                        task,
                        what: format!("{name}{args} = {result}"),
                    });
                }
            } else {
                open.insert(e.pid, (e.at, call, e.detail.to_owned()));
            }
            continue;
        }
        let what = match e.name {
            "sched_process_fork" => format!("fork: {}", e.detail),
            "sched_process_exec" => format!("exec: {}", e.detail),
            "sched_process_exit" => "exit".to_owned(),
            "cgroup_attach_task" => format!("cgroup attach: {}", e.detail),
            other => format!("{other}: {}", e.detail),
        };
        rows.push(Row {
            at: ms(e.at),
            took: None,
            task,
            what,
        });
    }
    // Calls still in progress when the trace ended (the recorder's wait).
    for (pid, (start, name, args)) in open {
        rows.push(Row {
            at: ms(start),
            took: None,
            task: format!("?/{pid}"),
            what: format!("{name}{args} (unfinished)"),
        });
    }
    rows.sort_by(|a, b| a.at.total_cmp(&b.at));

    let mut out = String::from("    at(ms)   took(ms)  process             event\n");
    for row in &rows {
        let took = row.took.map_or(String::new(), |t| format!("{t:.3}"));
        let what: String = row.what.chars().take(120).collect();
        writeln!(out, "{:10.3} {took:>10}  {:<19} {what}", row.at, row.task)?;
    }
    out += "\n";
    out += &summary(&lives, &totals)?;
    Ok(out)
}

fn summary(
    lives: &[(u32, String, f64, f64)],
    totals: &HashMap<(String, String), (f64, usize)>,
) -> anyhow::Result<String> {
    let mut out = String::from("Processes (first and last event, ms from the first):\n");
    for (pid, comm, first, last) in lives {
        writeln!(
            out,
            "  {comm}/{pid}: {first:.3} – {last:.3} ({:.3} ms)",
            last - first
        )?;
    }
    let mut totals: Vec<_> = totals.iter().collect();
    totals.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    out += "\nTime in the traced system calls, by process name and call (top 15):\n";
    for ((comm, call), (ms, n)) in totals.into_iter().take(15) {
        writeln!(out, "  {ms:8.3} ms  {n:4} × {call:<12} {comm}")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "\
# tracer: nop
            bash-22173   [000] ..... 100.000000: sys_clone(clone_flags: 0x1200011, newsp: 0)
            bash-22173   [000] ..... 100.000100: sched_process_fork: comm=bash pid=22173 child_comm=bash child_pid=22176
            bash-22173   [000] ..... 100.000200: sys_clone -> 0x56a0
     hcsrun-shim-22177   [001] ..... 100.001000: sys_mount(dev_name: 0, dir_name: 0x7fff)
     hcsrun-shim-22178   [000] d..1. 100.001100: cgroup_attach_task: dst_root=1 dst_path=/hcsrun/b4 pid=22177 comm=hcsrun-shim
     hcsrun-shim-22177   [001] ..... 100.001500: sys_mount -> 0x0
     hcsrun-shim-22178   [000] ..... 100.002000: sched_process_exit: comm=hcsrun-shim pid=22178 prio=120
            self-1       [000] ..... 100.003000: sys_wait4(upid: -1)
";

    #[test]
    fn parses_tasks_with_dashes_and_both_event_shapes() {
        let e = parse("     hcsrun-shim-22177   [001] ..... 100.001500: sys_mount -> 0x0").unwrap();
        assert_eq!(
            (e.comm, e.pid, e.name, e.detail),
            ("hcsrun-shim", 22177, "sys_mount", "-> 0x0")
        );
        let e = parse(TRACE.lines().nth(2).unwrap()).unwrap();
        assert_eq!(e.name, "sched_process_fork");
        assert!(e.detail.starts_with("comm=bash"));
        assert!(parse("# tracer: nop").is_none());
    }

    #[test]
    fn pairs_calls_and_sums_them() {
        let text = render(TRACE, 1).unwrap();
        assert!(
            text.contains("     1.000      0.500  hcsrun-shim/22177   mount(dev_name: 0, dir_name: 0x7fff) = 0x0"),
            "{text}"
        );
        assert!(text.contains("cgroup attach: dst_root=1"), "{text}");
        assert!(
            text.contains("     0.500 ms     1 × mount        hcsrun-shim"),
            "{text}"
        );
        assert!(!text.contains("self/1"), "{text}");
    }
}
