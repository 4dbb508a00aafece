//! Resolving a docker profile for one container: docker's reading of
//! `archMap`, `includes` and `excludes`, giving the OCI `linux.seccomp`.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompArg, LinuxSeccompArgBuilder, LinuxSyscall,
};

use crate::error::ProfileError;
use crate::profile::{Condition, KernelVersion, Profile, SyscallArg};

/// The architecture this program runs on, as a seccomp architecture.
pub fn native_arch() -> Arch {
    if cfg!(target_arch = "x86_64") {
        if cfg!(target_pointer_width = "32") {
            Arch::ScmpArchX32
        } else {
            Arch::ScmpArchX86_64
        }
    } else if cfg!(target_arch = "x86") {
        Arch::ScmpArchX86
    } else if cfg!(target_arch = "aarch64") {
        Arch::ScmpArchAarch64
    } else if cfg!(target_arch = "arm") {
        Arch::ScmpArchArm
    } else if cfg!(target_arch = "riscv64") {
        Arch::ScmpArchRiscv64
    } else if cfg!(target_arch = "s390x") {
        Arch::ScmpArchS390x
    } else if cfg!(target_arch = "loongarch64") {
        Arch::ScmpArchLoongarch64
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        Arch::ScmpArchPpc64le
    } else if cfg!(target_arch = "powerpc64") {
        Arch::ScmpArchPpc64
    } else if cfg!(target_arch = "powerpc") {
        Arch::ScmpArchPpc
    } else {
        Arch::ScmpArchNative
    }
}

/// Docker's name for an architecture in `includes.arches` and
/// `excludes.arches` (its `goToNative` spelling: `amd64`, `arm64`, ...).
pub fn docker_arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::ScmpArchNative => docker_arch_name(native_arch()),
        Arch::ScmpArchX86 => "x86",
        Arch::ScmpArchX86_64 => "amd64",
        Arch::ScmpArchX32 => "x32",
        Arch::ScmpArchArm => "arm",
        Arch::ScmpArchAarch64 => "arm64",
        Arch::ScmpArchMips => "mips",
        Arch::ScmpArchMips64 => "mips64",
        Arch::ScmpArchMips64n32 => "mips64n32",
        Arch::ScmpArchMipsel => "mipsel",
        Arch::ScmpArchMipsel64 => "mipsel64",
        Arch::ScmpArchMipsel64n32 => "mipsel64n32",
        Arch::ScmpArchPpc => "ppc",
        Arch::ScmpArchPpc64 => "ppc64",
        Arch::ScmpArchPpc64le => "ppc64le",
        Arch::ScmpArchS390 => "s390",
        Arch::ScmpArchS390x => "s390x",
        Arch::ScmpArchParisc => "parisc",
        Arch::ScmpArchParisc64 => "parisc64",
        Arch::ScmpArchRiscv64 => "riscv64",
        Arch::ScmpArchLoongarch64 => "loong64",
        Arch::ScmpArchM68k => "m68k",
        Arch::ScmpArchSh => "sh",
        Arch::ScmpArchSheb => "sheb",
    }
}

/// The running kernel's version, from `uname(2)`.
pub fn running_kernel() -> Result<KernelVersion, ProfileError> {
    let uts = nix::sys::utsname::uname().map_err(|errno| ProfileError::RunningKernel {
        reason: format!("uname failed: {errno}"),
    })?;
    let release = uts.release().to_string_lossy();
    KernelVersion::from_release(&release).ok_or_else(|| ProfileError::RunningKernel {
        reason: format!("release {release:?} does not start with MAJOR.MINOR"),
    })
}

/// `CAP_SYS_ADMIN` for `sys_admin`, `SYS_ADMIN` or `cap_sys_admin`.
pub fn normalize_capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

