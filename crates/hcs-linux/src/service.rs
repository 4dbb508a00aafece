//! The Linux compute service.

use std::{
    env, io,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use async_trait::async_trait;
use hcs::{
    ComputeService, ComputeSystem, ErrorCode, ErrorKind, Guid, HcsError, Result, ServiceFeatures,
};
use hcs_schema::{ComputeSystemQuery, ContainerConfig, ContainerProperties, Timestamp};
use hcsrun_shim_protocol::{
    errno::io_code,
    record::{ExitRecord, SystemRecord, CGROUPS_FILE},
};

use crate::{
    blocking::blocking,
    cgroup::Cgroup,
    conn::Connection,
    errors::{system_error, system_io_error},
    id::validate_id,
    spare::SpareSlot,
    state::RuntimeDir,
    system::LinuxSystem,
    validate::validate,
};

/// Where systems are recorded unless told otherwise.
pub const DEFAULT_RUNTIME_DIR: &str = "/run/hcsrun";
/// The cgroup (in each hierarchy) that systems' cgroups go under.
pub const DEFAULT_CGROUP_PARENT: &str = "hcsrun";
/// Host directories no container sees, besides the runtime directory:
/// hcsrun's state root, which holds the CLI's scratch root, its image store
/// and its container records (their default places).
pub const DEFAULT_HIDDEN: &[&str] = &["/var/lib/hcsrun"];
/// The holder's file name.
pub const SHIM_NAME: &str = "hcsrun-shim";

pub(crate) struct ServiceInner {
    pub runtime: RuntimeDir,
    pub shim: PathBuf,
    pub cgroup_parent: String,
    /// Where holders write their diagnostics, if anywhere.
    pub shim_log: Option<PathBuf>,
    /// Host directories hidden in every container (see [`Builder::hide`]).
    pub hidden: Vec<String>,
    /// A holder launched for the next start ([`LinuxComputeService::prelaunch_holder`]).
    pub spare: SpareSlot,
}

/// The Linux compute service: runs HCS configurations with namespaces,
/// overlayfs, bind mounts, cgroups and ptys. Cheap to clone.
#[derive(Clone)]
pub struct LinuxComputeService {
    inner: Arc<ServiceInner>,
}

/// Settings of a [`LinuxComputeService`].
#[derive(Debug, Default)]
pub struct Builder {
    runtime_dir: Option<PathBuf>,
    shim: Option<PathBuf>,
    cgroup_parent: Option<String>,
    shim_log: Option<PathBuf>,
    hidden: Vec<PathBuf>,
}

impl Builder {
    /// Hides host directory `dir` from every container: where a
    /// container's root holds it (the host's root as a layer, or bound as
    /// `VolumePath`), an empty read-only tmpfs is mounted over it. The
    /// runtime directory and [`DEFAULT_HIDDEN`] are always hidden; a
    /// front end adds the scratch root and image store it was told to use.
    pub fn hide(mut self, dir: impl Into<PathBuf>) -> Self {
        self.hidden.push(dir.into());
        self
    }

    /// Where systems are recorded (default `/run/hcsrun`). Processes that
    /// are to see each other's systems must agree on it.
    pub fn runtime_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.runtime_dir = Some(dir.into());
        self
    }

    /// The `hcsrun-shim` executable (default: `$HCSRUN_SHIM`, then next to
    /// this executable, then on `PATH`).
    pub fn shim(mut self, path: impl Into<PathBuf>) -> Self {
        self.shim = Some(path.into());
        self
    }

    /// The parent cgroup name (default: the runtime directory's name,
    /// `hcsrun` for the default directory).
    pub fn cgroup_parent(mut self, name: impl Into<String>) -> Self {
        self.cgroup_parent = Some(name.into());
        self
    }

    /// A file holders append their diagnostics to (default: none, or
    /// `$HCSRUN_SHIM_LOG`).
    pub fn shim_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.shim_log = Some(path.into());
        self
    }

    /// The service with these settings. Fails if no holder binary is found.
    pub fn build(self) -> Result<LinuxComputeService> {
        let runtime_dir = self
            .runtime_dir
            .unwrap_or_else(|| DEFAULT_RUNTIME_DIR.into());
        // Each runtime directory gets its own cgroup parent, named after it,
        // so that services with different directories never touch each
        // other's cgroups.
        let cgroup_parent = self.cgroup_parent.unwrap_or_else(|| {
            runtime_dir
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| validate_id(n, "Open").is_ok())
                .unwrap_or(DEFAULT_CGROUP_PARENT)
                .to_owned()
        });
        validate_id(&cgroup_parent, "Open")?;
        let shim = match self.shim {
            Some(path) => path,
            None => find_shim().ok_or_else(|| {
                HcsError::service(
                    "Open",
                    ErrorKind::Unavailable(format!(
                        "{SHIM_NAME} was not found (looked at $HCSRUN_SHIM, next to {}, and on PATH); \
                         build it with `cargo build -p hcsrun-shim` or set HCSRUN_SHIM",
                        env::current_exe().map_or_else(|_| "this program".into(), |p| p.display().to_string())
                    )),
                )
            })?,
        };
        let hidden = hidden_dirs(&runtime_dir, self.hidden);
        Ok(LinuxComputeService {
            inner: Arc::new(ServiceInner {
                hidden,
                runtime: RuntimeDir::new(runtime_dir),
                shim,
                cgroup_parent,
                shim_log: self
                    .shim_log
                    .or_else(|| env::var_os("HCSRUN_SHIM_LOG").map(PathBuf::from)),
                spare: SpareSlot::default(),
            }),
        })
    }
}

