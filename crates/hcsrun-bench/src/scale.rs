//! Scale: many containers started at once through the client, their
//! idle memory, and terminating them all.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bench_tools::stats::Summary;
use hcsrun::client::State;
use tokio::task::JoinSet;

use crate::{
    client::Bench,
    memory,
    results::{Memory, ScaleRound, Usage},
};

/// The holder's command name, as `/proc/PID/stat` shows it.
const HOLDER: &str = "hcsrun-shim";

/// Starts `count` containers running `sleep` at once, waits `settle`, reads
/// the memory of this process and the holders, then terminates them all.
/// Failures are recorded, not fatal; everything started is stopped.
pub async fn round(
    bench: Arc<Bench>,
    round: usize,
    count: usize,
    settle: Duration,
) -> anyhow::Result<ScaleRound> {
    let mut result = ScaleRound {
        count,
        ..Default::default()
    };
    let client_before = memory::usage(std::process::id())?;
    let ids: Vec<String> = (0..count)
        .map(|i| format!("bench-scale-{}-{round}-{i}", std::process::id()))
        .collect();

    let started = Instant::now();
    let mut creates = JoinSet::new();
    for id in ids.iter().cloned() {
        let bench = bench.clone();
        creates.spawn(async move {
            let t0 = Instant::now();
            let created = bench.create(&id, &["sleep", "1000000"]).await;
            (id, created, t0.elapsed())
        });
    }
    let mut running = Vec::with_capacity(count);
    let mut create_ms = Vec::with_capacity(count);
    while let Some(joined) = creates.join_next().await {
        match joined {
            Ok((id, Ok(()), took)) => {
                running.push(id);
                create_ms.push(took.as_secs_f64() * 1e3);
            }
            Ok((_, Err(e), _)) => result.failures.push(format!("{e:#}")),
            Err(e) => result.failures.push(format!("a create task failed: {e}")),
        }
    }
    result.start_all_ms = started.elapsed().as_secs_f64() * 1e3;
    result.create_ms = Summary::of(&create_ms);

    tokio::time::sleep(settle).await;
    let measured = measure_memory(client_before);
    match measured {
        Ok(memory) => result.memory = memory,
        Err(e) => result.failures.push(format!("reading memory: {e:#}")),
    }

    let stopping = Instant::now();
    let mut stops = JoinSet::new();
    for id in running {
        let bench = bench.clone();
        stops.spawn(async move {
            let exited = bench.events.expect(&id, State::Exit, "");
            bench.client.signal(&id, 9).await?;
            exited.await?;
            anyhow::Ok(id)
        });
    }
    let mut stopped = Vec::new();
    while let Some(joined) = stops.join_next().await {
        match joined {
            Ok(Ok(id)) => stopped.push(id),
            Ok(Err(e)) => result.failures.push(format!("terminating: {e:#}")),
            Err(e) => result
                .failures
                .push(format!("a terminate task failed: {e}")),
        }
    }
    result.terminate_all_ms = stopping.elapsed().as_secs_f64() * 1e3;
    for id in stopped {
        if let Err(e) = bench.remove_scratch(&id) {
            result.failures.push(format!("{e:#}"));
        }
    }
    let left = memory::children_named(HOLDER)?;
    if !left.is_empty() {
        result.failures.push(format!(
            "{} holders still running after terminate: {left:?}",
            left.len()
        ));
    }
    Ok(result)
}

fn measure_memory(client_before: Usage) -> anyhow::Result<Memory> {
    let holders = memory::children_named(HOLDER)?;
    let mut total = Usage::default();
    for &pid in &holders {
        total = total + memory::usage(pid)?;
    }
    Ok(Memory {
        client_before,
        client: memory::usage(std::process::id())?,
        holders: total,
        holder_count: holders.len(),
    })
}
