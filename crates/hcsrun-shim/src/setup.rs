//! The holder's first job: turn a `ContainerConfig` into the container's
//! world, inside the namespaces it was started in. Every mount happens in
//! the holder's private mount namespace, so the host sees none of them and
//! they all go when the system does.

use std::{
    fs,
    os::unix::fs::{symlink, FileTypeExt},
    path::{Path, PathBuf},
};

use hcs::ErrorCode;
use hcs_schema::{ContainerConfig, MappedDir, MappedPipe};
use nix::{
    mount::{umount2, MntFlags, MsFlags},
    sys::stat::{makedev, mknodat, Mode, SFlag},
    unistd::{chdir, pivot_root, sethostname},
};

use hcsrun_shim_protocol::{
    errno::errno_code,
    message::WireError,
    paths::{container_path, PIPE_DIR},
};

use crate::{
    loopdev, masks, net,
    root::{mount_on, Root},
    standard::made,
};
use hcsrun_linux_spec::StandardMount;

/// A setup step that failed, with the HCS code to report.
pub type SetupResult<T> = Result<T, WireError>;

fn fail(code: ErrorCode, message: String) -> WireError {
    WireError {
        code: code.0,
        message,
    }
}

/// Maps an errno failure of `what` to a [`WireError`].
fn sys<E: Into<std::io::Error>>(what: impl FnOnce() -> String) -> impl FnOnce(E) -> WireError {
    move |e| {
        let e: std::io::Error = e.into();
        let code = e
            .raw_os_error()
            .map_or(ErrorCode::INTERNAL_ERROR, errno_code);
        fail(code, format!("{}: {e}", what()))
    }
}

/// Builds the container's root file system and enters it; `hidden` are
/// host directories it must not show (see [`masks::protect`]).
/// `before_pivot` runs with the root built, the runtime's mount tree still
/// reachable, and the working directory at the root (the runtime spec's
/// time for `createContainer` hooks).
pub fn prepare(
    id: &str,
    system_dir: &Path,
    config: &ContainerConfig,
    shared_network: bool,
    hidden: &[String],
    before_pivot: &dyn Fn(&Path) -> SetupResult<()>,
) -> SetupResult<()> {
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(sys(|| "making mounts private".to_owned()))?;
    // Mount points live on a private tmpfs over the system's directory:
    // nothing is created on the host for them.
    let work = system_dir;
    nix::mount::mount(
        Some("tmpfs"),
        work,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=700,size=1m"),
    )
    .map_err(sys(|| {
        format!("mounting scratch space on {}", work.display())
    }))?;

    let rootfs = work.join("rootfs");
    mount_rootfs(config, work, &rootfs)?;
    let root = Root::open(&rootfs).map_err(sys(|| format!("opening {}", rootfs.display())))?;
    mount_system_dirs(&root)?;
    for dir in &config.mapped_directories {
        mount_mapped_dir(&root, dir)?;
    }
    for pipe in &config.mapped_pipes {
        mount_mapped_pipe(&root, pipe)?;
    }
    // Last, so that no mount above can uncover what it hides. A Linux
    // spec says itself which paths it masks (its maskedPaths and
    // readonlyPaths, applied with the rest of the spec: none for
    // `--privileged`, as docker); other configurations get docker's.
    let docker_masks = !crate::context::is_native_linux(config);
    masks::protect(&root, hidden, docker_masks).map_err(|(what, e)| sys(|| what)(e))?;
    before_pivot(&rootfs)?;
    enter(&rootfs)?;

    let hostname = if config.host_name.is_empty() {
        &id[..id.len().min(12)]
    } else {
        config.host_name.as_str()
    };
    sethostname(hostname).map_err(sys(|| format!("setting host name {hostname:?}")))?;
    if !shared_network {
        net::loopback_up().map_err(sys(|| "bringing up loopback".to_owned()))?;
    }
    Ok(())
}

