//! Starting a process inside the container from a `ProcessConfig`.
//!
//! Everything that can fail or allocate is worked out before `fork`; the
//! child only makes system calls. If one fails, the child writes which step
//! and the errno to a close-on-exec status pipe and exits; a successful
//! `execve` closes the pipe empty.

use std::{
    collections::BTreeMap,
    ffi::CString,
    fs,
    os::{
        fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd},
        unix::fs::PermissionsExt,
    },
    path::Path,
};

use hcs::{cmdline, ErrorCode};
use hcs_schema::ProcessConfig;
use nix::{
    fcntl::OFlag,
    pty::{grantpt, posix_openpt, ptsname_r, unlockpt},
    unistd::{fork, pipe2, ForkResult},
};

use hcsrun_shim_protocol::{
    errno::errno_code,
    message::{StdioLayout, WireError},
    paths::container_path,
};

use crate::user::{self, User};

/// `PATH` for a process whose environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn fail(code: ErrorCode, message: String) -> WireError {
    WireError {
        code: code.0,
        message,
    }
}

/// What a process needs, resolved before it is forked.
pub struct Plan {
    exe: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: CString,
    user: User,
    console: bool,
    console_size: [u64; 2],
    /// The pipes asked for. With a console, stdin and stdout are the
    /// console and stderr still gets a pipe of its own if asked for.
    layout: StdioLayout,
}

impl Plan {
    pub fn new(config: &ProcessConfig) -> Result<Self, WireError> {
        let invalid = |m: String| fail(ErrorCode::INVALID_PARAMETER, m);
        let mut args: Vec<String> = if !config.command_args.is_empty() {
            config.command_args.clone()
        } else {
            cmdline::split(&config.command_line)
        };
        let program = if config.application_name.is_empty() {
            args.first()
                .cloned()
                .ok_or_else(|| invalid("the process has no command line".to_owned()))?
        } else {
            if args.is_empty() {
                args.push(config.application_name.clone());
            }
            config.application_name.clone()
        };
        let user = user::resolve(&config.user).map_err(|m| fail(ErrorCode::NONE_MAPPED, m))?;

        let mut env: BTreeMap<&str, &str> = config
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.entry("PATH").or_insert(DEFAULT_PATH);
        env.entry("HOME").or_insert(&user.home);
        if config.emulate_console {
            env.entry("TERM").or_insert("xterm");
        }
        let exe = find_executable(&program, env["PATH"])?;

        let cwd = if config.working_directory.is_empty() {
            "/".to_owned()
        } else {
            container_path(&config.working_directory).ok_or_else(|| {
                fail(
                    ErrorCode::DIRECTORY,
                    format!(
                        "working directory {:?} is not an absolute path",
                        config.working_directory
                    ),
                )
            })?
        };

        let cstring = |s: &str, what: &str| {
            CString::new(s).map_err(|_| invalid(format!("{what} {s:?} contains a NUL character")))
        };
        let envp = env
            .iter()
            .map(|(k, v)| cstring(&format!("{k}={v}"), "environment variable"))
            .collect::<Result<_, _>>()?;
        let argv = args
            .iter()
            .map(|a| cstring(a, "argument"))
            .collect::<Result<_, _>>()?;
        let console = config.emulate_console;
        Ok(Self {
            exe: cstring(&exe, "executable")?,
            argv,
            envp,
            cwd: cstring(&cwd, "working directory")?,
            user,
            console,
            console_size: config.console_size,
            layout: StdioLayout {
                stdin: config.create_std_in_pipe,
                stdout: config.create_std_out_pipe,
                stderr: config.create_std_err_pipe,
            },
        })
    }
}

/// `program` as a path to execute: a path as given (Windows paths mapped),
/// or the first executable file of that name on `search_path`.
fn find_executable(program: &str, search_path: &str) -> Result<String, WireError> {
    if program.contains(['/', '\\']) {
        return Ok(container_path(program).unwrap_or_else(|| program.to_owned()));
    }
    let mut found_not_executable = None;
    for dir in search_path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        if let Ok(meta) = fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate.to_string_lossy().into_owned());
            }
            found_not_executable.get_or_insert(candidate);
        }
    }
    Err(match found_not_executable {
        Some(path) => fail(
            ErrorCode::ACCESS_IS_DENIED,
            format!("exec {program}: {} is not executable", path.display()),
        ),
        None => fail(
            ErrorCode::FILE_NOT_FOUND,
            format!("exec {program}: executable file not found in $PATH"),
        ),
    })
}

/// A forked process whose `execve` has not been confirmed yet.
pub struct Started {
    pub pid: u32,
    /// Readable when the child has executed (empty) or failed (a report).
    pub status: OwnedFd,
    /// The caller's ends of the pipes, in the order stdin, stdout, stderr.
    pub client_fds: Vec<OwnedFd>,
    pub layout: StdioLayout,
    /// The console's master side, which the holder keeps for resizing.
    pub console: Option<OwnedFd>,
}

/// The steps of the child, as reported on failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
enum Step {
    Session = 1,
    Stdio = 3,
    Terminal = 4,
    Identity = 5,
    WorkingDirectory = 6,
    Exec = 7,
    Capabilities = 8,
}

