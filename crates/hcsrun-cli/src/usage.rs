//! Usage errors as docker reports them: one line saying what is wrong, then
//! where the help is, and exit code 125 (docker's code for its own
//! failures), rather than clap's page of usage and exit code 2.

use std::{ffi::OsString, process::ExitCode};

use clap::{error::ErrorKind, CommandFactory};

use crate::output;

/// The exit code of a usage error, as of any failure of hcsrun's own.
pub const USAGE: u8 = 125;

/// Reports `error` from parsing the command line and returns the exit code:
/// help and version are printed to stdout (success); anything else is one
/// line on stderr, `hcsrun: COMMAND: what is wrong`, then `See 'hcsrun
/// COMMAND --help'.`
pub fn report<C: CommandFactory>(error: &clap::Error, args: &[OsString]) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return match output::print(&error.render().to_string()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(USAGE),
        };
    }
    let command = subcommand::<C>(args);
    let prefix = command
        .as_deref()
        .map(|c| format!("{c}: "))
        .unwrap_or_default();
    let help = command
        .as_deref()
        .map(|c| format!("{c} "))
        .unwrap_or_default();
    output::error_line(&format!(
        "hcsrun: {prefix}{}",
        one_line(&error.render().to_string())
    ));
    output::error_line(&format!("See 'hcsrun {help}--help'."));
    ExitCode::from(USAGE)
}

/// The first paragraph of clap's message, without its `error: ` and on one
/// line (a list of missing arguments is joined onto it); clap's tips and
/// usage, which follow, are left out.
fn one_line(rendered: &str) -> String {
    let text = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    text.strip_prefix("error: ").unwrap_or(&text).to_owned()
}

/// The subcommand `args` name, if any: the first argument that is one,
/// skipping global options and their values.
fn subcommand<C: CommandFactory>(args: &[OsString]) -> Option<String> {
    let command = C::command();
    let takes_value = |name: &str| {
        command.get_arguments().any(|a| {
            a.get_long() == Some(name)
                && a.get_num_args().is_none_or(|n| n.takes_values())
                && a.get_action().takes_values()
        })
    };
    let mut args = args.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(arg) = args.next() {
        if arg == "--" {
            return None;
        }
        if let Some(long) = arg.strip_prefix("--") {
            if !long.contains('=') && takes_value(long) {
                args.next();
            }
            continue;
        }
        if command.find_subcommand(arg).is_some() {
            return Some(arg.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_paragraphs_become_one_line() {
        assert_eq!(
            one_line(
                "error: unexpected argument '--bogus' found\n\n  tip: to pass '--bogus' as a \
                 value, use '-- --bogus'\n\nUsage: hcsrun run [OPTIONS] [COMMAND]...\n"
            ),
            "unexpected argument '--bogus' found"
        );
        assert_eq!(
            one_line(
                "error: the following required arguments were not provided:\n  --id <ID>\n  \
                 <SPEC>\n\nUsage: hcsrun translate --id <ID> <SPEC>\n"
            ),
            "the following required arguments were not provided: --id <ID> <SPEC>"
        );
    }
}
