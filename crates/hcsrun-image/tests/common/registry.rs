//! A private `docker-registry` (Debian's distribution 2.x) on 127.0.0.1
//! with its own storage, and `skopeo` to push to it.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct Registry {
    pub dir: tempfile::TempDir,
    pub host: String,
    child: Child,
}

impl Registry {
    /// Starts a registry; panics with its log if it does not answer.
    pub fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n",
            dir.path().join("storage").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry is installed (scripts/setup.sh)");
        let r = Registry { dir, host, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if r.get("/v2/").starts_with("HTTP/1.1 200") {
                return r;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not start: {}", r.log());
    }

    fn get(&self, path: &str) -> String {
        let Ok(mut s) = TcpStream::connect(&self.host) else {
            return String::new();
        };
        let _ = write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.host
        );
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Blob downloads (`GET /v2/<repo>/blobs/…`) the registry has served.
    pub fn blob_gets(&self, repo: &str) -> usize {
        let needle = format!("\"GET /v2/{repo}/blobs/");
        self.log().lines().filter(|l| l.contains(&needle)).count()
    }

    /// Pushes `oci:LAYOUT:NAME` to `REPO:TAG` with skopeo (all platforms).
    pub fn push(&self, layout: &Path, name: &str, repo_tag: &str) {
        let out = Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--all",
                "--dest-tls-verify=false",
                "-q",
            ])
            .arg(format!("oci:{}:{name}", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .expect("skopeo is installed (scripts/setup.sh)");
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The registry's own file for blob `hex`.
    pub fn blob_file(&self, hex: &str) -> PathBuf {
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