/// Forks the process described by `plan`. It is born in the system's
/// cgroups, which the holder joined.
pub fn spawn(plan: &Plan, devnull: &OwnedFd) -> Result<Started, WireError> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |e: nix::Error| fail(errno_code(e as i32), format!("{what}: {e}"))
    };
    // Child ends (0, 1, 2) and the caller's ends.
    let mut child_fds: [Option<OwnedFd>; 3] = [None, None, None];
    let mut client_fds = Vec::new();
    let mut console = None;
    let layout = plan.layout;

    if plan.console {
        let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
            .map_err(io("opening a console"))?;
        grantpt(&master).map_err(io("granting the console"))?;
        unlockpt(&master).map_err(io("unlocking the console"))?;
        let name = ptsname_r(&master).map_err(io("naming the console"))?;
        let slave: OwnedFd = nix::fcntl::open(
            name.as_str(),
            OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(io("opening the console"))?;
        // SAFETY: PtyMaster owns a descriptor; we take it over.
        let master = unsafe { OwnedFd::from_raw_fd(master.into_raw_fd()) };
        let [height, width] = plan.console_size;
        if height > 0 && width > 0 {
            set_console_size(&master, width as u16, height as u16)
                .map_err(io("sizing the console"))?;
        }
        for (i, wanted) in [plan.layout.stdin, plan.layout.stdout]
            .into_iter()
            .enumerate()
        {
            let dup = |fd: &OwnedFd| {
                fd.try_clone().map_err(|e| {
                    fail(
                        ErrorCode::INTERNAL_ERROR,
                        format!("duplicating the console: {e}"),
                    )
                })
            };
            child_fds[i] = Some(dup(&slave)?);
            if wanted {
                client_fds.push(dup(&master)?);
            }
        }
        if !plan.layout.stderr {
            child_fds[2] = Some(slave);
        }
        console = Some(master);
    }
    for (i, wanted) in [plan.layout.stdin, plan.layout.stdout, plan.layout.stderr]
        .into_iter()
        .enumerate()
    {
        if child_fds[i].is_some() {
            continue;
        }
        if wanted {
            let (read, write) = pipe2(OFlag::O_CLOEXEC).map_err(io("creating a pipe"))?;
            let (child, client) = if i == 0 { (read, write) } else { (write, read) };
            child_fds[i] = Some(child);
            client_fds.push(client);
        }
    }
    let std_fds: [RawFd; 3] = std::array::from_fn(|i| {
        child_fds[i]
            .as_ref()
            .map_or(devnull.as_raw_fd(), |fd| fd.as_raw_fd())
    });

    let (status_read, status_write) = pipe2(OFlag::O_CLOEXEC).map_err(io("creating a pipe"))?;
    let argv: Vec<*const libc::c_char> = plan
        .argv
        .iter()
        .map(|a| a.as_ptr())
        .chain([std::ptr::null()])
        .collect();
    let envp: Vec<*const libc::c_char> = plan
        .envp
        .iter()
        .map(|a| a.as_ptr())
        .chain([std::ptr::null()])
        .collect();

    // SAFETY: the holder is single-threaded, and the child only makes
    // system calls on data prepared above before it execs or exits.
    match unsafe { fork() }.map_err(io("forking"))? {
        ForkResult::Child => unsafe {
            child(plan, &std_fds, &argv, &envp, status_write.as_raw_fd())
        },
        ForkResult::Parent { child } => Ok(Started {
            pid: child.as_raw() as u32,
            status: status_read,
            client_fds,
            layout,
            console,
        }),
    }
}

/// The forked child: from here on only system calls, then `execve`.
///
/// # Safety
/// Must run in the child of `fork`, with pointers into live data.
unsafe fn child(
    plan: &Plan,
    std_fds: &[RawFd; 3],
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    status: RawFd,
) -> ! {
    let report = |step: Step| report(status, step);
    // The holder blocks SIGCHLD for its signalfd, and the Rust runtime
    // ignores SIGPIPE: neither may leak into the process.
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    for sig in 1..libc::SIGRTMAX() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    if libc::setsid() < 0 {
        report(Step::Session);
    }
    for (target, &fd) in std_fds.iter().enumerate() {
        if libc::dup2(fd, target as RawFd) < 0 {
            report(Step::Stdio);
        }
    }
    if plan.console && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
        report(Step::Terminal);
    }
    if crate::caps::restrict().is_err() {
        report(Step::Capabilities);
    }
    let groups = &plan.user.groups;
    if libc::setgroups(groups.len(), groups.as_ptr()) < 0
        || libc::setgid(plan.user.gid) < 0
        || libc::setuid(plan.user.uid) < 0
    {
        report(Step::Identity);
    }
    if libc::chdir(plan.cwd.as_ptr()) < 0 {
        report(Step::WorkingDirectory);
    }
    libc::execve(plan.exe.as_ptr(), argv.as_ptr(), envp.as_ptr());
    report(Step::Exec)
}

