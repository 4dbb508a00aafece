//! runc's argument syntax (urfave/cli over Go's `flag`): options before
//! positional arguments, `-name` and `--name` alike, values as `--name
//! value` or `--name=value`, booleans as `--flag` or `--flag=false`,
//! parsing stops at the first positional argument or at `--`.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Result};

/// One option: its names (the first is canonical) and whether it takes a
/// value.
pub struct Opt {
    /// Names without dashes: `["detach", "d"]`.
    pub names: &'static [&'static str],
    /// Takes a value (else a boolean).
    pub value: bool,
}

/// A value option.
pub const fn val(names: &'static [&'static str]) -> Opt {
    Opt { names, value: true }
}

/// A boolean option.
pub const fn flag(names: &'static [&'static str]) -> Opt {
    Opt {
        names,
        value: false,
    }
}

/// Parsed options and what follows them.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<&'static str, Vec<String>>,
    /// Positional arguments, everything after the options.
    pub rest: Vec<String>,
}

impl Parsed {
    /// The last value given for `name` (canonical name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name)?.last().map(String::as_str)
    }

    /// Every value given for `name`, in order (`--env A --env B`).
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    /// A boolean option: given without value or as true.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v == "true")
    }

    /// A number option.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| anyhow!("--{name}: {v:?} is not a number"))
            })
            .transpose()
    }
}

/// Parses `args` against `opts`, stopping at the first positional.
pub fn parse(args: &[String], opts: &[Opt]) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            i += 1;
            break;
        }
        let Some(body) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|b| !b.is_empty() && arg != "-")
        else {
            break;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (body, None),
        };
        let opt = opts
            .iter()
            .find(|o| o.names.contains(&name))
            .ok_or_else(|| anyhow!("flag provided but not defined: -{name}"))?;
        let value = if opt.value {
            match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| anyhow!("flag needs an argument: -{name}"))?
                }
            }
        } else {
            match inline.as_deref() {
                None | Some("true") | Some("1") => "true".to_owned(),
                Some("false") | Some("0") => "false".to_owned(),
                Some(v) => bail!("invalid boolean value {v:?} for -{name}"),
            }
        };
        parsed.values.entry(opt.names[0]).or_default().push(value);
        i += 1;
    }
    parsed.rest = args[i..].to_vec();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn runc_spellings() {
        let opts = [val(&["root"]), flag(&["debug"]), flag(&["detach", "d"])];
        let p = parse(
            &strings(&["-root", "/r", "--debug=false", "-d", "create", "--x"]),
            &opts,
        )
        .unwrap();
        assert_eq!(p.get("root"), Some("/r"));
        assert!(!p.flag("debug"));
        assert!(p.flag("detach"));
        assert_eq!(p.rest, strings(&["create", "--x"]));
        let p = parse(&strings(&["--root=/s", "--", "-a"]), &opts).unwrap();
        assert_eq!(p.get("root"), Some("/s"));
        assert_eq!(p.rest, strings(&["-a"]));
    }

    #[test]
    fn unknown_and_missing() {
        let opts = [val(&["root"])];
        let e = parse(&strings(&["--nope"]), &opts).unwrap_err();
        assert!(e.to_string().contains("-nope"), "{e}");
        assert!(parse(&strings(&["--root"]), &opts).is_err());
    }
}
