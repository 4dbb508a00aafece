//! Memory of processes, from `/proc/PID/smaps_rollup`.

use std::fs;

use anyhow::Context;

use crate::results::Usage;

/// The memory of process `pid`.
pub fn usage(pid: u32) -> anyhow::Result<Usage> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_rollup(&text).with_context(|| format!("parsing {path}"))
}

fn parse_rollup(text: &str) -> anyhow::Result<Usage> {
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .with_context(|| format!("no {name} line"))?;
        let kib = line.trim().trim_end_matches("kB").trim();
        kib.parse()
            .with_context(|| format!("{name}: {kib:?} is not a number"))
    };
    Ok(Usage {
        pss_kib: field("Pss")?,
        rss_kib: field("Rss")?,
        pss_anon_kib: field("Pss_Anon")?,
    })
}

/// The children of this process whose command name is `comm`.
pub fn children_named(comm: &str) -> anyhow::Result<Vec<u32>> {
    let me = std::process::id();
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").context("listing /proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // A process may end while the list is read.
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((name, ppid)) = parse_stat(&stat) {
            if ppid == me && name == comm {
                pids.push(pid);
            }
        }
    }
    Ok(pids)
}

/// The command name and parent pid of a `/proc/PID/stat` line.
fn parse_stat(stat: &str) -> Option<(&str, u32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = &stat[open + 1..close];
    let mut rest = stat[close + 1..].split_whitespace();
    let _state = rest.next()?;
    Some((name, rest.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pss_rss_and_anon() {
        let text = "55ea-7ffe ---p 00000000 00:00 0   [rollup]\n\
                    Rss:                1672 kB\nPss:                 611 kB\n\
                    Pss_Dirty:           112 kB\nPss_Anon:            112 kB\n";
        assert_eq!(
            parse_rollup(text).unwrap(),
            Usage {
                pss_kib: 611,
                rss_kib: 1672,
                pss_anon_kib: 112
            }
        );
        assert!(parse_rollup("Rss: 1 kB\n").is_err());
    }

    #[test]
    fn stat_names_may_hold_spaces_and_parens() {
        assert_eq!(parse_stat("42 (a (b) c) S 7 42 42 0"), Some(("a (b) c", 7)));
        assert_eq!(parse_stat("42 (x"), None);
    }

    #[test]
    fn this_process_has_memory_and_its_child_is_found() {
        assert!(usage(std::process::id()).unwrap().rss_kib > 0);
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let found = children_named("sleep").unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.contains(&child.id()), "{found:?}");
    }
}
