//! `linux.namespaces`: the container's init builds its root in a new mount
//! namespace; the others are the spec's choice. Its init is PID 1 of a new
//! pid namespace unless the spec shares the host's or joins one (which
//! only `hcsrun-oci`, with no holder, can do: see
//! `hcsrun::translate::linux::refuse_for_client`).

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::{
    error::{FieldResult, SpecFieldError},
    paths,
};

/// The namespaces the spec may choose. The mount namespace is always new
/// and so is not listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespaces {
    /// The pid namespace.
    pub pid: Namespace,
    /// The network namespace.
    pub network: Namespace,
    /// The IPC namespace.
    pub ipc: Namespace,
    /// The UTS namespace (host name and domain name).
    pub uts: Namespace,
    /// The cgroup namespace: new or the host's, never joined.
    pub cgroup: Namespace,
}

/// One namespace of the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Namespace {
    /// A new namespace of the container's own (an entry without `path`).
    New,
    /// The host's (no entry).
    Host,
    /// The namespace at this path (`/proc/PID/ns/net`, a bind-mounted
    /// namespace file), joined.
    Join(PathBuf),
}

impl Namespace {
    /// Not the host's: new or joined.
    pub fn is_private(&self) -> bool {
        !matches!(self, Namespace::Host)
    }
}

fn name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

/// Reads `linux.namespaces`.
pub(crate) fn classify(list: Option<&[LinuxNamespace]>) -> FieldResult<Namespaces> {
    const BASE: &str = "linux.namespaces";
    let mut ns = Namespaces {
        pid: Namespace::Host,
        network: Namespace::Host,
        ipc: Namespace::Host,
        uts: Namespace::Host,
        cgroup: Namespace::Host,
    };
    let mut mount = false;
    let mut seen = Vec::new();
    for (i, entry) in list.unwrap_or_default().iter().enumerate() {
        let t = entry.typ();
        let field = format!("{BASE}[{i}]");
        if seen.contains(&t) {
            return Err(SpecFieldError::new(
                field,
                format!("a second {} namespace", name(t)),
            ));
        }
        seen.push(t);
        let path = entry.path().as_ref().filter(|p| !p.as_os_str().is_empty());
        let mode = match path {
            None => Namespace::New,
            Some(p) => Namespace::Join(paths::container_path(&format!("{field}.path"), p)?),
        };
        let join_refused = |why: &str| {
            Err(SpecFieldError::unsupported(
                format!("{field}.path"),
                format!("joining an existing {} namespace: {why}", name(t)),
            ))
        };
        match (t, &mode) {
            (LinuxNamespaceType::Mount, Namespace::Join(_)) => {
                return join_refused("the container's root is built in a new one")
            }
            (LinuxNamespaceType::Cgroup, Namespace::Join(_)) => {
                return join_refused("a cgroup namespace is new or the host's")
            }
            (LinuxNamespaceType::Pid, _) => ns.pid = mode,
            (LinuxNamespaceType::Mount, _) => mount = true,
            (LinuxNamespaceType::Network, _) => ns.network = mode,
            (LinuxNamespaceType::Ipc, _) => ns.ipc = mode,
            (LinuxNamespaceType::Uts, _) => ns.uts = mode,
            (LinuxNamespaceType::Cgroup, _) => ns.cgroup = mode,
            (LinuxNamespaceType::User, _) => {
                return Err(SpecFieldError::unsupported(field, "user namespaces"))
            }
            (LinuxNamespaceType::Time, _) => {
                return Err(SpecFieldError::unsupported(field, "time namespaces"))
            }
        }
    }
    if !mount {
        return Err(SpecFieldError::new(
            BASE,
            "a new mount namespace is required: the container's root is built in its own mount namespace",
        ));
    }
    Ok(ns)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ns(list: serde_json::Value) -> FieldResult<Namespaces> {
        let list: Vec<LinuxNamespace> = serde_json::from_value(list).unwrap();
        classify(Some(&list))
    }

    #[test]
    fn new_host_or_joined() {
        let n = ns(json!([{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": "/proc/7/ns/net"},
            {"type": "uts"}, {"type": "cgroup", "path": ""}]))
        .unwrap();
        assert_eq!(n.network, Namespace::Join("/proc/7/ns/net".into()));
        assert_eq!((n.uts, n.cgroup), (Namespace::New, Namespace::New));
        assert_eq!(n.ipc, Namespace::Host);
        assert!(!n.ipc.is_private() && n.network.is_private());
    }

    #[test]
    fn mount_must_be_new_and_pid_is_any() {
        assert_eq!(ns(json!([{"type": "mount"}])).unwrap().pid, Namespace::Host);
        assert_eq!(
            ns(json!([{"type": "mount"}, {"type": "pid", "path": "/proc/1/ns/pid"}]))
                .unwrap()
                .pid,
            Namespace::Join("/proc/1/ns/pid".into())
        );
        assert_eq!(
            ns(json!([{"type": "mount"}, {"type": "pid"}])).unwrap().pid,
            Namespace::New
        );
        let e = ns(json!([{"type": "pid"}])).unwrap_err();
        assert!(
            e.reason.starts_with("a new mount namespace is required"),
            "{e}"
        );
        let e = ns(json!([{"type": "pid"}, {"type": "mount", "path": "/x"}])).unwrap_err();
        assert_eq!(e.field, "linux.namespaces[1].path");
        assert!(classify(None).is_err());
    }

    #[test]
    fn refused_namespaces_and_entries() {
        let base = || vec![json!({"type": "pid"}), json!({"type": "mount"})];
        for (extra, field, reason) in [
            (json!({"type": "user"}), "linux.namespaces[2]", "not supported by hcsrun (user namespaces)"),
            (json!({"type": "time"}), "linux.namespaces[2]", "not supported by hcsrun (time namespaces)"),
            (json!({"type": "pid"}), "linux.namespaces[2]", "a second pid namespace"),
            (json!({"type": "cgroup", "path": "/proc/1/ns/cgroup"}), "linux.namespaces[2].path",
             "not supported by hcsrun (joining an existing cgroup namespace: a cgroup namespace is new or the host's)"),
            (json!({"type": "ipc", "path": "relative"}), "linux.namespaces[2].path",
             r#""relative" is not an absolute path"#),
        ] {
            let mut list = base();
            list.push(extra);
            let e = ns(json!(list)).unwrap_err();
            assert_eq!((e.field.as_str(), e.reason.as_str()), (field, reason));
        }
    }
}
