//! `hcsrun-oci`: runc's command line over hcsrun's Linux containers, so
//! that podman, docker and containerd's runc shim drive them (issue 16).
//!
//! Caller mode ("The process model" in `docs/ARCHITECTURE.md`): no holder.
//! `create` runs hcsrun-shim's container code in-process (pid 1 in a new
//! pid namespace, the root, the Linux spec) and leaves pid 1 parked on the
//! exec FIFO, to be reaped by the caller once this program exits.
//! Synchronous and single-threaded: no async runtime.

#[cfg(target_os = "linux")]
mod args;
#[cfg(target_os = "linux")]
mod cli;
#[cfg(target_os = "linux")]
mod console;
#[cfg(target_os = "linux")]
mod create;
#[cfg(target_os = "linux")]
mod exec;
#[cfg(target_os = "linux")]
mod hooks;
#[cfg(target_os = "linux")]
mod info;
#[cfg(target_os = "linux")]
mod log;
#[cfg(target_os = "linux")]
mod ops;
#[cfg(target_os = "linux")]
mod preserve;
#[cfg(target_os = "linux")]
mod relay;
#[cfg(target_os = "linux")]
mod resources;
#[cfg(target_os = "linux")]
mod state;

#[cfg(target_os = "linux")]
fn main() {
    // Before anything is opened: which descriptors the caller passed.
    preserve::note_inherited();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(cli::main(argv));
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("hcsrun-oci runs Linux containers: Linux only");
    std::process::exit(1);
}