/// The container's root at `rootfs`: the layers (top-most first) overlaid
/// under the scratch folder's `upper`, or, with no layers, `VolumePath`
/// itself (a Linux bundle's root directory).
fn mount_rootfs(config: &ContainerConfig, work: &Path, rootfs: &Path) -> SetupResult<()> {
    if config.layers.is_empty() {
        return mount_volume(&config.volume_path, rootfs);
    }
    let mut lowers = Vec::with_capacity(config.layers.len());
    for (i, layer) in config.layers.iter().enumerate() {
        let path = PathBuf::from(&layer.path);
        let meta = fs::metadata(&path).map_err(sys(|| format!("layer {}", layer.path)))?;
        if meta.is_dir() {
            lowers.push(path);
            continue;
        }
        // An image file: attach it read-only and mount its file system.
        let target = work.join(format!("layer{i}"));
        fs::create_dir(&target).map_err(sys(|| format!("creating {}", target.display())))?;
        let device = loopdev::attach(&path).map_err(sys(|| {
            format!("attaching layer {} to a loop device", layer.path)
        }))?;
        nix::mount::mount(
            Some(&device.path),
            &target,
            Some("ext4"),
            MsFlags::MS_RDONLY | MsFlags::MS_NODEV,
            Some("noload"),
        )
        .map_err(sys(|| {
            format!(
                "mounting layer image {} (ext4) from {}",
                layer.path,
                device.path.display()
            )
        }))?;
        lowers.push(target);
    }

    let scratch = if config.layer_folder_path.is_empty() {
        // No scratch folder: writes live in memory for the system's life.
        let tmp = work.join("scratch");
        fs::create_dir(&tmp).map_err(sys(|| format!("creating {}", tmp.display())))?;
        nix::mount::mount(
            Some("tmpfs"),
            &tmp,
            Some("tmpfs"),
            MsFlags::MS_NODEV,
            Some("mode=755"),
        )
        .map_err(sys(|| "mounting in-memory scratch space".to_owned()))?;
        tmp
    } else {
        PathBuf::from(&config.layer_folder_path)
    };
    let (upper, workdir) = (scratch.join("upper"), scratch.join("work"));
    for dir in [&upper, &workdir] {
        fs::create_dir_all(dir).map_err(sys(|| format!("creating {}", dir.display())))?;
    }
    fs::create_dir(rootfs).map_err(sys(|| format!("creating {}", rootfs.display())))?;

    let mut options = String::from("lowerdir=");
    for (i, lower) in lowers.iter().enumerate() {
        if i > 0 {
            options.push(':');
        }
        options.push_str(overlay_path(lower)?);
    }
    options.push_str(",upperdir=");
    options.push_str(overlay_path(&upper)?);
    options.push_str(",workdir=");
    options.push_str(overlay_path(&workdir)?);
    if config.ignore_flushes_during_boot {
        // The configuration says flushes may be ignored: skip syncing the
        // scratch layer, above all the whole-disk flush at unmount.
        options.push_str(",volatile");
    }
    nix::mount::mount(
        Some("overlay"),
        rootfs,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(sys(|| format!("mounting overlay ({options})")))
}

/// `VolumePath` as the root, in place, as runc uses a bundle's root: bound
/// recursively (what is mounted below it comes along) and private, so
/// writes land in the directory itself; no overlay, no scratch.
fn mount_volume(volume: &str, rootfs: &Path) -> SetupResult<()> {
    fs::create_dir(rootfs).map_err(sys(|| format!("creating {}", rootfs.display())))?;
    nix::mount::mount(
        Some(volume),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys(|| format!("binding VolumePath {volume}")))?;
    // Private already (every mount was made private first); said again so
    // that nothing mounted in the container ever propagates to the host.
    nix::mount::mount(
        None::<&str>,
        rootfs,
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(sys(|| format!("making VolumePath {volume} private")))
}

/// A path as overlayfs options can carry it.
fn overlay_path(path: &Path) -> SetupResult<&str> {
    match path.to_str() {
        Some(p) if !p.contains([',', ':', '\\']) => Ok(p),
        _ => Err(fail(
            ErrorCode::INVALID_PARAMETER,
            format!(
                "{}: a layer or scratch path must be UTF-8 without ',', ':' or '\\' (overlayfs option syntax)",
                path.display()
            ),
        )),
    }
}

/// Mounts the standard mount `which` on `target` as the service makes it
/// (`standard::STANDARD`: its flags but read-only, and its data).
fn mount_standard(
    target: &impl std::os::fd::AsRawFd,
    source: &str,
    fstype: &str,
    which: StandardMount,
) -> nix::Result<()> {
    let (flags, data) = made(which);
    let data = (!data.is_empty()).then_some(data);
    mount_on(target, Some(source), Some(fstype), flags, data)
}

/// `/proc`, `/dev` and `/sys` of the container.
fn mount_system_dirs(root: &Root) -> SetupResult<()> {
    let proc = root
        .dir("/proc")
        .map_err(sys(|| "creating /proc".to_owned()))?;
    mount_standard(&proc, "proc", "proc", StandardMount::Proc)
        .map_err(sys(|| "mounting /proc".to_owned()))?;

    let dev = root
        .dir("/dev")
        .map_err(sys(|| "creating /dev".to_owned()))?;
    // Nodes here are made by hcsrun (and a Linux spec's `linux.devices`);
    // what the container may open of them is the device allow-list's call.
    mount_standard(&dev, "tmpfs", "tmpfs", StandardMount::Dev)
        .map_err(sys(|| "mounting /dev".to_owned()))?;
    // The fresh tmpfs, through the path (the old descriptor is the
    // directory underneath).
    let dev = root
        .dir("/dev")
        .map_err(sys(|| "opening /dev".to_owned()))?;
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        mknodat(
            &dev,
            name,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        )
        .map_err(sys(|| format!("creating /dev/{name}")))?;
    }
    let dev_path = crate::root::fd_path(&dev);
    let pts = root
        .dir("/dev/pts")
        .map_err(sys(|| "creating /dev/pts".to_owned()))?;
    mount_standard(&pts, "devpts", "devpts", StandardMount::DevPts)
        .map_err(sys(|| "mounting /dev/pts".to_owned()))?;
    let shm = root
        .dir("/dev/shm")
        .map_err(sys(|| "creating /dev/shm".to_owned()))?;
    mount_standard(&shm, "shm", "tmpfs", StandardMount::DevShm)
        .map_err(sys(|| "mounting /dev/shm".to_owned()))?;
    // POSIX message queues of the container's own IPC namespace.
    let mqueue = root
        .dir("/dev/mqueue")
        .map_err(sys(|| "creating /dev/mqueue".to_owned()))?;
    mount_standard(&mqueue, "mqueue", "mqueue", StandardMount::DevMqueue)
        .map_err(sys(|| "mounting /dev/mqueue".to_owned()))?;
    for (link, to) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(to, format!("{dev_path}/{link}"))
            .map_err(sys(|| format!("creating /dev/{link}")))?;
    }

    let sys_dir = root
        .dir("/sys")
        .map_err(sys(|| "creating /sys".to_owned()))?;
    // The file system writable, the mount read-only: a spec that wants
    // `/sys` writable (`--privileged`) clears the mount's flag only.
    if mount_standard(&sys_dir, "sysfs", "sysfs", StandardMount::Sys).is_ok() {
        let mounted = root
            .dir("/sys")
            .map_err(sys(|| "opening /sys".to_owned()))?;
        crate::mounts::set_attributes(&mounted, libc::MOUNT_ATTR_RDONLY, 0, 0, false)
            .map_err(sys(|| "making /sys read-only".to_owned()))?;
    } else {
        // sysfs belongs to the network namespace that mounts it; where that
        // is refused, show the host's read-only.
        mount_on(
            &sys_dir,
            Some("/sys"),
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )
        .map_err(sys(|| "mounting /sys".to_owned()))?;
        let mounted = root
            .dir("/sys")
            .map_err(sys(|| "opening /sys".to_owned()))?;
        make_read_only(&mounted).map_err(sys(|| "making /sys read-only".to_owned()))?;
    }
    Ok(())
}