/// The runtime directory, [`DEFAULT_HIDDEN`] and `more`, absolute, each
/// also as the host resolves it (a link in the way is the container's to
/// resolve, and may differ), without repeats.
fn hidden_dirs(runtime_dir: &Path, more: Vec<PathBuf>) -> Vec<String> {
    let cwd = env::current_dir().unwrap_or_else(|_| "/".into());
    let mut hidden: Vec<String> = Vec::new();
    let given = std::iter::once(runtime_dir.to_owned())
        .chain(DEFAULT_HIDDEN.iter().map(PathBuf::from))
        .chain(more);
    for dir in given {
        let dir = cwd.join(dir);
        let real = std::fs::canonicalize(&dir).ok();
        for path in std::iter::once(dir).chain(real) {
            let path = path.to_string_lossy().into_owned();
            if !hidden.contains(&path) {
                hidden.push(path);
            }
        }
    }
    hidden
}

impl LinuxComputeService {
    /// The service with default settings.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// Settings to build a service with.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Launches a holder for the system this process is about to start,
    /// so that it loads while the caller prepares the system's
    /// configuration; the next start takes it. For a front end that starts
    /// one system soon (`hcsrun run`): a spare never used costs an `execve`
    /// and is ended and reaped when the service is dropped, which then
    /// blocks while it exits (about a millisecond, at most 0.1 s): drop
    /// such a service outside async tasks. Returns at once; does nothing
    /// if a spare is already there.
    pub fn prelaunch_holder(&self) {
        self.inner
            .spare
            .fill(&self.inner.shim, self.inner.shim_log.as_deref());
    }

    /// The runtime directory in use.
    pub fn runtime_dir(&self) -> &Path {
        self.inner.runtime.root()
    }

    /// How system `id` ended, once it has stopped: the exit record its
    /// holder wrote (pid 1's exit code, when, whether the OOM killer
    /// struck, and how it was stopped), or a lost system's (exit code
    /// 2147483648) when its holder died first. `None` while it runs, or if
    /// it never ran. The record lasts until a handle to the system is
    /// closed.
    pub async fn exit_record(&self, id: &str) -> Result<Option<ExitRecord>> {
        validate_id(id, "ExitRecord")?;
        let (inner, owned_id) = (self.inner.clone(), id.to_owned());
        blocking(move || inner.runtime.exit_record(&owned_id))
            .await
            .map_err(|e| system_io_error(id, "ExitRecord", "reading the exit record", &e))
    }
}

