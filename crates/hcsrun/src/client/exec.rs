//! Adding a process to a running container (the seed's `AddProcess`).

use std::sync::Arc;

use hcs::Process;

use super::{
    container::{CreatedFrom, ProcessEntry},
    create::{io_pipe, KILL_WAIT},
    error::{ClientError, ClientErrorKind, Result},
    events::INIT_PROCESS,
    stdio::IoPipe,
    supervise, AttachError, Client,
};
use crate::translate::{self, ExecProcess, OciProcess};

const OP: &str = "add process";

impl Client {
    /// Starts `process` in container `id` under the friendly `name`, hands
    /// its streams to `attach` and returns its pid. Its exit is told as
    /// `exit-process`. If `attach` fails the process is killed, not left
    /// running.
    pub async fn add_process<F>(
        &self,
        id: &str,
        name: &str,
        process: &OciProcess,
        attach: F,
    ) -> Result<u32>
    where
        F: FnOnce(IoPipe) -> Result<(), AttachError> + Send,
    {
        let inner = &self.inner;
        let _lock = inner.locks.lock(id).await;
        let container = inner.container(OP, id)?;
        if name == INIT_PROCESS || container.processes.lock().unwrap().contains_key(name) {
            return Err(ClientError::new(
                OP,
                id,
                ClientErrorKind::ProcessExists(name.to_owned()),
            ));
        }
        let config = match &container.spec {
            CreatedFrom::Oci { spec, platform } => {
                translate::exec_process_config(id, process, spec, *platform)
            }
            CreatedFrom::Linux(init) => {
                let exec = serde_json::to_string(process)
                    .map_err(|e| e.to_string())
                    .and_then(|text| ExecProcess::from_json(&text).map_err(|e| e.to_string()))
                    .map_err(|e| ClientError::new(OP, id, ClientErrorKind::InvalidProcess(e)))?;
                translate::linux::exec_process_config(id, &exec, init)
            }
        };
        let created: Arc<dyn Process> = container
            .system
            .create_process(&config)
            .await
            .map_err(|e| ClientError::hcs(OP, id, e))?
            .into();
        let pid = created.pid();
        let attached = io_pipe(&*created, created.clone(), config.emulate_console)
            .await
            .map_err(|e| ClientError::new(OP, id, ClientErrorKind::Io(e)))
            .and_then(|pipes| {
                attach(pipes).map_err(|e| ClientError::new(OP, id, ClientErrorKind::Attach(e)))
            });
        if let Err(e) = attached {
            supervise::kill(&*created, KILL_WAIT).await;
            return Err(e);
        }
        container.processes.lock().unwrap().insert(
            name.to_owned(),
            ProcessEntry {
                pid,
                process: created.clone(),
            },
        );
        tokio::spawn(supervise::exec(
            inner.clone(),
            container,
            name.to_owned(),
            created,
        ));
        Ok(pid)
    }
}
