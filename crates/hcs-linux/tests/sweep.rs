//! Enumerating sweeps the cgroups of systems that are gone, never those of
//! a system another process is starting meanwhile (whose cgroups are empty
//! until its pid 1 joins them): `hcsrun ps` beside `hcsrun run` must not
//! make the run fail.
//! Tests that run systems need root: `cargo test -- --include-ignored`.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use hcs_schema::ComputeSystemQuery;
use hcs_testkit::{require_root, Fixture, ServiceKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn enumerating_while_systems_start_sweeps_none_of_theirs() {
    require_root();
    let fx = Fixture::new("sweep", ServiceKind::Linux);
    let done = Arc::new(AtomicBool::new(false));
    let enumerator = {
        let (service, done) = (fx.service.clone(), done.clone());
        tokio::spawn(async move {
            let mut rounds = 0u32;
            while !done.load(Ordering::Relaxed) {
                service
                    .enumerate(&ComputeSystemQuery::default())
                    .await
                    .unwrap();
                rounds += 1;
            }
            rounds
        })
    };
    for i in 0..40 {
        let id = format!("sweep-{i}");
        let system = fx
            .service
            .create_system(&id, &fx.config(&id))
            .await
            .unwrap();
        system
            .start()
            .await
            .unwrap_or_else(|e| panic!("start {i} beside enumerate: {e}"));
        fx.remove(system).await;
    }
    done.store(true, Ordering::Relaxed);
    assert!(enumerator.await.unwrap() > 0);
}
