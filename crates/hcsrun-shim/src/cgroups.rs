//! The system's cgroups, as the holder sees them from outside: it moves the
//! system's pid 1 in, reads whether the OOM killer struck, and removes them
//! once the system has stopped. Every later process joins by itself before
//! it runs anything (`exec.rs`), so nothing of the container ever runs
//! outside them, and nothing of the holder ever runs inside.

use std::{
    fs::{self, File},
    io::{self, Write},
    os::fd::OwnedFd,
    path::PathBuf,
    thread,
    time::Duration,
};

/// The system's cgroups: one directory and one `cgroup.procs` per
/// hierarchy.
pub struct Cgroups {
    pub dirs: Vec<PathBuf>,
    /// `cgroup.procs` of each, open for writing.
    pub procs: Vec<OwnedFd>,
}

impl Cgroups {
    /// Moves process `pid` into every cgroup.
    pub fn add(&self, pid: u32) -> io::Result<()> {
        write_each(&self.procs, &pid.to_string())
    }

    /// How many times the memory cgroup's OOM killer killed a process:
    /// `oom_kill` in `memory.oom_control` (v1) or `memory.events` (v2).
    pub fn oom_kills(&self) -> u64 {
        self.dirs
            .iter()
            .flat_map(|d| [d.join("memory.oom_control"), d.join("memory.events")])
            .filter_map(|file| fs::read_to_string(file).ok())
            .filter_map(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse::<u64>().ok())
            })
            .sum()
    }

    /// Removes the cgroups, retrying for about 3 s while exiting processes
    /// leave them; those already gone are removed.
    pub fn remove(&self) -> io::Result<()> {
        let mut result = Ok(());
        for dir in &self.dirs {
            if let Err(e) = remove_dir_retrying(dir) {
                result = Err(io::Error::new(
                    e.kind(),
                    format!("removing {}: {e}", dir.display()),
                ));
            }
        }
        result
    }
}

/// Writes `text` to each `cgroup.procs` (`0` moves the writer itself).
pub fn write_each(procs: &[OwnedFd], text: &str) -> io::Result<()> {
    for fd in procs {
        File::from(fd.try_clone()?).write_all(text.as_bytes())?;
    }
    Ok(())
}

fn remove_dir_retrying(dir: &PathBuf) -> io::Result<()> {
    let mut delay = Duration::from_micros(200);
    for _ in 0..14 {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    match fs::remove_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kills_are_read_from_either_version() {
        let root = std::env::temp_dir().join(format!("hcs-oom-{}", uuid::Uuid::new_v4()));
        let (v1, v2) = (root.join("v1"), root.join("v2"));
        fs::create_dir_all(&v1).unwrap();
        fs::create_dir_all(&v2).unwrap();
        fs::write(
            v1.join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        fs::write(
            v2.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .unwrap();
        let cgroups = Cgroups {
            dirs: vec![v1, v2, root.join("gone")],
            procs: Vec::new(),
        };
        assert_eq!(cgroups.oom_kills(), 3);
        fs::remove_dir_all(&root).unwrap();
    }
}
