//! Entering new Linux namespaces before the sandbox is applied.
//!
//! The mount-namespace layer and host-allowlist networking both need
//! namespaces of their own. They are entered with one `unshare(2)` call,
//! so that the mount and network namespaces are owned by the same user
//! namespace and the command keeps nono's PID (no fork, no PID namespace).
//!
//! A caller that already holds `CAP_SYS_ADMIN` (root) enters the mount and
//! network namespaces directly; anyone else enters a new user namespace in
//! the same call, with its own uid and gid mapped to themselves, so files
//! keep their owners and the process gains capabilities only over the new
//! namespaces. Those capabilities are dropped before exec like any other
//! (see `caps.rs`), and seccomp refuses further namespaces and mounts.
//!
//! Must be called while nono is single-threaded: the kernel refuses
//! `CLONE_NEWUSER` in a multi-threaded process.

// Used by the mount-namespace and host-allowlist layers; remove this once
// both call it.
#![allow(dead_code)]

use std::io;

/// Which namespaces to enter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unshare {
    /// A private mount namespace (the mount-namespace layer), with a
    /// private IPC namespace.
    pub mount: bool,
    /// A network namespace with only its own loopback interface.
    pub net: bool,
}

impl Unshare {
    pub fn any(&self) -> bool {
        self.mount || self.net
    }
}

/// How the namespaces were entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entered {
    /// A user namespace was created (unprivileged caller).
    pub user_ns: bool,
}

/// Why the namespaces could not be entered.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    #[error("cannot create {what}: unshare failed: {source}")]
    Unshare {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot set up the user namespace: writing {file} failed: {source}")]
    Map {
        file: &'static str,
        #[source]
        source: io::Error,
    },
}

impl crate::error::Diagnostic for NsError {
    /// What the user can do about it.
    fn hints(&self) -> Vec<String> {
        match self {
            NsError::Unshare { source, .. }
                if matches!(
                    source.raw_os_error(),
                    Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::ENOSPC)
                ) =>
            {
                vec![
                    "unprivileged user namespaces are disabled or restricted here: check 'sysctl kernel.unprivileged_userns_clone', 'sysctl user.max_user_namespaces' and, on Ubuntu, 'sysctl kernel.apparmor_restrict_unprivileged_userns'".into(),
                    "run 'nono setup' to see what this machine supports".into(),
                ]
            }
            _ => vec!["run 'nono setup' to see what this machine supports".into()],
        }
    }
}

/// Whether the caller can create mount and network namespaces without a
/// user namespace: it holds `CAP_SYS_ADMIN` in its current one.
pub fn has_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u64 = 21;
    // Only the effective set matters: reading the bounding set as well
    // would cost one `prctl` per capability.
    super::caps::effective().is_ok_and(|e| e & (1 << CAP_SYS_ADMIN) != 0)
}

fn what(req: Unshare) -> &'static str {
    match (req.mount, req.net) {
        (true, true) => "mount, IPC and network namespaces",
        (true, false) => "a mount and an IPC namespace",
        (false, true) => "a network namespace",
        (false, false) => "no namespace",
    }
}

/// Enters the namespaces `req` asks for, in one `unshare(2)`.
pub fn enter(req: Unshare) -> Result<Entered, NsError> {
    let mut flags = 0;
    if req.mount {
        // With the mount layer the command also gets its own IPC
        // namespace: System V shared memory, semaphores and message queues
        // (and POSIX message queues) of the host's processes are not
        // reachable, as /dev/shm is private.
        flags |= libc::CLONE_NEWNS | libc::CLONE_NEWIPC;
    }
    if req.net {
        flags |= libc::CLONE_NEWNET;
    }
    if flags == 0 {
        return Ok(Entered { user_ns: false });
    }
    let user_ns = !has_sys_admin();
    if user_ns {
        flags |= libc::CLONE_NEWUSER;
    }
    // Read before unshare: inside the new user namespace, until the maps
    // are written, every id reads as the overflow id.
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    super::sys::unshare(flags).map_err(|source| NsError::Unshare {
        what: what(req),
        source,
    })?;
    if user_ns {
        // setgroups must be denied before an unprivileged gid_map is
        // accepted; it also keeps the process from dropping supplementary
        // groups that deny it access (negative ACLs).
        write_proc("setgroups", "deny")?;
        write_proc("uid_map", &format!("{uid} {uid} 1"))?;
        write_proc("gid_map", &format!("{gid} {gid} 1"))?;
    }
    Ok(Entered { user_ns })
}

fn write_proc(file: &'static str, text: &str) -> Result<(), NsError> {
    std::fs::write(format!("/proc/self/{file}"), text)
        .map_err(|source| NsError::Map { file, source })
}

/// Whether `enter(req)` would succeed here, found out in a short-lived
/// child process so that this one is not changed (for `setup`, `--dry-run`
/// and the decision to fall back).
pub fn probe(req: Unshare) -> Result<(), NsError> {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::ForkResult;
    // The child only calls unshare, writes to /proc and exits with _exit.
    match super::sys::fork_single_threaded() {
        Ok(ForkResult::Child) => {
            let code = match enter(req) {
                Ok(_) => 0,
                Err(NsError::Unshare { source, .. }) => {
                    source.raw_os_error().unwrap_or(1).clamp(1, 200)
                }
                Err(NsError::Map { .. }) => 201,
            };
            // _exit ends the child without running the parent's
            // destructors or atexit handlers twice.
            super::sys::exit_now(code)
        }
        Ok(ForkResult::Parent { child }) => match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(WaitStatus::Exited(_, 201)) => Err(NsError::Map {
                file: "uid_map",
                source: io::Error::from_raw_os_error(libc::EPERM),
            }),
            Ok(WaitStatus::Exited(_, c)) => Err(NsError::Unshare {
                what: what(req),
                source: io::Error::from_raw_os_error(c),
            }),
            Ok(_) | Err(_) => Err(NsError::Unshare {
                what: what(req),
                source: io::Error::other("the probe process did not exit normally"),
            }),
        },
        Err(source) => Err(NsError::Unshare {
            what: what(req),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_requested_changes_nothing() {
        assert_eq!(
            enter(Unshare::default()).unwrap(),
            Entered { user_ns: false }
        );
    }

    #[test]
    fn probe_leaves_this_process_in_its_namespaces() {
        let before = std::fs::read_link("/proc/self/ns/net").unwrap();
        // Either answer is fine here; only the probe's isolation is tested.
        let _ = probe(Unshare {
            mount: true,
            net: true,
        });
        assert_eq!(std::fs::read_link("/proc/self/ns/net").unwrap(), before);
    }
}
