//! Seccomp for hcsrun's containers: docker's default confinement, and
//! docker's and OCI's ways of saying otherwise.
//!
//! - [`Profile`] is docker's seccomp profile format (`docker run
//!   --security-opt seccomp=PATH`), and [`Profile::docker_default`] is
//!   docker's default profile, kept here as data.
//! - [`Profile::resolve`] picks the rules that apply to one container (its
//!   capabilities, the host architecture, the kernel) and gives the OCI
//!   `linux.seccomp` form, which is also what a bundle carries.
//! - [`Filter::compile`] turns that OCI form into a BPF program, in the
//!   parent, before `fork`.
//! - [`set_no_new_privs`] and [`Filter::apply`] load it in the child between
//!   `fork` and `execve`; both are async-signal-safe.
//!
//! Compiling uses libseccomp rather than seccompiler: libseccomp has the
//! syscall tables of every architecture (including the 32-bit ABIs a 64-bit
//! host also runs, such as x86 and x32 on x86_64) and handles the
//! per-architecture details of argument comparison, and it is what runc and
//! docker use, so the same profile gives the same filter here as there.
//!
//! ```no_run
//! use hcsrun_seccomp::{native_arch, set_no_new_privs, Filter, Profile};
//!
//! let seccomp = Profile::docker_default().resolve(&["CAP_CHOWN"], native_arch())?;
//! let filter = Filter::compile(&seccomp)?; // parent, before fork
//! // ... in the child, after fork:
//! set_no_new_privs().expect("no_new_privs");
//! filter.apply().expect("seccomp");
//! // ... execve
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod builtin;
mod compile;
mod enosys;
mod error;
mod filter;
mod profile;
mod resolve;

pub use error::{CompileError, ProfileError};
pub use filter::{set_no_new_privs, Filter};
pub use profile::{ArchMapEntry, Condition, KernelVersion, Profile, SyscallArg, SyscallRule};
pub use resolve::{docker_arch_name, native_arch, normalize_capability, running_kernel};

/// The OCI types this crate takes and gives, re-exported for callers that
/// do not depend on `oci-spec` themselves.
pub use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};
