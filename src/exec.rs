//! Finding the command, and replacing nono with it.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Exit};

/// Why the command could not be started. Exit codes follow the shell's
/// convention and the contract: [`Exit::NotFound`] (127), [`Exit::CannotRun`]
/// (126) found but not runnable.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("command not found: '{0}'")]
    NotFound(String),
    #[error("not executable: {} ({reason})", path.display())]
    NotExecutable { path: PathBuf, reason: String },
    #[error("cannot execute {}: permission denied by the sandbox", .0.display())]
    DeniedBySandbox(PathBuf),
    #[error("cannot execute {}: {source}", path.display())]
    Exec {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot prepare file descriptors: {0}")]
    Fds(#[source] std::io::Error),
}

impl Diagnostic for ExecError {
    fn exit(&self) -> Exit {
        match self {
            ExecError::NotFound(_) => Exit::NotFound,
            ExecError::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Exit::NotFound
            }
            ExecError::Fds(_) => Exit::Failure,
            _ => Exit::CannotRun,
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            ExecError::DeniedBySandbox(p) => {
                let mut h = vec![format!(
                    "grant execute on it, e.g. --read {}",
                    p.parent().unwrap_or(Path::new("/")).display()
                )];
                let in_home = std::env::var_os("HOME")
                    .is_some_and(|home| !home.is_empty() && p.starts_with(&home));
                if in_home {
                    h.push("a toolchain installed in the home reads more of it than its bin directory: the built-in profiles grant what each needs (-p rust for ~/.cargo, -p python for pyenv, -p node, -p go; nono profile list)".into());
                }
                h
            }
            ExecError::NotFound(_) => vec!["check the name and PATH".into()],
            _ => vec![],
        }
    }
}

/// The command to run, found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The path handed to execve.
    pub path: PathBuf,
    /// `path` resolved through every symlink: what the kernel will load.
    pub resolved: PathBuf,
    pub argv: Vec<OsString>,
}

