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
        Ok(Self {
            source: parts[0].clone(),
            destination: parts[1].clone(),
            read_only,
        })
    }
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
    fn malformed() {
        for bad in ["/srv", "/srv:/data:rx", ":/data", "/srv:", "a:b:ro:x"] {
            assert!(Volume::parse(bad).is_err(), "{bad}");
        }
    }
}
