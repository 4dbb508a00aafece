//! The holder's start: the bootstrap message, the cgroups, the root, the
//! ready report, then the event loop.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use hcsrun_shim_protocol::{
    message::{Bootstrap, Ready, WireError, BOOTSTRAP_FD},
    wire,
};

use nix::{
    fcntl::{fcntl, open, FcntlArg, FdFlag, OFlag},
    sys::stat::Mode,
};

use crate::{cgroups, cgroups::Join, cleanup::Cleanup, holder::Holder, setup};

/// The holder's `main`.
pub fn main() -> ! {
    match run() {
        Ok(never) => match never {},
        Err(e) => {
            // The service's log is shared by every holder: name the system.
            let id = std::env::args().nth(1).unwrap_or_default();
            eprintln!("hcsrun-shim {id}: {e}");
            std::process::exit(1)
        }
    }
}

enum Never {}

fn run() -> Result<Never, String> {
    // The holder is the container's pid 1 and keeps descriptors of the
    // host's runtime directory: not dumpable, its /proc/1/fd, mem and the
    // like need CAP_SYS_PTRACE, which the container's processes lack.
    // SAFETY: a plain prctl.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } < 0 {
        return Err(format!(
            "making the holder undumpable: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: the service hands the bootstrap socket over as fd 3.
    let boot = unsafe { OwnedFd::from_raw_fd(BOOTSTRAP_FD) };
    fcntl(&boot, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(|e| format!("fd {BOOTSTRAP_FD} is not the bootstrap socket ({e}); hcsrun-shim is started by the hcsrun compute service"))?;
    let message = wire::recv_message(boot.as_fd())
        .map_err(|e| format!("reading the bootstrap message: {e}"))?
        .ok_or("no bootstrap message")?;
    let bootstrap: Bootstrap = message
        .decode()
        .map_err(|e| format!("bootstrap message: {e}"))?;
    let mut fds = message.fds.into_iter();
    let mut take = |n: usize, what: &str| -> Result<Vec<OwnedFd>, String> {
        let taken: Vec<OwnedFd> = fds.by_ref().take(n).collect();
        if taken.len() == n {
            Ok(taken)
        } else {
            Err(format!("bootstrap message lacks {what}"))
        }
    };
    let listener = take(1, "the listening socket")?.remove(0);
    let runtime_dir = take(1, "the runtime directory")?.remove(0);
    let cgroup_procs = take(bootstrap.cgroups, "cgroup.procs descriptors")?;
    // The holder must outlive whatever the memory limit kills.
    let _ = std::fs::write("/proc/self/oom_score_adj", "-1000");

    // The holder joins the system's cgroups once and every process is born
    // in them; without limits to enforce, the join goes on in the
    // background (see cgroups.rs).
    let join = if bootstrap.join_cgroups_at_start {
        cgroups::join_now(&cgroup_procs).map(|()| Join::Done)
    } else {
        Join::start(cgroup_procs)
    };
    let prepared = join
        .map_err(|e| WireError {
            code: hcs::ErrorCode::ACCESS_IS_DENIED.0,
            message: format!("joining the system's cgroups: {e}"),
        })
        .and_then(|join| {
            setup::prepare(
                &bootstrap.id,
                std::path::Path::new(&bootstrap.system_dir),
                &bootstrap.config,
                bootstrap.shared_network,
            )
            .map(|()| join)
        })
        .and_then(|join| {
            open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
                .map(|devnull| (devnull, join))
                .map_err(|e| WireError {
                    code: hcs::ErrorCode::FILE_NOT_FOUND.0,
                    message: format!("opening /dev/null: {e}"),
                })
        });
    let (devnull, join) = match prepared {
        Ok(prepared) => prepared,
        Err(err) => {
            let _ = wire::send(boot.as_fd(), &Ready::Failed(err.clone()), &[]);
            return Err(err.message);
        }
    };
    wire::send(boot.as_fd(), &Ready::Ok, &[]).map_err(|e| format!("reporting ready: {e}"))?;

    let cleanup = Cleanup {
        id: bootstrap.id,
        runtime_id: bootstrap.runtime_id,
        runtime_dir,
    };
    let holder = Holder::new(
        boot,
        listener,
        devnull,
        join,
        bootstrap.config.terminate_on_last_handle_closed,
        cleanup,
    )
    .map_err(|e| format!("starting the event loop: {e}"))?;
    holder.run()
}
