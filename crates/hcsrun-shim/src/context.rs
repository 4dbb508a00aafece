//! The holder's decision of what each process of its system runs with.
//!
//! - A Windows-schema system (no `OCISpecification`, or an LCOW one, whose
//!   spec is the utility VM's) gets docker's defaults for every process.
//! - A Linux container the host runs natively (`ContainerType` `linux`, no
//!   `HvRuntime`) gets exactly what its spec says: the spec is the first
//!   process's `OCISpecification` (`LinuxSpec::to_json`), read here once,
//!   in the holder, against this host; an absent field changes nothing, as
//!   with runc.
//! - A later process inherits the first one's context, as `runc exec`
//!   does, unless its own `OCISpecification` (`{"process": …}`) sets
//!   capabilities, `noNewPrivileges`, rlimits or user ids. The seccomp
//!   filter is always the container's.

use hcs::ErrorCode;
use hcs_schema::{ContainerConfig, ProcessConfig};
use hcsrun_linux_spec::{ExecProcess, LinuxSpec, Personality, PosixRlimitType, Process};
use hcsrun_shim_protocol::message::WireError;
use serde::{Deserialize, Serialize};

use crate::{
    caps::CapSets,
    security::{Program, Rlimit, Security, DEFAULT_UMASK},
};

/// The exact ids a Linux spec gives a process (no lookup in the
/// container's `/etc/group`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// What a process runs with. `ids: None`: the `ProcessConfig`'s `User`,
/// looked up in the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub security: Security,
    pub ids: Option<Ids>,
    /// Descriptors 3 to 3 + this, which the program gets as they are
    /// (runc's `--preserve-fds`, for socket activation); 0 for every
    /// process but those `hcsrun-oci` is asked to pass them to.
    #[serde(default)]
    pub preserve_fds: u32,
}

/// A Linux container the host runs with its own kernel, whose processes
/// carry a Linux spec (not an LCOW configuration: that one has a utility
/// VM's `HvRuntime`, and its spec is the guest's).
pub fn is_native_linux(config: &ContainerConfig) -> bool {
    config.container_type.eq_ignore_ascii_case("linux") && config.hv_runtime.is_none()
}

fn invalid(message: String) -> WireError {
    WireError {
        code: ErrorCode::INVALID_PARAMETER.0,
        message,
    }
}

impl Context {
    /// Docker's defaults: its capabilities, its default seccomp profile
    /// (`seccomp`, resolved for those capabilities and compiled), no
    /// no_new_privs, no rlimit changed, umask 022; `oom_score_adj` is the
    /// caller's.
    pub fn docker_default(oom_score_adj: i32, seccomp: Program) -> Self {
        Self {
            security: Security {
                caps: Some(CapSets::docker_default()),
                no_new_privs: false,
                rlimits: Vec::new(),
                umask: DEFAULT_UMASK,
                oom_score_adj,
                personality: None,
                seccomp: Some(seccomp),
            },
            ids: None,
            preserve_fds: 0,
        }
    }

    /// The context of a Linux spec's init process; `seccomp` is its
    /// `linux.seccomp` compiled (none: no filter, as runc).
    pub fn of_spec(spec: &LinuxSpec, oom_score_adj: i32, seccomp: Option<Program>) -> Self {
        let process = spec.process();
        let security = Security {
            caps: process.and_then(|p| p.capabilities).map(cap_sets),
            no_new_privs: process.and_then(|p| p.no_new_privileges).unwrap_or(false),
            rlimits: process
                .and_then(|p| p.rlimits.as_deref())
                .map(rlimits)
                .unwrap_or_default(),
            umask: process.and_then(|p| p.user.umask).unwrap_or(DEFAULT_UMASK),
            oom_score_adj: process
                .and_then(|p| p.oom_score_adj)
                .unwrap_or(oom_score_adj),
            personality: spec.personality().map(|p| match p {
                Personality::Linux => 0x0000,
                Personality::Linux32 => 0x0008,
            }),
            seccomp,
        };
        Self {
            security,
            ids: process.map(ids),
            preserve_fds: 0,
        }
    }

    /// A later process's context: this (the first process's) one, with
    /// what `config`'s own spec sets.
    pub fn for_exec(&self, config: &ProcessConfig, native_linux: bool) -> Result<Self, WireError> {
        if let (true, Some(raw)) = (native_linux, &config.oci_specification) {
            let exec = exec_process(raw.get())?;
            let own = exec.process();
            let mut security = self.security.clone();
            if let Some(caps) = own.capabilities {
                security.caps = Some(cap_sets(caps));
            }
            if let Some(nnp) = own.no_new_privileges {
                security.no_new_privs = nnp;
            }
            if let Some(list) = &own.rlimits {
                security.rlimits = rlimits(list);
            }
            if let Some(umask) = own.user.umask {
                security.umask = umask;
            }
            // Docker repeats the container's score on every exec.
            if let Some(adj) = own.oom_score_adj {
                security.oom_score_adj = adj;
            }
            return Ok(Self {
                security,
                ids: Some(ids(own)),
                preserve_fds: 0,
            });
        }
        // The first process's ids when the configuration names no other
        // user (translate::linux names the first process's uid:gid).
        let ids = self.ids.as_ref().filter(|ids| {
            config.user.is_empty() || config.user == format!("{}:{}", ids.uid, ids.gid)
        });
        Ok(Self {
            security: self.security.clone(),
            ids: ids.cloned(),
            preserve_fds: 0,
        })
    }
}