/// The service's work that blocks (file systems, sockets), run on the
/// blocking pool by the trait's methods.
impl ServiceInner {
    /// Validates and records system `id`: its record and cgroups' names.
    fn create(&self, id: &str, config: &ContainerConfig) -> Result<(SystemRecord, Cgroup)> {
        let op = "Create";
        validate_id(id, op)?;
        validate(id, config)?;
        let document = hcs_schema::to_string(config)
            .map_err(|e| system_error(id, op, ErrorCode::INVALID_JSON, e.to_string()))?;
        let record = SystemRecord {
            id: id.to_owned(),
            runtime_id: uuid::Uuid::new_v4().to_string(),
            created: Timestamp::now(),
            cgroup_parent: self.cgroup_parent.clone(),
            config: document,
        };
        match self.runtime.create(&record) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(system_error(id, op, ErrorCode::SYSTEM_ALREADY_EXISTS, ""));
            }
            Err(e) => return Err(system_io_error(id, op, "recording the system", &e)),
        }
        let cgroup = Cgroup::new(&record.cgroup_parent, id)
            .map_err(|e| system_io_error(id, op, "finding cgroups", &e))?
            .moved_by(self.runtime.system_dir(id).join(CGROUPS_FILE));
        Ok((record, cgroup))
    }

    /// Reads system `id`'s record, and connects to its holder if it runs
    /// (with the time it started).
    fn open(&self, id: &str) -> Result<Opened> {
        let op = "Open";
        validate_id(id, op)?;
        let record = self.runtime.read(id).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                system_error(id, op, ErrorCode::COMPUTE_SYSTEM_DOES_NOT_EXIST, "")
            }
            _ => system_io_error(id, op, "reading the system record", &e),
        })?;
        let config = record
            .config()
            .map_err(|e| system_io_error(id, op, "reading the system record", &e))?;
        let cgroup = Cgroup::new(&record.cgroup_parent, id)
            .map_err(|e| system_io_error(id, op, "finding cgroups", &e))?
            .moved_by(self.runtime.system_dir(id).join(CGROUPS_FILE));
        let holder = self.runtime.connect(id).ok().map(|fd| {
            let started = std::fs::metadata(self.runtime.socket(id))
                .and_then(|m| m.modified())
                .unwrap_or_else(|_| SystemTime::now());
            (fd, started)
        });
        Ok(Opened {
            record,
            config,
            cgroup,
            holder,
        })
    }

    /// The recorded systems that match `query`, sweeping the cgroups of
    /// systems that are gone.
    fn enumerate(&self, query: &ComputeSystemQuery) -> Result<Vec<ContainerProperties>> {
        let ids = self.runtime.list().map_err(|e| {
            HcsError::service("Enumerate", ErrorKind::Code(io_code(&e)))
                .with_extra(format!("(listing {}: {e})", self.runtime.root().display()))
        })?;
        let running: Vec<&String> = ids
            .iter()
            .filter(|id| self.runtime.connect(id).is_ok())
            .collect();
        // Cgroups of systems that do not run (their holder and its launcher
        // died before removing them) are swept here, where a restoring
        // client looks; a cgroup still in use refuses. A system started
        // since the list was read has an empty cgroup until its pid 1 joins:
        // asked again at the moment of removal, it listens (its socket is
        // bound before its cgroups are made), and is kept.
        Cgroup::sweep(&self.cgroup_parent, |name| {
            running.iter().any(|id| *id == name)
                || (validate_id(name, "Enumerate").is_ok() && self.runtime.connect(name).is_ok())
        });
        let mut systems = Vec::new();
        for id in &ids {
            // A system may vanish or be half-written while we look.
            let Ok(record) = self.runtime.read(id) else {
                continue;
            };
            let Ok(config) = record.config() else {
                continue;
            };
            let is_running = running.contains(&id);
            let exit = if is_running {
                None
            } else {
                self.runtime.exit_record(id).ok().flatten()
            };
            let properties = record.properties(&config, !is_running, exit.as_ref());
            if query.matches(&properties) {
                systems.push(properties);
            }
        }
        Ok(systems)
    }
}

/// A recorded system, as [`ServiceInner::open`] found it.
struct Opened {
    record: SystemRecord,
    config: ContainerConfig,
    cgroup: Cgroup,
    /// The connection to its holder and when it started, if it runs.
    holder: Option<(OwnedFd, SystemTime)>,
}

/// The `hcsrun-shim` to use by default.
fn find_shim() -> Option<PathBuf> {
    if let Some(path) = env::var_os("HCSRUN_SHIM") {
        return Some(path.into());
    }
    let exe = env::current_exe().ok()?;
    let exe_dir = exe.parent()?;
    // Beside this program, or one up from it (cargo puts test programs in
    // target/<profile>/deps and binaries in target/<profile>).
    let mut candidates: Vec<PathBuf> = [Some(exe_dir), exe_dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join(SHIM_NAME))
        .collect();
    if let Some(path) = env::var_os("PATH") {
        candidates.extend(env::split_paths(&path).map(|d| d.join(SHIM_NAME)));
    }
    candidates.into_iter().find(|p| p.is_file())
}

#[async_trait]
impl ComputeService for LinuxComputeService {
    async fn create_system(
        &self,
        id: &str,
        config: &ContainerConfig,
    ) -> Result<Box<dyn ComputeSystem>> {
        let (inner, owned_id, owned_config) = (self.inner.clone(), id.to_owned(), config.clone());
        let (record, cgroup) = blocking(move || inner.create(&owned_id, &owned_config)).await?;
        let system = LinuxSystem::new(self.inner.clone(), record, config.clone(), cgroup, None);
        Ok(Box::new(system))
    }

    async fn open_system(&self, id: &str) -> Result<Box<dyn ComputeSystem>> {
        let (inner, owned_id) = (self.inner.clone(), id.to_owned());
        let opened = blocking(move || inner.open(&owned_id)).await?;
        let conn = match opened.holder {
            Some((fd, started)) => {
                let conn = Connection::new(fd)
                    .map_err(|e| system_io_error(id, "Open", "connecting", &e))?;
                Some((conn, started))
            }
            None => None,
        };
        let system = LinuxSystem::new(
            self.inner.clone(),
            opened.record,
            opened.config,
            opened.cgroup,
            conn,
        );
        Ok(Box::new(system))
    }

    async fn enumerate(&self, query: &ComputeSystemQuery) -> Result<Vec<ContainerProperties>> {
        let (inner, query) = (self.inner.clone(), query.clone());
        blocking(move || inner.enumerate(&query)).await
    }

    fn name_to_guid(&self, name: &str) -> Result<Guid> {
        Ok(crate::name_to_guid(name))
    }

    fn features(&self) -> ServiceFeatures {
        crate::features()
    }
}
