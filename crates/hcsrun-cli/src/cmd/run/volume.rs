//! `-v SRC:DST[:ro|rw]`, where either side may be a Windows path with a
//! drive letter (`C:\data`) and DST may be a named pipe (`\\.\pipe\NAME`).

use anyhow::bail;

#[derive(Debug, PartialEq, Eq)]
pub struct Volume {
    pub source: String,
    pub destination: String,
    pub read_only: bool,
}

impl Volume {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        // Split on ':' but keep drive letters ("C:" followed by a path).
        let mut parts: Vec<String> = Vec::new();
        for piece in text.split(':') {
            let joins_drive = parts.last().is_some_and(|p| {
                p.len() == 1
                    && p.as_bytes()[0].is_ascii_alphabetic()
                    && piece.starts_with(['\\', '/'])
            });
            match parts.last_mut() {
                Some(last) if joins_drive => {
                    last.push(':');
                    last.push_str(piece);
                }
                _ => parts.push(piece.to_owned()),
            }
        }
        let read_only = match parts.len() {
            2 => false,
            3 => match parts[2].as_str() {
                "ro" => true,
                "rw" => false,
                mode => bail!("volume {text:?}: mode {mode:?} is neither ro nor rw"),
            },
            _ => bail!("volume {text:?}: expected SRC:DST[:ro]"),
        };
        if parts[0].is_empty() || parts[1].is_empty() {
            bail!("volume {text:?}: expected SRC:DST[:ro]");
        }
        if let Err(why) = check_destination(&parts[1]) {
            bail!("volume {text:?}: {why}");
        }
        Ok(Self {
            source: parts[0].clone(),
            destination: parts[1].clone(),
            read_only,
        })
    }
}

/// The container's own file systems, made by the compute service: a
/// volume cannot take their place.
const RESERVED: [&str; 4] = ["/", "/dev", "/proc", "/sys"];

/// A mount destination must be an absolute path (`/data`, `C:\data`) or a
/// named pipe, and not one of [`RESERVED`] (however spelt: `/proc/`,
/// `//sys`, `/x/../dev`, `C:\`).
pub fn check_destination(destination: &str) -> Result<(), String> {
    if destination.starts_with(r"\\.\pipe\") {
        return Ok(());
    }
    let unix = match destination.as_bytes() {
        [drive, b':', rest @ ..] if drive.is_ascii_alphabetic() => {
            String::from_utf8_lossy(rest).replace('\\', "/")
        }
        _ => destination.to_owned(),
    };
    if !unix.starts_with('/') {
        return Err(format!(
            "the destination {destination} is not an absolute path"
        ));
    }
    let normal = normalize(&unix);
    if RESERVED.contains(&normal.as_str()) {
        let what = if normal == "/" {
            "the container's root".to_owned()
        } else {
            format!("the container's own {normal}, which the compute service makes")
        };
        return Err(format!("{normal} cannot be mounted over: it is {what}"));
    }
    Ok(())
}

/// `path` (absolute, `/`-separated) without empty, `.` and `..` components.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str, d: &str, ro: bool) -> Volume {
        Volume {
            source: s.into(),
            destination: d.into(),
            read_only: ro,
        }
    }

    #[test]
    fn linux_and_windows_paths() {
        assert_eq!(
            Volume::parse("/srv:/data").unwrap(),
            v("/srv", "/data", false)
        );
        assert_eq!(
            Volume::parse("/srv:/data:ro").unwrap(),
            v("/srv", "/data", true)
        );
        assert_eq!(
            Volume::parse(r"/srv:C:\data:ro").unwrap(),
            v("/srv", r"C:\data", true)
        );
        assert_eq!(
            Volume::parse(r"C:\host:C:\data").unwrap(),
            v(r"C:\host", r"C:\data", false)
        );
        assert_eq!(
            Volume::parse(r"/run/docker.sock:\\.\pipe\docker_engine").unwrap(),
            v("/run/docker.sock", r"\\.\pipe\docker_engine", false)
        );
    }

    #[test]
    fn reserved_destinations_are_refused_however_spelt() {
        for dst in [
            "/",
            "//",
            "/dev",
            "/dev/",
            "/proc",
            "/proc/.",
            "//sys",
            "/x/../dev",
            "/..",
            r"C:\",
            r"C:\dev",
            "c:/proc",
        ] {
            let err = check_destination(dst).unwrap_err();
            assert!(err.contains("cannot be mounted over"), "{dst}: {err}");
        }
        for dst in [
            "/data",
            "/dev/shm/x",
            "/proc2",
            "/sysfs",
            r"C:\data",
            r"\\.\pipe\p",
        ] {
            assert_eq!(check_destination(dst), Ok(()), "{dst}");
        }
        assert!(check_destination("data")
            .unwrap_err()
            .contains("not an absolute path"));
        assert!(Volume::parse("/srv:/dev").is_err());
    }

    #[test]
    fn malformed() {
        for bad in ["/srv", "/srv:/data:rx", ":/data", "/srv:", "a:b:ro:x"] {
            assert!(Volume::parse(bad).is_err(), "{bad}");
        }
    }
}
