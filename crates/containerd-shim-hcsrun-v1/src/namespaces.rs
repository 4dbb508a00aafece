//! The spec's network, IPC and UTS namespaces, checked on the container's
//! pid 1 once its first process has started: the host's (no entry) or one
//! at a path (CRI's pod network namespace, the sandbox's `/proc/PID/ns/*`)
//! must be the one pid 1 is in.
//!
//! `LinuxSpec` accepts those choices and the Linux compute service applies
//! them (pid 1 joins them as the first process starts). Where a service
//! made a namespace of the container's own instead, the container would
//! run apart from what its spec names: the shim ends it and fails `Start`,
//! naming the field, rather than let the choice drop silently.
//!
//! Blocking (stat): callers run it on the blocking pool.

use std::{
    fs, io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use hcsrun_linux_spec::{Namespace, Namespaces};

/// A namespace file's identity: (device, inode) of its nsfs entry.
fn identity(path: &Path) -> io::Result<(u64, u64)> {
    let meta = fs::metadata(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("reading namespace {}: {e}", path.display()),
        )
    })?;
    Ok((meta.dev(), meta.ino()))
}

/// Checks that `pid` is in every namespace `spec` names. `Err` names the
/// field and the namespace not joined.
pub fn check(spec: &Namespaces, pid: u32) -> Result<(), String> {
    let kinds = [
        ("network", "net", &spec.network),
        ("ipc", "ipc", &spec.ipc),
        ("uts", "uts", &spec.uts),
    ];
    for (field, file, wanted) in kinds {
        let expected: PathBuf = match wanted {
            Namespace::New => continue,
            // The host's as runc gives it: the caller's (containerd's).
            Namespace::Host => Path::new("/proc/self/ns").join(file),
            Namespace::Join(path) => path.clone(),
        };
        let actual = Path::new("/proc")
            .join(pid.to_string())
            .join("ns")
            .join(file);
        let have = match identity(&actual) {
            Ok(have) => have,
            // Already gone (a short first process): nothing left to check.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("linux.namespaces ({field}): {e}")),
        };
        let want = identity(&expected).map_err(|e| format!("linux.namespaces ({field}): {e}"))?;
        if want != have {
            let which = match wanted {
                Namespace::Host => "the host's (no entry)".to_owned(),
                _ => format!("the one at {}", expected.display()),
            };
            return Err(format!(
                "linux.namespaces ({field}): {which} is not supported by the hcsrun shim: \
                 the Linux compute service gives a container a {field} namespace of its own \
                 (or another system's), and does not join a spec's"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(network: Namespace) -> Namespaces {
        Namespaces {
            pid: Namespace::New,
            network,
            ipc: Namespace::New,
            uts: Namespace::New,
            cgroup: Namespace::New,
        }
    }

    #[test]
    fn a_process_in_the_named_namespace_passes_and_another_is_refused() {
        let me = std::process::id();
        check(&with(Namespace::Host), me).unwrap();
        check(&with(Namespace::Join("/proc/self/ns/net".into())), me).unwrap();
        check(&with(Namespace::New), me).unwrap();
        // Another namespace (an IPC one where a network one is named).
        let e = check(&with(Namespace::Join("/proc/self/ns/ipc".into())), me).unwrap_err();
        assert!(
            e.starts_with("linux.namespaces (network): the one at /proc/self/ns/ipc"),
            "{e}"
        );
        let e = check(&with(Namespace::Join("/nonexistent/ns".into())), me).unwrap_err();
        assert!(e.contains("/nonexistent/ns"), "{e}");
        // A process already gone has nothing to check.
        check(&with(Namespace::Join("/nonexistent/ns".into())), u32::MAX).unwrap();
    }
}
