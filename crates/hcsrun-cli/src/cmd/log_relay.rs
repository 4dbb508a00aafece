//! The log relay: what stands in for dockerd's log copier, daemonless.
//!
//! The compute service hands out pipes (HCS has no way to ask for a log
//! file). For a detached container, hcsrun starts itself in this hidden mode
//! holding the read ends of the container's stdout and stderr: in its own
//! session (a closed terminal does not end it), outside the container's
//! cgroups, with nothing of the caller's but those descriptors. It writes
//! docker's `json-file` lines (`{"log":"…\n","stream":"stdout","time":"…"}`)
//! to `<id>-json.log` beside the container's record, rotating at
//! [`MAX_SIZE`] bytes into `.1` and `.2`, and exits at end of file on both
//! streams. It holds an exclusive lock on its log file while it runs, so
//! that `logs` and `wait` can tell when everything written has arrived.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd},
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    time::Duration,
};

use anyhow::Context;
use nix::{
    errno::Errno,
    fcntl::{fcntl, FcntlArg, FdFlag, Flock, FlockArg},
    poll::{poll, PollFd, PollFlags, PollTimeout},
};

use hcsrun::service::ServiceChoice;

use crate::containers::{self, now_rfc3339, store};

/// A log file's size before it is rotated.
pub const MAX_SIZE: u64 = 10 * 1024 * 1024;
/// Files kept: the log and `.1` … `.(MAX_FILES - 1)`.
pub const MAX_FILES: usize = 3;

/// The relay's hidden command line.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container whose output this is.
    #[arg(long)]
    id: String,
    /// The descriptor of the container's stdout (or console).
    #[arg(long)]
    stdout_fd: Option<RawFd>,
    /// The descriptor of the container's stderr.
    #[arg(long)]
    stderr_fd: Option<RawFd>,
    /// The descriptor of the container's stdin, held open (never written)
    /// so that a container run with -i keeps its input.
    #[arg(long)]
    stdin_fd: Option<RawFd>,
}

