//! The raw system calls and kernel structs of the Linux backend, each
//! behind a safe function with a `// SAFETY:` note on its one `unsafe`
//! block (the crate denies `clippy::undocumented_unsafe_blocks`). The
//! modules above call these and never `libc::syscall` themselves.
//!
//! Every function returns the kernel's answer as `io::Result` (errno kept)
//! or as the plain value a probe needs; none panics.
//!

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn last_error<T>() -> io::Result<T> {
    Err(io::Error::last_os_error())
}

// --- Landlock -------------------------------------------------------------

/// `LANDLOCK_CREATE_RULESET_VERSION`: the kernel's Landlock ABI, or the
/// errno (ENOSYS: not built in; EOPNOTSUPP: disabled at boot).
pub fn landlock_abi_version() -> io::Result<i32> {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a null attribute and
    // size 0 only queries the ABI version; no memory is passed.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        return last_error();
    }
    i32::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))
}

/// `struct landlock_path_beneath_attr` (packed, as in the uapi header).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, {access, fd})`.
pub fn landlock_add_path_beneath(ruleset: &OwnedFd, fd: &OwnedFd, access: u64) -> io::Result<()> {
    const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;
    let attr = PathBeneathAttr {
        allowed_access: access,
        parent_fd: fd.as_raw_fd(),
    };
    // SAFETY: both descriptors are open and owned by the caller; the
    // attribute is a properly laid out landlock_path_beneath_attr that
    // lives across the call; flags must be 0.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset.as_raw_fd(),
            LANDLOCK_RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0u32,
        )
    };
    if r != 0 {
        return last_error();
    }
    Ok(())
}