/// The Linux spec the first process of a native Linux system carries.
pub fn init_spec(config: &ProcessConfig) -> Result<Option<LinuxSpec>, WireError> {
    let Some(raw) = &config.oci_specification else {
        return Ok(None);
    };
    LinuxSpec::from_json(raw.get(), "/")
        .map(Some)
        .map_err(|e| invalid(format!("OCISpecification: {e}")))
}

/// An exec'd process's own spec: `{"process": …}`.
fn exec_process(text: &str) -> Result<ExecProcess, WireError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("OCISpecification: {e}")))?;
    let process = value.get("process").ok_or_else(|| {
        invalid("OCISpecification: an exec'd process's spec is {\"process\": …}".into())
    })?;
    ExecProcess::from_json(&process.to_string())
        .map_err(|e| invalid(format!("OCISpecification: {e}")))
}

fn ids(p: &Process) -> Ids {
    Ids {
        uid: p.user.uid,
        gid: p.user.gid,
        groups: p.user.additional_gids.clone(),
    }
}

fn cap_sets(c: hcsrun_linux_spec::Capabilities) -> CapSets {
    CapSets {
        bounding: c.bounding.bits(),
        effective: c.effective.bits(),
        permitted: c.permitted.bits(),
        inheritable: c.inheritable.bits(),
        ambient: c.ambient.bits(),
    }
}

fn rlimits(list: &[hcsrun_linux_spec::Rlimit]) -> Vec<Rlimit> {
    list.iter()
        .map(|r| Rlimit {
            resource: resource(r.kind),
            soft: r.soft,
            hard: r.hard,
        })
        .collect()
}

/// The kernel's number of a resource (`u32` in glibc's headers, `int` in
/// others').
#[allow(clippy::unnecessary_cast)]
fn resource(kind: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    (match kind {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }) as u32
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(process: serde_json::Value) -> LinuxSpec {
        let text = json!({
            "ociVersion": "1.0.2",
            "root": {"path": "/"},
            "process": process,
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
        });
        LinuxSpec::from_json(&text.to_string(), "/").unwrap()
    }

    #[test]
    fn a_spec_is_applied_exactly() {
        let s = spec(json!({
            "args": ["sh"], "cwd": "/",
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 63},
            "capabilities": {"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}],
            "noNewPrivileges": true,
            "oomScoreAdj": 500
        }));
        let c = Context::of_spec(&s, 0, None);
        let caps = c.security.caps.unwrap();
        assert_eq!(
            (caps.bounding, caps.effective, caps.permitted),
            (1 << 10, 1 << 10, 0)
        );
        assert!(c.security.no_new_privs);
        assert_eq!(
            c.security.rlimits,
            [Rlimit {
                resource: resource(PosixRlimitType::RlimitNofile),
                soft: 100,
                hard: 200
            }]
        );
        assert_eq!((c.security.umask, c.security.oom_score_adj), (0o77, 500));
        assert_eq!(
            c.ids,
            Some(Ids {
                uid: 1000,
                gid: 1000,
                groups: vec![10, 20]
            })
        );
    }

    #[test]
    fn absent_fields_change_nothing() {
        let c = Context::of_spec(&spec(json!({"args": ["sh"], "cwd": "/"})), -5, None);
        assert_eq!(
            c.security.caps, None,
            "runc: no capabilities section, no change"
        );
        assert!(!c.security.no_new_privs && c.security.rlimits.is_empty());
        assert_eq!((c.security.umask, c.security.oom_score_adj), (0o22, -5));
    }

    #[test]
    fn exec_inherits_unless_its_spec_says_otherwise() {
        let init = Context::of_spec(
            &spec(
                json!({"args": ["sh"], "cwd": "/", "user": {"uid": 7, "gid": 8, "additionalGids": [9]},
                "noNewPrivileges": true}),
            ),
            0,
            Some(Program {
                instructions: vec![0x0006_0000_7fff_0000],
                flags: 0,
            }),
        );
        let plain = ProcessConfig {
            user: "7:8".into(),
            ..Default::default()
        };
        assert_eq!(init.for_exec(&plain, true).unwrap(), init);
        let other_user = ProcessConfig {
            user: "nobody".into(),
            ..Default::default()
        };
        let ctx = init.for_exec(&other_user, true).unwrap();
        assert_eq!((ctx.ids, ctx.security), (None, init.security.clone()));
        let own = ProcessConfig {
            oci_specification: Some(
                serde_json::value::RawValue::from_string(
                    json!({"process": {"args": ["id"], "user": {"uid": 1, "gid": 2},
                        "capabilities": {"bounding": ["CAP_KILL"]}, "oomScoreAdj": 300}})
                    .to_string(),
                )
                .unwrap(),
            ),
            ..Default::default()
        };
        let ctx = init.for_exec(&own, true).unwrap();
        assert_eq!(
            ctx.ids,
            Some(Ids {
                uid: 1,
                gid: 2,
                groups: vec![]
            })
        );
        assert_eq!(ctx.security.caps.unwrap().bounding, 1 << 5);
        assert_eq!(ctx.security.oom_score_adj, 300);
        assert!(ctx.security.no_new_privs, "not given: the container's");
        assert_eq!(
            ctx.security.seccomp, init.security.seccomp,
            "the container's filter, the same program"
        );
        // A Windows-schema system never reads a process's spec.
        assert_eq!(init.for_exec(&own, false).unwrap().security, init.security);
    }
}
