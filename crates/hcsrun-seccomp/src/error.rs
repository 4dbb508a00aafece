//! The errors of reading and resolving profiles ([`ProfileError`]) and of
//! compiling a filter ([`CompileError`]).

use libseccomp::error::SeccompError;
use oci_spec::runtime::{Arch, LinuxSeccompAction};

/// A docker seccomp profile that cannot be read or resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The text is not a docker seccomp profile: bad JSON, an unknown field
    /// (named in the message), an unknown action, operator or architecture.
    #[error("parsing docker seccomp profile: {cause}")]
    Parse {
        /// What serde said, with the line and column.
        cause: serde_json::Error,
    },
    /// A syscall rule with neither `names` nor `name`.
    #[error("seccomp profile syscall rule {rule}: no syscall names (neither \"names\" nor \"name\" is set)")]
    NoNames {
        /// The rule's position in `syscalls`, from 0.
        rule: usize,
    },
    /// A syscall rule with an empty string among its names.
    #[error("seccomp profile syscall rule {rule}: an empty syscall name")]
    EmptyName {
        /// The rule's position in `syscalls`, from 0.
        rule: usize,
    },
    /// A syscall rule with both the legacy `name` and `names`.
    #[error("seccomp profile syscall rule {rule}: both \"name\" ({name:?}) and \"names\" are set; they are mutually exclusive")]
    NameAndNames {
        /// The rule's position in `syscalls`, from 0.
        rule: usize,
        /// The legacy `name`.
        name: String,
    },
    /// Both `architectures` and `archMap` are set (docker refuses this too).
    #[error("seccomp profile sets both \"architectures\" and \"archMap\"; use one of them")]
    ArchitecturesAndArchMap,
    /// `listenerPath` is set: hcsrun has no seccomp notify agent support.
    #[error("seccomp profile sets \"listenerPath\" ({path:?}): seccomp user notification agents are not supported by hcsrun")]
    ListenerPath {
        /// The path the profile names.
        path: String,
    },
    /// `listenerMetadata` is set, which only means something to an agent.
    #[error("seccomp profile sets \"listenerMetadata\": seccomp user notification agents are not supported by hcsrun")]
    ListenerMetadata,
    /// `SCMP_ACT_NOTIFY` as the default action or a rule's action.
    #[error("seccomp profile {subject} uses SCMP_ACT_NOTIFY, which needs a seccomp notify agent; hcsrun does not support one")]
    Notify {
        /// `"defaultAction"` or `"syscall rule N (name)"`.
        subject: String,
    },
    /// `errnoRet` on a rule whose action returns no errno.
    #[error("seccomp profile syscall rule {rule} ({name}): errnoRet is set but the action is {action}; errnoRet goes with SCMP_ACT_ERRNO and SCMP_ACT_TRACE only")]
    ErrnoRetWithoutErrno {
        /// The rule's position in `syscalls`, from 0.
        rule: usize,
        /// The rule's first syscall name.
        name: String,
        /// The rule's action.
        action: LinuxSeccompAction,
    },
    /// An argument condition on an argument that does not exist.
    #[error("seccomp profile syscall rule {rule} ({name}): argument index {index} is out of range (syscalls have arguments 0 to 5)")]
    ArgIndex {
        /// The rule's position in `syscalls`, from 0.
        rule: usize,
        /// The rule's first syscall name.
        name: String,
        /// The index the rule compares.
        index: u32,
    },
    /// A `minKernel` that is not `MAJOR.MINOR`.
    #[error("invalid kernel version {text:?}: expected MAJOR.MINOR, e.g. \"4.8\"")]
    KernelVersion {
        /// The text given.
        text: String,
    },
    /// The running kernel's release could not be read or understood.
    #[error("reading the running kernel's version for minKernel conditions: {reason}")]
    RunningKernel {
        /// What went wrong.
        reason: String,
    },
}

/// An OCI seccomp configuration that cannot be compiled into a filter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// libseccomp could not create a filter context.
    #[error("creating the libseccomp filter context with default action {action}")]
    Context {
        /// The default action.
        action: LinuxSeccompAction,
        /// What libseccomp said.
        source: SeccompError,
    },
    /// libseccomp does not know or support the architecture.
    #[error("adding architecture {arch} to the seccomp filter")]
    AddArch {
        /// The architecture.
        arch: Arch,
        /// What libseccomp said.
        source: SeccompError,
    },
    /// `SCMP_ACT_NOTIFY`, which needs an agent hcsrun does not have.
    #[error("seccomp {subject} uses SCMP_ACT_NOTIFY, which needs a seccomp notify agent; hcsrun does not support one")]
    Notify {
        /// `"defaultAction"` or `"rule for NAME"`.
        subject: String,
    },
    /// `listenerPath` is set on the OCI configuration.
    #[error("seccomp configuration sets listenerPath ({path:?}): seccomp notify agents are not supported by hcsrun")]
    ListenerPath {
        /// The path given.
        path: String,
    },
    /// An errno (or trace message) that does not fit the 16 bits of a
    /// seccomp return value.
    #[error("seccomp {subject}: errno {errno} is out of range (at most 65535)")]
    ErrnoRange {
        /// `"defaultErrnoRet"` or `"rule for NAME"`.
        subject: String,
        /// The value given.
        errno: u32,
    },
    /// An argument condition on an argument that does not exist.
    #[error("seccomp rule for {name}: argument index {index} is out of range (syscalls have arguments 0 to 5)")]
    ArgIndex {
        /// The syscall.
        name: String,
        /// The index given.
        index: usize,
    },
    /// libseccomp refused a rule.
    #[error("adding the seccomp rule for syscall {name} (action {action}) to the filter")]
    AddRule {
        /// The syscall.
        name: String,
        /// The rule's action.
        action: LinuxSeccompAction,
        /// What libseccomp said.
        source: SeccompError,
    },
    /// libseccomp could not generate the BPF program.
    #[error("exporting the seccomp filter as a BPF program")]
    Export {
        /// What libseccomp said.
        source: SeccompError,
    },
    /// The scratch memfd for the exported program failed.
    #[error("{operation} the memfd that holds the exported BPF program")]
    ExportFile {
        /// `"creating"`, `"rewinding"` or `"reading"`.
        operation: &'static str,
        /// The system error.
        source: std::io::Error,
    },
    /// The exported program is not a whole number of instructions.
    #[error(
        "the exported BPF program is {bytes} bytes, not a whole number of 8-byte instructions"
    )]
    Truncated {
        /// Its size.
        bytes: usize,
    },
    /// The `ENOSYS` prologue is too long for 8-bit BPF jump offsets (it
    /// grows with the number of architectures; this takes hundreds).
    #[error("the seccomp ENOSYS prologue has {len} instructions, too many for 8-bit BPF jumps")]
    Prologue {
        /// Its length.
        len: usize,
    },
    /// The program is longer than the kernel accepts.
    #[error("the seccomp BPF program has {len} instructions; the kernel accepts at most {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The kernel's limit (`BPF_MAXINSNS`).
        max: usize,
    },
}
