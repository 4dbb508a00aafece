//! Which of the seed's two paths a container takes, or the third: a Linux
//! container the host runs natively.

use hcs::HypervIsolation;

use super::{
    error::{Operation, TranslateError, TranslateErrorKind},
    host::HostFacts,
    options::CreateOptions,
    spec::Spec,
};

/// The kind of container, which decides the shape of its configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// A Windows Server or Hyper-V container: `CommandLine` processes.
    Windows,
    /// A Linux container on Windows (LCOW): `CommandArgs` processes and the
    /// spec passed through.
    Linux,
    /// A Linux container run with the host's own kernel (the Linux compute
    /// service): translated from a `LinuxSpec` by
    /// [`translate::linux`](super::linux), `CommandArgs` processes and the
    /// normalized spec passed through.
    LinuxNative,
}

impl Platform {
    /// Linux when the LCOW option is present; for a spec with a `linux`
    /// section and no LCOW option, [`Platform::of_linux`]; otherwise
    /// Windows.
    pub fn of(
        id: &str,
        spec: &Spec,
        options: &CreateOptions,
        host: &HostFacts,
    ) -> Result<Self, TranslateError> {
        if spec.has_linux() {
            Self::of_linux(id, options, host)
        } else {
            Self::resolve(id, spec, options, Operation::Create)
        }
    }

    /// The platform of a spec with a `linux` section: Linux (LCOW) with the
    /// LCOW option; else `LinuxNative` where the host runs Linux containers
    /// natively (and, for Hyper-V isolation, emulates it); else the seed's
    /// "lcow option must be supplied to the runtime".
    pub fn of_linux(
        id: &str,
        options: &CreateOptions,
        host: &HostFacts,
    ) -> Result<Self, TranslateError> {
        Self::linux(id, options, host, Operation::Create)
    }

    pub(crate) fn linux(
        id: &str,
        options: &CreateOptions,
        host: &HostFacts,
        op: Operation,
    ) -> Result<Self, TranslateError> {
        if options.lcow.is_some() {
            return Ok(Platform::Linux);
        }
        let hyperv = options.hyperv.as_ref().is_some_and(|h| h.is_hyperv);
        if host.native_linux && (!hyperv || host.hyperv == HypervIsolation::Emulated) {
            Ok(Platform::LinuxNative)
        } else {
            Err(TranslateError::new(
                id,
                op,
                TranslateErrorKind::LcowOptionMissing,
            ))
        }
    }

    /// The seed's rule, for the `Spec` entry points: Linux when the LCOW
    /// option is present, otherwise Windows; a spec with a `linux` section
    /// needs the LCOW option.
    pub(crate) fn resolve(
        id: &str,
        spec: &Spec,
        options: &CreateOptions,
        op: Operation,
    ) -> Result<Self, TranslateError> {
        match &options.lcow {
            Some(_) => Ok(Platform::Linux),
            None if spec.has_linux() => Err(TranslateError::new(
                id,
                op,
                TranslateErrorKind::LcowOptionMissing,
            )),
            None => Ok(Platform::Windows),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{
        options::{HypervOption, LcowOption},
        test_support::host,
    };

    #[test]
    fn the_lcow_option_decides() {
        let host = host();
        let lcow = CreateOptions {
            lcow: Some(LcowOption::default()),
            ..Default::default()
        };
        let none = CreateOptions::default();
        let linux = Spec::from_json(r#"{"linux":{}}"#).unwrap();
        let windows = Spec::from_json(r#"{"windows":{}}"#).unwrap();
        assert_eq!(
            Platform::of("c", &linux, &lcow, &host).unwrap(),
            Platform::Linux
        );
        assert_eq!(
            Platform::of("c", &windows, &lcow, &host).unwrap(),
            Platform::Linux
        );
        assert_eq!(
            Platform::of("c", &windows, &none, &host).unwrap(),
            Platform::Windows
        );
        let e = Platform::of("c1", &linux, &none, &host).unwrap_err();
        assert_eq!(
            e.to_string(),
            "creating container c1: lcow option must be supplied to the runtime"
        );
    }

    #[test]
    fn a_native_host_runs_linux_specs_without_the_lcow_option() {
        let native = HostFacts {
            native_linux: true,
            hyperv: HypervIsolation::Emulated,
            ..host()
        };
        let linux = Spec::from_json(r#"{"linux":{}}"#).unwrap();
        let windows = Spec::from_json(r#"{"windows":{}}"#).unwrap();
        let none = CreateOptions::default();
        let of = |spec, options: &CreateOptions, host: &HostFacts| {
            Platform::of("c1", spec, options, host).map_err(|e| e.to_string())
        };
        assert_eq!(of(&linux, &none, &native), Ok(Platform::LinuxNative));
        assert_eq!(of(&windows, &none, &native), Ok(Platform::Windows));
        let lcow = CreateOptions {
            lcow: Some(LcowOption::default()),
            ..Default::default()
        };
        assert_eq!(of(&linux, &lcow, &native), Ok(Platform::Linux));
        // Hyper-V isolation natively only where the host emulates it.
        let hyperv = CreateOptions {
            hyperv: Some(HypervOption { is_hyperv: true }),
            ..Default::default()
        };
        assert_eq!(of(&linux, &hyperv, &native), Ok(Platform::LinuxNative));
        let hypervisor = HostFacts {
            hyperv: HypervIsolation::Hypervisor,
            ..native
        };
        assert_eq!(
            of(&linux, &hyperv, &hypervisor),
            Err("creating container c1: lcow option must be supplied to the runtime".into())
        );
        assert_eq!(of(&linux, &none, &hypervisor), Ok(Platform::LinuxNative));
    }
}
