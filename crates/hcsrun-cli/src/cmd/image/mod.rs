//! The image verbs, over hcsrun-image's store: `pull`, `load`, `images`,
//! `rmi`, `tag`, and what `hcsrun run IMAGE` takes from an image
//! (`run.rs`). The store is `/var/lib/hcsrun/images`, or where
//! `HCSRUN_IMAGE_ROOT` says.

mod format;
mod progress;
mod pull;
mod run;
mod users;
mod workdir;

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use hcsrun_image::{Reference, Store};

pub use run::{find, pull_and_prepare, Found};
// For the container verbs' listings (IMAGE column).
#[allow(unused_imports)]
pub use users::{container_image, forget};

use crate::output;

/// Where the store is unless `HCSRUN_IMAGE_ROOT` says otherwise.
pub const DEFAULT_ROOT: &str = "/var/lib/hcsrun/images";

/// The store's folder.
pub fn root() -> PathBuf {
    std::env::var_os("HCSRUN_IMAGE_ROOT")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from)
}

/// Opens the store (made if missing).
pub fn open_store() -> anyhow::Result<Store> {
    let root = root();
    Store::open(&root).with_context(|| format!("opening the image store {}", root.display()))
}

/// Download an image from a registry.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  hcsrun pull busybox\n  \
    hcsrun pull --insecure-registry 127.0.0.1:5000 127.0.0.1:5000/app:1.0")]
pub struct PullArgs {
    /// The platform to pick from a manifest list: os/arch[/variant]
    /// [default: this host's].
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// A registry (host[:port]) reached over plain HTTP; repeat for more.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Print only the image's name at the end.
    #[arg(short, long)]
    pub quiet: bool,
    /// The image: NAME[:TAG|@DIGEST].
    #[arg(value_name = "REF")]
    pub reference: String,
}

/// Load images from a `docker save` archive or an OCI image layout archive.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Read from this tar archive instead of stdin.
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print only the names (or ids) of the images loaded.
    #[arg(short, long)]
    pub quiet: bool,
}

/// List images: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// Only the ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Full image ids.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only images of this repository (NAME or NAME:TAG).
    #[arg(value_name = "REPOSITORY")]
    pub repository: Option<String>,
}

/// Remove images: a tag, or an image with its last tag. Refused while a
/// container uses the image.
#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    /// Remove an image that has several tags by its id; untag one a
    /// stopped container uses (it stays until that container is removed).
    #[arg(short, long)]
    pub force: bool,
    /// NAME[:TAG], sha256:ID or an id prefix.
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

/// Give an image another name.
#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// The image: NAME[:TAG], sha256:ID or an id prefix.
    #[arg(value_name = "SOURCE_IMAGE")]
    pub source: String,
    /// The new name: NAME[:TAG].
    #[arg(value_name = "TARGET_IMAGE")]
    pub target: String,
}

/// `hcsrun pull`.
pub fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    pull::main(args)
}

/// `hcsrun load`.
pub fn load(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let store = open_store()?;
    let options = hcsrun_image::LoadOptions::default();
    let images = match &args.input {
        Some(path) => store.load(path, &options)?,
        None => {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() {
                anyhow::bail!("requested load from stdin, but stdin is empty: use -i FILE");
            }
            store.load_reader(std::io::stdin().lock(), "stdin", &options)?
        }
    };
    for image in images {
        let names = if image.repo_tags.is_empty() {
            vec![format!("Loaded image ID: {}", image.id)]
        } else {
            image
                .repo_tags
                .iter()
                .map(|t| format!("Loaded image: {}", familiar(t)))
                .collect()
        };
        for line in names {
            let line = match (args.quiet, line.split_once(": ")) {
                (true, Some((_, name))) => name.to_owned(),
                _ => line,
            };
            output::print(&format!("{line}\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `hcsrun images`.
pub fn images(args: ImagesArgs) -> anyhow::Result<ExitCode> {
    let store = open_store()?;
    let wanted = args
        .repository
        .as_deref()
        .map(|r| Reference::parse(r).with_context(|| format!("invalid reference {r:?}")))
        .transpose()?;
    let explicit_tag = args.repository.as_deref().is_some_and(|r| {
        r.rsplit_once(':')
            .is_some_and(|(_, tag)| !tag.contains('/'))
    });
    let rows: Vec<_> = store
        .images()?
        .into_iter()
        .filter(|row| match &wanted {
            None => true,
            Some(w) => {
                row.repository == w.familiar_name()
                    && (!explicit_tag || w.tag() == Some(row.tag.as_str()))
            }
        })
        .collect();
    let id = |d: &hcsrun_image::Digest| {
        if args.no_trunc {
            d.to_string()
        } else {
            d.short().to_owned()
        }
    };
    let mut text = String::new();
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for row in &rows {
            if seen.insert(row.id.clone()) {
                text.push_str(&id(&row.id));
                text.push('\n');
            }
        }
    } else {
        let now = std::time::SystemTime::now();
        let table: Vec<[String; 5]> = rows
            .iter()
            .map(|row| {
                [
                    row.repository.clone(),
                    row.tag.clone(),
                    id(&row.id),
                    format::created(row.created.as_deref(), now),
                    format::size(row.size),
                ]
            })
            .collect();
        text = format::table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], &table);
    }
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `hcsrun rmi`: each image in turn; the first failure is reported after
/// the others are tried, as docker does.
pub fn rmi(args: RmiArgs) -> anyhow::Result<ExitCode> {
    let store = open_store()?;
    let mut failed = false;
    for name in &args.images {
        match users::remove(&store, name, args.force) {
            Ok(lines) => {
                let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                output::print(&text)?;
            }
            Err(e) => {
                output::error_line(&format!("hcsrun: rmi: {e:#}"));
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `hcsrun tag`.
pub fn tag(args: TagArgs) -> anyhow::Result<ExitCode> {
    let store = open_store()?;
    let mut target = Reference::parse(&args.target)
        .with_context(|| format!("invalid reference format {:?}", args.target))?;
    if target.digest().is_some() {
        anyhow::bail!("{}: the new name cannot have a digest", args.target);
    }
    if target.tag().is_none() {
        target = target.with_tag("latest")?;
    }
    store.tag(&args.source, &target)?;
    Ok(ExitCode::SUCCESS)
}

/// A stored (normalized) name as docker shows it: `busybox:latest`.
fn familiar(name: &str) -> String {
    Reference::parse(name).map_or_else(|_| name.to_owned(), |r| r.familiar())
}
