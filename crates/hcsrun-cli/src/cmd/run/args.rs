//! The options of `hcsrun run`, named as docker and ctr users expect.

use std::path::PathBuf;

use super::{
    linux::opts::{
        parse_device, parse_memory_swap, parse_security_opt, parse_sysctl, parse_tmpfs,
        parse_ulimit, DeviceMapping, SecurityOpt, Swap, Tmpfs, Ulimit,
    },
    parse::{container_id, parse_cpus, parse_env, parse_hostname, parse_memory},
};

/// Run a command in a new container, in the foreground: its output is
/// streamed here and hcsrun exits with its exit code.
///
/// hcsrun run [OPTIONS] IMAGE [COMMAND [ARG...]] runs an image of the
/// store (hcsrun pull, hcsrun load) with its config's entrypoint, command,
/// environment, working directory and user. hcsrun run [OPTIONS] --
/// COMMAND [ARG...] runs on the --layers, the --bundle, or without them
/// the host's root file system as the container's read-only base layer.
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "hcsrun run [OPTIONS] IMAGE [COMMAND [ARG...]]\n       \
                      hcsrun run [OPTIONS] -- COMMAND [ARG...]",
    after_help = "Examples:\n  hcsrun run -- echo hello\n  hcsrun run busybox echo hi\n  \
    hcsrun run -it -- sh\n  \
    hcsrun run --memory 256m -v /srv/data:/data:ro -- ls /data\n\n\
    A bad option or value exits with code 125 and one line, as docker's."
)]
pub struct Args {
    /// The container's id: 1 to 128 letters, digits, '-', '_' or '.'
    /// [default: random].
    #[arg(long, visible_alias = "id", value_name = "ID", value_parser = container_id)]
    pub name: Option<String>,

    /// Run the container in the background: print its id and return once
    /// it is started; its output goes to its log (`hcsrun logs`).
    #[arg(short, long)]
    pub detach: bool,

    /// Remove the container's scratch folder when it exits (the default in
    /// the foreground; a detached or created container is kept until
    /// `hcsrun rm`).
    #[arg(long, conflicts_with = "keep")]
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
    /// process's value). KEY is not empty and has no '=' or white space.
    #[arg(short, long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<String>,

    /// Working directory inside the container.
    #[arg(short, long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,

    /// User to run as: NAME or UID, with :GROUP or :GID, looked up in the
    /// container's /etc/passwd and /etc/group.
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,

    /// The container's host name, RFC 1123 [default: the first 12
    /// characters of its id].
    #[arg(long, value_name = "NAME", value_parser = parse_hostname, allow_hyphen_values = true)]
    pub hostname: Option<String>,

    /// Map a host path into the container: SRC:DST[:ro|rw]. DST is absolute
    /// and not /, /dev, /proc or /sys (the container's own). A destination
    /// \\.\pipe\NAME maps the host unix socket SRC as a named pipe, seen
    /// at /run/pipe/NAME.
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST[:ro]")]
    pub volumes: Vec<String>,

    /// A read-only layer (a directory, or a layer.vhd image); repeat for
    /// more, top-most first [default: the host's root].
    #[arg(long = "layer", value_name = "PATH")]
    pub layers: Vec<PathBuf>,

    /// The writable scratch folder, outside every layer; made if missing,
    /// and never removed [default: a new folder under
    /// /var/lib/hcsrun/scratch, removed at exit unless --keep].
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,

    /// Isolation: process, or hyperv (emulated on the Linux compute
    /// service: no utility VM).
    #[arg(long, value_name = "MODE", default_value = "process", value_parser = ["process", "hyperv"])]
    pub isolation: String,

    /// Memory limit, at least 6m: bytes, or with a unit (b, k, m, g: 6500k,
    /// 256m, 1.5g); exact for a Linux container. The Windows schema counts
    /// whole MiB: there hcsrun rounds up.
    #[arg(short, long, value_name = "SIZE", value_parser = parse_memory)]
    pub memory: Option<u64>,

    /// Memory and swap together (at least --memory), or -1 for unlimited
    /// swap [default: twice --memory where the kernel limits swap].
    #[arg(long, value_name = "SIZE", value_parser = parse_memory_swap, allow_hyphen_values = true)]
    pub memory_swap: Option<Swap>,

