//! What docker gives every Linux container (moby's `oci.DefaultLinuxSpec`
//! and the daemon's additions), as spec JSON: the standard mounts, the
//! masked and read-only paths, the device rules, the namespaces.

use serde_json::{json, Value};

/// `PATH` when the flags give none.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `/dev/shm`'s size: docker's default `--shm-size` (64 MiB).
const SHM_SIZE: u64 = 64 << 20;

/// The standard mounts, docker's: `(destination, type, source, options)`.
fn standard() -> [(&'static str, &'static str, &'static str, Vec<String>); 7] {
    let o = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    [
        ("/proc", "proc", "proc", o(&["nosuid", "noexec", "nodev"])),
        (
            "/dev",
            "tmpfs",
            "tmpfs",
            o(&["nosuid", "strictatime", "mode=755", "size=65536k"]),
        ),
        (
            "/dev/pts",
            "devpts",
            "devpts",
            o(&[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ]),
        ),
        (
            "/sys",
            "sysfs",
            "sysfs",
            o(&["nosuid", "noexec", "nodev", "ro"]),
        ),
        (
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            o(&["ro", "nosuid", "noexec", "nodev"]),
        ),
        (
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            o(&["nosuid", "noexec", "nodev"]),
        ),
        (
            "/dev/shm",
            "tmpfs",
            "shm",
            vec![
                "nosuid".into(),
                "noexec".into(),
                "nodev".into(),
                "mode=1777".into(),
                format!("size={SHM_SIZE}"),
            ],
        ),
    ]
}

/// How the standard mounts are changed.
pub struct MountChoices<'a> {
    /// Destinations of the user's own mounts: a standard mount there is
    /// left out (and all of `/dev/*` for a mount on `/dev`), as docker does.
    pub user_destinations: &'a [String],
    /// `--privileged`: `/sys` and the cgroup mount writable.
    pub privileged: bool,
    /// `--security-opt writable-cgroups=true`.
    pub writable_cgroups: bool,
    /// `--read-only`: every mount but `/proc` and `/dev`'s read-only too.
    pub read_only: bool,
}

/// docker's standard mounts, as changed by `choices`.
pub fn mounts(choices: &MountChoices<'_>) -> Vec<Value> {
    let over_dev = choices.user_destinations.iter().any(|d| d == "/dev");
    standard()
        .into_iter()
        .filter(|(dst, ..)| {
            let replaced = choices.user_destinations.iter().any(|d| d == dst);
            let under_users_dev = over_dev && dst.starts_with("/dev/");
            !(replaced || under_users_dev)
        })
        .map(|(dst, kind, source, mut options)| {
            let writable = match dst {
                "/sys" => choices.privileged,
                "/sys/fs/cgroup" => choices.privileged || choices.writable_cgroups,
                _ => false,
            };
            if writable {
                options.retain(|o| o != "ro");
            }
            let kept_writable = ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"];
            if choices.read_only
                && !kept_writable.contains(&dst)
                && !options.iter().any(|o| o == "ro")
            {
                options.push("ro".into());
            }
            json!({"destination": dst, "type": kind, "source": source, "options": options})
        })
        .collect()
}

pub use hcsrun_linux_spec::docker::{MASKED_PATHS, READONLY_PATHS};

/// docker's device rules: nothing, then the nodes every container has
/// (zero, null, urandom, random, tty, console), and FUSE denied.
pub fn device_rules() -> Vec<Value> {
    let allow = |major: u64, minor: u64| json!({"allow": true, "type": "c", "major": major, "minor": minor, "access": "rwm"});
    vec![
        json!({"allow": false, "access": "rwm"}),
        allow(1, 5),
        allow(1, 3),
        allow(1, 9),
        allow(1, 8),
        allow(5, 0),
        allow(5, 1),
        json!({"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}),
    ]
}

/// The rules of a privileged container: every device.
pub fn privileged_device_rules() -> Vec<Value> {
    vec![json!({"allow": true, "access": "rwm"})]
}

/// New pid, mount, IPC, UTS and network namespaces; a new cgroup namespace
/// where docker makes one by default (cgroup v2 hosts: its
/// `--cgroupns private`), the host's elsewhere.
pub fn namespaces(cgroup2: bool) -> Vec<Value> {
    let mut list: Vec<Value> = ["pid", "mount", "ipc", "uts", "network"]
        .into_iter()
        .map(|t| json!({"type": t}))
        .collect();
    if cgroup2 {
        list.push(json!({"type": "cgroup"}));
    }
    list
}