/// Starts the relay for container `id`'s streams; the descriptors are
/// passed on and closed here.
pub fn spawn(
    id: &str,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    stdin: Option<OwnedFd>,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding hcsrun's own executable")?;
    let mut command = Command::new(exe);
    command
        .args(["log-relay", "--id", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("HCSRUN_LOG");
    for (flag, fd) in [
        ("--stdout-fd", &stdout),
        ("--stderr-fd", &stderr),
        ("--stdin-fd", &stdin),
    ] {
        if let Some(fd) = fd {
            // Inherited by the relay alone: nothing else is started by
            // this process while it runs.
            fcntl(fd.as_fd(), FcntlArg::F_SETFD(FdFlag::empty()))
                .with_context(|| format!("container {id}: passing its output to the log relay"))?;
            command.args([flag, &fd.as_raw_fd().to_string()]);
        }
    }
    command
        .spawn()
        .with_context(|| format!("container {id}: starting its log relay"))?;
    Ok(())
}

/// The relay itself.
pub fn main(args: Args) -> ExitCode {
    // Its own session: no terminal's hang-up reaches it.
    let _ = nix::unistd::setsid();
    // SAFETY: the descriptors were passed to this process for it to own
    // (see `spawn`); each is taken once.
    let take = |fd: Option<RawFd>| fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let (stdout, stderr, _stdin) = (
        take(args.stdout_fd),
        take(args.stderr_fd),
        take(args.stdin_fd),
    );
    let path = store::log_path(&args.id);
    match relay(&path, stdout, stderr) {
        Ok(()) => {
            auto_remove(&args.id);
            ExitCode::SUCCESS
        }
        Err(e) => {
            // Nobody reads this process's stderr: the error goes in the log.
            if let Ok(mut log) = Log::open(&path) {
                let _ = log.entry("stderr", format!("hcsrun log relay: {e:#}\n").as_bytes());
            }
            ExitCode::FAILURE
        }
    }
}

/// `run -d --rm`: once the container has stopped (its output ended with
/// it), it is removed, as docker's daemon removes it. Best effort: a
/// container left behind is still `rm`'s to remove.
fn auto_remove(id: &str) {
    let Ok(Some(record)) = store::Record::load(id) else {
        return;
    };
    if !record.auto_remove {
        return;
    }
    let choice: ServiceChoice = record.service.parse().unwrap_or_default();
    let _ = super::common::block_on(async {
        let service = containers::open_service(&choice)?;
        if let Ok(system) = service.open_system(id).await {
            let _ = system.wait_timeout(Duration::from_secs(30)).await;
        }
        let found = containers::find(&*service, &choice, id).await?;
        if found.status.is_running() {
            return Ok(());
        }
        super::rm::remove(&*service, &found, false).await
    });
}

/// Copies both streams into the log until both end.
fn relay(path: &Path, stdout: Option<OwnedFd>, stderr: Option<OwnedFd>) -> anyhow::Result<()> {
    let mut log = Log::open(path)?;
    let mut streams: Vec<Stream> = [(stdout, "stdout"), (stderr, "stderr")]
        .into_iter()
        .filter_map(|(fd, name)| {
            fd.map(|fd| Stream {
                fd,
                name,
                pending: Vec::new(),
            })
        })
        .collect();
    let mut buffer = vec![0u8; 64 * 1024];
    while !streams.is_empty() {
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd> = streams
                .iter()
                .map(|s| PollFd::new(s.fd.as_fd(), PollFlags::POLLIN))
                .collect();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            fds.iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect()
        };
        let mut ended = Vec::new();
        for (i, stream) in streams.iter_mut().enumerate().filter(|(i, _)| ready[*i]) {
            match nix::unistd::read(&stream.fd, &mut buffer) {
                // A console's master reads EIO once the container's side
                // closed: its end of file.
                Ok(0) | Err(Errno::EIO) => ended.push(i),
                Ok(n) => stream.take(&buffer[..n], &mut log)?,
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for i in ended.into_iter().rev() {
            let stream = streams.remove(i);
            if !stream.pending.is_empty() {
                log.entry(stream.name, &stream.pending)?;
            }
        }
    }
    Ok(())
}

/// One of the container's streams, with a line begun but not ended.
struct Stream {
    fd: OwnedFd,
    name: &'static str,
    pending: Vec<u8>,
}

impl Stream {
    /// Logs each whole line of `data` (with what was pending before it);
    /// keeps the rest. A line longer than 16 KiB is logged in pieces, as
    /// docker's are.
    fn take(&mut self, data: &[u8], log: &mut Log) -> io::Result<()> {
        const PIECE: usize = 16 * 1024;
        self.pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let line = start..start + end + 1;
            log.entry(self.name, &self.pending[line.clone()])?;
            start = line.end;
        }
        while self.pending.len() - start >= PIECE {
            log.entry(self.name, &self.pending[start..start + PIECE])?;
            start += PIECE;
        }
        self.pending.drain(..start);
        Ok(())
    }
}

/// The log file, held locked, and its size.
struct Log {
    path: PathBuf,
    file: Flock<File>,
    size: u64,
}

impl Log {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        let file = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            size,
        })
    }

    /// Writes one entry, rotating first if it would not fit.
    fn entry(&mut self, stream: &str, data: &[u8]) -> io::Result<()> {
        let mut line = serde_json::to_vec(&serde_json::json!({
            "log": String::from_utf8_lossy(data),
            "stream": stream,
            "time": now_rfc3339(),
        }))?;
        line.push(b'\n');
        if self.size > 0 && self.size + line.len() as u64 > MAX_SIZE {
            self.rotate()?;
        }
        self.file.write_all(&line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// `log` → `log.1` → `log.2` …, the oldest dropped; a new `log`.
    fn rotate(&mut self) -> io::Result<()> {
        for n in (1..MAX_FILES).rev() {
            let from = if n == 1 {
                self.path.clone()
            } else {
                rotated(&self.path, n - 1)
            };
            match fs::rename(&from, rotated(&self.path, n)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        let file = open_append(&self.path)?;
        self.file =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        self.size = 0;
        Ok(())
    }
}

/// The `n`th rotated file of the log at `path`.
pub fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    name.into()
}

fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Waits (at most `timeout`) until no relay writes to the log at `path`:
/// then everything the container wrote is in it.
pub fn settle(path: &Path, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        let Ok(file) = File::open(path) else {
            return;
        };
        if Flock::lock(file, FlockArg::LockSharedNonblock).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn whole_lines_become_json_file_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let (out_r, out_w) = nix::unistd::pipe().unwrap();
        let (err_r, err_w) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&out_w, b"one\ntw").unwrap();
        nix::unistd::write(&err_w, b"oops\n").unwrap();
        nix::unistd::write(&out_w, b"o\nend").unwrap();
        drop((out_w, err_w));
        relay(&path, Some(out_r), Some(err_r)).unwrap();
        let entries = lines(&path);
        let of = |stream: &str| -> Vec<String> {
            entries
                .iter()
                .filter(|e| e["stream"] == stream)
                .map(|e| e["log"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(of("stdout"), ["one\n", "two\n", "end"]);
        assert_eq!(of("stderr"), ["oops\n"]);
        assert!(entries[0]["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn a_full_log_is_rotated_and_the_oldest_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut log = Log::open(&path).unwrap();
        let line = vec![b'x'; 1024 * 1024];
        for _ in 0..45 {
            log.entry("stdout", &line).unwrap();
        }
        for file in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
            let size = fs::metadata(&file).unwrap().len();
            assert!(size > 0 && size <= MAX_SIZE, "{}: {size}", file.display());
        }
        assert!(!rotated(&path, 3).exists());
    }
}
