//! Which of the seed's two paths a container takes.

use super::{
    error::{Operation, TranslateError, TranslateErrorKind},
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
}

impl Platform {
    /// Linux when the LCOW option is present, otherwise Windows; a spec with
    /// a `linux` section needs the LCOW option.
    pub fn of(id: &str, spec: &Spec, options: &CreateOptions) -> Result<Self, TranslateError> {
        Self::resolve(id, spec, options, Operation::Create)
    }

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
    use crate::translate::options::LcowOption;

    #[test]
    fn the_lcow_option_decides() {
        let lcow = CreateOptions {
            lcow: Some(LcowOption::default()),
            ..Default::default()
        };
        let none = CreateOptions::default();
        let linux = Spec::from_json(r#"{"linux":{}}"#).unwrap();
        let windows = Spec::from_json(r#"{"windows":{}}"#).unwrap();
        assert_eq!(Platform::of("c", &linux, &lcow).unwrap(), Platform::Linux);
        assert_eq!(Platform::of("c", &windows, &lcow).unwrap(), Platform::Linux);
        assert_eq!(
            Platform::of("c", &windows, &none).unwrap(),
            Platform::Windows
        );
        let e = Platform::of("c1", &linux, &none).unwrap_err();
        assert_eq!(
            e.to_string(),
            "creating container c1: lcow option must be supplied to the runtime"
        );
    }
}
