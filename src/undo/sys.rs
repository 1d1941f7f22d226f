//! The raw system calls of the snapshot store and of restore, each behind
//! a safe function. Restore works below a grant root through directory
//! descriptors opened without following symlinks, so that a symlink the
//! sandboxed command planted cannot send a restored file elsewhere.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A descriptor that names a directory only (Linux `O_PATH`): enough to
/// resolve names beneath it, usable even when the directory's mode is 000.
#[cfg(target_os = "linux")]
const DIR_FLAGS: libc::c_int =
    libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
#[cfg(not(target_os = "linux"))]
const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Opens directory `name` beneath `dir` (or the absolute path `name` when
/// `dir` is None) without following a symlink in its last component.
pub fn open_dir(dir: Option<RawFd>, name: &OsStr) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    let at = dir.unwrap_or(libc::AT_FDCWD);
    // SAFETY: `c` is a valid NUL-terminated string; the result is checked.
    let fd = unsafe { libc::openat(at, c.as_ptr(), DIR_FLAGS) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `lstat` of `name` beneath `dir`.
pub fn stat_at(dir: RawFd, name: &OsStr) -> io::Result<libc::stat> {
    let c = cstr(name)?;
    // SAFETY: zeroed is a valid `stat`; fstatat fills it or fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid string and out-pointer; the result is checked.
    check(unsafe { libc::fstatat(dir, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st)
}

/// Creates `name` beneath `dir` for writing: new, never through a symlink.
pub fn create_file(dir: RawFd, name: &OsStr) -> io::Result<File> {
    let c = cstr(name)?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid string; the result is checked.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), flags, 0o600 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

pub fn mkdir_at(dir: RawFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid string; the result is checked.
    check(unsafe { libc::mkdirat(dir, c.as_ptr(), mode as libc::mode_t) })
}

pub fn symlink_at(target: &OsStr, dir: RawFd, name: &OsStr) -> io::Result<()> {
    let t = cstr(target)?;
    let c = cstr(name)?;
    // SAFETY: valid strings; the result is checked.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir, c.as_ptr()) })
}

pub fn rename_at(dir: RawFd, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let f = cstr(from)?;
    let t = cstr(to)?;
    // SAFETY: valid strings; the result is checked.
    check(unsafe { libc::renameat(dir, f.as_ptr(), dir, t.as_ptr()) })
}

pub fn unlink_at(dir: RawFd, name: &OsStr, is_dir: bool) -> io::Result<()> {
    let c = cstr(name)?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid string; the result is checked.
    check(unsafe { libc::unlinkat(dir, c.as_ptr(), flags) })
}

/// Sets the mode of `name` beneath `dir`, never following a symlink.
#[cfg(target_os = "linux")]
pub fn chmod_at(dir: RawFd, name: &OsStr, mode: u32) -> io::Result<()> {
    // Linux's fchmodat cannot refuse symlinks: open the entry itself
    // (O_PATH, no follow) and change it through its /proc/self/fd name.
    let c = cstr(name)?;
    // SAFETY: valid string; the result is checked.
    let fd = unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor, owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = fstat(fd.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        return Ok(());
    }
    let proc = cstr(OsStr::new(&format!("/proc/self/fd/{}", fd.as_raw_fd())))?;
    // SAFETY: valid string; the result is checked.
    check(unsafe { libc::chmod(proc.as_ptr(), mode as libc::mode_t) })
}

#[cfg(not(target_os = "linux"))]
pub fn chmod_at(dir: RawFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid string; the result is checked.
    check(unsafe {
        libc::fchmodat(
            dir,
            c.as_ptr(),
            mode as libc::mode_t,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

/// Sets the owner of `name` beneath `dir` (the link itself for a symlink).
pub fn chown_at(dir: RawFd, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid string; the result is checked.
    check(unsafe { libc::fchownat(dir, c.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
}

#[cfg(target_os = "linux")]
pub fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: zeroed is a valid `stat`; fstat fills it or fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer; the result is checked.
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

/// Shares the blocks of `src` with `dst` (a reflink, Linux `FICLONE`):
/// instant, and a copy that later writes to either file do not affect.
/// False where the filesystem cannot (ext4, across filesystems).
#[cfg(target_os = "linux")]
pub fn reflink(src: &File, dst: &File) -> bool {
    const FICLONE: libc::c_ulong = 0x4004_9409;
    // SAFETY: FICLONE takes the source descriptor as its argument and
    // only reads it; both descriptors are open files owned by the caller.
    unsafe { libc::ioctl(dst.as_raw_fd(), FICLONE as _, src.as_raw_fd()) == 0 }
}

#[cfg(not(target_os = "linux"))]
pub fn reflink(_src: &File, _dst: &File) -> bool {
    false
}

/// Flushes the filesystem holding `f` to stable storage (one call for every
/// object of a snapshot, instead of one fsync per object).
#[cfg(target_os = "linux")]
pub fn sync_filesystem(f: &File) -> io::Result<()> {
    // SAFETY: syncfs takes an open descriptor; the result is checked.
    check(unsafe { libc::syncfs(f.as_raw_fd()) })
}

#[cfg(not(target_os = "linux"))]
pub fn sync_filesystem(_f: &File) -> io::Result<()> {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    Ok(())
}

/// Starts writing `f`'s dirty pages to disk without waiting for it.
#[cfg(target_os = "linux")]
pub fn start_writeback(f: &File) {
    // SAFETY: sync_file_range on an open descriptor; failure only means
    // the kernel's own writeback does it later.
    unsafe { libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_f: &File) {}

/// An advisory lock on the store, held until dropped.
pub struct Lock {
    _file: File,
}

/// Takes `flock` on `f`, exclusive or shared, waiting for it.
pub fn lock(f: File, exclusive: bool) -> io::Result<Lock> {
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    loop {
        // SAFETY: flock on an open descriptor; the result is checked.
        let r = unsafe { libc::flock(f.as_raw_fd(), op) };
        if r == 0 {
            return Ok(Lock { _file: f });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
