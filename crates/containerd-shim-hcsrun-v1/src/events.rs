//! Event publishing to containerd, through the crate's `RemotePublisher`.
//!
//! `RemotePublisher::new(TTRPC_ADDRESS)` (done by the crate's bootstrap before
//! `create_task_service`) connects to containerd's ttrpc socket and calls
//! `containerd.services.events.ttrpc.v1.Events/Forward` with an `Envelope`
//! {timestamp, namespace, topic, event: Any{type_url = proto full name,
//! e.g. "containerd.events.TaskExit"}}. It queues (1024) and retries (5x).
//!
//! Ordering rules (containerd runtime/v2 README, "Events"): TaskCreate, then
//! TaskStart, then TaskExit (exactly once per process), then TaskDelete;
//! TaskExecAdded -> TaskExecStarted -> TaskExit(exec). A single FIFO channel
//! drained by one task (below) keeps the order in which the service sends.

use containerd_shim::{
    event::Event,
    protos::{
        events::task::{
            TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskIO, TaskOOM,
            TaskPaused, TaskResumed, TaskStart,
        },
        protobuf::{well_known_types::timestamp::Timestamp, MessageDyn},
        types::mount::Mount,
    },
    publisher::RemotePublisher,
    Context,
};
use tokio::sync::{mpsc, oneshot};

enum Item {
    Event(String, Box<dyn MessageDyn>),
    /// Answered once everything queued before it was published.
    Flush(oneshot::Sender<()>),
}

/// Cheap, cloneable handle; every publish is queued in call order.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::UnboundedSender<Item>,
}

impl EventSender {
    /// Spawns the forwarder that owns the publisher. `namespace` is the
    /// shim's `-namespace` (every event carries it in its envelope).
    pub fn spawn(publisher: RemotePublisher, namespace: String) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Item>();
        tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                let (topic, ev) = match item {
                    Item::Event(topic, ev) => (topic, ev),
                    Item::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                if let Err(e) = publisher
                    .publish(Context::default(), &topic, &namespace, ev)
                    .await
                {
                    crate::trace!("publish {topic} failed: {e}");
                }
            }
        });
        EventSender { tx }
    }

    fn send<E: Event + 'static>(&self, ev: E) {
        let topic = ev.topic();
        crate::trace!("event {topic}");
        let _ = self.tx.send(Item::Event(topic, Box::new(ev)));
    }

    /// Waits (at most `limit`) until every event queued so far has been
    /// published: the daemon's last events (TaskDelete) must not die with it.
    pub async fn flush(&self, limit: std::time::Duration) {
        let (done, flushed) = oneshot::channel();
        if self.tx.send(Item::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(limit, flushed).await;
        }
    }

    // One helper per event the shim must (or should) publish. Payload field
    // names are those of containerd's api/events/task.proto.

    /// `/tasks/create` after Create succeeded; `pid` = init pid.
    #[allow(clippy::too_many_arguments)]
    pub fn task_create(
        &self,
        container_id: &str,
        bundle: &str,
        rootfs: Vec<Mount>,
        stdin: &str,
        stdout: &str,
        stderr: &str,
        terminal: bool,
        pid: u32,
    ) {
        self.send(TaskCreate {
            container_id: container_id.into(),
            bundle: bundle.into(),
            rootfs,
            io: Some(TaskIO {
                stdin: stdin.into(),
                stdout: stdout.into(),
                stderr: stderr.into(),
                terminal,
                ..Default::default()
            })
            .into(),
            checkpoint: String::new(),
            pid,
            ..Default::default()
        });
    }

    /// `/tasks/start` after Start of the init process (exec_id empty).
    pub fn task_start(&self, container_id: &str, pid: u32) {
        self.send(TaskStart {
            container_id: container_id.into(),
            pid,
            ..Default::default()
        });
    }

    /// `/tasks/exit`: `id` = exec id, or the container id for the init process.
    pub fn task_exit(
        &self,
        container_id: &str,
        id: &str,
        pid: u32,
        exit_status: u32,
        exited_at: Timestamp,
    ) {
        self.send(TaskExit {
            container_id: container_id.into(),
            id: id.into(),
            pid,
            exit_status,
            exited_at: Some(exited_at).into(),
            ..Default::default()
        });
    }

    /// `/tasks/delete`: `id` = exec id, or the container id for the init process.
    pub fn task_delete(
        &self,
        container_id: &str,
        id: &str,
        pid: u32,
        exit_status: u32,
        exited_at: Timestamp,
    ) {
        self.send(TaskDelete {
            container_id: container_id.into(),
            id: id.into(),
            pid,
            exit_status,
            exited_at: Some(exited_at).into(),
            ..Default::default()
        });
    }

    /// `/tasks/exec-added` after Exec registered the process (not started yet).
    pub fn task_exec_added(&self, container_id: &str, exec_id: &str) {
        self.send(TaskExecAdded {
            container_id: container_id.into(),
            exec_id: exec_id.into(),
            ..Default::default()
        });
    }

    /// `/tasks/exec-started` after Start with a non-empty exec_id.
    pub fn task_exec_started(&self, container_id: &str, exec_id: &str, pid: u32) {
        self.send(TaskExecStarted {
            container_id: container_id.into(),
            exec_id: exec_id.into(),
            pid,
            ..Default::default()
        });
    }

    /// `/tasks/paused`
    pub fn task_paused(&self, container_id: &str) {
        self.send(TaskPaused {
            container_id: container_id.into(),
            ..Default::default()
        });
    }

    /// `/tasks/resumed`
    pub fn task_resumed(&self, container_id: &str) {
        self.send(TaskResumed {
            container_id: container_id.into(),
            ..Default::default()
        });
    }

    /// `/tasks/oom` when the memory limit killed something in the container.
    pub fn task_oom(&self, container_id: &str) {
        self.send(TaskOOM {
            container_id: container_id.into(),
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use containerd_shim::{event::Event, protos::events::task::*, protos::topics};

    #[test]
    fn topics_match_containerd() {
        assert_eq!(
            TaskCreate::default().topic(),
            topics::TASK_CREATE_EVENT_TOPIC
        );
        assert_eq!(TaskStart::default().topic(), "/tasks/start");
        assert_eq!(TaskExit::default().topic(), "/tasks/exit");
        assert_eq!(TaskDelete::default().topic(), "/tasks/delete");
        assert_eq!(TaskExecAdded::default().topic(), "/tasks/exec-added");
        assert_eq!(TaskExecStarted::default().topic(), "/tasks/exec-started");
        assert_eq!(TaskPaused::default().topic(), "/tasks/paused");
        assert_eq!(TaskResumed::default().topic(), "/tasks/resumed");
        assert_eq!(TaskOOM::default().topic(), "/tasks/oom");
    }

    #[test]
    fn envelope_type_url_is_proto_full_name() {
        // What the crate's convert_to_any puts in Envelope.event.type_url;
        // containerd 1.6's typeurl resolves these gogo-registered names.
        let any = containerd_shim::util::convert_to_any(Box::new(TaskExit::default())).unwrap();
        assert_eq!(any.type_url, "containerd.events.TaskExit");
    }
}
