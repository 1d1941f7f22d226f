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

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::UnlinkatFlags;

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

impl crate::error::Diagnostic for TmpError {
    fn hints(&self) -> Vec<String> {
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

/// How long one nono start spends on removing old run directories. What is
/// left is removed by the next start (each start makes progress), so a huge
/// tree left behind slows a start by this much at most instead of blocking
/// it.
const CLEANUP_BUDGET: Duration = Duration::from_secs(2);

/// Removes run directories nobody holds a lock on, abandoned `new-*`
/// directories older than an hour, and trees parked by an earlier cleanup. Errors are ignored: cleanup is a
/// courtesy, never a reason not to run.
fn cleanup(base: &Path) {
    let deadline = Instant::now() + CLEANUP_BUDGET;
    let Ok(base_fd) = nix::fcntl::open(
        base,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        if Instant::now() >= deadline {
            return;
        }
        let name = entry.file_name();
        let Ok(cname) = CString::new(name.as_bytes()) else {
            continue;
        };
        let name = name.to_string_lossy();
        // gc-*: the rest of a tree a start ran out of time on (see park).
        if name.starts_with("run-") || name.starts_with("gc-") {
            let Some((fd, id)) = open_dir_at(&base_fd, &cname) else {
                continue;
            };
            if let Ok(lock) = Flock::lock(fd, FlockArg::LockExclusiveNonblock) {
                // The lock's descriptor is the tree's root: removal starts
                // from the inode that was locked, not from a name.
                remove_tree(&base_fd, &cname, &*lock, id, deadline);
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
                if let Some((fd, id)) = open_dir_at(&base_fd, &cname) {
                    remove_tree(&base_fd, &cname, &fd, id, deadline);
                }
            }
        }
    }
}

/// What identifies a directory: its device and inode, and on Linux the
/// mount it was reached through (a bind mount of the same filesystem has
/// the same device).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ident {
    dev: u64,
    ino: u64,
    mnt: Option<u64>,
}

/// The identity of `name` in `dir` (of `dir` itself when `name` is empty)
/// without following a symlink (a mount point is crossed, as every lookup
/// does: that is what the mount id catches), whether it is a directory, and
/// its mode. One `statx` on Linux.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn ident_at(dir: &impl AsFd, name: &CStr) -> Option<(Ident, bool, u32)> {
    const STATX_MNT_ID: u32 = 0x1000;
    let mut stx = std::mem::MaybeUninit::<libc::statx>::zeroed();
    let flags = libc::AT_SYMLINK_NOFOLLOW
        | if name.is_empty() {
            libc::AT_EMPTY_PATH
        } else {
            0
        };
    let mask = libc::STATX_TYPE | libc::STATX_MODE | libc::STATX_INO | STATX_MNT_ID;
    // SAFETY: `name` is NUL-terminated, `stx` is a properly sized buffer
    // the kernel fills; the descriptor is borrowed for the call.
    let rc = unsafe {
        libc::statx(
            dir.as_fd().as_raw_fd(),
            name.as_ptr(),
            flags,
            mask,
            stx.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: statx succeeded, so the buffer is initialised.
    let stx = unsafe { stx.assume_init() };
    let mode = u32::from(stx.stx_mode);
    Some((
        Ident {
            dev: libc::makedev(stx.stx_dev_major, stx.stx_dev_minor),
            ino: stx.stx_ino,
            mnt: (stx.stx_mask & STATX_MNT_ID != 0).then_some(stx.stx_mnt_id),
        },
        mode & libc::S_IFMT == libc::S_IFDIR,
        mode,
    ))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn ident_at(dir: &impl AsFd, name: &CStr) -> Option<(Ident, bool, u32)> {
    let st = if name.is_empty() {
        nix::sys::stat::fstat(dir).ok()?
    } else {
        nix::sys::stat::fstatat(dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).ok()?
    };
    #[allow(clippy::unnecessary_cast)]
    let mode = st.st_mode as u32;
    #[allow(clippy::unnecessary_cast)]
    Some((
        Ident {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            mnt: None,
        },
        mode & (libc::S_IFMT as u32) == libc::S_IFDIR as u32,
        mode,
    ))
}

fn ident_of(fd: &impl AsFd) -> Option<Ident> {
    ident_at(fd, c"").map(|(id, _, _)| id)
}

/// Opens the directory `name` in `dir` for reading, never through a
/// symlink, and checks that what was opened is what was looked at. A
/// directory without owner rights (mode 000, 500: chmod is not mediated by
/// Landlock, so the command could set them) is given 0700 first, or its
/// contents could not be removed.
fn open_dir_at(dir: &impl AsFd, name: &CStr) -> Option<(OwnedFd, Ident)> {
    let seen = ident_at(dir, name)?;
    open_seen_dir_at(dir, name, seen)
}

/// [`open_dir_at`] for an entry already looked at.
fn open_seen_dir_at(
    dir: &impl AsFd,
    name: &CStr,
    (id, is_dir, mode): (Ident, bool, u32),
) -> Option<(OwnedFd, Ident)> {
    if !is_dir {
        return None;
    }
    if mode & 0o700 != 0o700 {
        // A symlink swapped in meanwhile would be followed here, but only
        // to chmod a path the command could have chmodded itself.
        let _ = nix::sys::stat::fchmodat(
            dir,
            name,
            Mode::S_IRWXU,
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        );
    }
    let fd = nix::fcntl::openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    (ident_of(&fd)? == id).then_some((fd, id))
}

/// Out of time in the middle of a tree: the directory reached is moved to
/// the top (`gc-INODE` in the base directory, removed like a finished
/// run's), so that the next start resumes there instead of walking down
/// the whole way again. Without it a tree too deep to walk within one
/// budget was never removed.
fn park(base: &impl AsFd, cur: &OwnedFd, stack: &[Level]) {
    let [.., parent, here] = stack else {
        return;
    };
    let Ok(up) = nix::fcntl::openat(
        cur,
        c"..",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    if ident_of(&up) != Some(parent.id) {
        return;
    }
    let to = format!("gc-{}", here.id.ino);
    let _ = nix::fcntl::renameat(&up, here.name.as_c_str(), base, to.as_str());
}

/// Entries read from a directory at a time; the directory is read again
/// after each descent.
const BATCH: usize = 256;

/// Up to [`BATCH`] names in `dir` other than `.`, `..` and `skip`.
fn read_names(dir: &impl AsFd, skip: &HashSet<CString>) -> Option<Vec<CString>> {
    let fd = nix::fcntl::openat(
        dir,
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut d = nix::dir::Dir::from_fd(fd).ok()?;
    let mut names = Vec::new();
    for e in d.iter() {
        let e = e.ok()?;
        let n = e.file_name();
        if n == c"." || n == c".." || skip.contains(n) {
            continue;
        }
        names.push(n.to_owned());
        if names.len() == BATCH {
            break;
        }
    }
    Some(names)
}

/// One directory on the way down: its identity, its name in its parent,
/// and the entries that could not be removed (not retried, so the walk
/// always ends).
struct Level {
    id: Ident,
    name: CString,
    skip: HashSet<CString>,
}

/// Removes the tree `name` in `base` (already open as `root`), whatever the
/// command left in it, without recursion (a 100 000-deep tree overflowed
/// the stack of `fs::remove_dir_all`) and without path names (no length
/// limit): every step is relative to a descriptor. Never follows a symlink
/// (they are unlinked), never descends into another mount (a mount point
/// or bind mount is left alone), never opens a FIFO, socket or device
/// (they are unlinked), climbs back with `..` only after checking it is
/// the directory it came from, and stops at `deadline`. One descriptor is
/// open at a time, whatever the depth.
fn remove_tree(base: &impl AsFd, name: &CStr, root: &impl AsFd, id: Ident, deadline: Instant) {
    let Ok(mut cur) = nix::fcntl::openat(
        root,
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let mut stack = vec![Level {
        id,
        name: name.to_owned(),
        skip: HashSet::new(),
    }];
    while let Some(top) = stack.last_mut() {
        if Instant::now() >= deadline {
            park(base, &cur, &stack);
            return;
        }
        let names = read_names(&cur, &top.skip).unwrap_or_default();
        if names.is_empty() {
            // This directory is as empty as it gets: remove it from its
            // parent and continue there.
            let done = stack.pop();
            let Some(parent) = stack.last_mut() else {
                let _ = nix::unistd::unlinkat(base, name, UnlinkatFlags::RemoveDir);
                return;
            };
            let Ok(up) = nix::fcntl::openat(
                &cur,
                c"..",
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            ) else {
                return;
            };
            // Moved meanwhile: `..` is somewhere else. Stop.
            if ident_of(&up) != Some(parent.id) {
                return;
            }
            if let Some(done) = done {
                if nix::unistd::unlinkat(&up, done.name.as_c_str(), UnlinkatFlags::RemoveDir)
                    .is_err()
                {
                    parent.skip.insert(done.name);
                }
            }
            cur = up;
            continue;
        }
        let mut down = None;
        for n in names {
            let Some(seen @ (nid, is_dir, _)) = ident_at(&cur, &n) else {
                top.skip.insert(n);
                continue;
            };
            if !is_dir {
                if nix::unistd::unlinkat(&cur, n.as_c_str(), UnlinkatFlags::NoRemoveDir).is_err() {
                    top.skip.insert(n);
                }
                continue;
            }
            // Another mount (a mount point, a bind mount): not ours to empty.
            if nid.dev != id.dev || nid.mnt != id.mnt {
                top.skip.insert(n);
                continue;
            }
            match open_seen_dir_at(&cur, &n, seen) {
                Some((fd, nid)) => {
                    down = Some((fd, nid, n));
                    break;
                }
                None => {
                    top.skip.insert(n);
                }
            }
        }
        if let Some((fd, nid, n)) = down {
            stack.push(Level {
                id: nid,
                name: n,
                skip: HashSet::new(),
            });
            cur = fd;
        }
    }
}
