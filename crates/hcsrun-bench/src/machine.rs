//! The machine and software a run measured, recorded when it starts.

use std::{fs, process::Command};

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Machine {
    pub date: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub memory: String,
    pub kernel: String,
    pub cgroups: String,
    pub commit: String,
    pub runc: String,
    pub busybox: String,
    pub rustc: String,
    /// `/proc/loadavg` when the measurements began.
    pub load_before: String,
}

impl Machine {
    /// Reads this machine's facts now.
    pub fn read() -> anyhow::Result<Self> {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").context("reading /proc/cpuinfo")?;
        let meminfo = fs::read_to_string("/proc/meminfo").context("reading /proc/meminfo")?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
        Ok(Self {
            date: output("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"]),
            cpu_model: field(&cpuinfo, "model name")
                .unwrap_or("unknown")
                .to_owned(),
            cpus: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count(),
            memory: field(&meminfo, "MemTotal").map_or("unknown".into(), gib),
            kernel: output("uname", &["-r"]),
            cgroups: cgroup_mode(&mountinfo),
            commit: commit(),
            runc: output("runc", &["--version"])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            busybox: output("busybox", &[])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            rustc: output("rustc", &["--version"]),
            load_before: load(),
        })
    }
}

/// `24683656 kB` as `23.5 GiB`.
fn gib(kib: &str) -> String {
    match kib.trim_end_matches("kB").trim().parse::<f64>() {
        Ok(k) => format!("{:.1} GiB", k / (1024.0 * 1024.0)),
        Err(_) => kib.to_owned(),
    }
}

/// `/proc/loadavg`'s three averages.
pub fn load() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// The first value of `name` in a `name : value` file.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        (key.trim() == name).then(|| value.trim())
    })
}

/// What a program printed, trimmed; what went wrong if it did.
fn output(program: &str, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Err(e) => format!("{program}: {e}"),
    }
}

/// The commit measured, marked when the tree has changes.
fn commit() -> String {
    let head = output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    if dirty {
        format!("{head} + uncommitted changes")
    } else {
        head
    }
}

/// v2, v1, or v1 with an (empty) unified hierarchy beside it.
fn cgroup_mode(mountinfo: &str) -> String {
    let fstype_at = |point: &str| {
        mountinfo.lines().find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (left.split_whitespace().nth(4)? == point)
                .then(|| right.split_whitespace().next())
                .flatten()
        })
    };
    match (
        fstype_at("/sys/fs/cgroup"),
        fstype_at("/sys/fs/cgroup/unified"),
    ) {
        (Some("cgroup2"), _) => "v2 (unified)".into(),
        (_, Some("cgroup2")) => "v1 (hybrid: v1 controllers, unified hierarchy unused)".into(),
        (Some(_), _) => "v1".into(),
        (None, _) => "unknown (/sys/fs/cgroup is not mounted)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_by_name() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC\n";
        assert_eq!(field(cpuinfo, "model name"), Some("AMD EPYC"));
        assert_eq!(field(cpuinfo, "flags"), None);
        assert_eq!(gib("24683656 kB"), "23.5 GiB");
    }

    #[test]
    fn cgroup_modes() {
        let line = |point: &str, fstype: &str| {
            format!("30 23 0:26 / {point} rw,nosuid - {fstype} {fstype} rw\n")
        };
        let v2 = line("/sys/fs/cgroup", "cgroup2");
        assert_eq!(cgroup_mode(&v2), "v2 (unified)");
        let hybrid = line("/sys/fs/cgroup", "tmpfs") + &line("/sys/fs/cgroup/unified", "cgroup2");
        assert!(cgroup_mode(&hybrid).starts_with("v1 (hybrid"));
        assert_eq!(cgroup_mode(&line("/sys/fs/cgroup", "tmpfs")), "v1");
    }
}
