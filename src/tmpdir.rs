//! The private per-run temporary directory.
//!
//! nono replaces itself with the command, so it cannot remove the directory
//! when the command ends. Instead each run directory is locked with
//! `flock(2)` through a descriptor that the command inherits: the lock lives
//! as long as any process of the run holds it. A later nono start removes
//! every run directory whose lock it can take, i.e. whose run has ended.
//!
//! Layout: `$TMPDIR or /tmp` / `nono-<uid>` (0700, owned by the user,
//! checked) / `run-XXXXXX` (mkdtemp, 0700). A directory is created as
//! `new-XXXXXX`, locked, and only then renamed to `run-*`, so a concurrent
//! cleanup never sees an unlocked live directory.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;

#[derive(Debug, thiserror::Error)]
pub enum TmpError {
    #[error("cannot create the private temporary directory under {}: {source}", dir.display())]
    Create {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("refusing to use {}: {why}", dir.display())]
    Unsafe { dir: PathBuf, why: String },
}

impl TmpError {
    pub fn hints(&self) -> Vec<String> {
        match self {
            // Another local user can pre-create the predictable name in a
            // shared /tmp: say how to get around it.
            TmpError::Unsafe { .. } => vec![
                "set TMPDIR to a directory only you can write; nono keeps its per-run directories in $TMPDIR/nono-<uid>".into(),
            ],
            TmpError::Create { .. } => vec![],
        }
    }
}

/// A live run directory. The lock descriptor must survive into the command.
#[derive(Debug)]
pub struct RunDir {
    pub path: PathBuf,
    lock: Flock<OwnedFd>,
}

impl RunDir {
    pub fn lock_fd(&self) -> i32 {
        self.lock.as_raw_fd()
    }
}

/// `$TMPDIR` when it is an absolute path, else `/tmp`, plus `nono-<uid>`.
pub fn base_dir() -> PathBuf {
    let root = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    root.join(format!("nono-{}", nix::unistd::geteuid()))
}

/// Removes finished runs' directories, then creates and locks a new one.
pub fn create() -> Result<RunDir, TmpError> {
    let base = base_dir();
    ensure_private_dir(&base)?;
    cleanup(&base);
    let template = base.join("new-XXXXXX");
    let fresh = nix::unistd::mkdtemp(&template).map_err(|e| TmpError::Create {
        dir: base.clone(),
        source: e.into(),
    })?;
    let fd = nix::fcntl::open(
        &fresh,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| TmpError::Create {
        dir: fresh.clone(),
        source: e.into(),
    })?;
    let fd = out_of_the_way(fd).map_err(|e| TmpError::Create {
        dir: fresh.clone(),
        source: e.into(),
    })?;
    let lock =
        Flock::lock(fd, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| TmpError::Create {
            dir: fresh.clone(),
            source: e.into(),
        })?;
    let name = fresh
        .file_name()
        .map(|n| n.to_string_lossy().replacen("new-", "run-", 1))
        .unwrap_or_default();
    let path = base.join(name);
    fs::rename(&fresh, &path).map_err(|source| TmpError::Create {
        dir: path.clone(),
        source,
    })?;
    Ok(RunDir { path, lock })
}

/// The lowest descriptor number the lock may use in the command.
const LOCK_FD_MIN: i32 = 100;

/// Moves the lock descriptor to a number >= [`LOCK_FD_MIN`]. The command
/// inherits it, and the lock lasts only as long as some process holds it:
/// at fd 3 the first `exec 3<&0` of a shell script closed it, and a later
/// nono start removed the TMPDIR of a run that was still alive.
fn out_of_the_way(fd: OwnedFd) -> nix::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    let high = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(LOCK_FD_MIN))?;
    // SAFETY: fcntl just returned this new descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// Creates `dir` with mode 0700 if needed and checks that it is a real
/// directory owned by us and closed to others: another user could otherwise
/// pre-create it, or plant a symlink, and watch or swap our files.
fn ensure_private_dir(dir: &Path) -> Result<(), TmpError> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(TmpError::Create {
                dir: dir.to_path_buf(),
                source,
            })
        }
    }
    let meta = fs::symlink_metadata(dir).map_err(|source| TmpError::Create {
        dir: dir.to_path_buf(),
        source,
    })?;
    let unsafe_because = |why: &str| TmpError::Unsafe {
        dir: dir.to_path_buf(),
        why: why.to_string(),
    };
    if !meta.file_type().is_dir() {
        return Err(unsafe_because("it is not a directory"));
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(unsafe_because("it is owned by another user"));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(unsafe_because(
            "other users can access it (mode is not 0700)",
        ));
    }
    Ok(())
}

/// Removes run directories nobody holds a lock on, and abandoned `new-*`
/// directories older than an hour. Errors are ignored: cleanup is a
/// courtesy, never a reason not to run.
fn cleanup(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.starts_with("run-") {
            let Ok(fd) = nix::fcntl::open(
                &path,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            ) else {
                continue;
            };
            if let Ok(lock) = Flock::lock(fd, FlockArg::LockExclusiveNonblock) {
                let _ = fs::remove_dir_all(&path);
                drop(lock);
            }
        } else if name.starts_with("new-") {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| {
                    SystemTime::now().duration_since(t).unwrap_or_default()
                        > Duration::from_secs(3600)
                })
                .unwrap_or(false);
            if old {
                let _ = fs::remove_dir_all(&path);
            }
        }
    }
}
