//! How a container's end reaches the embedder: whether its stop was asked
//! for (the seed's `manualStopRequested`), and restore's report refused by
//! the embedder. Each test runs once per backend (`mod linux`, ...).

use std::{error::Error, sync::Arc};

use async_trait::async_trait;
use hcs_testkit::{client::Harness, ServiceKind};
use hcsrun::client::{Backend, Client, ClientErrorKind, State, StateInfo, Timeouts};

hcs_testkit::for_each_backend!(
    needs_root: [
        the_exit_says_whether_the_stop_was_requested,
        a_stopped_container_is_gone_when_its_exit_is_told,
    ],
    anyone: [restore_returns_the_embedders_refusal],
);

async fn the_exit_says_whether_the_stop_was_requested(kind: ServiceKind) {
    let h = Harness::new("manualstop", kind);
    // Stopped through the client: shutdown, then terminate.
    h.run("asked", "sleep 60").await;
    h.client.signal("asked", 15).await.unwrap();
    let exit = h.events.wait("asked", State::Exit, "").await;
    assert!(exit.manual_stop_requested, "{exit:?}");
    h.run("killed", "trap '' TERM; sleep 60").await;
    h.client.signal("killed", 9).await.unwrap();
    let exit = h.events.wait("killed", State::Exit, "").await;
    assert!(exit.manual_stop_requested, "{exit:?}");
    assert_eq!(exit.exit_code, 137);
    // Ended by themselves: a crash, and a plain exit.
    h.run("crashed", "kill -9 $$").await;
    let exit = h.events.wait("crashed", State::Exit, "").await;
    assert_eq!(exit.exit_code, 137);
    assert!(!exit.manual_stop_requested, "{exit:?}");
    h.run("exited", "exit 3").await;
    let exit = h.events.wait("exited", State::Exit, "").await;
    assert!(!exit.manual_stop_requested, "{exit:?}");
}

async fn a_stopped_container_is_gone_when_its_exit_is_told(kind: ServiceKind) {
    let h = Harness::new("stopgone", kind);
    // The stop races the exit of the first process: a few rounds.
    for round in 0..4 {
        for (signal, script) in [(15, "sleep 60"), (9, "trap '' TERM; sleep 60")] {
            let id = format!("gone{round}-{signal}");
            h.run(&id, script).await;
            h.client.signal(&id, signal).await.unwrap();
            h.events.wait(&id, State::Exit, "").await;
            // An embedder that exits now leaves nothing behind.
            assert_eq!(h.sandbox.cgroups_of(&id), Vec::<std::path::PathBuf>::new());
            assert!(
                !h.sandbox.runtime_dir().join(&id).exists(),
                "{id}: record left"
            );
        }
    }
}

/// An embedder that refuses every state change.
struct Refuses;

#[async_trait]
impl Backend for Refuses {
    async fn state_changed(
        &self,
        _id: &str,
        _info: StateInfo,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        Err("the embedder is shutting down".into())
    }
}

async fn restore_returns_the_embedders_refusal(kind: ServiceKind) {
    let h = Harness::new("restorerefused", kind);
    let client = Client::with(
        h.service.clone(),
        Arc::new(Refuses),
        hcsrun::translate::HostFacts::of_service(&*h.service),
        Timeouts::default(),
    );
    // Seed 000's Restore returns what StateChanged returned.
    let err = client.restore("never-was").await.unwrap_err();
    assert!(matches!(err.kind(), ClientErrorKind::Backend(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "restore never-was: the embedder refused the state change: the embedder is shutting down"
    );
}
