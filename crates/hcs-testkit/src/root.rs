//! Whether this machine can run systems.

use std::fs;

/// Why this machine cannot run systems, if it cannot: the Linux compute
/// service needs root (namespaces, mounts, cgroups) and overlayfs.
pub fn cannot_run() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("the Linux compute service needs root (namespaces, mounts, cgroups)".into());
    }
    if !fs::read_to_string("/proc/filesystems")
        .unwrap_or_default()
        .contains("overlay")
    {
        return Some("the kernel has no overlayfs".into());
    }
    None
}

/// Fails the calling test unless this machine can run systems. Tests that
/// call it are marked `#[ignore = "needs root"]`, so that a plain `cargo
/// test` lists them as ignored rather than passed; `cargo test --
/// --include-ignored`, as root, runs them, and there a test that cannot run
/// fails.
pub fn require_root() {
    if let Some(why) = cannot_run() {
        panic!("{why}: run this test as root (cargo test -- --include-ignored)");
    }
}
