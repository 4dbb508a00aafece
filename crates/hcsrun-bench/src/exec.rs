//! Exec latency: `true` added to a running container through the client
//! (until its `exit-process` event), in turn with `runc exec` into a runc
//! container.

use std::time::Instant;

use anyhow::{bail, Context};
use bench_tools::{
    series::{Series, Timings},
    timed::Timed,
};
use hcsrun::client::State;

use crate::client::Bench;

/// Series names in the results.
pub const STARTED: &str = "hcsrun-started";
pub const COMPLETED: &str = "hcsrun";
pub const RUNC: &str = "runc";

/// Measures `runs` execs (after `warmup`) into a new container, and as many
/// `runc exec RUNC_ID true` in turn when a runc container is given.
pub async fn measure(
    bench: &Bench,
    runc_id: Option<&str>,
    warmup: usize,
    runs: usize,
) -> anyhow::Result<Timings> {
    let id = format!("bench-exec-{}", std::process::id());
    bench.create(&id, &["sleep", "1000000"]).await?;
    let measured = execs(bench, &id, runc_id, warmup, runs).await;
    let stopped = stop(bench, &id).await;
    let timings = measured?;
    stopped?;
    Ok(timings)
}

async fn execs(
    bench: &Bench,
    id: &str,
    runc_id: Option<&str>,
    warmup: usize,
    runs: usize,
) -> anyhow::Result<Timings> {
    let runc: Option<Timed> = runc_id
        .map(|r| format!("{RUNC}=runc exec {r} true").parse())
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let (mut started, mut completed, mut runc_ms) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..warmup + runs {
        let name = format!("exec{run}");
        let exited = bench.events.expect(id, State::ExitProcess, &name);
        let t0 = Instant::now();
        bench.exec(id, &name, &["true"]).await?;
        let t1 = Instant::now();
        let info = exited
            .await
            .with_context(|| format!("waiting for {name} in {id} to exit"))?;
        let t2 = Instant::now();
        if info.exit_code != 0 {
            bail!("{name} in {id}: true exited with {}", info.exit_code);
        }
        let runc = match &runc {
            Some(runc) => {
                let runc = runc.clone();
                Some(tokio::task::spawn_blocking(move || runc.run_once(run)).await??)
            }
            None => None,
        };
        if run >= warmup {
            started.push((t1 - t0).as_secs_f64() * 1e3);
            completed.push((t2 - t0).as_secs_f64() * 1e3);
            runc_ms.extend(runc);
        }
    }
    let mut series = vec![
        Series::new(COMPLETED, completed)
            .of("Client::add_process of true, until its exit-process event"),
        Series::new(STARTED, started).of("Client::add_process of true, until it returns"),
    ];
    if let Some(runc) = runc {
        series.push(Series::new(RUNC, runc_ms).of(runc.argv.join(" ")));
    }
    Ok(Timings { series })
}

/// Terminates container `id` and waits for its exit.
pub async fn stop(bench: &Bench, id: &str) -> anyhow::Result<()> {
    let exited = bench.events.expect(id, State::Exit, "");
    bench
        .client
        .signal(id, 9)
        .await
        .with_context(|| format!("terminating {id}"))?;
    exited
        .await
        .with_context(|| format!("waiting for {id} to exit"))?;
    bench.remove_scratch(id)
}
