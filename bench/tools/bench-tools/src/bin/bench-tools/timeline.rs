//! A readable timeline of an `strace -f -tt -T -y` log: times from the
//! first line, each process named after what it runs, and how long each
//! process lived.

use std::{collections::HashMap, fmt::Write, fs, path::Path};

use anyhow::Context;

/// One line of the log.
struct Line<'a> {
    pid: u32,
    /// Seconds since midnight.
    at: f64,
    call: &'a str,
}

fn parse(line: &str) -> Option<Line<'_>> {
    // strace pads the pid to a width: "4601  13:01:48.289696 execve(...".
    let (pid, rest) = line.trim_start().split_once(' ')?;
    let pid = pid.parse().ok()?;
    let (clock, call) = rest.trim_start().split_once(' ')?;
    let call = call.trim_start();
    let mut hms = clock.split(':');
    let (h, m, s): (f64, f64, f64) = (
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
    );
    Some(Line {
        pid,
        at: h * 3600.0 + m * 60.0 + s,
        call,
    })
}

/// The `<0.000123>` duration at the end of a finished call, in ms.
fn duration_ms(call: &str) -> Option<f64> {
    let inner = call.strip_suffix('>')?;
    let start = inner.rfind('<')?;
    inner[start + 1..].parse::<f64>().ok().map(|s| s * 1e3)
}

/// The program an `execve("PATH", ...` runs: PATH's last element.
fn exec_name(call: &str) -> Option<&str> {
    let path = call.strip_prefix("execve(\"")?.split('"').next()?;
    Some(path.rsplit('/').next().unwrap_or(path))
}

/// The child a clone returned (`... = 1234` or `... = 1234 <0.1>`).
fn cloned_child(call: &str) -> Option<u32> {
    if !(call.starts_with("clone") || call.starts_with("vfork") || call.contains("clone resumed")) {
        return None;
    }
    let (_, result) = call.rsplit_once(" = ")?;
    result.split_whitespace().next()?.parse().ok()
}

/// The timeline of the log at `path`, lines cut to `width` characters.
pub fn render(path: &Path, width: usize) -> anyhow::Result<String> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let lines: Vec<Line> = text.lines().filter_map(parse).collect();
    let Some(t0) = lines.first().map(|l| l.at) else {
        anyhow::bail!("{} holds no strace lines", path.display());
    };
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut lives: Vec<(u32, f64, f64)> = Vec::new();
    let mut out = String::from("    at(ms)   took(ms)  process            call\n");
    for line in &lines {
        let rel = (line.at - t0) * 1e3;
        match lives.iter_mut().find(|(pid, ..)| *pid == line.pid) {
            Some(life) => life.2 = rel,
            None => lives.push((line.pid, rel, rel)),
        }
        // An exec's line is the new program's.
        if let Some(program) = exec_name(line.call) {
            names.insert(line.pid, program.to_owned());
        }
        let name = names.entry(line.pid).or_insert_with(|| "?".into()).clone();
        if let Some(child) = cloned_child(line.call) {
            // The child may have run (and exec'd) before the clone returned.
            names.entry(child).or_insert_with(|| name.clone());
        }
        let took = duration_ms(line.call).map_or(String::new(), |d| format!("{d:.3}"));
        let call: String = line.call.chars().take(width).collect();
        writeln!(
            out,
            "{rel:10.3} {took:>10}  {:<18} {call}",
            format!("{name}/{}", line.pid)
        )?;
    }
    out += "\nProcesses (first and last line seen, ms):\n";
    for (pid, first, last) in lives {
        let name = names.get(&pid).map_or("?", String::as_str);
        writeln!(out, "  {name}/{pid}: {first:.3} – {last:.3}")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_durations_and_names() {
        let l =
            parse("11075 11:34:33.166513 execve(\"/usr/bin/hcsrun\", [\"hcsrun\"]) = 0 <0.000250>")
                .unwrap();
        assert_eq!(l.pid, 11075);
        assert!((l.at - (11.0 * 3600.0 + 34.0 * 60.0 + 33.166513)).abs() < 1e-9);
        assert_eq!(duration_ms(l.call), Some(0.25));
        assert_eq!(exec_name(l.call), Some("hcsrun"));
        assert_eq!(duration_ms("exit_group(0) = ?"), None);
        assert_eq!(
            cloned_child("clone(child_stack=NULL, flags=SIGCHLD) = 2 <0.000117>"),
            Some(2)
        );
        assert_eq!(
            cloned_child("<... clone resumed>, parent_tid=[18]) = 11076 <0.002468>"),
            Some(11076)
        );
        assert_eq!(cloned_child("mkdir(\"/x\", 0777) = 0 <0.1>"), None);
    }

    #[test]
    fn pids_padded_to_a_width() {
        let l = parse("4601  13:01:48.289696 mkdir(\"/x\", 0777) = 0 <0.000144>").unwrap();
        assert_eq!(l.pid, 4601);
        assert!((l.at - (13.0 * 3600.0 + 60.0 + 48.289696)).abs() < 1e-9);
        assert!(l.call.starts_with("mkdir("));
    }

    #[test]
    fn renders_relative_times_and_lives() {
        let dir = std::env::temp_dir().join(format!("timeline-test-{}", std::process::id()));
        fs::write(
            &dir,
            "1 10:00:00.000000 execve(\"/bin/hcsrun\", []) = 0 <0.000100>\n\
             1 10:00:00.001000 clone(flags=SIGCHLD) = 2 <0.000200>\n\
             2 10:00:00.002000 execve(\"/bin/true\", []) = 0 <0.000300>\n\
             2 10:00:00.003000 exit_group(0) = ?\n",
        )
        .unwrap();
        let text = render(&dir, 40).unwrap();
        fs::remove_file(&dir).unwrap();
        assert!(
            text.contains("     1.000      0.200  hcsrun/1           "),
            "{text}"
        );
        assert!(
            text.contains("true/2             execve(\"/bin/true\""),
            "{text}"
        );
        assert!(text.contains("  true/2: 2.000 – 3.000"), "{text}");
    }
}