// --- capabilities ------------------------------------------------------------

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`: one half (capabilities 0-31 or
/// 32-63) of each set.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct CapData {
    pub effective: u32,
    pub permitted: u32,
    pub inheritable: u32,
}

/// `capget` (v3) for this process: both halves.
pub fn capget() -> io::Result<[CapData; 2]> {
    let mut hdr = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget with a v3 header writes two `CapData` structs, which
    // `data` provides; both pointers are valid for the call.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    if r != 0 {
        return last_error();
    }
    Ok(data)
}

/// `capset` (v3) for this process.
pub fn capset(data: &[CapData; 2]) -> io::Result<()> {
    let mut hdr = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset with a v3 header reads two `CapData` structs from
    // `data`, which lives across the call.
    if unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) } != 0 {
        return last_error();
    }
    Ok(())
}

/// `PR_CAPBSET_READ`: whether `cap` is in the bounding set.
pub fn capbset_read(cap: u32) -> bool {
    // SAFETY: PR_CAPBSET_READ takes a capability number and reads only.
    unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0, 0, 0) == 1 }
}

/// `PR_CAPBSET_DROP`: removes `cap` from the bounding set.
pub fn capbset_drop(cap: u32) -> io::Result<()> {
    // SAFETY: PR_CAPBSET_DROP takes a capability number; it only narrows
    // this process's bounding set.
    if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) } != 0 {
        return last_error();
    }
    Ok(())
}

/// `PR_CAP_AMBIENT_IS_SET`; EINVAL (kernels before 4.3, no ambient set)
/// reads as "not set".
pub fn ambient_is_set(cap: u32) -> bool {
    // SAFETY: PR_CAP_AMBIENT_IS_SET reads only; no pointers involved.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong,
            libc::c_ulong::from(cap),
            0,
            0,
        )
    };
    r == 1
}

/// `PR_CAP_AMBIENT_CLEAR_ALL`.
pub fn ambient_clear_all() -> io::Result<()> {
    // SAFETY: clears the ambient set; no pointers involved.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r != 0 {
        return last_error();
    }
    Ok(())
}

// --- probes for `nono setup` ---------------------------------------------------

/// Whether this kernel can install seccomp filters. The classic probe:
/// installing a filter from a NULL program fails with EFAULT when filters
/// are supported and EINVAL when they are not. Nothing is installed
/// either way.
pub fn seccomp_filter_supported() -> bool {
    // SAFETY: PR_SET_SECCOMP with a NULL filter pointer is rejected by the
    // kernel before anything changes.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            std::ptr::null::<libc::c_void>(),
        )
    };
    r != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

// --- namespaces and processes ---------------------------------------------------

/// `unshare(flags)`.
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes only an integer flag set and changes this
    // process's namespaces; no memory is shared with the kernel.
    if unsafe { libc::unshare(flags) } != 0 {
        return last_error();
    }
    Ok(())
}

/// `setns(fd, kind)`: joins the namespace `fd` refers to.
pub fn setns(fd: &impl AsRawFd, kind: libc::c_int) -> io::Result<()> {
    // SAFETY: setns takes a descriptor the caller owns and an integer; it
    // changes only this process's namespaces.
    if unsafe { libc::setns(fd.as_raw_fd(), kind) } != 0 {
        return last_error();
    }
    Ok(())
}

/// Whether this process has exactly one thread (from /proc/self/task).
fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1)
}

/// `fork()`, refused (EAGAIN) unless this process is single-threaded, so
/// that the child may run ordinary Rust code: no lock can be held by a
/// thread that does not exist in the child.
pub fn fork_single_threaded() -> io::Result<nix::unistd::ForkResult> {
    if !single_threaded() {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "refusing to fork a multi-threaded process",
        ));
    }
    // SAFETY: the process has one thread (checked just above, and nothing
    // in between starts one), so the child inherits no lock or state held
    // by another thread.
    unsafe { nix::unistd::fork() }.map_err(io::Error::from)
}

/// `_exit(code)`: ends a forked child without running destructors or
/// atexit handlers that belong to the parent's state.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer and does not return; nothing is
    // unwound, which is the point in a forked child.
    unsafe { libc::_exit(code) }
}

/// `PR_SET_DUMPABLE 0` and `PR_SET_NAME name`: not ptrace-able or readable
/// through /proc/PID/mem by same-uid processes, and named for `ps`.
pub fn set_undumpable_named(name: &std::ffi::CStr) {
    // SAFETY: prctl with integer arguments changes only this process.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
    // bytes (longer ones are truncated by the kernel); `name` lives across
    // the call.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
}

// --- descriptors ------------------------------------------------------------------

/// A duplicate of `fd` numbered `min` or above, close-on-exec.
pub fn dup_cloexec_above(fd: &OwnedFd, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer and returns a new
    // descriptor or -1; no memory is involved.
    let high = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    if high < 0 {
        return last_error();
    }
    // SAFETY: fcntl just returned this new descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// Takes ownership of a descriptor the kernel has just installed in this
/// process (SCM_RIGHTS): no other object refers to it.
pub fn take_received(fd: RawFd) -> OwnedFd {
    // SAFETY: a received descriptor is new and owned by nobody else; the
    // caller passes each one once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Makes descriptors 0 and 1 refer to `to` (dup2).
pub fn redirect_stdin_stdout(to: &OwnedFd) {
    // SAFETY: dup2 onto 0 and 1 replaces them; `to` stays open and owned
    // by the caller.
    unsafe {
        libc::dup2(to.as_raw_fd(), 0);
        libc::dup2(to.as_raw_fd(), 1);
    }
}

/// Closes `fd`, a descriptor inherited from the parent that no Rust object
/// of this process owns (the proxy sheds nono's descriptors this way).
/// EBADF (already closed) is harmless.
pub fn close_inherited(fd: RawFd) {
    // SAFETY: the caller closes only descriptors no object of this process
    // owns or will use again.
    unsafe { libc::close(fd) };
}

// --- network ----------------------------------------------------------------------

/// `ip link set lo up`, by ioctl: a new network namespace starts with its
/// loopback down.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: socket() with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return last_error();
    }
    // SAFETY: fd is a new descriptor owned here.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags member of
    // the ifreq we own.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return last_error();
    }
    // SAFETY: the union member SIOCGIFFLAGS just filled in.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return last_error();
    }
    Ok(())
}

// --- mounts (the mount layer) --------------------------------------------------

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const AT_RECURSIVE: libc::c_int = 0x8000;
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn fd_from(r: libc::c_long) -> OwnedFd {
    // SAFETY: `r` is a new descriptor just returned by the kernel and
    // owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

pub fn setattr(
    dirfd: RawFd,
    path: &Path,
    flags: libc::c_int,
    set: u64,
    clr: u64,
) -> io::Result<()> {
    let c = cstr(path)?;
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the path is a valid C string and `attr` a correctly sized,
    // initialised struct mount_attr that outlives the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            c.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(|_| ())
}

pub fn open_tree(dirfd: RawFd, path: &Path, recursive: bool) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    let mut flags = OPEN_TREE_CLONE
        | libc::O_CLOEXEC as libc::c_uint
        | libc::AT_SYMLINK_NOFOLLOW as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: a valid C string and integer flags; the result is a new fd.
    check(unsafe { libc::syscall(libc::SYS_open_tree, dirfd, c.as_ptr(), flags) }).map(fd_from)
}

pub fn move_mount(from: &OwnedFd, to: &Path) -> io::Result<()> {
    let c = cstr(to)?;
    let empty = c"";
    // SAFETY: valid C strings and a descriptor we own; attaches the
    // detached mount `from` at `to` (not following a final symlink).
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            c.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
    .map(|_| ())
}

pub fn mount(
    source: &str,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let src = CString::new(source).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let tgt = cstr(target)?;
    let ty = fstype
        .map(CString::new)
        .transpose()
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let dat = data
        .map(CString::new)
        .transpose()
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: every pointer is a valid C string (or null) for the call.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            tgt.as_ptr(),
            ty.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
            flags,
            dat.as_ref().map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A detached, read-only, noexec tmpfs holding one empty directory `d`,
/// one empty file `f` (mode 0444) and one empty file `x` (mode 0555, for
/// blocked programs): the source of every mask.
pub fn staging() -> io::Result<OwnedFd> {
    let ty = c"tmpfs";
    // SAFETY: a valid C string and integer flags; the result is a new fd.
    let fs = check(unsafe { libc::syscall(libc::SYS_fsopen, ty.as_ptr(), FSOPEN_CLOEXEC) })
        .map(fd_from)?;
    // SAFETY: FSCONFIG_CMD_CREATE takes no key or value.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: a filesystem context fd we own; the result is a new fd.
    let mnt =
        check(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })
            .map(fd_from)?;
    // SAFETY: a directory fd we own and a valid C string.
    if unsafe { libc::mkdirat(mnt.as_raw_fd(), c"d".as_ptr(), 0o555) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; the new descriptor is closed right away.
    let f = unsafe {
        libc::openat(
            mnt.as_raw_fd(),
            c"f".as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
            0o444 as libc::c_uint,
        )
    };
    if f < 0 {
        return Err(io::Error::last_os_error());
    }
    drop(fd_from(f as libc::c_long));
    // The blocked programs' mask: mode 0555, so that shells which look at
    // the mode bits before exec (dash) find it and report the exec denial
    // of the noexec mount (EACCES, status 126), as for a file without
    // execute right.
    // SAFETY: as above; the new descriptor is closed right away.
    let x = unsafe {
        libc::openat(
            mnt.as_raw_fd(),
            c"x".as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
            0o555 as libc::c_uint,
        )
    };
    if x < 0 {
        return Err(io::Error::last_os_error());
    }
    drop(fd_from(x as libc::c_long));
    setattr(
        mnt.as_raw_fd(),
        Path::new(""),
        libc::AT_EMPTY_PATH | AT_RECURSIVE,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        0,
    )?;
    Ok(mnt)
}
