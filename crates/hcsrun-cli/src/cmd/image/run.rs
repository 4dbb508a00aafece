//! `hcsrun run [OPTIONS] IMAGE [COMMAND [ARG...]]`: the image's layers
//! become the container's (`--layer`s, top-most first, as the seed's
//! `LayerPaths`), and its config's Entrypoint, Cmd, Env, WorkingDir and
//! User fill in what the flags leave out, as docker's. Without an IMAGE
//! (everything after `--` is the command) nothing here applies.

use std::{fs::File, path::PathBuf};

use anyhow::{bail, Context};
use hcsrun_image::{Image, LayerFormat, Platform, RunConfig, Store};
use nix::fcntl::Flock;

use super::{
    open_store,
    users::{self, Record},
};
use crate::cmd::run::{
    linux::accounts::{self, RootFiles},
    Args,
};

/// The image a run uses, found and locked against `rmi` until the run
/// records that its container uses it.
pub struct ImageRun {
    store: Store,
    image: Image,
    name: String,
    /// The working directory the container starts in, if set.
    workdir: Option<String>,
    /// The image's layers unpacked, top-most first.
    folders: Vec<PathBuf>,
    _lock: Flock<File>,
}

/// The record of a container's image, released when the container is gone.
pub struct Recorded {
    path: PathBuf,
}

/// What [`find`] made of a run's IMAGE.
pub enum Found {
    /// No IMAGE: `args` is unchanged.
    NoImage,
    /// The image is in the store: its layers and config are in `args`.
    Ready(Box<ImageRun>),
    /// The image must be pulled first ([`pull_and_prepare`]).
    Pull(Pending),
}

/// An IMAGE to pull before the run: the store, locked, and what the
/// arguments asked.
pub struct Pending {
    store: Store,
    lock: Flock<File>,
    name: String,
    command: Vec<String>,
    platform: Option<Platform>,
    /// True when the store lacks it (docker says so); false for `--pull
    /// always`.
    missing: bool,
}

