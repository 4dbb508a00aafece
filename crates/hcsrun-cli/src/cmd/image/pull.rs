//! `hcsrun pull`: an image from a registry into the store, with docker's
//! output.

use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use hcsrun_image::{Image, Platform, Progress, PullOptions, Reference, Store};

use super::{
    open_store,
    progress::{Display, Stream},
    PullArgs,
};
use crate::output;

/// How a pull is asked for, by `hcsrun pull` or by `hcsrun run` for an
/// image not in the store.
pub struct Request<'a> {
    pub reference: &'a Reference,
    pub platform: Option<&'a str>,
    pub insecure_registries: Vec<String>,
    /// Byte counts and per-layer lines; else only the result.
    pub show_progress: bool,
    /// The name had neither tag nor digest: `latest` was assumed.
    pub default_tag: bool,
    /// Where the lines go.
    pub stream: Stream,
}

pub fn main(args: PullArgs) -> anyhow::Result<ExitCode> {
    let reference = Reference::parse(&args.reference)
        .with_context(|| format!("invalid reference format {:?}", args.reference))?;
    let store = open_store()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let request = Request {
        reference: &reference,
        platform: args.platform.as_deref(),
        insecure_registries: insecure_registries(&args.insecure_registry),
        show_progress: !args.quiet,
        default_tag: default_tag(&args.reference),
        stream: Stream::Stdout,
    };
    let image = runtime.block_on(pull(&store, &request));
    runtime.shutdown_background();
    image?;
    output::print(&format!("{reference}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Pulls as `request` says, printing docker's lines on stdout (unless it
/// asks for none): the layers, then the digest and status.
pub async fn pull(store: &Store, request: &Request<'_>) -> anyhow::Result<Image> {
    let reference = request.reference;
    let platform = match request.platform {
        Some(p) => Platform::parse(p).with_context(|| format!("--platform {p:?}"))?,
        None => Platform::host(),
    };
    // What the name meant before (read on the blocking pool).
    let before = {
        let (store, name) = (store.clone(), reference.to_string());
        tokio::task::spawn_blocking(move || store.get(&name).ok().map(|i| i.id))
            .await
            .ok()
            .flatten()
    };
    let display = Arc::new(Display::new(request.stream));
    let downloaded = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = PullOptions {
        platform,
        insecure_registries: request.insecure_registries.clone(),
        progress: request.show_progress.then(|| {
            let display = display.clone();
            let downloaded = downloaded.clone();
            Arc::new(move |step: &Progress| {
                if matches!(step, Progress::LayerDone { .. }) {
                    downloaded.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                display.update(step);
            }) as hcsrun_image::ProgressFn
        }),
        ..PullOptions::default()
    };
    if request.show_progress {
        let mut head = String::new();
        if request.default_tag {
            head.push_str("Using default tag: latest\n");
        }
        let what = match (reference.digest(), reference.tag()) {
            (Some(d), _) => d.to_string(),
            (None, t) => t.unwrap_or("latest").to_owned(),
        };
        head.push_str(&format!("{what}: Pulling from {}\n", reference.path()));
        request.stream.write(&head);
    }
    let image = store.pull(reference, &options).await;
    display.finish();
    let image = image?;
    if request.show_progress {
        let mut tail = String::new();
        if let Some(d) = &image.manifest_digest {
            tail.push_str(&format!("Digest: {d}\n"));
        }
        let fresh = downloaded.load(std::sync::atomic::Ordering::Relaxed)
            || before.as_ref() != Some(&image.id);
        let status = if fresh {
            "Downloaded newer image for"
        } else {
            "Image is up to date for"
        };
        tail.push_str(&format!("Status: {status} {}\n", reference.familiar()));
        request.stream.write(&tail);
    }
    Ok(image)
}

/// The registries reached over plain HTTP: `flags`, and those
/// `HCSRUN_INSECURE_REGISTRIES` names (comma-separated), as a daemon's
/// `insecure-registries` setting would.
pub fn insecure_registries(flags: &[String]) -> Vec<String> {
    let mut all = flags.to_vec();
    if let Ok(list) = std::env::var("HCSRUN_INSECURE_REGISTRIES") {
        all.extend(
            list.split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
        );
    }
    all
}

/// Whether `name` has neither tag nor digest (docker then says it uses
/// `latest`).
pub fn default_tag(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    !name.contains('@') && !last.contains(':')
}
