//! The options of `hcsrun run`, named as docker and ctr users expect.

use std::path::PathBuf;

/// Run a command in a new container, in the foreground: its output is
/// streamed here and hcsrun exits with its exit code.
///
/// Without --layer, the host's root file system is the container's
/// read-only base layer.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  hcsrun run -- echo hello\n  hcsrun run -it -- sh\n  \
    hcsrun run --memory 256m -v /srv/data:/data:ro -- ls /data"
)]
pub struct Args {
    /// The container's id [default: random].
    #[arg(long, visible_alias = "id", value_name = "ID")]
    pub name: Option<String>,

    /// Remove the container's scratch folder when it exits (the default).
    #[arg(long, overrides_with = "keep")]
    pub rm: bool,

    /// Keep the scratch folder created for the container.
    #[arg(long)]
    pub keep: bool,

    /// Keep stdin open and forward this process's stdin to the container.
    #[arg(short, long)]
    pub interactive: bool,

    /// Give the container a terminal (a pty sized as this one).
    #[arg(short, long)]
    pub tty: bool,

    /// Set an environment variable (KEY=VALUE, or KEY to pass this
    /// process's value).
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Working directory inside the container.
    #[arg(short, long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,

    /// User to run as: a name from the container's /etc/passwd, or uid[:gid].
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,

    /// The container's host name [default: the first 12 characters of its id].
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,

    /// Map a host path into the container: SRC:DST[:ro|rw]. A destination
    /// \\.\pipe\NAME maps the host unix socket SRC as a named pipe.
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST[:ro]")]
    pub volumes: Vec<String>,

    /// A read-only layer (a directory, or a layer.vhd image); repeat for
    /// more, top-most first [default: the host's root].
    #[arg(long = "layer", value_name = "PATH")]
    pub layers: Vec<PathBuf>,

    /// The writable scratch folder [default: a new folder under
    /// /var/lib/hcsrun/scratch, removed at exit unless --keep].
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,

    /// Isolation: process, or hyperv (emulated on the Linux compute
    /// service: no utility VM).
    #[arg(long, value_name = "MODE", default_value = "process", value_parser = ["process", "hyperv"])]
    pub isolation: String,

    /// Memory limit, in bytes or with a unit: 512k, 256m, 1g.
    #[arg(short, long, value_name = "SIZE", value_parser = parse_size)]
    pub memory: Option<u64>,

    /// CPUs' worth of processor time, e.g. 0.5 or 1.5 (a share of the
    /// host's processors, as docker does on Windows).
    #[arg(long, value_name = "N", value_parser = parse_cpus)]
    pub cpus: Option<f64>,

    /// Number of processors the container may use.
    #[arg(long, value_name = "N")]
    pub cpu_count: Option<u64>,

    /// Relative CPU weight, 1 to 10000.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=10000))]
    pub cpu_shares: Option<u16>,

    /// Maximum processor use, in hundredths of a percent of the host
    /// (1 to 10000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=10000))]
    pub cpu_maximum: Option<u16>,

    /// Network: none (loopback only) or container:ID (share that
    /// container's network).
    #[arg(long, value_name = "MODE", default_value = "none")]
    pub network: String,

    /// Run an OCI bundle's config.json instead of building a spec (its
    /// root.path, relative to the bundle, is the layer unless --layer or
    /// windows.layerFolders say otherwise).
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,

    /// Create options, as a JSON file (see the README for its keys).
    #[arg(long, value_name = "FILE")]
    pub options: Option<PathBuf>,

    /// The command and its arguments.
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `512k`, `256m`, `1g`, `2t` (powers of 1024; an optional trailing `b`),
/// or plain bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, shift) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 10),
        Some('m') => (&lower[..lower.len() - 1], 20),
        Some('g') => (&lower[..lower.len() - 1], 30),
        Some('t') => (&lower[..lower.len() - 1], 40),
        _ => (lower, 0),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (try 256m or 1g)"))?;
    value
        .checked_shl(shift)
        .filter(|v| v >> shift == value && *v > 0)
        .ok_or_else(|| format!("{text:?} is not a usable size"))
}

fn parse_cpus(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n),
        _ => Err(format!("{text:?} is not a positive number of CPUs")),
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
    fn sizes() {
        assert_eq!(parse_size("256m"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512kb"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("99999999999t").is_err(), "overflow");
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

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus("1.5"), Ok(1.5));
        assert!(parse_cpus("0").is_err());
        assert!(parse_cpus("-1").is_err());
        assert!(parse_cpus("NaN").is_err());
    }
}
