//! `create`, `start` and `run`: runc's contract. After `create` returns,
//! the pid in the pid file is the container's pid 1 as the host sees it,
//! in the container's namespaces and cgroups, parked on the exec FIFO
//! before `execve`; it is reparented to the caller (a subreaper) when this
//! program exits. `start` opens the FIFO; pid 1 then executes the user's
//! program.

use std::{
    fs,
    io::Read,
    os::{
        fd::{AsFd, AsRawFd, OwnedFd},
        unix::fs::{DirBuilderExt, PermissionsExt},
    },
    path::{Path, PathBuf},
};

use anyhow::{anyhow, bail, Context as _, Result};
use hcs::{HypervIsolation, ServiceFeatures};
use hcsrun::translate::{linux as translate, CreateOptions, HostFacts};
use hcsrun_cgroup::{Cgroup, Limits};
use hcsrun_linux_spec::LinuxSpec;
use hcsrun_shim::caller;
use nix::{
    fcntl::{open, OFlag},
    sys::stat::Mode,
    unistd::mkfifo,
};

use crate::{
    args::{flag, parse, val, Opt},
    cli::{one_id, Global},
    console, hooks, log,
    resources::exact_of_spec,
    state::{proc_stat, Dir, Record, Status},
};

const CREATE: &[Opt] = &[
    val(&["bundle", "b"]),
    val(&["pid-file"]),
    val(&["console-socket"]),
    flag(&["no-pivot"]),
    flag(&["no-new-keyring"]),
    val(&["preserve-fds"]),
    flag(&["detach", "d"]),
    flag(&["keep"]),
    flag(&["no-subreaper"]),
];

/// The options of `create` and `run`.
pub struct CreateArgs {
    /// The container's id.
    pub id: String,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// Where pid 1's host pid is written.
    pub pid_file: Option<PathBuf>,
    /// Where a terminal's master goes.
    pub console_socket: Option<PathBuf>,
    /// `--preserve-fds`: descriptors 3 to 3 + this go to the process.
    pub preserve_fds: u32,
}

fn create_args(rest: &[String], command: &str) -> Result<(CreateArgs, crate::args::Parsed)> {
    let p = parse(rest, CREATE)?;
    let id = one_id(&p.rest, command)?;
    let bundle = match p.get("bundle") {
        Some(b) => PathBuf::from(b),
        None => std::env::current_dir()?,
    };
    let bundle = std::path::absolute(&bundle)?;
    let preserve_fds = crate::preserve::checked(p.number::<u32>("preserve-fds")?)?;
    // --no-pivot: pid 1 always pivots (a root it cannot leave); the flag
    // asks for less isolation, never more, so it is accepted and ignored.
    Ok((
        CreateArgs {
            id,
            bundle,
            pid_file: p.get("pid-file").map(PathBuf::from),
            console_socket: p.get("console-socket").map(PathBuf::from),
            preserve_fds,
        },
        p,
    ))
}

/// `create [--bundle B] [--pid-file F] [--console-socket S] ID`.
pub fn create_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let (args, _) = create_args(rest, "create")?;
    create(g, &args, false).map(drop)
}

