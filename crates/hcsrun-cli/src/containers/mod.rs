//! Containers that outlive the command: what hcsrun keeps of each
//! ([`store`]), what state each is in, and ids as docker reads them (a
//! unique prefix works wherever an id does).
//!
//! Daemonless: the compute service's own record (`/run/hcsrun/<id>` for
//! the Linux service) is the live truth; hcsrun's record says what the
//! service does not (the command as typed, `--rm`, the log).

pub mod store;
mod time;

use std::{collections::BTreeMap, sync::Arc};

use hcs::ComputeService;
use hcs_schema::{ComputeSystemQuery, ContainerProperties};
use hcsrun::service::{self, ExitSummary, ServiceChoice};
pub use store::Record;
pub use time::{human_duration, now_rfc3339, since};

/// The seed's exit code for a container whose end nobody recorded.
pub const LOST_EXIT_CODE: u32 = 1 << 31;

/// Where the Linux compute service keeps a system's record while the
/// system exists (its default runtime directory).
pub const LINUX_SYSTEMS: &str = "/run/hcsrun";

/// What state a container is in, as `ps` and `inspect` say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Created, not started.
    Created,
    /// Its system runs.
    Running,
    /// Its system runs, frozen.
    Paused,
    /// Its system stopped.
    Exited(ExitSummary),
}

impl Status {
    /// docker's word for it.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Exited(_) => "exited",
        }
    }

    /// Its system runs (paused or not).
    pub fn is_running(&self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }
}

/// A container as found: its record (if hcsrun made it), whether the
/// service knows it, and its state.
#[derive(Clone, Debug)]
pub struct Found {
    /// The full id.
    pub id: String,
    /// hcsrun's record.
    pub record: Option<Record>,
    /// The service's properties, if it still has the system.
    pub system: Option<ContainerProperties>,
    /// Its state.
    pub status: Status,
}

/// The service a container runs on: the one its record names, else the
/// one chosen on the command line.
pub fn service_of(record: Option<&Record>, choice: &ServiceChoice) -> ServiceChoice {
    record
        .and_then(|r| r.service.parse().ok())
        .unwrap_or_else(|| choice.clone())
}

/// Every container hcsrun or the service knows, with its state, sorted by
/// id.
pub async fn all(
    service: &dyn ComputeService,
    choice: &ServiceChoice,
) -> anyhow::Result<Vec<Found>> {
    let systems: BTreeMap<String, ContainerProperties> = service
        .enumerate(&ComputeSystemQuery::default())
        .await
        .map_err(|e| anyhow::anyhow!("listing the compute service's systems: {e}"))?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let service_ids: Vec<String> = systems.keys().cloned().collect();
    // The records are read on the blocking pool.
    let records = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let mut ids = store::list()?;
        ids.extend(service_ids);
        ids.sort();
        ids.dedup();
        Ok(ids
            .into_iter()
            .map(|id| {
                let record = Record::load(&id).ok().flatten();
                (id, record)
            })
            .collect::<Vec<_>>())
    })
    .await??;
    let mut found = Vec::with_capacity(records.len());
    for (id, record) in records {
        let system = systems.get(&id).cloned();
        let status = status(&id, record.as_ref(), system.as_ref(), choice).await;
        found.push(Found {
            id,
            record,
            system,
            status,
        });
    }
    Ok(found)
}

/// The state of container `id` from its record and the service's
/// properties of its system.
async fn status(
    id: &str,
    record: Option<&Record>,
    system: Option<&ContainerProperties>,
    choice: &ServiceChoice,
) -> Status {
    let started = record.is_some_and(|r| r.started.is_some());
    let lost = || {
        Status::Exited(ExitSummary {
            exit_code: LOST_EXIT_CODE,
            finished: None,
            oom_killed: false,
            how: "lost".to_owned(),
        })
    };
    match system {
        Some(p) if !p.stopped => {
            if record.is_some_and(|r| r.paused) {
                Status::Paused
            } else {
                Status::Running
            }
        }
        // No exit type: the system never ran (or its end is unknown to a
        // service that keeps no exit records); no record to read.
        Some(p) if p.exit_type.is_empty() && !started => Status::Created,
        Some(_) => match service::exit_record(&service_of(record, choice), id).await {
            Ok(Some(exit)) => Status::Exited(exit),
            _ if started || record.is_none() => lost(),
            _ => Status::Created,
        },
        // The service's record is gone (a reboot emptied /run): a container
        // that had started ended unseen.
        None if started => lost(),
        None => Status::Created,
    }
}

/// Finds the one container `query` names: its id, or a unique prefix of
/// one (docker's rule). Unknown or ambiguous is one line naming it.
pub async fn find(
    service: &dyn ComputeService,
    choice: &ServiceChoice,
    query: &str,
) -> anyhow::Result<Found> {
    let found = all(service, choice).await?;
    pick(&found, query)
}

/// The container of `found` that `query` names.
pub fn pick(found: &[Found], query: &str) -> anyhow::Result<Found> {
    if query.is_empty() {
        anyhow::bail!("no such container: \"\"");
    }
    if let Some(exact) = found.iter().find(|f| f.id == query) {
        return Ok(exact.clone());
    }
    let matches: Vec<&Found> = found.iter().filter(|f| f.id.starts_with(query)).collect();
    match matches.as_slice() {
        [] => anyhow::bail!("no such container: {query}"),
        [one] => Ok((*one).clone()),
        many => anyhow::bail!(
            "{query} is ambiguous: it begins {} containers' ids",
            many.len()
        ),
    }
}

/// A shared handle to the service `choice` names.
pub fn open_service(choice: &ServiceChoice) -> anyhow::Result<Arc<dyn ComputeService>> {
    Ok(service::open(choice)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str) -> Found {
        Found {
            id: id.to_owned(),
            record: None,
            system: None,
            status: Status::Created,
        }
    }

    #[test]
    fn ids_are_found_by_unique_prefix_as_docker_finds_them() {
        let all = [found("abc123"), found("abd456"), found("ab")];
        assert_eq!(pick(&all, "abc").unwrap().id, "abc123");
        // An exact id wins over the ids it begins.
        assert_eq!(pick(&all, "ab").unwrap().id, "ab");
        assert_eq!(
            pick(&all, "a").unwrap_err().to_string(),
            "a is ambiguous: it begins 3 containers' ids"
        );
        assert_eq!(
            pick(&all, "zz").unwrap_err().to_string(),
            "no such container: zz"
        );
    }
}
