//! How a container's end reaches the embedder: whether its stop was asked
//! for (the seed's `manualStopRequested`), that the system is gone when
//! the exit is told, and restore's report refused by the embedder. Each
//! test runs once per backend (`mod linux`, ...). The containers handle or
//! ignore SIGTERM explicitly, and are stopped once they have said so:
//! as PID 1, a process receives only the signals it handles.

use std::{error::Error, sync::Arc};

use async_trait::async_trait;
use hcs_testkit::{
    client::{spec, Harness},
    ServiceKind,
};
use hcsrun::client::{Backend, Client, ClientErrorKind, IoPipe, State, StateInfo, Timeouts};
use tokio::io::{AsyncBufReadExt, BufReader};

hcs_testkit::for_each_backend!(
    needs_root: [
        the_exit_says_whether_the_stop_was_requested,
        a_stopped_container_is_gone_when_its_exit_is_told,
    ],
    anyone: [restore_returns_the_embedders_refusal],
);

/// A container that exits on SIGTERM whether it is sent to all of its
/// processes or only to its first (PID 1, which gets only the signals it
/// handles).
const HANDLES_TERM: &str = "trap 'exit 143' TERM; echo ready; sleep 60 & wait";

/// A container that ignores SIGTERM.
const IGNORES_TERM: &str = "trap '' TERM; echo ready; sleep 60";

/// Creates container `id` running `script`, and returns once it has said
/// "ready" (its signal handling is in place).
async fn run_until_ready(h: &Harness, id: &str, script: &str) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let attach = move |pipes: IoPipe| {
        let stdout = pipes.stdout.expect("stdout");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "ready" {
                    tx.take().map(|tx| tx.send(()));
                }
            }
        });
        Ok(())
    };
    h.client
        .create(id, &spec(&["sh", "-c", script]), &h.options(id), attach)
        .await
        .unwrap();
    rx.await.expect("the container never said ready");
}

async fn the_exit_says_whether_the_stop_was_requested(kind: ServiceKind) {
    let h = Harness::new("manualstop", kind);
    // Stopped through the client: shutdown (to a process that handles
    // SIGTERM: as PID 1 it receives no other), then terminate.
    run_until_ready(&h, "asked", HANDLES_TERM).await;
    h.client.signal("asked", 15).await.unwrap();
    let exit = h.events.wait("asked", State::Exit, "").await;
    assert!(exit.manual_stop_requested, "{exit:?}");
    run_until_ready(&h, "killed", IGNORES_TERM).await;
    h.client.signal("killed", 9).await.unwrap();
    let exit = h.events.wait("killed", State::Exit, "").await;
    assert!(exit.manual_stop_requested, "{exit:?}");
    assert_eq!(exit.exit_code, 137);
    // Ended by themselves: a crash (a process killed by a signal nobody
    // asked the client for; not PID 1 itself, which the kernel shields from
    // its own container's signals), and a plain exit.
    h.run("crashed", "sleep 60 & kill -9 $!; wait $!").await;
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
        for (signal, script) in [(15, HANDLES_TERM), (9, IGNORES_TERM)] {
            let id = format!("gone{round}-{signal}");
            run_until_ready(&h, &id, script).await;
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
