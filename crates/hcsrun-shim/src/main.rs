//! The holder of a running system of the Linux compute service. Started by
//! the service, never by hand.

#[cfg(target_os = "linux")]
fn main() {
    hcsrun_shim::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("hcsrun-shim runs on Linux only");
    std::process::exit(1);
}
