//! The `containerd.task.v2.Task` ttrpc service: requests in, answers out;
//! the work is in `tasks.rs`. Every call is answered (the generated
//! defaults would answer NOT_FOUND, which containerd reads as "no such
//! task"); Checkpoint answers UNIMPLEMENTED, which containerd reports as
//! "not implemented".

use std::sync::{atomic::Ordering, Arc};

use async_trait::async_trait;
use containerd_shim::{
    api,
    asynchronous::ExitSignal,
    protos::{ttrpc::r#async::TtrpcContext, types::task::ProcessInfo},
    Task, TtrpcResult,
};

use crate::{
    container::{timestamp, zero_time, Phase},
    error::ShimError,
    events::EventSender,
    rootfs::RootMount,
    stats,
    stdio::StdioPaths,
    tasks::{blocking, CreateRequest, Tasks},
    trace,
};

/// containerd's type for an exec'd process's spec.
const PROCESS_SPEC_TYPE: &str = "types.containerd.io/opencontainers/runtime-spec/1/Process";

/// containerd's Task service over the shim's containers.
pub struct TaskService {
    tasks: Arc<Tasks>,
    exit: Arc<ExitSignal>,
    events: EventSender,
}

impl TaskService {
    /// The service over `tasks`; `exit` ends the daemon at `Shutdown`.
    pub fn new(tasks: Arc<Tasks>, exit: Arc<ExitSignal>, events: EventSender) -> Self {
        TaskService {
            tasks,
            exit,
            events,
        }
    }
}

fn done<T>(call: &str, r: Result<T, ShimError>) -> TtrpcResult<T> {
    r.map_err(|e| {
        trace!("{call} failed: {e}");
        e.into()
    })
}

fn unsupported<T>(what: &'static str) -> TtrpcResult<T> {
    Err(ShimError::Unsupported(what).into())
}

#[async_trait]
impl Task for TaskService {
    async fn state(
        &self,
        _ctx: &TtrpcContext,
        req: api::StateRequest,
    ) -> TtrpcResult<api::StateResponse> {
        let (c, p) = done("State", self.tasks.process(&req.id, &req.exec_id))?;
        let status = match p.phase() {
            Phase::Created => api::Status::CREATED,
            Phase::Starting(_) | Phase::Running
                if p.exec_id.is_empty() && c.paused.load(Ordering::SeqCst) =>
            {
                api::Status::PAUSED
            }
            Phase::Starting(_) | Phase::Running => api::Status::RUNNING,
            Phase::Exited(_) => api::Status::STOPPED,
        };
        let exit = p.exit();
        Ok(api::StateResponse {
            id: req.id,
            bundle: c.bundle.display().to_string(),
            pid: p.pid(),
            status: status.into(),
            stdin: p.stdio.stdin.clone(),
            stdout: p.stdio.stdout.clone(),
            stderr: p.stdio.stderr.clone(),
            terminal: p.stdio.terminal,
            exit_status: exit.map_or(0, |e| e.status),
            exited_at: Some(exit.map_or_else(zero_time, |e| timestamp(e.at))).into(),
            exec_id: req.exec_id,
            ..Default::default()
        })
    }

    async fn create(
        &self,
        _ctx: &TtrpcContext,
        req: api::CreateTaskRequest,
    ) -> TtrpcResult<api::CreateTaskResponse> {
        trace!(
            "Create id={} bundle={} rootfs={}",
            req.id,
            req.bundle,
            req.rootfs.len()
        );
        if !req.checkpoint.is_empty() || !req.parent_checkpoint.is_empty() {
            return unsupported("restoring from a checkpoint");
        }
        // The kernel's wait for the container's first cgroup move runs
        // while the rootfs is mounted and the spec translated (with
        // containerd's CreateTask comes, at once, its Start).
        hcs_linux::prime_cgroup_moves();
        let stdio = StdioPaths {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        let create = CreateRequest {
            id: req.id.clone(),
            bundle: req.bundle.clone().into(),
            rootfs: req
                .rootfs
                .iter()
                .map(|m| RootMount {
                    kind: m.type_.clone(),
                    source: m.source.clone(),
                    options: m.options.clone(),
                })
                .collect(),
            stdio,
        };
        let pid = done("Create", self.tasks.create(create).await)?;
        self.events.task_create(
            &req.id,
            &req.bundle,
            req.rootfs.clone(),
            &req.stdin,
            &req.stdout,
            &req.stderr,
            req.terminal,
            pid,
        );
        Ok(api::CreateTaskResponse {
            pid,
            ..Default::default()
        })
    }

    async fn start(
        &self,
        _ctx: &TtrpcContext,
        req: api::StartRequest,
    ) -> TtrpcResult<api::StartResponse> {
        trace!("Start id={} exec_id={}", req.id, req.exec_id);
        let pid = done("Start", self.tasks.start(&req.id, &req.exec_id).await)?;
        Ok(api::StartResponse {
            pid,
            ..Default::default()
        })
    }

    async fn delete(
        &self,
        _ctx: &TtrpcContext,
        req: api::DeleteRequest,
    ) -> TtrpcResult<api::DeleteResponse> {
        trace!("Delete id={} exec_id={}", req.id, req.exec_id);
        let (pid, exit) = done("Delete", self.tasks.delete(&req.id, &req.exec_id).await)?;
        Ok(api::DeleteResponse {
            pid,
            exit_status: exit.status,
            exited_at: Some(timestamp(exit.at)).into(),
            ..Default::default()
        })
    }

    async fn pids(
        &self,
        _ctx: &TtrpcContext,
        req: api::PidsRequest,
    ) -> TtrpcResult<api::PidsResponse> {
        let pids = done("Pids", self.tasks.pids(&req.id).await)?;
        Ok(api::PidsResponse {
            processes: pids
                .into_iter()
                .map(|pid| ProcessInfo {
                    pid,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    async fn pause(&self, _ctx: &TtrpcContext, req: api::PauseRequest) -> TtrpcResult<api::Empty> {
        trace!("Pause id={}", req.id);
        done("Pause", self.tasks.pause(&req.id, true).await)?;
        Ok(api::Empty::default())
    }

    async fn resume(
        &self,
        _ctx: &TtrpcContext,
        req: api::ResumeRequest,
    ) -> TtrpcResult<api::Empty> {
        trace!("Resume id={}", req.id);
        done("Resume", self.tasks.pause(&req.id, false).await)?;
        Ok(api::Empty::default())
    }

    async fn checkpoint(
        &self,
        _ctx: &TtrpcContext,
        _req: api::CheckpointTaskRequest,
    ) -> TtrpcResult<api::Empty> {
        // Final: hcsrun does not checkpoint.
        unsupported("checkpoint")
    }

    async fn kill(&self, _ctx: &TtrpcContext, req: api::KillRequest) -> TtrpcResult<api::Empty> {
        trace!(
            "Kill id={} exec_id={} signal={} all={}",
            req.id,
            req.exec_id,
            req.signal,
            req.all
        );
        done(
            "Kill",
            self.tasks
                .kill(&req.id, &req.exec_id, req.signal, req.all)
                .await,
        )?;
        Ok(api::Empty::default())
    }

    async fn exec(
        &self,
        _ctx: &TtrpcContext,
        req: api::ExecProcessRequest,
    ) -> TtrpcResult<api::Empty> {
        trace!("Exec id={} exec_id={}", req.id, req.exec_id);
        let Some(spec) = req.spec.as_ref() else {
            return done(
                "Exec",
                Err(ShimError::Invalid("exec: no process spec".into())),
            );
        };
        if spec.type_url != PROCESS_SPEC_TYPE {
            return done(
                "Exec",
                Err(ShimError::Invalid(format!(
                    "exec: process spec of type {:?}, not {PROCESS_SPEC_TYPE}",
                    spec.type_url
                ))),
            );
        }
        let stdio = StdioPaths {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        done(
            "Exec",
            self.tasks.exec(&req.id, &req.exec_id, stdio, &spec.value),
        )?;
        self.events.task_exec_added(&req.id, &req.exec_id);
        Ok(api::Empty::default())
    }

    async fn resize_pty(
        &self,
        _ctx: &TtrpcContext,
        req: api::ResizePtyRequest,
    ) -> TtrpcResult<api::Empty> {
        done(
            "ResizePty",
            self.tasks
                .resize(&req.id, &req.exec_id, req.width, req.height)
                .await,
        )?;
        Ok(api::Empty::default())
    }

    async fn close_io(
        &self,
        _ctx: &TtrpcContext,
        req: api::CloseIORequest,
    ) -> TtrpcResult<api::Empty> {
        if req.stdin {
            done("CloseIO", self.tasks.close_io(&req.id, &req.exec_id))?;
        }
        Ok(api::Empty::default())
    }

    async fn update(
        &self,
        _ctx: &TtrpcContext,
        req: api::UpdateTaskRequest,
    ) -> TtrpcResult<api::Empty> {
        trace!("Update id={}", req.id);
        let container = done("Update", self.tasks.container(&req.id))?;
        let Some(resources) = req.resources.as_ref() else {
            return Ok(api::Empty::default());
        };
        let value: serde_json::Value = done(
            "Update",
            serde_json::from_slice(&resources.value)
                .map_err(|e| ShimError::Invalid(format!("update: resources: {e}"))),
        )?;
        let cgroups = container.cgroups.clone();
        done(
            "Update",
            blocking(move || cgroups.update(&value))
                .await
                .map_err(|e| ShimError::Invalid(format!("update of container {}: {e}", req.id))),
        )?;
        Ok(api::Empty::default())
    }

    async fn wait(
        &self,
        _ctx: &TtrpcContext,
        req: api::WaitRequest,
    ) -> TtrpcResult<api::WaitResponse> {
        let exit = done("Wait", self.tasks.wait(&req.id, &req.exec_id).await)?;
        Ok(api::WaitResponse {
            exit_status: exit.status,
            exited_at: Some(timestamp(exit.at)).into(),
            ..Default::default()
        })
    }

    async fn stats(
        &self,
        _ctx: &TtrpcContext,
        req: api::StatsRequest,
    ) -> TtrpcResult<api::StatsResponse> {
        let container = done("Stats", self.tasks.container(&req.id))?;
        let cgroups = container.cgroups.clone();
        let counters = done(
            "Stats",
            blocking(move || cgroups.counters()).await.map_err(|e| {
                ShimError::other(
                    &format!("stats of container {}: reading its cgroups", req.id),
                    e,
                )
            }),
        )?;
        let any = done(
            "Stats",
            stats::metrics_any(&counters).map_err(|e| {
                ShimError::other(
                    &format!("stats of container {}: encoding metrics", req.id),
                    e,
                )
            }),
        )?;
        Ok(api::StatsResponse {
            stats: Some(any).into(),
            ..Default::default()
        })
    }

    /// containerd calls Connect when it (re)attaches to a shim, e.g. after a
    /// restart: the shim's pid and the task's.
    async fn connect(
        &self,
        _ctx: &TtrpcContext,
        req: api::ConnectRequest,
    ) -> TtrpcResult<api::ConnectResponse> {
        trace!("Connect id={}", req.id);
        let task_pid = self
            .tasks
            .container(&req.id)
            .map(|c| c.init.pid())
            .unwrap_or(0);
        Ok(api::ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        })
    }

    /// After the last task's Delete (and after a failed Create): the shim
    /// exits once it holds no container (a grouped shim may hold several).
    async fn shutdown(
        &self,
        _ctx: &TtrpcContext,
        req: api::ShutdownRequest,
    ) -> TtrpcResult<api::Empty> {
        trace!("Shutdown id={} now={}", req.id, req.now);
        if req.now || self.tasks.is_empty() {
            self.events.flush(std::time::Duration::from_secs(5)).await;
            self.exit.signal();
        }
        Ok(api::Empty::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use containerd_shim::protos::ttrpc;

    #[test]
    fn unsupported_is_grpc_unimplemented() {
        match unsupported::<()>("checkpoint") {
            Err(ttrpc::Error::RpcStatus(s)) => {
                assert_eq!(s.code(), ttrpc::Code::UNIMPLEMENTED);
                assert_eq!(s.message(), "hcsrun shim: checkpoint is not supported");
            }
            other => panic!("{other:?}"),
        }
    }
}
