//! The stdio contract both backends keep, checked through the `Process`
//! trait on any system (each backend's tests call these): seed 004's
//! `Stdio()` "should be possible to call ... multiple times to get multiple
//! interfaces", and stdin ends as `Process::close_stdin` says.

use std::{
    fs::File,
    io::{ErrorKind, Read, Write},
    os::fd::AsFd,
    time::Duration,
};

use hcs::{ComputeSystem, Process, Stdio};
use hcs_schema::ProcessConfig;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::{host, process::sh};

/// One stdio request's ends, as files.
pub struct Ends {
    /// stdin's write end.
    pub stdin: Option<File>,
    /// stdout's read end (there must be one).
    pub stdout: File,
    /// stderr's read end.
    pub stderr: Option<File>,
}

impl Ends {
    /// The ends of `stdio`, which must have a stdout.
    pub fn of(stdio: Stdio) -> Self {
        Self {
            stdin: stdio.stdin.map(File::from),
            stdout: File::from(stdio.stdout.expect("a stdout pipe")),
            stderr: stdio.stderr.map(File::from),
        }
    }

    /// Writes `line` on this set's stdin and reads it back on its stdout
    /// (the process is `cat`).
    pub fn echo(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("a stdin pipe");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        assert_eq!(read_line(&self.stdout), format!("{line}\n"));
    }
}

/// Whether `fd` becomes readable (or ends) within `timeout`.
pub fn readable(fd: impl AsFd, timeout: Duration) -> bool {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    poll(&mut fds, PollTimeout::from(ms)).unwrap() > 0
}

/// One line (or what comes before end of file), a byte at a time so that
/// nothing is read ahead; fails if the output stalls for 10 s.
pub fn read_line(mut file: &File) -> String {
    let mut line = Vec::new();
    loop {
        assert!(
            readable(file, Duration::from_secs(10)),
            "no output for 10 s after {:?}",
            String::from_utf8_lossy(&line)
        );
        let mut byte = [0u8];
        match file.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            // A console's master reads EIO once the process side closed.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("reading: {e}"),
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// Everything until end of file.
pub fn read_rest(file: &File) -> String {
    let mut all = String::new();
    loop {
        let line = read_line(file);
        if line.is_empty() {
            return all;
        }
        all.push_str(&line);
    }
}

async fn still_running(process: &dyn Process) -> bool {
    match process.wait_timeout(Duration::from_millis(300)).await {
        Err(e) if e.is_timeout() => true,
        Ok(()) => false,
        Err(e) => panic!("waiting: {e}"),
    }
}

/// Pipes: every `stdio()` request hands out new, working descriptors of the
/// same pipes; closing one set closes no other; `close_stdin` closes the
/// end the service keeps, and stdin ends once the caller's duplicates are
/// closed too; closing the handle leaves no descriptor of the pipes in this
/// process (the service's kept ends included, where it runs in-process).
pub async fn every_request_gets_working_pipes(system: &dyn ComputeSystem) {
    let config = ProcessConfig {
        create_std_in_pipe: true,
        ..sh("cat; echo eof; echo err >&2")
    };
    let process = system.create_process(&config).await.unwrap();
    let mut sets = Vec::new();
    for _ in 0..3 {
        sets.push(process.stdio().await.unwrap());
    }
    let first = &sets[0];
    let pipes = [
        host::file_of(first.stdin.as_ref().unwrap()),
        host::file_of(first.stdout.as_ref().unwrap()),
        host::file_of(first.stderr.as_ref().unwrap()),
    ];
    for set in &sets {
        let files = [&set.stdin, &set.stdout, &set.stderr]
            .map(|end| host::file_of(end.as_ref().expect("all three ends")));
        assert_eq!(files, pipes, "every set is of the same pipes");
    }
    let kept = host::fds_of(&pipes).len();
    assert!(kept >= 9, "three sets of three descriptors: {kept}");
    let mut sets: Vec<Ends> = sets.into_iter().map(Ends::of).collect();

    // A second and third request work like the first.
    sets[1].echo("through the second");
    sets[2].echo("through the third");
    sets[0].echo("through the first");
    // Closing one set closes none of the others.
    drop(sets.remove(1));
    assert_eq!(host::fds_of(&pipes).len(), kept - 3);
    sets[1].echo("the third, after the second closed");
    sets[0].echo("the first, after the second closed");

    // stdin: close_stdin closes the service's end; a duplicate the caller
    // still holds keeps the pipe open.
    drop(sets[0].stdin.take());
    process.close_stdin().await.unwrap();
    assert!(
        still_running(&*process).await,
        "a duplicate is still open: no end of file yet"
    );
    let later = process.stdio().await.unwrap();
    assert!(
        later.stdin.is_none() && later.stdout.is_some() && later.stderr.is_some(),
        "stdin is closed, the output is not: {later:?}"
    );
    drop(later);
    sets[1].echo("the last stdin still works");
    // ... and closing the last delivers end of file.
    drop(sets[1].stdin.take());
    assert_eq!(read_rest(&sets[1].stdout), "eof\n");
    assert_eq!(read_rest(sets[0].stderr.as_ref().unwrap()), "err\n");
    process.wait_timeout(Duration::from_secs(30)).await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), 0);

    process.close().await.unwrap();
    assert!(process.stdio().await.unwrap_err().is_already_closed());
    drop(sets);
    assert_eq!(
        host::fds_of(&pipes),
        Vec::<i32>::new(),
        "descriptors of the pipes left open"
    );
}

