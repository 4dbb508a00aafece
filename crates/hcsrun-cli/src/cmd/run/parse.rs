//! The values of `hcsrun run`'s options, checked with docker's rules as the
//! command line is read: a bad one is a usage error (one line, exit 125)
//! before anything else happens.

use hcsrun::translate::host_cpu_count;

/// docker's smallest memory limit: 6 MiB ("Minimum memory limit allowed
/// is 6MB").
pub const MIN_MEMORY: u64 = 6 << 20;

/// The kernel's longest host name (`__NEW_UTS_LEN`).
pub const MAX_HOSTNAME: usize = 64;

/// A size as docker reads one: a number, possibly with a fraction, and an
/// optional unit `b`, `k`, `m`, `g`, `t` (powers of 1024; `kb`, `kib`,
/// any case). Exact: `1500k` is 1,536,000 bytes; a fraction of a byte is
/// dropped (`1.5k` is 1536, `0.3k` 307).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let not_a_size = || format!("{text:?} is not a size (try 256m or 1g)");
    let lower = text.trim().to_ascii_lowercase();
    let number_end = lower
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(number_end);
    let shift = match unit.trim_start() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(not_a_size()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_size());
    }
    let too_large = || format!("{text:?} is too large a size");
    let whole: u64 = whole.parse().map_err(|_| too_large())?;
    let mut bytes = whole.checked_mul(1 << shift).ok_or_else(too_large)?;
    // The fraction, exactly: digits / 10^len of a unit, truncated to bytes.
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().map_err(|_| not_a_size())?;
        let scale = 10u128
            .checked_pow(fraction.len() as u32)
            .ok_or_else(not_a_size)?;
        let part = digits * (1u128 << shift) / scale;
        bytes = bytes
            .checked_add(u64::try_from(part).map_err(|_| too_large())?)
            .ok_or_else(too_large)?;
    }
    Ok(bytes)
}

/// `--memory`: a size of at least [`MIN_MEMORY`].
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if bytes < MIN_MEMORY {
        return Err("Minimum memory limit allowed is 6MB".to_owned());
    }
    Ok(bytes)
}

/// `--cpus`: docker's range, 0.01 to the host's processors.
pub fn parse_cpus(text: &str) -> Result<f64, String> {
    cpus_within(text, host_cpu_count())
}

fn cpus_within(text: &str, host: u64) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if (0.01..=host as f64).contains(&n) => Ok(n),
        _ => Err(format!(
            "Range of CPUs is from 0.01 to {host}.00, as there are only {host} CPUs available"
        )),
    }
}

/// `-e NAME=VALUE` or `-e NAME`: a name that is not empty and holds no
/// `=` or white space; no NUL anywhere (a process environment cannot
/// carry one).
pub fn parse_env(text: &str) -> Result<String, String> {
    let name = text.split_once('=').map_or(text, |(name, _)| name);
    let why = if name.is_empty() {
        "the name is empty"
    } else if name.chars().any(char::is_whitespace) {
        "the name contains white space"
    } else if text.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(text.to_owned());
    };
    Err(format!("invalid environment variable {text:?}: {why}"))
}

/// `--hostname`: an RFC 1123 host name — dot-separated labels of 1 to 63
/// letters, digits and `-`, none starting or ending with `-` — of at most
/// the kernel's [`MAX_HOSTNAME`] characters.
pub fn parse_hostname(text: &str) -> Result<String, String> {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if text.len() <= MAX_HOSTNAME && text.split('.').all(label_ok) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "invalid hostname {text:?}: use dot-separated labels of letters, digits and '-', \
             not starting or ending with '-' (RFC 1123), at most {MAX_HOSTNAME} characters"
        ))
    }
}

/// A container id names its scratch folder and the service's records: one
/// that [`hcs::is_plain_id`] accepts.
pub fn container_id(id: &str) -> Result<String, String> {
    if hcs::is_plain_id(id) {
        Ok(id.to_owned())
    } else {
        Err(format!(
            "invalid container id {id:?}: use 1 to {} letters, digits, '-', '_' or '.', \
             starting with a letter or digit",
            hcs::MAX_ID_LEN
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_exact() {
        assert_eq!(parse_size("256m"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512kb"), Ok(512 << 10));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("1048576b"), Ok(1 << 20));
        assert_eq!(parse_size("1500k"), Ok(1_536_000));
        assert_eq!(parse_size("1.5g"), Ok(1_610_612_736));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("0.3k"), Ok(307));
        assert_eq!(parse_size("2.50m"), Ok(2_621_440));
        assert_eq!(parse_size("0"), Ok(0));
        for bad in [
            "lots", "", "k", "12q", "1..5m", ".5m", "1.5.2m", "-1m", "1e3",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_size("99999999999t").is_err(), "overflow");
        assert!(parse_size("18446744073709551616").is_err(), "overflow");
    }

    #[test]
    fn memory_is_at_least_6_mib() {
        assert_eq!(parse_memory("6m"), Ok(6 << 20));
        assert_eq!(parse_memory("6291456"), Ok(6 << 20));
        for small in ["512k", "1", "1k", "1500k", "6291455", "0"] {
            assert_eq!(
                parse_memory(small),
                Err("Minimum memory limit allowed is 6MB".to_owned()),
                "{small}"
            );
        }
    }

    #[test]
    fn cpus_within_the_host() {
        assert_eq!(cpus_within("1.5", 2), Ok(1.5));
        assert_eq!(cpus_within("2", 2), Ok(2.0));
        assert_eq!(cpus_within("0.01", 2), Ok(0.01));
        for bad in [
            "0", "-1", "NaN", "inf", "2.01", "1000", "1e-9", "0.009", "x",
        ] {
            assert_eq!(
                cpus_within(bad, 2),
                Err(
                    "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
                        .to_owned()
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn environment_names() {
        for good in ["A=1", "A", "A=", "A=b=c", "a_b.c=x y", "PATH=/bin"] {
            assert_eq!(parse_env(good).as_deref(), Ok(good));
        }
        for bad in ["=val", "", "A B=1", " A=1", "A\t=1", "A=\0"] {
            assert!(parse_env(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn host_names_are_rfc_1123() {
        for good in ["box", "web-1", "a.b.c", "1host", &"h".repeat(63), "A9"] {
            assert_eq!(parse_hostname(good).as_deref(), Ok(good));
        }
        let long = format!("{}.{}", "a".repeat(40), "b".repeat(30));
        for bad in [
            "",
            "bad host/name",
            "-lead",
            "trail-",
            "a..b",
            ".a",
            "a.",
            "under_score",
            "nul\0",
            &"h".repeat(64 + 1),
            &long,
        ] {
            assert!(parse_hostname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn container_ids_are_single_plain_names() {
        for id in ["web", "5e0055c814a6", "my-app_1.2"] {
            assert_eq!(container_id(id).as_deref(), Ok(id));
        }
        for id in [
            "",
            "/",
            ".",
            "..",
            "../x",
            "a/b",
            ".hidden",
            "-x",
            "a b",
            &"x".repeat(129),
        ] {
            assert!(container_id(id).is_err(), "{id:?}");
        }
    }
}
