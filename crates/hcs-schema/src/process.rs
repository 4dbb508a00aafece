//! Processes: creation parameters (`HcsCreateProcess`), status
//! (`HcsGetProcessProperties`) and modify requests (`HcsModifyProcess`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::json::{compact, is_zero};

/// The document passed to `HcsCreateProcess`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProcessConfig {
    /// The program to run (a Windows path), or empty for the command line's
    /// first word.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub application_name: String,
    /// A Windows command line, split by the Windows argv rules.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command_line: String,
    /// The argument vector of a Linux process (LCOW).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command_args: Vec<String>,
    /// The user to run as (a name, or `uid[:gid]` on Linux).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// The working directory, in the container.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub working_directory: String,
    /// Sent with keys sorted bytewise, as Go sorts map keys.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// Give the process a console (a pty on Linux) of `console_size`.
    #[serde(skip_serializing_if = "is_zero")]
    pub emulate_console: bool,
    /// Create a pipe for stdin.
    #[serde(skip_serializing_if = "is_zero")]
    pub create_std_in_pipe: bool,
    /// Create a pipe for stdout.
    #[serde(skip_serializing_if = "is_zero")]
    pub create_std_out_pipe: bool,
    /// Create a pipe for stderr.
    #[serde(skip_serializing_if = "is_zero")]
    pub create_std_err_pipe: bool,
    /// `[height, width]`. A Go array is never empty, so this is always sent.
    pub console_size: [u64; 2],
    /// Run the process in the utility VM rather than the container.
    #[serde(skip_serializing_if = "is_zero")]
    pub create_in_utility_vm: bool,
    /// The OCI spec of a Linux process (LCOW), passed through untouched.
    #[serde(
        rename = "OCISpecification",
        skip_serializing_if = "Option::is_none",
        serialize_with = "raw_as_go",
        deserialize_with = "raw_from_any"
    )]
    pub oci_specification: Option<Box<RawValue>>,
}

impl PartialEq for ProcessConfig {
    fn eq(&self, other: &Self) -> bool {
        let raw = |p: &Self| p.oci_specification.as_ref().map(|r| compact(r.get()));
        self.application_name == other.application_name
            && self.command_line == other.command_line
            && self.command_args == other.command_args
            && self.user == other.user
            && self.working_directory == other.working_directory
            && self.environment == other.environment
            && self.emulate_console == other.emulate_console
            && self.create_std_in_pipe == other.create_std_in_pipe
            && self.create_std_out_pipe == other.create_std_out_pipe
            && self.create_std_err_pipe == other.create_std_err_pipe
            && self.console_size == other.console_size
            && self.create_in_utility_vm == other.create_in_utility_vm
            && raw(self) == raw(other)
    }
}

impl ProcessConfig {
    /// Console height, as sent in `ConsoleSize[0]`.
    pub fn console_height(&self) -> u64 {
        self.console_size[0]
    }

    /// Console width, as sent in `ConsoleSize[1]`.
    pub fn console_width(&self) -> u64 {
        self.console_size[1]
    }
}

/// Go compacts a `json.RawMessage` and escapes it like any other string.
fn raw_as_go<S: Serializer>(raw: &Option<Box<RawValue>>, s: S) -> Result<S::Ok, S::Error> {
    match raw {
        Some(raw) => RawValue::from_string(compact(raw.get()))
            .map_err(serde::ser::Error::custom)?
            .serialize(s),
        None => s.serialize_none(),
    }
}

fn raw_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    value
        .map(|v| serde_json::value::to_raw_value(&v).map_err(serde::de::Error::custom))
        .transpose()
}

/// What `HcsGetProcessProperties` returns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProcessStatus {
    /// The process id, in the system.
    pub process_id: u32,
    /// The process has exited.
    pub exited: bool,
    /// Its exit code, once it has exited.
    pub exit_code: u32,
    /// The result of the service's last wait on it.
    pub last_wait_result: i32,
}

/// The handles a process can have; `CloseHandle` names one (the schema's
/// `StdHandle`; hcsshim's `guestrequest.STDIOHandle`).
pub const STD_IN: &str = "StdIn";
/// Standard output.
pub const STD_OUT: &str = "StdOut";
/// Standard error.
pub const STD_ERR: &str = "StdErr";
/// All three.
pub const STD_ALL: &str = "All";

/// A request to `HcsModifyProcess`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProcessModifyRequest {
    /// `"ConsoleSize"` or `"CloseHandle"`.
    pub operation: String,
    /// The new size, for `"ConsoleSize"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<ConsoleSize>,
    /// The handle to close, for `"CloseHandle"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_handle: Option<CloseHandle>,
}

/// The operation names of [`ProcessModifyRequest`].
pub const MODIFY_CONSOLE_SIZE: &str = "ConsoleSize";
/// Close one of the process's standard handles.
pub const MODIFY_CLOSE_HANDLE: &str = "CloseHandle";

impl ProcessModifyRequest {
    /// Resize the process's console.
    pub fn console_size(width: u16, height: u16) -> Self {
        Self {
            operation: MODIFY_CONSOLE_SIZE.to_owned(),
            console_size: Some(ConsoleSize { height, width }),
            close_handle: None,
        }
    }

    /// Close one of the process's standard handles in the service
    /// ([`STD_IN`], [`STD_OUT`], [`STD_ERR`] or [`STD_ALL`]).
    pub fn close_handle(handle: &str) -> Self {
        Self {
            operation: MODIFY_CLOSE_HANDLE.to_owned(),
            console_size: None,
            close_handle: Some(CloseHandle {
                handle: handle.to_owned(),
            }),
        }
    }

    /// Close the process's stdin so that it reads end of file.
    pub fn close_stdin() -> Self {
        Self::close_handle(STD_IN)
    }
}

/// A console's size, in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ConsoleSize {
    /// Rows.
    pub height: u16,
    /// Columns.
    pub width: u16,
}

/// Which standard handle of a process to close.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CloseHandle {
    /// `"StdIn"`, `"StdOut"` or `"StdErr"`.
    pub handle: String,
}