    /// CPUs' worth of processor time, 0.01 to the host's processors, e.g.
    /// 0.5 or 1.5: a CFS quota for a Linux container, as docker's; a share
    /// of the host's processors for a Windows-schema one, as docker does
    /// on Windows.
    #[arg(long, value_name = "N", value_parser = parse_cpus, allow_negative_numbers = true,
          conflicts_with = "cpu_maximum")]
    pub cpus: Option<f64>,

    /// Number of processors the container may use (more than the host has
    /// gives all of them).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub cpu_count: Option<u64>,

    /// Relative CPU weight: cpu.shares, 2 to 262144 (docker's range), for a
    /// Linux container; the Windows schema's ProcessorWeight, 1 to 10000,
    /// on a service that runs Windows-schema containers.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=262_144))]
    pub cpu_shares: Option<u64>,

    /// Maximum processor use, in hundredths of a percent of the host
    /// (1 to 10000; for a Linux container a CFS quota of at least 0.01
    /// CPUs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=10000))]
    pub cpu_maximum: Option<u16>,

    /// Network: none (loopback only) or container:ID (share that
    /// container's network).
    #[arg(long, value_name = "MODE", default_value = "none")]
    pub network: String,

    /// Add a Linux capability (CAP_NET_ADMIN or net_admin; ALL for every
    /// one) to docker's defaults.
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,

    /// Drop a Linux capability (ALL drops every one not added).
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,

    /// Give the container every capability, every device of the host, and
    /// no seccomp filter, masked or read-only paths, as docker does.
    #[arg(long)]
    pub privileged: bool,

    /// seccomp=unconfined|builtin|PROFILE.json, no-new-privileges[=true],
    /// systempaths=unconfined, writable-cgroups=true.
    #[arg(long = "security-opt", value_name = "OPTION", value_parser = parse_security_opt)]
    pub security_opt: Vec<SecurityOpt>,

    /// Most processes at once in the container (0 or -1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,

    /// Mount the container's root read-only.
    #[arg(long)]
    pub read_only: bool,

    /// A resource limit: NAME=SOFT[:HARD] (nofile, nproc, core, stack, ...;
    /// -1 is unlimited).
    #[arg(long, value_name = "NAME=SOFT[:HARD]", value_parser = parse_ulimit)]
    pub ulimit: Vec<Ulimit>,

    /// A host device: HOST[:CONTAINER][:PERMISSIONS] (permissions some of
    /// r, w, m; default rwm).
    #[arg(long, value_name = "HOST[:CONTAINER][:rwm]", value_parser = parse_device)]
    pub device: Vec<DeviceMapping>,

    /// A supplementary group: a name of the container's /etc/group, or a
    /// number.
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,

    /// A tmpfs mount: PATH[:OPTIONS] (size=64m, mode=1777, exec, ...;
    /// noexec, nosuid, nodev by default).
    #[arg(long, value_name = "PATH[:OPTIONS]", value_parser = parse_tmpfs)]
    pub tmpfs: Vec<Tmpfs>,

    /// A namespaced kernel parameter: KEY=VALUE (net.*, fs.mqueue.*, the
    /// IPC kernel.msg*/sem/shm* keys).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_sysctl)]
    pub sysctl: Vec<(String, String)>,

    /// Seconds between the SIGTERM that the first Ctrl-C, SIGTERM or SIGHUP
    /// sends the container and the SIGKILL that follows if it has not
    /// stopped (a second signal kills at once), as docker stop's; also how
    /// long what is left runs on after the first process exits.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub stop_timeout: u64,

    /// Run an OCI bundle's config.json instead of building a spec. A Linux
    /// bundle (one with a linux section, as `runc spec` makes) is honoured
    /// as it is, its root.path used in place; with a Windows one, root.path
    /// is the layer unless --layer or windows.layerFolders say otherwise.
    /// Flags that set what the bundle says (-e, -u, --memory, ...) are
    /// refused with it.
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,

    /// Create options, as a JSON file (see the README for its keys).
    #[arg(long, value_name = "FILE")]
    pub options: Option<PathBuf>,

    /// The image's entrypoint replaced by this command ("" for none); the
    /// image's Cmd is then not used. Only with an IMAGE.
    #[arg(long, value_name = "COMMAND", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,

    /// When to pull the IMAGE: always, missing (when the store has none
    /// for the platform) or never.
    #[arg(long, value_name = "POLICY", default_value = "missing", value_parser = ["always", "missing", "never"])]
    pub pull: String,

    /// The IMAGE's platform, os/arch[/variant], pulled if the store has
    /// the image for another [default: this host's].
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// IMAGE [COMMAND [ARG...]], as docker's: the image, then the command
    /// that replaces its Cmd; or, after `--`, the command and its
    /// arguments, run on the --layers, the --bundle or the host's root.
    #[arg(trailing_var_arg = true, value_name = "IMAGE")]
    pub command: Vec<String>,
}
