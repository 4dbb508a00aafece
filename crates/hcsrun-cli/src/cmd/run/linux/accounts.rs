//! Who the container's process is, decided before it runs, as docker
//! decides it: `-u NAME|UID[:GROUP|GID]` and `--group-add` looked up in
//! the container's own `/etc/passwd` and `/etc/group` (runc's
//! `GetExecUser` rules), read from the folders its root is made of.
//!
//! The files belong to the image, so they are read without trusting it:
//! resolved inside their layer (`openat2` with `RESOLVE_IN_ROOT`, so no
//! symbolic link leads to the host's files), opened `O_PATH` first and
//! read only if they are regular files (a device node is never opened on
//! the host), and at most 4 MiB of them.

use std::{
    fs,
    io::Read,
    os::fd::{AsRawFd, OwnedFd},
    path::{Path, PathBuf},
};

use nix::{
    errno::Errno,
    fcntl::{openat2, OFlag, OpenHow, ResolveFlag},
    sys::stat::{fstat, major, minor, SFlag},
};

/// The most of an account file that is read.
const MAX_ACCOUNT_FILE: u64 = 4 << 20;

/// The ids a process gets, and its home (for `HOME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

/// The folders the container's root is made of, top-most first: the
/// scratch folder's `upper` (when it holds earlier writes), then each
/// layer (an image file among them cannot be read before the container
/// runs).
pub struct RootFiles {
    pub folders: Vec<PathBuf>,
}

/// What a root holds at a path.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Text(String),
    Absent,
    /// Behind a layer that is an image file (`layer.vhd`).
    Unreadable(PathBuf),
}

impl RootFiles {
    /// The file at `relative` (`etc/passwd`) as the container would see it:
    /// from the top-most folder that has it, stopping at a whiteout or an
    /// opaque directory (overlayfs' deletions).
    fn read(&self, relative: &str) -> Result<Found, String> {
        for folder in &self.folders {
            match fs::metadata(folder) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Ok(Found::Unreadable(folder.clone())),
                // Not there (an options file's path for another host): the
                // compute service says so; nothing is read from it here.
                Err(_) => continue,
            }
            match read_in(folder, relative)? {
                Layered::Here(text) => return Ok(Found::Text(text)),
                Layered::Deleted => return Ok(Found::Absent),
                Layered::Below => {}
            }
        }
        Ok(Found::Absent)
    }
}

enum Layered {
    Here(String),
    Deleted,
    Below,
}

/// `relative` in the one folder `root`.
fn read_in(root: &Path, relative: &str) -> Result<Layered, String> {
    let failed = |e: &dyn std::fmt::Display| format!("reading {}/{relative}: {e}", root.display());
    let dir = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| failed(&e))?;
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let file = match openat2(&dir, relative, how) {
        Ok(file) => file,
        Err(Errno::ENOENT) if opaque_parent(&dir, relative) => return Ok(Layered::Deleted),
        Err(Errno::ENOENT) => return Ok(Layered::Below),
        // A parent that is a file: a whiteout (or no directory) here.
        Err(Errno::ENOTDIR) => return Ok(Layered::Deleted),
        Err(e) => return Err(failed(&e)),
    };
    let stat = fstat(&file).map_err(|e| failed(&e))?;
    let kind = SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits());
    if kind == SFlag::S_IFCHR && major(stat.st_rdev) == 0 && minor(stat.st_rdev) == 0 {
        return Ok(Layered::Deleted);
    }
    if kind != SFlag::S_IFREG {
        return Err(failed(&"not a regular file"));
    }
    Ok(Layered::Here(read_regular(&file).map_err(|e| failed(&e))?))
}

/// Reads the regular file `file` (an `O_PATH` descriptor) through its
/// `/proc/self/fd` link, up to [`MAX_ACCOUNT_FILE`].
fn read_regular(file: &OwnedFd) -> std::io::Result<String> {
    let mut text = Vec::new();
    fs::File::open(format!("/proc/self/fd/{}", file.as_raw_fd()))?
        .take(MAX_ACCOUNT_FILE)
        .read_to_end(&mut text)?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Whether the directory holding `relative` is opaque in this folder
/// (overlayfs' `trusted.overlay.opaque`): nothing below shows through.
fn opaque_parent(dir: &OwnedFd, relative: &str) -> bool {
    let Some((parent, _)) = relative.rsplit_once('/') else {
        return false;
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let Ok(parent) = openat2(dir, parent, how) else {
        return false;
    };
    let link = format!("/proc/self/fd/{}\0", parent.as_raw_fd());
    let mut value = [0u8; 1];
    // SAFETY: both names are NUL-terminated, and `value` is the buffer of
    // the length given.
    let n = unsafe {
        libc::getxattr(
            link.as_ptr().cast(),
            c"trusted.overlay.opaque".as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    n == 1 && value[0] == b'y'
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        Some(PasswdEntry {
            name: f.first()?,
            uid: f.get(2)?.parse().ok()?,
            gid: f.get(3)?.parse().ok()?,
            home: f.get(5).copied().unwrap_or(""),
        })
    })
}

/// `(name, gid, members)` of each group.
fn groups(text: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        let members = f.get(3).map_or(Vec::new(), |m| {
            m.split(',').filter(|m| !m.is_empty()).collect()
        });
        Some((*f.first()?, f.get(2)?.parse().ok()?, members))
    })
}

