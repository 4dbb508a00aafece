//! `hcsrun rm [-f] ID…`: a container and everything of it gone — its
//! system's record, scratch folder (if hcsrun made it), cgroups, log,
//! hcsrun's record and its record of the image it uses. Also the scratch
//! folder a foreground `hcsrun run --keep` left, which has no record: run
//! says `hcsrun rm ID` removes it.

use std::{
    fs::File,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use hcs::ComputeService;
use hcsrun::service::ServiceChoice;
use nix::fcntl::{Flock, FlockArg};

use super::common::{block_on, for_each};
use crate::containers::{store, Found, LINUX_SYSTEMS};

/// Where `hcsrun run` makes a container's scratch folder.
const SCRATCH_ROOT: &str = "/var/lib/hcsrun/scratch";

/// Remove one or more containers.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun rm -f web1")]
pub struct Args {
    /// Kill a running container first.
    #[arg(short, long)]
    force: bool,
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// Removes each container named, in the order named.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    let force = args.force;
    let mut failed = false;
    let mut batch: Vec<String> = Vec::new();
    // The containers between two kept folders are listed and removed
    // together (a listing reads every container's record).
    let flush = |batch: &mut Vec<String>| -> anyhow::Result<bool> {
        if batch.is_empty() {
            return Ok(true);
        }
        let code = block_on(async {
            Ok(for_each("rm", choice, batch, |service, found| async move {
                remove(&*service, &found, force).await
            })
            .await)
        })?;
        batch.clear();
        Ok(code == ExitCode::SUCCESS)
    };
    for query in args.containers {
        let Some(kept) = kept_scratch(&query) else {
            batch.push(query);
            continue;
        };
        failed |= !flush(&mut batch)?;
        match remove_kept(&query, kept) {
            Ok(()) => {
                let _ = crate::output::print(&format!("{query}\n"));
            }
            Err(e) => {
                failed = true;
                crate::output::error_line(&format!("hcsrun: rm: {e:#}"));
            }
        }
    }
    failed |= !flush(&mut batch)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The scratch folder `hcsrun run --keep` left for container `id`, locked,
/// where nothing else of a container of that id is left: no record of
/// hcsrun's, no system, no run holding the folder (one starting holds it
/// before anything else of it exists).
fn kept_scratch(id: &str) -> Option<(PathBuf, Flock<File>)> {
    if !hcs::is_plain_id(id) || named(id) {
        return None;
    }
    let scratch = Path::new(SCRATCH_ROOT).join(id);
    // Not followed if a link: hcsrun's scratch folders are directories.
    let folder = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(&scratch)
        .ok()?;
    let claim = Flock::lock(folder, FlockArg::LockExclusiveNonblock).ok()?;
    // Named meanwhile (a run that made its record and let go): not kept.
    (!named(id)).then_some((scratch, claim))
}

/// Whether a record names container `id`: hcsrun's or its system's.
fn named(id: &str) -> bool {
    store::dir(id).exists() || Path::new(LINUX_SYSTEMS).join(id).exists()
}

/// Removes a kept scratch folder (its claim held) and, first, the record
/// of its image's use.
fn remove_kept(id: &str, (scratch, _claim): (PathBuf, Flock<File>)) -> anyhow::Result<()> {
    forget_image(id)?;
    remove_scratch(id, &scratch)
}

/// Removes container `id`'s scratch folder; one already gone is no error.
fn remove_scratch(id: &str, scratch: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(scratch) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(anyhow::anyhow!(
            "container {id}: removing its scratch folder {}: {e}",
            scratch.display()
        )),
        _ => Ok(()),
    }
}

/// Container `id` no longer uses its image.
fn forget_image(id: &str) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    super::image::forget(id)?;
    #[cfg(not(target_os = "linux"))]
    let _ = id;
    Ok(())
}

/// Removes `found`; a running one only with `force` (killed first).
pub async fn remove(
    service: &dyn ComputeService,
    found: &Found,
    force: bool,
) -> anyhow::Result<()> {
    let id = &found.id;
    if found.status.is_running() {
        if !force {
            anyhow::bail!(
                "you cannot remove a running container {id}: stop the container before \
                 attempting removal or force remove (-f)"
            );
        }
        let system = service.open_system(id).await?;
        match system.terminate().await {
            Err(e) if !e.is_pending() && !e.is_already_stopped() => return Err(e.into()),
            _ => {}
        }
        system.wait_timeout(Duration::from_secs(30)).await?;
        // Closing the handle of a stopped system removes its record.
        system.close().await?;
    } else if found.system.is_some() {
        match service.open_system(id).await {
            Ok(system) => system.close().await?,
            Err(e) if e.is_not_exist() => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Its image's use is forgotten first: once its scratch folder and
    // record are gone, a new container of that id may record its own.
    {
        let id = id.clone();
        tokio::task::spawn_blocking(move || forget_image(&id)).await??;
    }
    let scratch = match &found.record {
        Some(record) => record.scratch.clone().filter(|_| record.scratch_is_ours),
        // A container of a foreground `hcsrun run` that was killed: its
        // scratch folder, if run made it, has its id under hcsrun's folder.
        None => Some(PathBuf::from(SCRATCH_ROOT).join(id)),
    };
    if let Some(scratch) = scratch {
        let id = id.clone();
        tokio::task::spawn_blocking(move || remove_scratch(&id, &scratch)).await??;
    }
    store::remove_async(id).await
}
