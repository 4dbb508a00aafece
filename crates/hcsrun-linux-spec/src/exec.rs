//! A process added to a running container (`runc exec --process`).

use oci_spec::runtime::Process as OciProcess;
use serde_json::Value;

use crate::{
    caps,
    error::{SpecError, SpecFieldError},
    host::{HostProbe, ThisHost},
    process::{self, Process, Role, User},
    raw, LinuxSpec,
};

/// An exec'd process, validated, and its normalized JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecProcess {
    oci: OciProcess,
    process: Process,
    gives_user: bool,
    warnings: Vec<String>,
}

impl ExecProcess {
    /// Parses a process (`process.json`), judged against this host.
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        Self::from_json_on(text, &ThisHost)
    }

    /// [`ExecProcess::from_json`], judged against `host`.
    pub fn from_json_on(text: &str, host: &dyn HostProbe) -> Result<Self, SpecError> {
        let mut value: Value =
            serde_json::from_str(text).map_err(|source| SpecError::Json { path: None, source })?;
        if !value.is_object() {
            return Err(SpecFieldError::new("process", "a process is a JSON object").into());
        }
        let gives_user = value
            .get("user")
            .and_then(Value::as_object)
            .is_some_and(|u| {
                ["uid", "gid", "umask", "additionalGids"]
                    .iter()
                    .any(|k| u.get(*k).is_some_and(|v| !v.is_null()))
            });
        raw::fill_process_zero_values(&mut value);
        let oci: OciProcess = raw::deserialize(&value, "process")?;
        let written = serde_json::to_value(&oci).expect("a parsed process serializes");
        if let Some(field) = raw::first_unknown_key(&value, &written, "process") {
            return Err(SpecFieldError::unknown(field).into());
        }
        let mut warnings = Vec::new();
        let process = process::classify(&oci, "process", Role::Exec, host, &mut warnings)?;
        Ok(Self {
            oci,
            process,
            gives_user,
            warnings,
        })
    }

    /// The process, validated. Its `user` is uid 0 when
    /// [`ExecProcess::gives_user`] is false.
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// The process as oci-spec holds it.
    pub fn oci(&self) -> &OciProcess {
        &self.oci
    }

    /// The JSON names user ids (uid, gid, umask or additionalGids).
    pub fn gives_user(&self) -> bool {
        self.gives_user
    }

    /// The JSON sets what the container's init otherwise passes on:
    /// capabilities, `noNewPrivileges`, rlimits or user ids.
    pub fn sets_privileges(&self) -> bool {
        let p = &self.process;
        self.gives_user
            || p.capabilities.is_some()
            || p.no_new_privileges.is_some()
            || p.rlimits.is_some()
    }

    /// The user it runs as: its own, else the init process's of `init`.
    pub fn user<'a>(&'a self, init: &'a LinuxSpec) -> User {
        match (self.gives_user, init.process()) {
            (false, Some(p)) => p.user.clone(),
            _ => self.process.user.clone(),
        }
    }

    /// The normalized process as JSON, running as [`ExecProcess::user`].
    pub fn to_json(&self, init: &LinuxSpec) -> String {
        let mut value = serde_json::to_value(&self.oci).expect("a parsed process serializes");
        if !self.gives_user {
            let user = self.user(init);
            let mut u = serde_json::json!({"uid": user.uid, "gid": user.gid});
            if let Some(umask) = user.umask {
                u["umask"] = umask.into();
            }
            if !user.additional_gids.is_empty() {
                u["additionalGids"] = user.additional_gids.into();
            }
            value["user"] = u;
        }
        caps::sort_capabilities(&mut value);
        value.to_string()
    }

    /// What is accepted but has no effect on this host, naming the field.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
