//! `hcsrun update [--memory SIZE] [--cpus N] [--cpu-shares N]
//! [--pids-limit N] ID…`: the seed's UpdateResources (a no-op in the
//! seed), which here changes a running container's limits in place through
//! `ComputeSystem::modify` with hcsrun's `Limits` resource (the Linux
//! service writes its cgroups; a service without it says not supported).

use std::process::ExitCode;

use hcs_schema::{LimitsUpdate, ResourceModificationRequestResponse};
use hcsrun::service::ServiceChoice;
use serde_json::Value;

use super::{
    common::{block_on, for_each, running},
    run::parse::{parse_cpus, parse_memory},
};

/// Change running containers' limits.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  hcsrun update --memory 512m --cpus 0.5 web1")]
pub struct Args {
    /// Memory limit: bytes, or with a unit (b, k, m, g).
    #[arg(short, long, value_name = "SIZE", value_parser = parse_memory)]
    memory: Option<u64>,
    /// CPUs' worth of processor time (a CFS quota), e.g. 0.5 or 1.5.
    #[arg(long, value_name = "N", value_parser = parse_cpus, allow_negative_numbers = true)]
    cpus: Option<f64>,
    /// Relative CPU weight, cpu.shares: 2 to 262144.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..=262_144))]
    cpu_shares: Option<u64>,
    /// Most processes at once (0 or -1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pids_limit: Option<i64>,
    /// Containers: ids or unique prefixes.
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

/// The CFS period hcsrun uses, in microseconds.
const PERIOD_US: u64 = 100_000;

/// Updates each container named.
pub fn run(args: Args, choice: &ServiceChoice) -> anyhow::Result<ExitCode> {
    let update = LimitsUpdate {
        memory_bytes: args.memory,
        cpu_quota_us: args.cpus.map(|n| (n * PERIOD_US as f64).round() as u64),
        cpu_period_us: args.cpus.map(|_| PERIOD_US),
        cpu_shares: args.cpu_shares,
        pids_limit: args.pids_limit,
    };
    if update == LimitsUpdate::default() {
        anyhow::bail!("update: give at least one of --memory, --cpus, --cpu-shares, --pids-limit");
    }
    let request = ResourceModificationRequestResponse {
        resource: hcs_schema::RESOURCE_LIMITS.to_owned(),
        data: serde_json::to_value(&update)?,
        request: hcs_schema::REQUEST_UPDATE.to_owned(),
    };
    block_on(async {
        Ok(
            for_each("update", choice, &args.containers, |service, found| {
                let (request, update) = (&request, &update);
                async move {
                    let system = running(&*service, &found).await?;
                    system.modify(request).await?;
                    // What inspect shows follows.
                    if let Some(record) = found.record {
                        let mut documents = record.load_documents().await?;
                        if let Some(spec) = documents.linux_spec.as_mut() {
                            record_limits(spec, update);
                            documents.persist(&record.id).await?;
                        }
                    }
                    Ok(())
                }
            })
            .await,
        )
    })
}

/// The Linux spec's resources as updated.
fn record_limits(spec: &mut Value, update: &LimitsUpdate) {
    let mut set = |pointer: &str, value: Value| {
        let mut at = &mut *spec;
        for key in pointer.split('/').filter(|k| !k.is_empty()) {
            if !at.is_object() {
                *at = Value::Object(Default::default());
            }
            at = at
                .as_object_mut()
                .expect("made an object above")
                .entry(key)
                .or_insert(Value::Null);
        }
        *at = value;
    };
    if let Some(bytes) = update.memory_bytes {
        set("/linux/resources/memory/limit", bytes.into());
    }
    if let (Some(quota), Some(period)) = (update.cpu_quota_us, update.cpu_period_us) {
        set("/linux/resources/cpu/quota", quota.into());
        set("/linux/resources/cpu/period", period.into());
    }
    if let Some(shares) = update.cpu_shares {
        set("/linux/resources/cpu/shares", shares.into());
    }
    if let Some(limit) = update.pids_limit {
        set("/linux/resources/pids/limit", limit.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_spec_follows_an_update() {
        let mut spec = serde_json::json!({"linux": {"resources": {"memory": {"limit": 1}}}});
        record_limits(
            &mut spec,
            &LimitsUpdate {
                memory_bytes: Some(512 << 20),
                pids_limit: Some(10),
                ..Default::default()
            },
        );
        assert_eq!(spec["linux"]["resources"]["memory"]["limit"], 512 << 20);
        assert_eq!(spec["linux"]["resources"]["pids"]["limit"], 10);
    }
}
