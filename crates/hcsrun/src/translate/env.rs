//! A process environment: `NAME=value` entries into the map HCS takes.

use std::collections::BTreeMap;

/// Splits each entry at its first `=`. An entry without `=` is dropped; a
/// later entry for the same name replaces an earlier one. Names keep their
/// case, and an empty name is kept (Windows' per-drive `=C:=C:\dir`
/// variables start with `=`), as the seed does.
pub fn environment<S: AsRef<str>>(entries: &[S]) -> BTreeMap<String, String> {
    entries
        .iter()
        .filter_map(|e| e.as_ref().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn env(entries: &[&str]) -> Vec<(String, String)> {
        environment(entries).into_iter().collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn splits_at_the_first_equals_sign() {
        assert_eq!(env(&["a=b=c"]), pairs(&[("a", "b=c")]));
        assert_eq!(env(&["empty="]), pairs(&[("empty", "")]));
        assert_eq!(env(&["=C:=C:\\dir"]), pairs(&[("", "C:=C:\\dir")]));
    }

    #[test]
    fn drops_entries_without_equals_sign() {
        assert_eq!(env(&["novalue", "k=v", ""]), pairs(&[("k", "v")]));
    }

    #[test]
    fn later_duplicate_wins_and_case_is_kept() {
        assert_eq!(
            env(&["PATH=a", "Path=b", "PATH=c"]),
            pairs(&[("PATH", "c"), ("Path", "b")])
        );
    }

    proptest! {
        #[test]
        fn each_name_gets_its_last_value(entries in prop::collection::vec("[a-c=]{0,4}", 0..8)) {
            let got = environment(&entries);
            for (k, v) in &got {
                let last = entries.iter().rev().find_map(|e| {
                    e.split_once('=').filter(|(name, _)| name == k).map(|(_, v)| v)
                });
                prop_assert_eq!(Some(v.as_str()), last);
            }
            let names = entries.iter().filter_map(|e| e.split_once('=')).count();
            prop_assert!(got.len() <= names);
            prop_assert_eq!(got.is_empty(), names == 0);
        }
    }
}
