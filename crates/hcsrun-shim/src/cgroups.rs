//! Joining the system's cgroups. The first move into a cgroup v1 after
//! the machine was idle waits for an RCU grace period (`rcu_sync_enter` in
//! `cgroup_procs_write_start`: about 5 ms here), so a system without limits
//! joins in the background while it starts: a joiner process moves the
//! holder, after which every new process is born inside, and the holder
//! moves over whatever was started meanwhile. A system with limits joins
//! before anything runs in it.

use std::{
    fs::{self, File},
    io::{self, Read, Write},
    os::fd::{AsRawFd, OwnedFd},
};

use nix::{
    fcntl::OFlag,
    unistd::{fork, pipe2, ForkResult},
};

/// Moves the calling process into the cgroups (`0` is the writer itself).
pub fn join_now(procs: &[OwnedFd]) -> io::Result<()> {
    write_all(procs, "0")
}

fn write_all(procs: &[OwnedFd], pid: &str) -> io::Result<()> {
    for fd in procs {
        File::from(fd.try_clone()?).write_all(pid.as_bytes())?;
    }
    Ok(())
}

/// The state of a background join.
pub enum Join {
    Done,
    /// The joiner (`pid`) runs; `status` reads its report.
    Pending {
        pid: u32,
        status: OwnedFd,
        procs: Vec<OwnedFd>,
    },
    Failed(String),
}

impl Join {
    /// Forks a joiner that moves this process (pid 1 of the system) into
    /// the cgroups and reports on a pipe.
    pub fn start(procs: Vec<OwnedFd>) -> io::Result<Self> {
        let (status, report) = pipe2(OFlag::O_CLOEXEC)?;
        // SAFETY: the holder is single-threaded; the child writes and exits.
        match unsafe { fork() }? {
            ForkResult::Child => {
                let result = write_all(&procs, "1");
                let byte = [u8::from(result.is_err())];
                // SAFETY: a plain write and _exit in the child.
                unsafe {
                    libc::write(report.as_raw_fd(), byte.as_ptr().cast(), 1);
                    libc::_exit(0)
                }
            }
            ForkResult::Parent { child } => Ok(Join::Pending {
                pid: child.as_raw() as u32,
                status,
                procs,
            }),
        }
    }

    /// The joiner's pid while it runs: it is not one of the system's
    /// processes.
    pub fn joiner(&self) -> Option<u32> {
        match self {
            Join::Pending { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    /// The descriptor to wait on while pending.
    pub fn status_fd(&self) -> Option<i32> {
        match self {
            Join::Pending { status, .. } => Some(status.as_raw_fd()),
            _ => None,
        }
    }

    /// Once the joiner has reported: on success, moves every process that
    /// was started before the holder was inside, until none is left.
    pub fn finish(&mut self) {
        let Join::Pending { pid, status, procs } = self else {
            return;
        };
        let mut byte = [1u8];
        let reported = File::from(status.try_clone().expect("dup of a pipe")).read(&mut byte);
        // It exits as soon as it has reported: reap it here, so that it
        // never lingers as one of the system's processes.
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(*pid as i32), None);
        *self = match reported {
            Ok(1) if byte[0] == 0 => match sweep(procs) {
                Ok(()) => Join::Done,
                Err(e) => Join::Failed(format!("moving processes into the system's cgroups: {e}")),
            },
            Ok(1) => Join::Failed("joining the system's cgroups failed".to_owned()),
            _ => Join::Failed("the cgroup joiner ended without a report".to_owned()),
        };
    }
}

/// Moves every process of the system's pid namespace (this holder's
/// `/proc`, the container's own) into the cgroups. A process that was
/// outside may fork before it is moved, so the sweep repeats until a pass
/// finds no new process; children of moved processes are born inside.
fn sweep(procs: &[OwnedFd]) -> io::Result<()> {
    sweep_with(procs, || {
        Ok(fs::read_dir("/proc")?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .collect())
    })
}

/// [`sweep`] over the processes `list` names each time it is called.
fn sweep_with(procs: &[OwnedFd], mut list: impl FnMut() -> io::Result<Vec<u32>>) -> io::Result<()> {
    let mut moved: Vec<u32> = Vec::new();
    for _ in 0..100 {
        let new: Vec<u32> = list()?
            .into_iter()
            .filter(|pid| *pid != 1 && !moved.contains(pid))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        for pid in new {
            // A process that exited meanwhile cannot be moved: fine.
            match write_all(procs, &pid.to_string()) {
                Err(e) if e.raw_os_error() != Some(libc::ESRCH) => return Err(e),
                _ => moved.push(pid),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Seek;

    use super::*;

    #[test]
    fn the_sweep_repeats_until_no_new_process_appears() {
        // Each "cgroup.procs" is a plain file here; the listing grows as a
        // process outside forks before it is moved.
        let files: Vec<File> = (0..2).map(|_| tempfile()).collect();
        let procs: Vec<OwnedFd> = files
            .iter()
            .map(|f| f.try_clone().unwrap().into())
            .collect();
        let mut listings = vec![
            vec![1, 2, 3],
            vec![1, 2, 3, 4],
            vec![1, 2, 3, 4, 5],
            vec![1, 2, 3, 4, 5],
        ]
        .into_iter();
        let mut calls = 0;
        sweep_with(&procs, || {
            calls += 1;
            Ok(listings.next().unwrap())
        })
        .unwrap();
        assert_eq!(calls, 4, "until a pass finds nothing new");
        for mut file in files {
            let mut written = String::new();
            file.rewind().unwrap();
            file.read_to_string(&mut written).unwrap();
            // Every process but the holder (1), each moved once.
            assert_eq!(written, "2345");
        }
    }

    fn tempfile() -> File {
        let path = std::env::temp_dir().join(format!("hcs-sweep-{}", uuid::Uuid::new_v4()));
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        fs::remove_file(&path).unwrap();
        file
    }
}