/// `run [--detach] …`: create, start, and in the foreground wait for pid 1
/// (this program's child) and delete the container; its exit code.
pub fn run_cmd(g: &Global, rest: &[String]) -> Result<i32> {
    let (args, p) = create_args(rest, "run")?;
    let detach = p.flag("detach");
    // In the foreground a terminal with nowhere to send it is relayed.
    let (record, console) = create(g, &args, !detach)?;
    if let Err(e) = start(g, &args.id) {
        let _ = crate::ops::delete(g, &args.id, true);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    if let Some(master) = console {
        crate::relay::relay(master, record.pid);
    }
    let code = crate::ops::wait_child(record.pid);
    if !p.flag("keep") {
        crate::ops::delete(g, &args.id, true)?;
    }
    Ok(code)
}

fn host_facts() -> HostFacts {
    HostFacts::new(&ServiceFeatures {
        service: "linux",
        os_build: None,
        named_pipe_mounts: false,
        needs_root: true,
        hyperv: HypervIsolation::Emulated,
        native_linux: true,
    })
}

/// The cgroup parent of containers whose spec names no
/// `linux.cgroupsPath`: hcsrun-oci's own, removed with its last container.
pub const DEFAULT_CGROUP_PARENT: &str = "hcsrun-oci";

/// The cgroup parent and name of `linux.cgroupsPath` (absolute from each
/// hierarchy's root, as runc reads it with cgroupfs), else
/// `hcsrun-oci/<id>`.
fn cgroup_names(spec: &LinuxSpec, id: &str) -> (String, String) {
    match spec.cgroups_path() {
        Some(path) => {
            let text = path.to_string_lossy();
            let text = text.trim_start_matches('/');
            match text.rsplit_once('/') {
                Some((parent, name)) => (parent.to_owned(), name.to_owned()),
                None => (String::new(), text.to_owned()),
            }
        }
        None => (DEFAULT_CGROUP_PARENT.to_owned(), id.to_owned()),
    }
}

/// Creates container `args.id`; its record, and with `relay` the master
/// side of its terminal when it has one and no `--console-socket` to send
/// it to.
pub fn create(g: &Global, args: &CreateArgs, relay: bool) -> Result<(Record, Option<OwnedFd>)> {
    let id = &args.id;
    let dir = Dir::new(&g.root, id)?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(&g.root)
        .with_context(|| format!("creating the root {}", g.root.display()))?;
    match fs::DirBuilder::new().mode(0o711).create(&dir.path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("container with id exists: {id}")
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.path.display())),
    }
    let made = create_in(g, &dir, args, relay);
    if made.is_err() {
        let _ = fs::remove_dir_all(&dir.path);
    }
    made
}

/// The state root, for the seccomp filter cache.
pub fn open_dir(path: &Path) -> Result<OwnedFd> {
    open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", path.display()))
}

fn create_in(
    g: &Global,
    dir: &Dir,
    args: &CreateArgs,
    relay: bool,
) -> Result<(Record, Option<OwnedFd>)> {
    let id = args.id.as_str();
    let spec = LinuxSpec::from_bundle(&args.bundle)
        .map_err(|e| anyhow!("container {id}: bundle {}: {e}", args.bundle.display()))?;
    for warning in spec.warnings() {
        log::warn(&format!("container {id}: {warning}"));
    }
    let options = CreateOptions::default();
    // A bundle's root is used in place: no layers, so no layer GUIDs.
    let no_layers = |_: &str| -> hcs::Result<hcs::Guid> {
        Err(hcs::HcsError::new(
            hcs::Subject::System { id: id.to_owned() },
            "naming layers",
            hcs::ErrorKind::Code(hcs::ErrorCode::INVALID_PARAMETER),
        ))
    };
    let config = translate::container_config(id, &spec, &options, &host_facts(), &no_layers)?;
    let process = translate::init_process_config(id, &spec, &options)?;
    let terminal = process.emulate_console;
    if terminal && args.console_socket.is_none() && !relay {
        bail!(
            "container {id}: process.terminal is true: a detached container's terminal needs \
             --console-socket to be sent to (run it in the foreground to use this terminal)"
        );
    }
    let process_text = serde_json::to_string(&process)?;

    let (parent, name) = cgroup_names(&spec, id);
    let cgroup = Cgroup::new(&parent, &name)
        .with_context(|| format!("container {id}: the cgroups at {parent}/{name}"))?;
    let limits = Limits {
        exact: exact_of_spec(&spec),
        every_hierarchy: true,
        ..Default::default()
    };
    let own_parent = parent == DEFAULT_CGROUP_PARENT;
    let remove_cgroups = || {
        let _ = cgroup.remove();
        if own_parent {
            cgroup.remove_empty_parents();
        }
    };
    let undo_cgroups = |e: anyhow::Error| {
        remove_cgroups();
        e
    };
    cgroup
        .create(&limits)
        .with_context(|| format!("container {id}: creating the cgroups at {parent}/{name}"))
        .map_err(undo_cgroups)?;
    let joins = cgroup
        .join_fds()
        .with_context(|| format!("container {id}: opening its cgroups"))
        .map_err(undo_cgroups)?;

    let fifo_path = dir.fifo();
    mkfifo(&fifo_path, Mode::from_bits_truncate(0o622))
        .and_then(|()| {
            fs::set_permissions(&fifo_path, fs::Permissions::from_mode(0o622))
                .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        })
        .with_context(|| format!("container {id}: creating the exec FIFO"))
        .map_err(undo_cgroups)?;
    let fifo = open(&fifo_path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("container {id}: opening the exec FIFO"))
        .map_err(undo_cgroups)?;

    let runtime_dir = open_dir(&g.root).map_err(undo_cgroups)?;
    let hidden = [g.root.to_string_lossy().into_owned()];
    let container_hooks = hooks::container_hooks(&spec, id, &args.bundle.to_string_lossy());
    let created = caller::create(caller::Create {
        id,
        system_dir: &dir.path,
        config: &config,
        process: &process_text,
        runtime_dir: runtime_dir.as_fd(),
        hidden: &hidden,
        cgroups: joins,
        fifo,
        preserve_fds: args.preserve_fds,
        hooks: &container_hooks,
    })
    .map_err(|e| anyhow!(e))
    .map_err(undo_cgroups)?;
    let record = Record {
        id: id.to_owned(),
        pid: created.pid,
        pid_start: proc_stat(created.pid).map_or(0, |(start, _)| start),
        bundle: args.bundle.clone(),
        rootfs: spec.root().map(|r| r.path.clone()).unwrap_or_default(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        owner: "root".to_owned(),
        annotations: spec.annotations().clone(),
        cgroup_parent: parent,
        cgroup_name: name,
        spec: spec.to_json(),
        init_process: process_text,
    };
    let finish = || -> Result<()> {
        if let (Some(master), Some(socket)) = (&created.console, &args.console_socket) {
            console::send(socket, master.as_fd()).with_context(|| {
                format!("container {id}: --console-socket {}", socket.display())
            })?;
        }
        dir.save(&record)?;
        hooks::run_create(&spec, &record)?;
        if let Some(pid_file) = &args.pid_file {
            write_pid_file(pid_file, created.pid)?;
        }
        Ok(())
    };
    if let Err(e) = finish() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(created.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(created.pid as i32), None);
        remove_cgroups();
        return Err(e);
    }
    log::debug(&format!("container {id}: created, pid {}", created.pid));
    let relayed = created.console.filter(|_| args.console_socket.is_none());
    Ok((record, relayed))
}

