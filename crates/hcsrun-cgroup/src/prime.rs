//! Taking the first cgroup migration's wait off a container's start.
//!
//! Moving a process into a cgroup (a write to `cgroup.procs`) takes the
//! kernel's `cgroup_threadgroup_rwsem` for writing. Unless the kernel runs
//! with `favordynmods`, the first such write after a spell without any
//! waits for a whole RCU grace period (8–16 ms measured on a 2-core VM,
//! more than the rest of a container's start); writes within about one
//! grace period of another do not wait. Every container start moves its
//! pid 1 into its cgroups, so that wait sat on the start path.
//!
//! [`start_grace_period`] begins it early, in parallel with the work that
//! comes before the first real move: a plain thread writes `0` (the writer
//! itself) into the `cgroup.procs` of a cgroup the process is already in.
//! Nothing moves; the kernel still takes the lock, so the grace period
//! starts then, and a move that comes while it runs waits only for what is
//! left of it.
//!
//! On cgroup v1 there is nothing to begin: every process joins its cgroups
//! itself through `tasks` ([`crate::join_file`]), which takes no global
//! lock, and a priming write would only hold `cgroup_mutex`, which those
//! joins need, through the grace period.

use std::{fs, path::PathBuf, thread};

use crate::Hierarchies;

/// Starts the grace period the first `cgroup.procs` write after a quiet
/// spell waits for, on a plain thread that is left to end by itself
/// (within one grace period). Does nothing on cgroup v1 (see above) and
/// where no cgroup of this process can be found or written (not root, no
/// cgroup file system).
/// Not for a process that forks without exec afterwards (`hcsrun-oci`):
/// the thread may hold the allocator's lock at the fork.
pub fn start_grace_period() {
    let Some(procs) = own_procs_file() else {
        return;
    };
    // The thread ends once the kernel has taken and let go of the lock;
    // an error (EACCES, a cgroup removed meanwhile) only means no head
    // start.
    let _ = thread::Builder::new()
        .name("cgroup-prime".into())
        .spawn(move || {
            // Only a cgroup that lists this process: a path read through a
            // cgroup namespace or a nested mount may name another one, and
            // the write would move the process there.
            let me = std::process::id().to_string();
            let listed = fs::read_to_string(&procs).is_ok_and(|t| t.lines().any(|l| l == me));
            if listed {
                let _ = fs::write(&procs, "0");
            }
        });
}

/// `cgroup.procs` of the cgroup v2 this process is in; none on v1.
fn own_procs_file() -> Option<PathBuf> {
    let Hierarchies::V2(root) = Hierarchies::get().ok()? else {
        return None;
    };
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let procs = root.join(rel.trim_start_matches('/')).join("cgroup.procs");
    // Not a path of this mount namespace (a cgroup namespace's view).
    procs.exists().then_some(procs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_procs_file_lists_this_process() {
        // Where no cgroup file system is mounted there is nothing to find.
        let Some(procs) = own_procs_file() else {
            // On v1 there is nothing to prime; where no cgroup file system
            // is mounted there is nothing to find.
            assert!(
                !matches!(Hierarchies::get(), Ok(Hierarchies::V2(_))),
                "cgroup v2 is mounted, no cgroup of this process found"
            );
            return;
        };
        let listed = fs::read_to_string(&procs).unwrap();
        let me = std::process::id().to_string();
        assert!(
            listed.lines().any(|l| l == me),
            "{} does not list this process",
            procs.display()
        );
    }
}
