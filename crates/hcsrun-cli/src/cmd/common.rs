//! What the container verbs share: a runtime, the service, the container a
//! query names.

use std::{future::Future, process::ExitCode, sync::Arc};

use hcs::{ComputeService, ComputeSystem};
use hcsrun::service::ServiceChoice;

use crate::containers::{self, Found};

/// Runs `work` to its end on a current-thread runtime, as `hcsrun run`
/// does; a read of stdin still blocked in the runtime's pool is not waited
/// for.
pub fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(work);
    runtime.shutdown_background();
    result
}

/// The container `query` names (an id or a unique prefix) and the service
/// it runs on.
pub async fn target(
    choice: &ServiceChoice,
    query: &str,
) -> anyhow::Result<(Arc<dyn ComputeService>, Found)> {
    let service = containers::open_service(choice)?;
    let found = containers::find(&*service, choice, query).await?;
    own_service(service, choice, found)
}

/// `found` with the service it runs on: `service` (the one `choice`
/// names) unless its record names another.
fn own_service(
    service: Arc<dyn ComputeService>,
    choice: &ServiceChoice,
    found: Found,
) -> anyhow::Result<(Arc<dyn ComputeService>, Found)> {
    let own = containers::service_of(found.record.as_ref(), choice);
    if own == *choice {
        return Ok((service, found));
    }
    Ok((containers::open_service(&own)?, found))
}

/// A handle to `found`'s system, which must run.
pub async fn running(
    service: &dyn ComputeService,
    found: &Found,
) -> anyhow::Result<Box<dyn ComputeSystem>> {
    if !found.status.is_running() {
        anyhow::bail!("container {} is not running", found.id);
    }
    Ok(service.open_system(&found.id).await?)
}

/// Applies `each` to every container of `queries`, printing the id of each
/// one done and one line for each failure (docker's rule for rm, stop,
/// kill, pause…): exit 1 if any failed.
pub async fn for_each<F, Fut>(
    verb: &str,
    choice: &ServiceChoice,
    queries: &[String],
    each: F,
) -> ExitCode
where
    F: Fn(Arc<dyn ComputeService>, Found) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut failed = false;
    // The containers are listed once, however many are named.
    let listed = match containers::open_service(choice) {
        Ok(service) => containers::all(&*service, choice)
            .await
            .map(|all| (service, all)),
        Err(e) => Err(e),
    };
    for query in queries {
        let done = match &listed {
            Ok((service, all)) => match containers::pick(all, query)
                .and_then(|found| own_service(service.clone(), choice, found))
            {
                Ok((service, found)) => each(service, found).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(anyhow::anyhow!("{e:#}")),
        };
        match done {
            Ok(()) => {
                let _ = crate::output::print(&format!("{query}\n"));
            }
            Err(e) => {
                failed = true;
                crate::output::error_line(&format!("hcsrun: {verb}: {e:#}"));
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
