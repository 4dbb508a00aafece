//! What `hcsrun images` shows as docker shows it: sizes in SI units with
//! three significant digits, ages in words, columns padded to their widest.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `4.26MB`, `512B`, `1.2GB` (powers of 1000, as docker's `HumanSize`).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{}{}", significant(value, 3), UNITS[unit])
}

/// `value` with at most `digits` significant digits, trailing zeros
/// dropped (Go's `%.3g` for the values `size` gives it).
fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// How long ago an RFC 3339 time was, as docker says it (`2 months ago`);
/// `N/A` when unknown.
pub fn created(rfc3339: Option<&str>, now: SystemTime) -> String {
    let Some(then) = rfc3339.and_then(parse_rfc3339) else {
        return "N/A".into();
    };
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let ago = Duration::from_secs(now.saturating_sub(then).max(0) as u64);
    format!("{} ago", human_duration(ago))
}

/// docker's `units.HumanDuration`.
fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if seconds < 1 {
        "Less than a second".into()
    } else if seconds == 1 {
        "1 second".into()
    } else if seconds < 60 {
        format!("{seconds} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        plural(hours / 24, "day")
    } else if hours < 24 * 30 * 2 {
        plural(hours / 24 / 7, "week")
    } else if hours < 24 * 365 * 2 {
        plural(hours / 24 / 30, "month")
    } else {
        plural(hours / 24 / 365, "year")
    }
}

/// Seconds since the epoch of `2024-01-02T03:04:05[.frac](Z|±hh:mm)`.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" || !matches!(s.get(10..11)?, "T" | "t" | " ") {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Columns separated by three spaces, each as wide as its widest cell, as
/// docker's tables (the last column unpadded).
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker_prints_them() {
        assert_eq!(size(0), "0B");
        assert_eq!(size(512), "512B");
        assert_eq!(size(4_261_000), "4.26MB");
        assert_eq!(size(1_000), "1kB");
        assert_eq!(size(123_456_789), "123MB");
        assert_eq!(size(1_500_000_000), "1.5GB");
    }

    #[test]
    fn ages_in_words() {
        let at = |s: &str| UNIX_EPOCH + Duration::from_secs(parse_rfc3339(s).unwrap() as u64);
        let t = "2024-01-02T03:04:05Z";
        assert_eq!(parse_rfc3339(t), Some(1_704_164_645));
        assert_eq!(
            parse_rfc3339("2024-01-02T04:04:05.123456789+01:00"),
            Some(1_704_164_645)
        );
        assert_eq!(
            created(Some(t), at("2024-01-02T03:04:35Z")),
            "30 seconds ago"
        );
        assert_eq!(created(Some(t), at("2024-01-02T06:04:05Z")), "3 hours ago");
        assert_eq!(created(Some(t), at("2024-01-12T03:04:05Z")), "10 days ago");
        assert_eq!(created(Some(t), at("2024-05-02T03:04:05Z")), "4 months ago");
        assert_eq!(created(Some(t), at("2027-01-02T03:04:05Z")), "3 years ago");
        assert_eq!(created(None, SystemTime::now()), "N/A");
        assert_eq!(created(Some("yesterday"), SystemTime::now()), "N/A");
    }

    #[test]
    fn tables_pad_columns() {
        let t = table(["A", "LONGER"], &[["wide cell".into(), "x".into()]]);
        assert_eq!(t, "A           LONGER\nwide cell   x\n");
    }
}
