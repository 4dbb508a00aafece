//! Who a process runs as: `ProcessConfig.User` looked up in the container's
//! own `/etc/passwd` and `/etc/group`.

use std::fs;

/// The identity a process gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    pub home: String,
}

impl User {
    fn root() -> Self {
        Self {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
            home: "/root".to_owned(),
        }
    }
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7).then(|| {
            Some(PasswdEntry {
                name: f[0],
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5],
            })
        })?
    })
}

/// `(name, gid, members)` of each group.
fn group_entries(text: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 4).then(|| {
            Some((
                f[0],
                f[2].parse().ok()?,
                f[3].split(',').filter(|m| !m.is_empty()).collect(),
            ))
        })?
    })
}

/// Resolves `spec` (`""`, `name`, `uid`, `name:group`, `uid:gid`) against
/// the contents of `/etc/passwd` and `/etc/group`.
///
/// Windows' built-in container accounts map to Linux ones when the image
/// does not define them: `ContainerAdministrator` is root and
/// `ContainerUser` is `nobody` (65534).
pub fn resolve_in(spec: &str, passwd: &str, group: &str) -> Result<User, String> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let mut user = if user_part.is_empty() {
        User::root()
    } else if let Some(entry) = passwd_entries(passwd).find(|e| e.name == user_part) {
        User {
            uid: entry.uid,
            gid: entry.gid,
            groups: Vec::new(),
            home: entry.home.to_owned(),
        }
    } else if let Ok(uid) = user_part.parse::<u32>() {
        let entry = passwd_entries(passwd).find(|e| e.uid == uid);
        User {
            uid,
            gid: entry.as_ref().map_or(uid, |e| e.gid),
            groups: Vec::new(),
            home: entry.map_or("/", |e| e.home).to_owned(),
        }
    } else if user_part.eq_ignore_ascii_case("ContainerAdministrator") {
        User::root()
    } else if user_part.eq_ignore_ascii_case("ContainerUser") {
        User {
            uid: 65534,
            gid: 65534,
            groups: Vec::new(),
            home: "/".to_owned(),
        }
    } else {
        return Err(format!(
            "user {user_part:?} is not in the container's /etc/passwd"
        ));
    };

    let name = passwd_entries(passwd)
        .find(|e| e.uid == user.uid)
        .map(|e| e.name);
    user.groups = group_entries(group)
        .filter(|(_, _, members)| name.is_some_and(|n| members.contains(&n)))
        .map(|(_, gid, _)| gid)
        .collect();
    if let Some(g) = group_part {
        user.gid = match group_entries(group).find(|(n, _, _)| *n == g) {
            Some((_, gid, _)) => gid,
            None => g
                .parse()
                .map_err(|_| format!("group {g:?} is not in the container's /etc/group"))?,
        };
    }
    Ok(user)
}

/// Resolves `spec` against the container's files (the holder's root).
pub fn resolve(spec: &str) -> Result<User, String> {
    if spec.is_empty() {
        return Ok(User::root());
    }
    let passwd = read_account_file("/etc/passwd")?;
    let group = read_account_file("/etc/group")?;
    resolve_in(spec, &passwd, &group)
}

/// Exactly these ids (a Linux spec's: no lookup of groups), with the home
/// directory the container's `/etc/passwd` gives `uid`, else `/` (runc's
/// default).
pub fn exact(uid: u32, gid: u32, groups: Vec<u32>) -> Result<User, String> {
    let passwd = read_account_file("/etc/passwd")?;
    let home = passwd_entries(&passwd)
        .find(|e| e.uid == uid)
        .map_or("/", |e| e.home)
        .to_owned();
    Ok(User {
        uid,
        gid,
        groups,
        home,
    })
}

/// The most of an account file the holder reads.
const ACCOUNT_FILE_MAX: u64 = 4 << 20;

/// Reads one of the container's account files (empty if it has none). The
/// container controls them: a FIFO or a device would block or flood the
/// holder, which serves every request of the system, so only a regular
/// file of reasonable size is read, opened without blocking.
fn read_account_file(path: &str) -> Result<String, String> {
    use std::{io::Read, os::unix::fs::OpenOptionsExt};
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(format!("reading the container's {path}: {e}")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("reading the container's {path}: {e}"))?;
    if !meta.is_file() || meta.len() > ACCOUNT_FILE_MAX {
        return Err(format!(
            "the container's {path} is not a regular file of at most {} MiB",
            ACCOUNT_FILE_MAX >> 20
        ));
    }
    let mut text = String::new();
    file.take(ACCOUNT_FILE_MAX)
        .read_to_string(&mut text)
        .map_err(|e| format!("reading the container's {path}: {e}"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:App:/home/app:/bin/sh
broken line
";
    const GROUP: &str = "\
root:x:0:
audio:x:29:app,other
video:x:44:other
app:x:1000:
";

    #[test]
    fn names_and_numbers() {
        let app = resolve_in("app", PASSWD, GROUP).unwrap();
        assert_eq!(
            (app.uid, app.gid, app.home.as_str()),
            (1000, 1000, "/home/app")
        );
        assert_eq!(app.groups, [29], "supplementary groups list the user");
        assert_eq!(resolve_in("1", PASSWD, GROUP).unwrap().home, "/usr/sbin");
        let unknown_uid = resolve_in("4242", PASSWD, GROUP).unwrap();
        assert_eq!((unknown_uid.uid, unknown_uid.gid), (4242, 4242));
        assert_eq!(resolve_in("", PASSWD, GROUP).unwrap(), User::root());
    }

    #[test]
    fn explicit_groups() {
        assert_eq!(resolve_in("app:video", PASSWD, GROUP).unwrap().gid, 44);
        assert_eq!(resolve_in("app:7", PASSWD, GROUP).unwrap().gid, 7);
        assert!(resolve_in("app:nogroup", PASSWD, GROUP).is_err());
    }

    #[test]
    fn windows_accounts() {
        assert_eq!(
            resolve_in("ContainerAdministrator", PASSWD, GROUP)
                .unwrap()
                .uid,
            0
        );
        assert_eq!(
            resolve_in("ContainerUser", PASSWD, GROUP).unwrap().uid,
            65534
        );
        let defined = "ContainerUser:x:1001:1001::/home/cu:/bin/sh\n";
        assert_eq!(resolve_in("ContainerUser", defined, "").unwrap().uid, 1001);
    }

    #[test]
    fn unknown_names_are_errors() {
        let err = resolve_in("nobody-here", PASSWD, GROUP).unwrap_err();
        assert!(err.contains("nobody-here"), "{err}");
    }
}