/// Writes `pid` to `path` atomically, as runc does (no newline).
pub fn write_pid_file(path: &Path, pid: u32) -> Result<()> {
    let path = std::path::absolute(path)?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map_or("pid".into(), |n| n.to_string_lossy())
    ));
    fs::write(&tmp, pid.to_string())
        .and_then(|()| fs::rename(&tmp, &path))
        .with_context(|| format!("writing the pid file {}", path.display()))
}

/// `start ID`.
pub fn start_cmd(g: &Global, rest: &[String]) -> Result<()> {
    let p = parse(rest, &[])?;
    let id = one_id(&p.rest, "start")?;
    start(g, &id)
}

/// Releases pid 1 from the exec FIFO; poststart hooks after.
pub fn start(g: &Global, id: &str) -> Result<()> {
    let dir = Dir::new(&g.root, id)?;
    let record = dir.load(id)?;
    match crate::ops::status(&dir, &record) {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped: {id}"),
        _ => bail!("cannot start an already running container: {id}"),
    }
    let fifo = open(
        &dir.fifo(),
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("start {id}: opening the exec FIFO"))?;
    let pidfd = hcsrun_shim_pidfd(record.pid)
        .with_context(|| format!("start {id}: pid {} is gone", record.pid))?;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: fifo.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: polls two descriptors of ours.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).with_context(|| format!("start {id}: waiting for pid 1"));
        }
        if fds[0].revents & libc::POLLIN != 0 {
            break;
        }
        if fds[1].revents != 0 {
            bail!(
                "start {id}: the container's pid 1 ({}) exited before it started",
                record.pid
            );
        }
    }
    let mut byte = [0u8; 1];
    fs::File::from(fifo)
        .read(&mut byte)
        .with_context(|| format!("start {id}: reading the exec FIFO"))?;
    let _ = fs::remove_file(dir.fifo());
    let spec = LinuxSpec::from_json(&record.spec, &record.bundle)
        .map_err(|e| anyhow!("start {id}: the recorded spec: {e}"))?;
    hooks::run_poststart(&spec, &record)
}

fn hcsrun_shim_pidfd(pid: u32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor we own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above: a new descriptor.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}