/// Who `-u USER` (root when `None`) and `--group-add GROUPS` make the
/// process, from the account files of `root`.
pub fn resolve(
    user: Option<&str>,
    group_add: &[String],
    root: &RootFiles,
) -> Result<Account, String> {
    let (user_part, group_part) = match user {
        Some(u) => u.split_once(':').map_or((u, None), |(u, g)| (u, Some(g))),
        None => ("", None),
    };
    let passwd_text = account_file(root, "etc/passwd", user_part, "user")?;
    let uid_arg = user_part.parse::<u32>().ok();
    let entry = passwd(&passwd_text).find(|e| match uid_arg {
        _ if user_part.is_empty() => e.uid == 0,
        Some(uid) => e.uid == uid,
        None => e.name == user_part,
    });
    let (mut account, name) = match (entry, uid_arg) {
        (Some(e), _) => (
            Account {
                uid: e.uid,
                gid: e.gid,
                additional_gids: Vec::new(),
                home: e.home.to_owned(),
            },
            Some(e.name.to_owned()),
        ),
        (None, Some(uid)) => (
            Account {
                uid,
                gid: 0,
                additional_gids: Vec::new(),
                home: "/".to_owned(),
            },
            None,
        ),
        (None, None) if user_part.is_empty() => (
            Account {
                uid: 0,
                gid: 0,
                additional_gids: Vec::new(),
                home: "/".to_owned(),
            },
            None,
        ),
        (None, None) => {
            return Err(format!(
                "unable to find user {user_part}: no matching entries in passwd file"
            ))
        }
    };
    if account.home.is_empty() {
        account.home = "/".to_owned();
    }
    let group_names: Vec<&str> = group_part
        .into_iter()
        .chain(group_add.iter().map(String::as_str))
        .filter(|g| g.parse::<u32>().is_err())
        .collect();
    let group_text = account_file(
        root,
        "etc/group",
        group_names.first().copied().unwrap_or(""),
        "group",
    )?;
    let find_group = |g: &str| -> Result<u32, String> {
        let gid_arg = g.parse::<u32>().ok();
        groups(&group_text)
            .find(|(n, gid, _)| gid_arg.map_or(*n == g, |wanted| *gid == wanted))
            .map(|(_, gid, _)| gid)
            .or(gid_arg)
            .ok_or_else(|| format!("unable to find group {g}: no matching entries in group file"))
    };
    match group_part {
        Some(g) => account.gid = find_group(g)?,
        // The groups the user is a member of, when it has a name.
        None => {
            account.additional_gids = groups(&group_text)
                .filter(|(_, _, members)| name.as_deref().is_some_and(|n| members.contains(&n)))
                .map(|(_, gid, _)| gid)
                .collect();
        }
    }
    for g in group_add {
        let gid = find_group(g)?;
        if !account.additional_gids.contains(&gid) {
            account.additional_gids.push(gid);
        }
    }
    Ok(account)
}

/// The text of an account file; an empty one where the root has none, or
/// cannot be read before the container runs, unless `name` (a user or
/// group name, not a number) must be looked up in it.
fn account_file(
    root: &RootFiles,
    relative: &str,
    name: &str,
    what: &str,
) -> Result<String, String> {
    match root.read(relative)? {
        Found::Text(text) => Ok(text),
        Found::Absent => Ok(String::new()),
        Found::Unreadable(image) if name.is_empty() || name.parse::<u32>().is_ok() => {
            tracing::debug!(
                "/{relative} is not read: the layer {} is an image file",
                image.display()
            );
            Ok(String::new())
        }
        Found::Unreadable(image) => Err(format!(
            "cannot look up {what} {name}: the container's /{relative} is in the layer image {}, \
             which hcsrun cannot read before the container runs; give the number instead",
            image.display()
        )),
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