/// Takes an IMAGE from `args` (its first positional before `--`) and looks
/// it up in the store. Found, its layers become `args.layers` and its
/// config fills in the command, the environment, the working directory and
/// the user. Synchronous file-system work (flock waits for an rmi, a
/// layer.vhd is built by mkfs): called before the async runtime starts, as
/// the common case (the image is here) then needs no thread of its own.
pub fn find(args: &mut Args) -> anyhow::Result<Found> {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let Some((name, command)) = split_image(&argv, &args.command) else {
        let image_flag = match () {
            _ if args.entrypoint.is_some() => Some("--entrypoint"),
            _ if args.platform.is_some() => Some("--platform"),
            _ if args.pull != "missing" => Some("--pull"),
            _ => None,
        };
        if let Some(flag) = image_flag {
            bail!("{flag} needs an IMAGE: hcsrun run [OPTIONS] IMAGE [COMMAND [ARG...]]");
        }
        return Ok(Found::NoImage);
    };
    if !args.layers.is_empty() {
        bail!("image {name}: --layer is for a run without an image (the image gives the layers)");
    }
    let platform = args
        .platform
        .as_deref()
        .map(|p| Platform::parse(p).map_err(|e| anyhow::anyhow!("--platform {p:?}: {e}")))
        .transpose()?;
    if args.bundle.is_some() {
        bail!("image {name}: --bundle is for a run without an image");
    }
    let store = open_store()?;
    let lock = users::lock(&store, false)?;
    let found = match store.get(&name) {
        Ok(image) => Some(image),
        Err(e) if matches!(e.kind.innermost(), hcsrun_image::ErrorKind::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    // An image of another platform than the one asked for is not it.
    let found = found.filter(|image| {
        platform
            .as_ref()
            .is_none_or(|p| p.matches(&image.config.platform()))
    });
    let missing = match (args.pull.as_str(), found) {
        ("always", _) => false,
        (_, Some(image)) => {
            return ready(args, store, lock, image, name, command, platform)
                .map(|run| Found::Ready(Box::new(run)))
        }
        ("never", None) => match &args.platform {
            Some(p) => bail!("No such image: {name} for platform {p} (--pull never)"),
            None => bail!("No such image: {name} (--pull never)"),
        },
        (_, None) => true,
    };
    Ok(Found::Pull(Pending {
        store,
        lock,
        name,
        command,
        platform,
        missing,
    }))
}

/// Pulls the image [`find`] could not use, then prepares the run as
/// [`find`] does.
pub async fn pull_and_prepare(args: &mut Args, pending: Pending) -> anyhow::Result<ImageRun> {
    let Pending {
        store,
        lock,
        name,
        command,
        platform,
        missing,
    } = pending;
    let image = pull(&store, &name, args.platform.as_deref(), missing).await?;
    configure(args, &image, &name, command, platform)?;
    let (isolation, user) = (args.isolation.clone(), args.user.clone());
    let (run, layers, user) = blocking(move || {
        let (layers, folders, user) = layers(&store, &image, &name, &isolation, user)?;
        let run = ImageRun::new(store, image, name, folders, lock);
        Ok((run, layers, user))
    })
    .await?;
    Ok(run.finish(args, layers, user))
}

/// The run of `image`, found: [`configure`] and [`layers`] in turn.
fn ready(
    args: &mut Args,
    store: Store,
    lock: Flock<File>,
    image: Image,
    name: String,
    command: Vec<String>,
    platform: Option<Platform>,
) -> anyhow::Result<ImageRun> {
    configure(args, &image, &name, command, platform)?;
    let (layers, folders, user) = layers(&store, &image, &name, &args.isolation, args.user.take())?;
    Ok(ImageRun::new(store, image, name, folders, lock).finish(args, layers, user))
}

/// `image`'s config applied to `args`, once it is known to be a Linux
/// image of the platform asked for.
fn configure(
    args: &mut Args,
    image: &Image,
    name: &str,
    command: Vec<String>,
    platform: Option<Platform>,
) -> anyhow::Result<()> {
    // A registry's single-platform image is what it is.
    if let Some(p) = platform.filter(|p| !p.matches(&image.config.platform())) {
        bail!(
            "image {name} is for {}, not the platform asked for ({p})",
            image.config.platform()
        );
    }
    if image.config.os != "linux" {
        bail!(
            "image {name} is for {}: hcsrun runs Linux images",
            image.config.platform()
        );
    }
    let config = image.config.config.clone().unwrap_or_default();
    apply(args, &config, command).with_context(|| format!("image {name}"))
}

/// The container's layers (for Hyper-V isolation, their layer.vhd files,
/// built on first use), the same unpacked, and `user` with names made
/// numbers where the layers cannot be read before the container runs.
/// File-system work.
fn layers(
    store: &Store,
    image: &Image,
    name: &str,
    isolation: &str,
    user: Option<String>,
) -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>, Option<String>)> {
    let folders = store
        .layer_paths(image, LayerFormat::Folder)
        .with_context(|| format!("the layers of image {name}"))?;
    if isolation != "hyperv" {
        return Ok((folders.clone(), folders, user));
    }
    let mut layers = store
        .layer_paths(image, LayerFormat::Vhd)
        .with_context(|| format!("the layers of image {name}"))?;
    // The Linux service mounts a layer file as the ext4 image it is.
    for layer in &mut layers {
        layer.push(hcsrun_image::vhd::FILE_NAME);
    }
    // A layer image cannot be read before the container runs: names are
    // looked up in the same layers, unpacked.
    let user = match user {
        Some(user) => Some(numeric_user(&user, &folders).with_context(|| format!("image {name}"))?),
        None => None,
    };
    Ok((layers, folders, user))
}

/// `work` on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("a task of the blocking pool")?
}

/// Pulls the image, as docker run does, its lines on stderr (stdout is the
/// container's); `missing` when the store has none (docker says so
/// first).
async fn pull(
    store: &Store,
    name: &str,
    platform: Option<&str>,
    missing: bool,
) -> anyhow::Result<Image> {
    let failed = || match missing {
        true => anyhow::anyhow!("Unable to find image '{name}' locally"),
        false => anyhow::anyhow!("pulling image '{name}' (--pull always)"),
    };
    let Ok(reference) = hcsrun_image::Reference::parse(name) else {
        return Err(failed());
    };
    if missing {
        crate::output::error_line(&format!(
            "Unable to find image '{}' locally",
            reference.familiar()
        ));
    }
    let request = super::pull::Request {
        reference: &reference,
        platform,
        insecure_registries: super::pull::insecure_registries(&[]),
        show_progress: true,
        default_tag: false,
        stream: super::progress::Stream::Stderr,
    };
    super::pull::pull(store, &request)
        .await
        .with_context(failed)
}