/// `take_stdio` hands over the ends kept: after it, and once the caller
/// closed what it took and called `close_stdin` (as the runtime client
/// does), stdin ends even though other requests were made before.
pub async fn take_after_requests_still_ends_stdin(system: &dyn ComputeSystem) {
    let config = ProcessConfig {
        create_std_in_pipe: true,
        ..sh("cat; echo eof")
    };
    let process = system.create_process(&config).await.unwrap();
    drop(process.stdio().await.unwrap());
    let mut taken = Ends::of(process.take_stdio().unwrap());
    assert!(process.take_stdio().unwrap().stdin.is_none(), "taken once");
    taken.echo("through the taken ends");
    drop(taken.stdin.take());
    process.close_stdin().await.unwrap();
    assert_eq!(read_rest(&taken.stdout), "eof\n");
    process.wait_timeout(Duration::from_secs(30)).await.unwrap();
    process.close().await.unwrap();
}

/// A console: every request gets working descriptors of it, and
/// `close_stdin` ends its input at once, duplicates open or not (its
/// end-of-file character).
pub async fn console_requests_and_close_stdin(system: &dyn ComputeSystem) {
    let config = ProcessConfig {
        emulate_console: true,
        create_std_in_pipe: true,
        create_std_out_pipe: true,
        create_std_err_pipe: false,
        console_size: [24, 80],
        ..sh("stty -echo; echo ready; cat; echo eof")
    };
    let process = system.create_process(&config).await.unwrap();
    let mut sets = Vec::new();
    for _ in 0..3 {
        sets.push(Ends::of(process.stdio().await.unwrap()));
    }
    assert!(sets.iter().all(|s| s.stdin.is_some() && s.stderr.is_none()));
    assert_eq!(read_line(&sets[0].stdout).trim_end(), "ready");
    for (i, set) in sets.iter_mut().enumerate().rev() {
        let line = format!("console {i}");
        set.stdin
            .as_mut()
            .unwrap()
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        assert_eq!(read_line(&set.stdout).trim_end(), line);
    }
    drop(sets.remove(1));
    process.close_stdin().await.unwrap();
    assert_eq!(read_line(&sets[1].stdout).trim_end(), "eof");
    process.wait_timeout(Duration::from_secs(30)).await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), 0);
    process.close().await.unwrap();
}

/// `close_stdout` and `close_stderr` release the output ends kept for the
/// process: requests made before work as ever, later ones hand out no
/// stdout or stderr, the caller's handles still read; and once the caller
/// closes its own, a process writing ends by `SIGPIPE` (128 + 13) instead
/// of blocking on a full pipe. The same after `take_stdio`, as the runtime
/// client does it.
pub async fn closing_output_lets_a_writer_without_readers_end(system: &dyn ComputeSystem) {
    let sigpipe = 128 + 13;
    let process = system.create_process(&sh("exec yes")).await.unwrap();
    let mut sets = Vec::new();
    for _ in 0..2 {
        sets.push(Ends::of(process.stdio().await.unwrap()));
    }
    for set in &sets {
        assert_eq!(read_line(&set.stdout), "y\n", "requests before the close");
    }
    process.close_stdout().await.unwrap();
    process.close_stderr().await.unwrap();
    let later = process.stdio().await.unwrap();
    assert!(
        later.stdout.is_none() && later.stderr.is_none(),
        "no output handed out after the close: {later:?}"
    );
    for set in &sets {
        assert_eq!(read_line(&set.stdout), "y\n", "the caller's still read");
    }
    drop(sets);
    process.wait_timeout(Duration::from_secs(30)).await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), sigpipe);
    process.close().await.unwrap();

    let process = system.create_process(&sh("exec yes >&2")).await.unwrap();
    let taken = process.take_stdio().unwrap();
    process.close_stdout().await.unwrap();
    process.close_stderr().await.unwrap();
    let stderr = File::from(taken.stderr.expect("a stderr pipe"));
    assert_eq!(read_line(&stderr), "y\n");
    drop((stderr, taken.stdout));
    process.wait_timeout(Duration::from_secs(30)).await.unwrap();
    assert_eq!(process.exit_code().await.unwrap(), sigpipe);
    process.close().await.unwrap();
}
