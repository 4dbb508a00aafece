//! Where this machine's cgroup hierarchies are mounted.

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::OnceLock,
};

/// The controllers the service uses.
pub const CONTROLLERS: &[&str] = &[
    "cpu", "cpuacct", "cpuset", "memory", "blkio", "freezer", "pids", "devices",
];

/// The cgroup layout of the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchies {
    /// cgroup v1: one mount per group of co-mounted controllers (only those
    /// of [`CONTROLLERS`]).
    V1(Vec<V1Mount>),
    /// cgroup v2: the unified hierarchy's mount point.
    V2(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Mount {
    pub path: PathBuf,
    pub controllers: Vec<String>,
}

impl Hierarchies {
    /// The machine's hierarchies, read once from `/proc/self/mountinfo`.
    pub fn get() -> io::Result<&'static Hierarchies> {
        static CACHE: OnceLock<Result<Hierarchies, String>> = OnceLock::new();
        CACHE
            .get_or_init(|| {
                let text = fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
                Self::parse(&text).ok_or_else(|| "no cgroup hierarchy is mounted".to_owned())
            })
            .as_ref()
            .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e.clone()))
    }

    /// Reads the hierarchies from the text of a mountinfo file. v1
    /// controller mounts win over a unified mount (the hybrid layout keeps
    /// its controllers on v1).
    pub fn parse(mountinfo: &str) -> Option<Self> {
        let mut v1: Vec<V1Mount> = Vec::new();
        let mut v2 = None;
        for line in mountinfo.lines() {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let mut fields = left.split(' ');
            let Some(mount_point) = fields.nth(4) else {
                continue;
            };
            let mut right = right.split(' ');
            let (fstype, super_opts) = (right.next(), right.nth(1).unwrap_or(""));
            let path = PathBuf::from(unescape(mount_point));
            match fstype {
                Some("cgroup") => {
                    let controllers: Vec<String> = super_opts
                        .split(',')
                        .filter(|o| CONTROLLERS.contains(o))
                        .map(str::to_owned)
                        .collect();
                    if !controllers.is_empty() && !v1.iter().any(|m| m.controllers == controllers) {
                        v1.push(V1Mount { path, controllers });
                    }
                }
                Some("cgroup2") if v2.is_none() => v2 = Some(path),
                _ => {}
            }
        }
        if !v1.is_empty() {
            Some(Self::V1(v1))
        } else {
            v2.map(Self::V2)
        }
    }

    /// The v1 mount holding `controller`.
    pub fn v1_mount(&self, controller: &str) -> Option<&Path> {
        match self {
            Self::V1(mounts) => mounts
                .iter()
                .find(|m| m.controllers.iter().any(|c| c == controller))
                .map(|m| m.path.as_path()),
            Self::V2(_) => None,
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(byte) => {
                out.push(byte as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 31 0:31 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
35 31 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
36 31 0:33 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
";

    #[test]
    fn hybrid_uses_the_v1_controllers() {
        let h = Hierarchies::parse(HYBRID).unwrap();
        let Hierarchies::V1(mounts) = &h else {
            panic!("{h:?}")
        };
        assert_eq!(
            mounts.len(),
            3,
            "named hierarchies without controllers are skipped"
        );
        assert_eq!(
            h.v1_mount("cpuacct"),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert_eq!(
            h.v1_mount("cpu"),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert_eq!(
            h.v1_mount("freezer"),
            Some(Path::new("/sys/fs/cgroup/freezer"))
        );
        assert_eq!(h.v1_mount("pids"), None);
    }

    #[test]
    fn unified_only() {
        let text = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            Hierarchies::parse(text),
            Some(Hierarchies::V2(PathBuf::from("/sys/fs/cgroup")))
        );
    }

    #[test]
    fn no_cgroups() {
        assert_eq!(
            Hierarchies::parse("1 0 8:1 / / rw - ext4 /dev/sda rw\n"),
            None
        );
    }

    #[test]
    fn escaped_mount_points() {
        assert_eq!(unescape(r"/a\040b\134c"), r"/a b\c");
        assert_eq!(unescape(r"/trailing\"), r"/trailing\");
    }

    #[test]
    fn this_machine_has_hierarchies() {
        // Every Linux machine hcsrun runs on has cgroups mounted.
        assert!(Hierarchies::get().is_ok());
    }
}