/// The image and its command, where the positionals `command` (the last
/// arguments of `argv`, clap's trailing values) do not follow a `--`:
/// `run busybox echo hi` names an image, `run -- echo hi` does not. A `--`
/// right after the image only separates.
fn split_image(
    argv: &[std::ffi::OsString],
    positionals: &[String],
) -> Option<(String, Vec<String>)> {
    let (name, rest) = positionals.split_first()?;
    let before = argv.len().checked_sub(positionals.len() + 1)?;
    if argv[before] == "--" {
        return None;
    }
    let mut command = rest.to_vec();
    if command.first().is_some_and(|a| a == "--") {
        command.remove(0);
    }
    Some((name.clone(), command))
}

/// docker's rules: `--entrypoint` replaces the image's Entrypoint and drops
/// its Cmd; a COMMAND replaces Cmd; the image's Env comes before `-e`'s
/// (which win); WorkingDir and User apply unless `-w` and `-u` are given.
fn apply(args: &mut Args, config: &RunConfig, command: Vec<String>) -> anyhow::Result<()> {
    let entrypoint: Vec<String> = match &args.entrypoint {
        Some(e) if e.is_empty() => Vec::new(),
        Some(e) => vec![e.clone()],
        None => config.entrypoint.clone().unwrap_or_default(),
    };
    let cmd = if !command.is_empty() || args.entrypoint.is_some() {
        command
    } else {
        config.cmd.clone().unwrap_or_default()
    };
    args.command = entrypoint.into_iter().chain(cmd).collect();
    if args.command.is_empty() {
        bail!("no command specified: the image has no Entrypoint or Cmd; give a COMMAND");
    }
    // Only NAME=VALUE entries: a bare NAME would pass this process's value.
    let image_env = config.env.iter().flatten().filter(|e| {
        e.split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && !e.contains('\0'))
    });
    args.env = image_env.cloned().chain(args.env.drain(..)).collect();
    if args.workdir.is_none() {
        args.workdir = config.working_dir.clone().filter(|w| !w.is_empty());
    }
    if args.user.is_none() {
        args.user = config.user.clone().filter(|u| !u.is_empty());
    }
    Ok(())
}

/// `USER[:GROUP]` with names replaced by the numbers the top-most
/// `/etc/passwd` and `/etc/group` of `folders` (top-most first) give them,
/// read as every account file of an image is: inside its layer, regular
/// files only (`accounts`).
fn numeric_user(user: &str, folders: &[PathBuf]) -> anyhow::Result<String> {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (name, group) = user
        .split_once(':')
        .map_or((user, None), |(n, g)| (n, Some(g)));
    // Numbers alone are the runtime's to complete, as without an image.
    if numeric(name) && group.is_none_or(numeric) {
        return Ok(user.to_owned());
    }
    let root = RootFiles {
        folders: folders.to_vec(),
    };
    let account = accounts::resolve(Some(user), &[], &root).map_err(anyhow::Error::msg)?;
    Ok(format!("{}:{}", account.uid, account.gid))
}

impl ImageRun {
    fn new(
        store: Store,
        image: Image,
        name: String,
        folders: Vec<PathBuf>,
        lock: Flock<File>,
    ) -> Self {
        Self {
            store,
            image,
            name,
            workdir: None,
            folders,
            _lock: lock,
        }
    }

    /// The run's `layers` and `user` in `args`.
    fn finish(mut self, args: &mut Args, layers: Vec<PathBuf>, user: Option<String>) -> Self {
        args.layers = layers;
        args.user = user;
        self.workdir = args.workdir.clone();
        tracing::debug!(image = %self.image.id, layers = ?args.layers, command = ?args.command, "running an image");
        self
    }

    /// Records that container `id` (with its scratch folder) uses the
    /// image; then `rmi` refuses it until the container is gone. A working
    /// directory no layer has is made in the scratch folder, as docker
    /// makes it.
    pub fn record(
        self,
        id: &str,
        scratch: Option<&std::path::Path>,
        scratch_is_ours: bool,
    ) -> anyhow::Result<Recorded> {
        let record = Record {
            id: id.to_owned(),
            image: self.image.id.clone(),
            name: self.name.clone(),
            scratch: scratch.map(Into::into),
            scratch_is_ours,
            pid: std::process::id(),
        };
        let path = users::write(&self.store, &record)?;
        if let (Some(workdir), Some(scratch)) = (&self.workdir, scratch) {
            super::workdir::ensure(workdir, &self.folders, &scratch.join("upper"))?;
        }
        Ok(Recorded { path })
    }
}