/// Writes the failed step and errno to the status pipe and exits.
///
/// # Safety
/// Only in the forked child.
unsafe fn report(status: RawFd, step: Step) -> ! {
    let errno = *libc::__errno_location();
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&(step as u32).to_ne_bytes());
    msg[4..].copy_from_slice(&errno.to_ne_bytes());
    libc::write(status, msg.as_ptr().cast(), msg.len());
    libc::_exit(127)
}

/// Reads the child's status pipe once it is readable: `Ok` if the child
/// executed, its failure otherwise.
pub fn exec_result(status: &OwnedFd, plan_exe: &str, cwd: &str) -> Result<(), WireError> {
    let mut msg = [0u8; 8];
    // SAFETY: reads into a local buffer.
    let n = unsafe { libc::read(status.as_raw_fd(), msg.as_mut_ptr().cast(), msg.len()) };
    if n != 8 {
        return Ok(());
    }
    let step = u32::from_ne_bytes(msg[..4].try_into().expect("4 bytes"));
    let errno = i32::from_ne_bytes(msg[4..].try_into().expect("4 bytes"));
    let text = std::io::Error::from_raw_os_error(errno);
    Err(match step {
        s if s == Step::Exec as u32 => fail(errno_code(errno), format!("exec {plan_exe}: {text}")),
        s if s == Step::WorkingDirectory as u32 => fail(
            ErrorCode::DIRECTORY,
            format!("working directory {cwd}: {text}"),
        ),
        s if s == Step::Capabilities as u32 => fail(
            ErrorCode::ACCESS_IS_DENIED,
            format!("dropping capabilities: {text}"),
        ),
        s if s == Step::Identity as u32 => fail(
            ErrorCode::ACCESS_IS_DENIED,
            format!("switching user: {text}"),
        ),
        _ => fail(
            errno_code(errno),
            format!("starting the process (step {step}): {text}"),
        ),
    })
}

impl Plan {
    pub fn exe(&self) -> &str {
        self.exe.to_str().unwrap_or("?")
    }

    pub fn cwd(&self) -> &str {
        self.cwd.to_str().unwrap_or("?")
    }
}

/// Sets a console's size.
pub fn set_console_size(master: &impl AsRawFd, width: u16, height: u16) -> nix::Result<()> {
    let size = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) } < 0 {
        return Err(nix::Error::last());
    }
    Ok(())
}

/// Sends end-of-file on a console: its `VEOF` character, as a terminal does.
pub fn console_eof(master: &impl AsRawFd) -> nix::Result<()> {
    // SAFETY: termios is plain data; tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    let eof = if unsafe { libc::tcgetattr(master.as_raw_fd(), &mut t) } == 0 {
        t.c_cc[libc::VEOF]
    } else {
        4 // ^D
    };
    // SAFETY: writes one byte from a local.
    if unsafe { libc::write(master.as_raw_fd(), (&eof as *const u8).cast(), 1) } != 1 {
        return Err(nix::Error::last());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_windows_command_lines_and_environment() {
        let config = ProcessConfig {
            command_line: r#"sh -c "echo hi there""#.into(),
            environment: [("A".to_owned(), "1".to_owned())].into(),
            working_directory: r"C:\tmp".into(),
            emulate_console: true,
            ..Default::default()
        };
        let plan = Plan::new(&config).unwrap();
        let argv: Vec<&str> = plan.argv.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(argv, ["sh", "-c", "echo hi there"]);
        assert!(plan.exe().ends_with("/sh"), "{}", plan.exe());
        assert_eq!(plan.cwd(), "/tmp");
        let env: Vec<&str> = plan.envp.iter().map(|a| a.to_str().unwrap()).collect();
        assert!(env.contains(&"A=1"));
        assert!(env.contains(&&*format!("PATH={DEFAULT_PATH}")));
        assert!(env.contains(&"TERM=xterm"));
    }

    #[test]
    fn linux_args_are_used_as_given() {
        let config = ProcessConfig {
            command_args: vec!["/bin/echo".into(), "a b".into()],
            command_line: "ignored".into(),
            ..Default::default()
        };
        let plan = Plan::new(&config).unwrap();
        assert_eq!(plan.exe(), "/bin/echo");
        assert_eq!(plan.argv.len(), 2);
        assert_eq!(plan.cwd(), "/");
    }

    #[test]
    fn missing_programs_and_commands() {
        let missing = ProcessConfig {
            command_line: "no-such-program-hcsrun".into(),
            ..Default::default()
        };
        let err = Plan::new(&missing).err().unwrap();
        assert_eq!(err.code, ErrorCode::FILE_NOT_FOUND.0);
        assert!(
            err.message.contains("no-such-program-hcsrun"),
            "{}",
            err.message
        );
        let empty = Plan::new(&ProcessConfig::default()).err().unwrap();
        assert_eq!(empty.code, ErrorCode::INVALID_PARAMETER.0);
    }

    #[test]
    fn relative_working_directories_are_refused() {
        let config = ProcessConfig {
            command_line: "sh".into(),
            working_directory: "tmp".into(),
            ..Default::default()
        };
        assert_eq!(
            Plan::new(&config).err().unwrap().code,
            ErrorCode::DIRECTORY.0
        );
    }
}
