//! `containerd-shim-hcsrun-v1`: containerd's runtime v2 shim for hcsrun
//! (`io.containerd.hcsrun.v1`, task API v2 as containerd 1.6/1.7 speak it).
//!
//! containerd runs this binary three ways (cwd = the container's bundle):
//!   * `... -id ID start`: prints the ttrpc address of a (new or grouped)
//!     shim daemon and exits;
//!   * `... -socket ADDR`: the daemon, serving the Task service; it embeds
//!     hcsrun's client over the Linux compute service, so containers run
//!     exactly as `hcsrun` runs them;
//!   * `... -id ID -bundle B delete`: cleanup after a dead daemon.
//!
//! See "containerd: the shim" in docs/ARCHITECTURE.md.

#[cfg(target_os = "linux")]
mod backend;
#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod container;
#[cfg(target_os = "linux")]
mod error;
#[cfg(target_os = "linux")]
mod events;
#[cfg(target_os = "linux")]
mod namespaces;
#[cfg(target_os = "linux")]
mod oom;
#[cfg(target_os = "linux")]
mod rootfs;
#[cfg(target_os = "linux")]
mod service;
#[cfg(target_os = "linux")]
mod signal;
#[cfg(target_os = "linux")]
mod stats;
#[cfg(target_os = "linux")]
mod stdio;
#[cfg(target_os = "linux")]
mod task;
#[cfg(target_os = "linux")]
mod tasks;
#[cfg(target_os = "linux")]
mod trace;

/// The runtime name users give to `ctr run --runtime` / CRI's `runtime_type`.
pub const RUNTIME_ID: &str = "io.containerd.hcsrun.v1";

#[cfg(target_os = "linux")]
fn main() {
    // `-v`: the async bootstrap of containerd-shim 0.11 parses it but does
    // not act on it.
    if std::env::args()
        .skip(1)
        .any(|a| a == "-v" || a == "-version" || a == "--version")
    {
        println!(
            "{}:\n  Version: {}\n  Runtime: {}",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            RUNTIME_ID
        );
        return;
    }
    // One thread: the daemon idles with hundreds of its kind (one per
    // container); blocking work goes to tokio's blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    runtime.block_on(async {
        let config = containerd_shim::Config {
            // hcs-linux reaps the holders it launches through pidfds; a
            // reaper of any child (waitpid(-1)) would steal their exits.
            no_reaper: true,
            ..Default::default()
        };
        containerd_shim::asynchronous::run::<service::HcsrunShim>(RUNTIME_ID, Some(config)).await;
    });
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("containerd-shim-hcsrun-v1 runs Linux containers: Linux only");
    std::process::exit(1);
}
