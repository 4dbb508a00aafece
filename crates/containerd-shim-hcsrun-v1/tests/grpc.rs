//! containerd's gRPC API, as an engine speaks it (containerd-client): the
//! task's state, pids, metrics in the type containerd expects, a resource
//! update, and the events stream.

mod common;

use common::Containerd;
use containerd_client::{
    services::v1::{
        tasks_client::TasksClient, GetRequest, ListPidsRequest, MetricsRequest, UpdateTaskRequest,
    },
    tonic::Request,
    with_namespace,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
#[ignore = "needs root and containerd 1.6 (scripts/setup.sh)"]
fn tasks_answer_through_containerds_grpc_api() {
    let ctd = Containerd::start();
    ctd.run_detached("g1", &["sh", "-c", "sleep 1000 & wait"]);
    let (pid, _) = ctd.task("g1").unwrap();
    runtime().block_on(async {
        let channel = containerd_client::connect(ctd.socket()).await.unwrap();
        let mut tasks = TasksClient::new(channel);
        let req = with_namespace!(
            GetRequest {
                container_id: "g1".into(),
                exec_id: String::new()
            },
            &ctd.ns
        );
        let process = tasks.get(req).await.unwrap().into_inner().process.unwrap();
        assert_eq!(process.pid, pid);
        assert_eq!(process.status, 2, "RUNNING");

        let req = with_namespace!(
            ListPidsRequest {
                container_id: "g1".into()
            },
            &ctd.ns
        );
        let pids: Vec<u32> = tasks
            .list_pids(req)
            .await
            .unwrap()
            .into_inner()
            .processes
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(pids.len(), 2, "{pids:?}");
        assert!(pids.contains(&pid));

        // Memory limit through Update, seen in the metrics.
        let resources = serde_json::json!({"memory": {"limit": 50331648}});
        let req = with_namespace!(
            UpdateTaskRequest {
                container_id: "g1".into(),
                resources: Some(prost_types::Any {
                    type_url: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
                        .into(),
                    value: resources.to_string().into_bytes(),
                }),
                annotations: Default::default(),
            },
            &ctd.ns
        );
        tasks.update(req).await.unwrap();
        // What cannot be changed is refused by name.
        let refused = serde_json::json!({"pids": {"limit": 3}});
        let req = with_namespace!(
            UpdateTaskRequest {
                container_id: "g1".into(),
                resources: Some(prost_types::Any {
                    type_url: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
                        .into(),
                    value: refused.to_string().into_bytes(),
                }),
                annotations: Default::default(),
            },
            &ctd.ns
        );
        let err = tasks.update(req).await.unwrap_err();
        assert!(err.message().contains("linux.resources.pids"), "{err}");

        let req = with_namespace!(
            MetricsRequest {
                filters: vec!["id==g1".into()]
            },
            &ctd.ns
        );
        let metrics = tasks.metrics(req).await.unwrap().into_inner().metrics;
        assert_eq!(metrics.len(), 1);
        let data = metrics[0].data.as_ref().unwrap();
        assert_eq!(data.type_url, "io.containerd.cgroups.v1.Metrics");
        // memory (field 4) -> usage (33) -> limit (1): find the limit's
        // varint in the encoded message.
        let limit = prost_varint(50331648);
        assert!(
            data.value
                .windows(limit.len())
                .any(|w| w == limit.as_slice()),
            "the updated limit is in the metrics"
        );
    });
}

fn prost_varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}