impl Profile {
    /// The OCI seccomp configuration for a container with bounding
    /// capabilities `caps` (`CAP_SYS_ADMIN` or `SYS_ADMIN`, any case) on a
    /// host whose native architecture is `arch`, the way docker resolves
    /// profiles: `archMap` entries for `arch` give the architectures, and
    /// each rule is kept only if its `includes` all hold and none of its
    /// `excludes` does. `minKernel` is compared with the running kernel.
    pub fn resolve<S: AsRef<str>>(
        &self,
        caps: &[S],
        arch: Arch,
    ) -> Result<LinuxSeccomp, ProfileError> {
        let needs_kernel = self
            .syscalls
            .iter()
            .any(|rule| rule.includes.min_kernel.is_some() || rule.excludes.min_kernel.is_some());
        // Without minKernel conditions the version is never looked at.
        let kernel = if needs_kernel {
            running_kernel()?
        } else {
            KernelVersion { major: 0, minor: 0 }
        };
        self.resolve_for_kernel(caps, arch, kernel)
    }

    /// [`Profile::resolve`] for a given kernel version instead of the
    /// running one.
    pub fn resolve_for_kernel<S: AsRef<str>>(
        &self,
        caps: &[S],
        arch: Arch,
        kernel: KernelVersion,
    ) -> Result<LinuxSeccomp, ProfileError> {
        self.validate()?;
        let arch = match arch {
            Arch::ScmpArchNative => native_arch(),
            other => other,
        };
        let caps: Vec<String> = caps
            .iter()
            .map(|c| normalize_capability(c.as_ref()))
            .collect();
        let container = Container {
            caps: &caps,
            arch: docker_arch_name(arch),
            kernel,
        };

        let mut architectures = self.architectures.clone();
        for entry in self.arch_map.iter().filter(|e| e.architecture == arch) {
            architectures.push(entry.architecture);
            architectures.extend(entry.sub_architectures.iter().copied());
        }

        let syscalls: Vec<LinuxSyscall> = self
            .syscalls
            .iter()
            .filter(|rule| {
                container.includes(&rule.includes) && !container.excludes(&rule.excludes)
            })
            .map(|rule| {
                let mut call = LinuxSyscall::default();
                call.set_names(rule.names.clone());
                call.set_action(rule.action);
                call.set_errno_ret(rule.errno_ret);
                if !rule.args.is_empty() {
                    call.set_args(Some(rule.args.iter().map(oci_arg).collect()));
                }
                call
            })
            .collect();

        let mut seccomp = LinuxSeccomp::default();
        seccomp.set_default_action(self.default_action);
        seccomp.set_default_errno_ret(self.default_errno_ret);
        if !architectures.is_empty() {
            seccomp.set_architectures(Some(architectures));
        }
        if !self.flags.is_empty() {
            seccomp.set_flags(Some(self.flags.clone()));
        }
        seccomp.set_syscalls(Some(syscalls));
        Ok(seccomp)
    }
}

fn oci_arg(arg: &SyscallArg) -> LinuxSeccompArg {
    let builder = LinuxSeccompArgBuilder::default()
        .index(arg.index as usize)
        .value(arg.value)
        .op(arg.op);
    let builder = if arg.value_two != 0 {
        builder.value_two(arg.value_two)
    } else {
        builder
    };
    builder
        .build()
        .expect("every LinuxSeccompArg field has a default, so building cannot fail")
}

/// What `includes` and `excludes` are checked against.
struct Container<'a> {
    /// Normalized (`CAP_...`) bounding capabilities.
    caps: &'a [String],
    /// Docker's name of the native architecture.
    arch: &'static str,
    kernel: KernelVersion,
}

impl Container<'_> {
    fn has_cap(&self, cap: &str) -> bool {
        let cap = normalize_capability(cap);
        self.caps.contains(&cap)
    }

    fn on_arch(&self, arches: &[String]) -> bool {
        arches.iter().any(|a| a == self.arch)
    }

    /// Docker: every set part must hold.
    fn includes(&self, cond: &Condition) -> bool {
        (cond.arches.is_empty() || self.on_arch(&cond.arches))
            && cond.caps.iter().all(|c| self.has_cap(c))
            && cond.min_kernel.is_none_or(|min| self.kernel >= min)
    }

    /// Docker: any set part that holds excludes the rule.
    fn excludes(&self, cond: &Condition) -> bool {
        (!cond.arches.is_empty() && self.on_arch(&cond.arches))
            || cond.caps.iter().any(|c| self.has_cap(c))
            || cond.min_kernel.is_some_and(|min| self.kernel >= min)
    }
}
