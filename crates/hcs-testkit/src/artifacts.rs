//! The programs tests run: the holder (`hcsrun-shim`), `libvmcompute.so`
//! and the `hcsrun` command.
//!
//! Cargo builds a package's own binaries before its tests, but not another
//! package's, and never a `cdylib` (`libvmcompute.so` is one). So the first
//! test of a process that asks for any of them builds all three with the
//! cargo that runs the tests (`cargo build -p hcsrun-shim -p
//! vmcompute-linux -p hcsrun-cli`, in the tests' profile): a test never
//! runs a stale program, and a plain `cargo test` works from a clean tree.
//! A test program run by hand (no `$CARGO`) uses what was built before.
//! `$HCSRUN_SHIM` and `$HCSRUN_VMCOMPUTE_LIB` name other files to use.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

/// The holder's file name.
pub const SHIM_FILE: &str = "hcsrun-shim";
/// `libvmcompute.so`'s file name.
pub const LIBRARY_FILE: &str = "libvmcompute.so";
/// Names the library to load instead of the one cargo builds.
pub const LIBRARY_ENV: &str = "HCSRUN_VMCOMPUTE_LIB";
/// Names the holder to start instead of the one cargo builds.
pub const SHIM_ENV: &str = "HCSRUN_SHIM";

/// The holder binary: `$HCSRUN_SHIM`, else cargo's.
pub fn shim() -> PathBuf {
    env::var_os(SHIM_ENV).map_or_else(|| built(SHIM_FILE), PathBuf::from)
}

/// `libvmcompute.so`: `$HCSRUN_VMCOMPUTE_LIB`, else cargo's.
pub fn vmcompute_library() -> PathBuf {
    env::var_os(LIBRARY_ENV).map_or_else(|| built(LIBRARY_FILE), PathBuf::from)
}

/// The `hcsrun` command, cargo's.
pub fn hcsrun() -> PathBuf {
    built("hcsrun")
}

/// `file` in the directory cargo builds the tests' profile into
/// (`target/<profile>`), built first if cargo runs the tests.
fn built(file: &str) -> PathBuf {
    let path = build_dir().join(file);
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p hcsrun-shim -p vmcompute-linux -p \
         hcsrun-cli`",
        path.display()
    );
    path
}

/// `target/<profile>`, where the programs are, after building them once
/// per process.
fn build_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Test programs are target/<profile>/deps/NAME-HASH.
        let exe = env::current_exe().expect("the test program's path");
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("a test program under target/<profile>/deps")
            .to_owned();
        if let Some(cargo) = env::var_os("CARGO") {
            build(&cargo, &dir);
        }
        dir
    })
}

fn build(cargo: &std::ffi::OsStr, dir: &Path) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut command = Command::new(cargo);
    command.current_dir(&workspace).args([
        "build",
        "--quiet",
        "--locked",
        "-p",
        "hcsrun-shim",
        "-p",
        "vmcompute-linux",
        "-p",
        "hcsrun-cli",
    ]);
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {cargo:?} to build the tests' programs: {e}"));
    assert!(
        output.status.success(),
        "building the tests' programs ({command:?}) failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
