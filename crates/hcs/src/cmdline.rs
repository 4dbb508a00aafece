//! Windows command lines: quoting an argument vector into one string, and
//! splitting one back, by the rules `CommandLineToArgvW` and the C runtime
//! use.
//!
//! Arguments are separated by spaces and tabs. Inside an argument, a double
//! quote toggles quoting (spaces are kept while quoted); backslashes are
//! literal unless they precede a double quote, where `2n` backslashes give
//! `n` backslashes and a toggle and `2n+1` give `n` backslashes and a
//! literal quote. Inside quotes, `""` is a literal quote.
//!
//! [`split`] applies these rules to every argument, including the first:
//! `CommandLineToArgvW` reads the program name more loosely (no backslash
//! escapes), which differs only for names containing `"` — not valid in a
//! Windows path — and so never for a command line [`join`] wrote.

/// Quotes `arg` so that [`split`] reads it back as one argument.
pub fn escape(arg: &str) -> String {
    if arg.is_empty() {
        return "\"\"".to_owned();
    }
    let needs_quotes = arg.contains([' ', '\t', '\n', '\u{b}']);
    if !needs_quotes && !arg.contains('"') {
        return arg.to_owned();
    }
    let mut out = String::with_capacity(arg.len() + 8);
    if needs_quotes {
        out.push('"');
    }
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                // Double the run before a quote, then escape the quote.
                push_backslashes(&mut out, 2 * backslashes + 1);
                backslashes = 0;
            }
            _ => {
                push_backslashes(&mut out, backslashes);
                backslashes = 0;
            }
        }
        if c != '\\' {
            out.push(c);
        }
    }
    if needs_quotes {
        // A trailing run precedes the closing quote, so it doubles too.
        push_backslashes(&mut out, 2 * backslashes);
        out.push('"');
    } else {
        push_backslashes(&mut out, backslashes);
    }
    out
}

fn push_backslashes(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n('\\', n));
}

/// Quotes each argument and joins them with single spaces.
pub fn join<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| escape(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a Windows command line into its arguments.
pub fn split(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if chars.peek().is_none() {
            return args;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                ' ' | '\t' if !quoted => break,
                '\\' => {
                    let mut n = 1;
                    while chars.next_if_eq(&'\\').is_some() {
                        n += 1;
                    }
                    if chars.peek() == Some(&'"') {
                        push_backslashes(&mut arg, n / 2);
                        if n % 2 == 1 {
                            chars.next();
                            arg.push('"');
                        }
                    } else {
                        push_backslashes(&mut arg, n);
                    }
                }
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    arg.push('"');
                }
                '"' => quoted = !quoted,
                c => arg.push(c),
            }
        }
        args.push(arg);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn escapes_as_windows_expects() {
        assert_eq!(escape(""), r#""""#);
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape(r"C:\dir\x.exe"), r"C:\dir\x.exe");
        assert_eq!(escape("two words"), r#""two words""#);
        assert_eq!(escape(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(escape(r#"a"b"#), r#"a\"b"#);
        assert_eq!(escape(r#"a\"b"#), r#"a\\\"b"#);
        assert_eq!(escape(r"C:\my dir\"), r#""C:\my dir\\""#);
        assert_eq!(escape("tab\there"), "\"tab\there\"");
    }

    #[test]
    fn joins_with_spaces() {
        assert_eq!(
            join(&["cmd", "/S", "/C", "echo hello world"]),
            r#"cmd /S /C "echo hello world""#
        );
        assert_eq!(join::<&str>(&[]), "");
    }

    #[test]
    fn splits_documented_examples() {
        // The examples of Microsoft's "Parsing C++ command-line arguments".
        assert_eq!(split(r#""abc" d e"#), ["abc", "d", "e"]);
        assert_eq!(split(r#"a\\b d"e f"g h"#), [r"a\\b", "de fg", "h"]);
        assert_eq!(split(r#"a\\\"b c d"#), [r#"a\"b"#, "c", "d"]);
        assert_eq!(split(r#"a\\\\"b c" d e"#), [r"a\\b c", "d", "e"]);
        assert_eq!(split(r#"a"b"" c d"#), [r#"ab" c d"#]);
    }

    #[test]
    fn splits_whitespace_and_empty_arguments() {
        assert!(split("").is_empty());
        assert!(split(" \t ").is_empty());
        assert_eq!(split("  a \t b  "), ["a", "b"]);
        assert_eq!(split(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(
            split(r#"unterminated "quote here"#),
            ["unterminated", "quote here"]
        );
        assert_eq!(split(r"trailing\"), [r"trailing\"]);
    }

    proptest! {
        #[test]
        fn split_reads_back_what_join_wrote(
            args in prop::collection::vec(
                prop_oneof![
                    // Arguments made of the characters that matter most.
                    "[ \t\"\\\\a]{0,8}",
                    any::<String>(),
                ],
                1..6,
            )
        ) {
            prop_assert_eq!(split(&join(&args)), args);
        }

        #[test]
        fn an_escaped_argument_is_one_argument(arg in any::<String>()) {
            prop_assert_eq!(split(&escape(&arg)), vec![arg]);
        }
    }
}
