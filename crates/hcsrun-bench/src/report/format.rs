//! Numbers and tables in Markdown.

use bench_tools::stats::Summary;

/// Milliseconds with about three significant digits.
pub fn ms(x: f64) -> String {
    let digits = match x.abs() {
        a if a < 1.0 => 3,
        a if a < 10.0 => 2,
        a if a < 100.0 => 1,
        _ => 0,
    };
    format!("{x:.digits$} ms")
}

/// A ratio to two decimals.
pub fn ratio(x: f64) -> String {
    format!("{x:.2}")
}

/// Bytes per second as GiB/s.
pub fn gib_per_s(bytes: u64, ms: f64) -> String {
    format!(
        "{:.2} GiB/s",
        bytes as f64 / (1u64 << 30) as f64 / (ms / 1e3)
    )
}

/// KiB as KiB, or MiB from 10 MiB up.
pub fn kib(x: f64) -> String {
    if x >= 10.0 * 1024.0 {
        format!("{:.1} MiB", x / 1024.0)
    } else {
        format!("{x:.0} KiB")
    }
}

/// A Markdown table.
pub struct Table {
    text: String,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        let mut text = row(header.iter().copied());
        text += &row(header.iter().map(|_| "---"));
        Self { text }
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let cells: Vec<S> = cells.into_iter().collect();
        self.text += &row(cells.iter().map(AsRef::as_ref));
    }

    pub fn finish(self) -> String {
        self.text + "\n"
    }
}

fn row<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let cells: Vec<String> = cells.map(|c| c.replace('|', "\\|")).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// The columns of a timing summary, with [`timing_cells`].
pub const TIMING_HEADER: [&str; 7] = ["", "median", "p10", "p90", "min", "max", "runs"];

pub fn timing_cells(name: &str, s: &Summary) -> Vec<String> {
    vec![
        name.to_owned(),
        format!("**{}**", ms(s.median)),
        ms(s.p10),
        ms(s.p90),
        ms(s.min),
        ms(s.max),
        s.n.to_string(),
    ]
}

/// "met" or "**missed**".
pub fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(ms(0.1234), "0.123 ms");
        assert_eq!(ms(4.567), "4.57 ms");
        assert_eq!(ms(45.67), "45.7 ms");
        assert_eq!(ms(456.7), "457 ms");
        assert_eq!(ratio(1.005), "1.00");
        assert_eq!(gib_per_s(1 << 30, 500.0), "2.00 GiB/s");
        assert_eq!(kib(512.4), "512 KiB");
        assert_eq!(kib(20480.0), "20.0 MiB");
    }

    #[test]
    fn tables_escape_pipes() {
        let mut t = Table::new(&["a", "b"]);
        t.row(["x|y", "z"]);
        assert_eq!(t.finish(), "| a | b |\n| --- | --- |\n| x\\|y | z |\n\n");
    }
}