impl Recorded {
    /// The container is gone: the image is no longer used by it.
    pub fn release(self) {
        match std::fs::remove_file(&self.path) {
            // `rm` forgot it (a detached start that failed).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("removing {}: {e}", self.path.display()),
            Ok(()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn args(line: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("run").chain(line.iter().copied()))
            .unwrap()
            .args
    }

    fn config() -> RunConfig {
        serde_json::from_value(serde_json::json!({
            "Entrypoint": ["/bin/ep"], "Cmd": ["default"], "Env": ["PATH=/bin", "A=1", "LEAK"],
            "WorkingDir": "/w", "User": "daemon"
        }))
        .unwrap()
    }

    #[test]
    fn the_image_fills_in_what_the_flags_leave_out() {
        let mut a = args(&["-e", "A=2", "img"]);
        apply(&mut a, &config(), vec![]).unwrap();
        assert_eq!(a.command, ["/bin/ep", "default"]);
        assert_eq!(a.env, ["PATH=/bin", "A=1", "A=2"]);
        assert_eq!(a.workdir.as_deref(), Some("/w"));
        assert_eq!(a.user.as_deref(), Some("daemon"));

        let mut a = args(&["-w", "/x", "-u", "0", "img"]);
        apply(&mut a, &config(), vec!["ls".into(), "-l".into()]).unwrap();
        assert_eq!(a.command, ["/bin/ep", "ls", "-l"]);
        assert_eq!(
            (a.workdir.as_deref(), a.user.as_deref()),
            (Some("/x"), Some("0"))
        );
    }

    #[test]
    fn entrypoint_replaces_the_images_and_drops_its_cmd() {
        let mut a = args(&["--entrypoint", "/bin/other", "img"]);
        apply(&mut a, &config(), vec![]).unwrap();
        assert_eq!(a.command, ["/bin/other"]);
        let mut a = args(&["--entrypoint", "", "img"]);
        apply(&mut a, &config(), vec!["echo".into(), "x".into()]).unwrap();
        assert_eq!(a.command, ["echo", "x"]);
        let mut a = args(&["--entrypoint", "", "img"]);
        let e = apply(&mut a, &config(), vec![]).unwrap_err();
        assert!(e.to_string().contains("no command specified"), "{e}");
    }

    #[test]
    fn an_image_is_the_first_positional_before_the_separator() {
        let split = |line: &[&str]| {
            let argv: Vec<std::ffi::OsString> = ["hcsrun", "run"]
                .iter()
                .chain(line)
                .map(Into::into)
                .collect();
            split_image(&argv, &args(line).command)
        };
        assert_eq!(split(&["--", "echo", "hi"]), None);
        assert_eq!(split(&["-e", "X=1", "--", "busybox"]), None);
        assert_eq!(split(&[]), None);
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(
            split(&["-e", "X=1", "busybox", "sh", "-c", "echo $X"]),
            Some(("busybox".into(), s(&["sh", "-c", "echo $X"])))
        );
        assert_eq!(split(&["busybox"]), Some(("busybox".into(), vec![])));
        assert_eq!(
            split(&["busybox", "--", "ls", "--", "-l"]),
            Some(("busybox".into(), s(&["ls", "--", "-l"])))
        );
        assert_eq!(
            split(&["busybox", "ls", "-e", "x"]),
            Some(("busybox".into(), s(&["ls", "-e", "x"])))
        );
    }

    #[test]
    fn user_names_are_looked_up_inside_the_layers_only() {
        let dir = tempfile::tempdir().unwrap();
        let (upper, lower) = (dir.path().join("upper"), dir.path().join("lower"));
        for d in [&upper, &lower] {
            std::fs::create_dir_all(d.join("etc")).unwrap();
        }
        std::fs::write(lower.join("etc/passwd"), "web:x:33:34::/var/www:/bin/sh\n").unwrap();
        std::fs::write(lower.join("etc/group"), "staff:x:50:\n").unwrap();
        let folders = vec![upper.clone(), lower.clone()];
        assert_eq!(numeric_user("web", &folders).unwrap(), "33:34");
        assert_eq!(numeric_user("web:staff", &folders).unwrap(), "33:50");
        assert_eq!(numeric_user("7", &folders).unwrap(), "7");
        // A link out of the layer names a file of the layer, not the
        // host's: the host's account would give 44:44.
        let outside = dir.path().join("host-passwd");
        std::fs::write(&outside, "web:x:44:44::/:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink(&outside, upper.join("etc/passwd")).unwrap();
        let found = numeric_user("web", &folders);
        assert!(found.as_deref().map_or(true, |u| u != "44:44"), "{found:?}");
        // A FIFO is never opened (it would block).
        std::fs::remove_file(upper.join("etc/passwd")).unwrap();
        nix::unistd::mkfifo(&upper.join("etc/passwd"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(numeric_user("web", &folders).is_err());
    }
}
