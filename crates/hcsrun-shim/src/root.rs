//! Paths inside the container's root that cannot escape it: every lookup
//! resolves symlinks and `..` as if the root were `/` (`openat2` with
//! `RESOLVE_IN_ROOT`), so an image cannot point a mount at the host.

use std::{
    ffi::OsStr,
    io,
    os::fd::{AsFd, AsRawFd, OwnedFd},
    path::{Component, Path, PathBuf},
};

use nix::{
    errno::Errno,
    fcntl::{openat2, OFlag, OpenHow, ResolveFlag},
    mount::{mount, MsFlags},
    sys::stat::{mkdirat, Mode},
};

/// The container's root directory.
pub struct Root {
    fd: OwnedFd,
}

impl Root {
    pub fn open(path: &Path) -> io::Result<Self> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self { fd })
    }

    fn resolve(&self, path: &Path, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .mode(mode)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        openat2(self.fd.as_fd(), path, how)
    }

    /// What `path` inside the root is (`O_PATH`), if it exists; nothing is
    /// made.
    pub fn existing(&self, path: &str) -> nix::Result<OwnedFd> {
        components(path).map_err(|_| Errno::EINVAL)?;
        self.resolve(Path::new(path), OFlag::O_PATH, Mode::empty())
    }

    /// The directory `path` inside the root, made (with its parents) if
    /// missing. `..` is refused.
    pub fn dir(&self, path: &str) -> io::Result<OwnedFd> {
        let mut parent = self.resolve(
            Path::new(""),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            Mode::empty(),
        )?;
        let mut prefix = PathBuf::new();
        for name in components(path)? {
            prefix.push(name);
            parent = match self.resolve(&prefix, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())
            {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    match mkdirat(parent.as_fd(), name, Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    self.resolve(&prefix, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())?
                }
                Err(e) => return Err(e.into()),
            };
        }
        Ok(parent)
    }

    /// The file `path` inside the root, made empty (with its parent
    /// directories) if missing: a mount point for a file.
    pub fn file(&self, path: &str) -> io::Result<OwnedFd> {
        let names = components(path)?;
        let Some((_, dirs)) = names.split_last() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the root is not a file",
            ));
        };
        let dir: PathBuf = dirs.iter().collect();
        self.dir(dir.to_str().expect("built from str"))?;
        match self.resolve(Path::new(path), OFlag::O_PATH, Mode::empty()) {
            Err(Errno::ENOENT) => {
                let flags = OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_NOFOLLOW;
                drop(self.resolve(Path::new(path), flags, Mode::from_bits_truncate(0o644))?);
                Ok(self.resolve(Path::new(path), OFlag::O_PATH, Mode::empty())?)
            }
            other => Ok(other?),
        }
    }
}

/// The names in an absolute container path; `..` is refused.
fn components(path: &str) -> io::Result<Vec<&OsStr>> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(Ok(name)),
            Component::ParentDir => Some(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path}: '..' is not allowed in a container path"),
            ))),
            _ => None,
        })
        .collect()
}

/// The path through which the kernel reaches the file `fd` refers to.
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Mounts onto the file or directory `target` refers to.
pub fn mount_on(
    target: &impl AsRawFd,
    source: Option<&str>,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> nix::Result<()> {
    mount(source, fd_path(target).as_str(), fstype, flags, data)
}