/// Finds `argv[0]` like a shell does: a name with a slash is a path; any
/// other name is looked up in `path_var` (empty entries mean the current
/// directory).
pub fn resolve(
    argv: &[OsString],
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Result<Command, ExecError> {
    let name = argv
        .first()
        .ok_or_else(|| ExecError::NotFound(String::new()))?;
    let display = name.to_string_lossy().into_owned();
    if name.is_empty() {
        return Err(ExecError::NotFound(display));
    }
    let path = if name.as_bytes().contains(&b'/') {
        let p = cwd.join(name);
        match check_executable(&p) {
            Ok(()) => p,
            Err(Found::Missing) => return Err(ExecError::NotFound(display)),
            Err(Found::NotExecutable(reason)) => {
                return Err(ExecError::NotExecutable { path: p, reason })
            }
        }
    } else {
        let mut first_bad: Option<(PathBuf, String)> = None;
        let mut found = None;
        let default_path = OsString::from("/usr/local/bin:/usr/bin:/bin");
        let search = path_var.map(OsStr::to_os_string).unwrap_or(default_path);
        for dir in search.as_bytes().split(|b| *b == b':') {
            let dir = if dir.is_empty() {
                cwd.to_path_buf()
            } else {
                cwd.join(OsStr::from_bytes(dir))
            };
            let candidate = dir.join(name);
            match check_executable(&candidate) {
                Ok(()) => {
                    found = Some(candidate);
                    break;
                }
                Err(Found::NotExecutable(reason)) if first_bad.is_none() => {
                    first_bad = Some((candidate, reason))
                }
                Err(_) => {}
            }
        }
        match (found, first_bad) {
            (Some(p), _) => p,
            (None, Some((path, reason))) => return Err(ExecError::NotExecutable { path, reason }),
            (None, None) => return Err(ExecError::NotFound(display)),
        }
    };
    let resolved = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    Ok(Command {
        path,
        resolved,
        argv: argv.to_vec(),
    })
}

enum Found {
    Missing,
    NotExecutable(String),
}

fn check_executable(p: &Path) -> Result<(), Found> {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Found::Missing),
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Err(Found::Missing),
        Err(e) => return Err(Found::NotExecutable(e.to_string())),
    };
    if meta.is_dir() {
        return Err(Found::NotExecutable("is a directory".into()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(Found::NotExecutable("no execute permission".into()));
    }
    // The mode bits may allow only other users (0744 owned by someone
    // else), or the mount may be noexec. Ask the kernel for this user,
    // before the sandbox exists, so that a plain EACCES is not later
    // reported as the sandbox's doing.
    #[cfg(target_os = "linux")]
    let checked = nix::unistd::eaccess(p, nix::unistd::AccessFlags::X_OK);
    // macOS has no eaccess(); nono is not setuid, so real and effective
    // IDs are the same and access() answers the same question.
    #[cfg(not(target_os = "linux"))]
    let checked = nix::unistd::access(p, nix::unistd::AccessFlags::X_OK);
    if let Err(e) = checked {
        return Err(Found::NotExecutable(format!(
            "not executable for this user: {}",
            std::io::Error::from(e)
        )));
    }
    Ok(())
}

/// Marks every file descriptor >= 3 close-on-exec, except `keep`. Whatever
/// nono or its parent left open (a socket, a file outside the policy) is
/// thereby gone in the command: descriptors opened before the sandbox are
/// checked by neither Landlock nor Seatbelt.
pub fn seal_fds(keep: &[RawFd]) -> Result<(), ExecError> {
    if !seal_fds_fast() {
        seal_fds_listed()?;
    }
    for &fd in keep {
        // SAFETY: fcntl F_SETFD on a descriptor we own only changes flags.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
            return Err(ExecError::Fds(std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// close_range(2) with CLOSE_RANGE_CLOEXEC (Linux 5.11). False when the
/// kernel lacks it.
#[cfg(target_os = "linux")]
fn seal_fds_fast() -> bool {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor
    // flags; it does not close anything Rust code still owns.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    r == 0
}

/// macOS has no close_range: always list the descriptors.
#[cfg(not(target_os = "linux"))]
fn seal_fds_fast() -> bool {
    false
}

/// The directory listing this process's open descriptors.
#[cfg(target_os = "linux")]
const FD_DIR: &str = "/proc/self/fd";
/// On macOS (fdesc on devfs) /dev/fd lists every open descriptor of the
/// calling process, not only 0-2.
#[cfg(not(target_os = "linux"))]
const FD_DIR: &str = "/dev/fd";

/// Fallback for kernels before 5.11 without close_range's CLOEXEC flag, and
/// the only way on macOS. Fails closed when the listing is unreadable.
fn seal_fds_listed() -> Result<(), ExecError> {
    let fds: Vec<RawFd> = std::fs::read_dir(FD_DIR)
        .map_err(ExecError::Fds)?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= 3)
        .collect();
    for fd in fds {
        // SAFETY: only sets FD_CLOEXEC; a descriptor that closed meanwhile
        // (the read_dir one) gives EBADF, which is ignored.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Replaces this process with the command. Returns only on failure.
pub fn exec(cmd: &Command, env: &[(OsString, OsString)]) -> ExecError {
    let to_c = |s: &OsStr| CString::new(s.as_bytes()).ok();
    let Some(path) = to_c(cmd.path.as_os_str()) else {
        return ExecError::NotFound(cmd.path.display().to_string());
    };
    let argv: Option<Vec<CString>> = cmd.argv.iter().map(|a| to_c(a)).collect();
    let envp: Option<Vec<CString>> = env
        .iter()
        .map(|(k, v)| {
            let mut kv = k.clone();
            kv.push("=");
            kv.push(v);
            to_c(&kv)
        })
        .collect();
    let (Some(argv), Some(envp)) = (argv, envp) else {
        return ExecError::Exec {
            path: cmd.path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "argument contains a NUL byte",
            ),
        };
    };
    // Rust's runtime ignores SIGPIPE, and an ignored signal stays ignored
    // across execve: the command would see EPIPE instead of dying quietly
    // (`nono run -- yes | head -1` printed "yes: Broken pipe").
    // SAFETY: resetting a signal disposition to its default touches no memory.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let err = match nix::unistd::execve(&path, &argv, &envp) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    match err {
        nix::errno::Errno::EACCES => ExecError::DeniedBySandbox(cmd.resolved.clone()),
        // Found before the sandbox, gone inside it: the mount layer's
        // private /tmp (or a mask) hides it. (If it is still there, the
        // missing file is its interpreter: reported as not found.)
        nix::errno::Errno::ENOENT if std::fs::symlink_metadata(&cmd.path).is_err() => {
            ExecError::DeniedBySandbox(cmd.resolved.clone())
        }
        // Seatbelt denies with EPERM where Landlock says EACCES.
        #[cfg(target_os = "macos")]
        nix::errno::Errno::EPERM => ExecError::DeniedBySandbox(cmd.resolved.clone()),
        e => ExecError::Exec {
            path: cmd.path.clone(),
            source: std::io::Error::from(e),
        },
    }
}