/// A host directory (or file) bound into the container.
fn mount_mapped_dir(root: &Root, dir: &MappedDir) -> SetupResult<()> {
    let target = container_path(&dir.container_path).ok_or_else(|| {
        fail(
            ErrorCode::INVALID_PARAMETER,
            format!(
                "mapped directory {:?}: the container path must be absolute",
                dir.container_path
            ),
        )
    })?;
    let source = fs::metadata(&dir.host_path)
        .map_err(sys(|| format!("mapped directory source {}", dir.host_path)))?;
    let what = || format!("mapping {} to {target}", dir.host_path);
    let open = || {
        if source.is_dir() {
            root.dir(&target)
        } else {
            root.file(&target)
        }
    };
    let mount_point = open().map_err(sys(what))?;
    mount_on(
        &mount_point,
        Some(&dir.host_path),
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .map_err(sys(what))?;
    if dir.read_only {
        // The descriptor above is the directory under the new mount; look
        // the path up again to reach the mount itself.
        let mounted = open().map_err(sys(what))?;
        make_read_only(&mounted).map_err(sys(|| format!("making {target} read-only")))?;
    }
    Ok(())
}

/// A host socket bound into the container as `/run/pipe/NAME`.
fn mount_mapped_pipe(root: &Root, pipe: &MappedPipe) -> SetupResult<()> {
    let name = &pipe.container_pipe_name;
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(fail(
            ErrorCode::INVALID_PARAMETER,
            format!("mapped pipe name {name:?} is not a valid file name"),
        ));
    }
    let source = fs::metadata(&pipe.host_path)
        .map_err(sys(|| format!("mapped pipe source {}", pipe.host_path)))?;
    if !source.file_type().is_socket() {
        return Err(fail(
            ErrorCode::INVALID_PARAMETER,
            format!("mapped pipe source {} is not a unix socket", pipe.host_path),
        ));
    }
    let target = format!("{PIPE_DIR}/{name}");
    let mount_point = root
        .file(&target)
        .map_err(sys(|| format!("creating {target}")))?;
    mount_on(
        &mount_point,
        Some(&pipe.host_path),
        None,
        MsFlags::MS_BIND,
        None,
    )
    .map_err(sys(|| {
        format!("mapping pipe {} to {target}", pipe.host_path)
    }))
}

/// Makes the mount whose root `target` is, and every mount under it,
/// read-only.
pub fn make_read_only(target: &impl std::os::fd::AsRawFd) -> nix::Result<()> {
    let set = crate::mounts::set_attributes(target, libc::MOUNT_ATTR_RDONLY, 0, 0, true);
    let Err(err) = set else {
        return Ok(());
    };
    if err != nix::errno::Errno::ENOSYS {
        return Err(err);
    }
    // Kernels before 5.12 (no mount_setattr): the top mount only.
    let path = crate::root::fd_path(target);
    nix::mount::mount(
        None::<&str>,
        path.as_str(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None::<&str>,
    )
}

/// Makes `rootfs` the root and lets go of the host's mounts.
fn enter(rootfs: &Path) -> SetupResult<()> {
    chdir(rootfs).map_err(sys(|| format!("entering {}", rootfs.display())))?;
    pivot_root(".", ".").map_err(sys(|| "pivot_root".to_owned()))?;
    // The old root is now stacked under the new one at "/"; detach it.
    umount2(".", MntFlags::MNT_DETACH).map_err(sys(|| "detaching the host's root".to_owned()))?;
    chdir("/").map_err(sys(|| "entering /".to_owned()))
}
