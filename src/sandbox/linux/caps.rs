//! Dropping root's capabilities before exec.
//!
//! no_new_privs stops setuid and file capabilities from *adding* privilege,
//! but a process that is root (or holds capabilities) keeps them, and on
//! execve a uid-0 process is handed back every capability in its bounding
//! set. So all five sets are emptied: the bounding set (PR_CAPBSET_DROP,
//! which needs CAP_SETPCAP and so comes first), the ambient set, then
//! permitted, effective and inheritable (capset). The result is verified;
//! if anything is left, nono refuses to run the command.
//!
//! Plain `libc` system calls rather than the `caps` crate: this is four
//! calls, and the verification below is what matters.

use super::sys::{self, CapData as Data};
use crate::sandbox::SandboxError;

/// The capability sets of this process, as 64-bit masks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
}

impl CapSets {
    pub fn is_empty(&self) -> bool {
        *self == CapSets::default()
    }
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> SandboxError {
    move |source| SandboxError::Capabilities { op, source }
}

/// The highest capability number this kernel knows. Read once: it is a
/// property of the running kernel, and start-up reads the sets several
/// times (before, during and after dropping them).
fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(63)
            .min(63)
    })
}

fn capget() -> Result<[Data; 2], SandboxError> {
    sys::capget().map_err(io("capget"))
}

/// Reads every capability set of this process.
pub fn current() -> Result<CapSets, SandboxError> {
    read_sets(true)
}

/// Reads the capability sets; the bounding set (one `prctl` per
/// capability) only when `bounding` (else it reads as empty).
fn read_sets(bounding: bool) -> Result<CapSets, SandboxError> {
    let d = capget()?;
    let join = |f: fn(&Data) -> u32| u64::from(f(&d[0])) | (u64::from(f(&d[1])) << 32);
    let mut s = CapSets {
        effective: join(|d| d.effective),
        permitted: join(|d| d.permitted),
        inheritable: join(|d| d.inheritable),
        ..CapSets::default()
    };
    // The kernel keeps ambient ⊆ permitted ∩ inheritable (capabilities(7)):
    // only those capabilities can be ambient, so only they are asked about.
    let may_be_ambient = s.permitted & s.inheritable;
    for cap in 0..=last_cap() {
        if bounding && sys::capbset_read(cap) {
            s.bounding |= 1 << cap;
        }
        if may_be_ambient & (1 << cap) == 0 {
            continue;
        }
        // EINVAL on kernels before 4.3 (no ambient set) reads as "not set".
        let amb = sys::ambient_is_set(cap);
        if amb {
            s.ambient |= 1 << cap;
        }
    }
    Ok(s)
}

/// The effective set alone (one `capget`, no `prctl`): what decides
/// whether this process may create namespaces without a user namespace.
pub fn effective() -> Result<u64, SandboxError> {
    Ok(read_sets(false)?.effective)
}

/// True when the process is root or holds a capability that the command
/// would inherit: then [`drop_all`] is needed.
pub fn privileged() -> Result<bool, SandboxError> {
    // The bounding set does not decide it (see `drop_all` for its role).
    Ok(privileged_with(&read_sets(false)?))
}

fn privileged_with(s: &CapSets) -> bool {
    let root = nix::unistd::geteuid().is_root() || nix::unistd::getuid().is_root();
    root || s.effective != 0 || s.permitted != 0 || s.inheritable != 0 || s.ambient != 0
}

/// Empties every capability set, then verifies it. Unprivileged callers
/// have nothing to drop (the bounding set cannot be changed without
/// CAP_SETPCAP, and without uid 0 or file capabilities, which
/// no_new_privs disables, it grants nothing on exec).
pub fn drop_all() -> Result<Option<CapSets>, SandboxError> {
    let before = read_sets(false)?;
    if !privileged_with(&before) {
        return Ok(None);
    }
    let root = nix::unistd::geteuid().is_root() || nix::unistd::getuid().is_root();
    // The bounding set can only be narrowed with CAP_SETPCAP. It matters
    // for root (execve hands a uid-0 process its whole bounding set); for
    // any other uid, no_new_privs makes it grant nothing, so a non-root
    // caller with a few capabilities but no CAP_SETPCAP is not refused.
    const CAP_SETPCAP: u64 = 1 << 8;
    let can_drop_bounding = before.effective & CAP_SETPCAP != 0;
    if can_drop_bounding {
        // Dropping a capability the set no longer has succeeds and changes
        // nothing, so the set need not be read first: every one is dropped.
        drop_bounding((0..=last_cap()).fold(0, |m, c| m | (1u64 << c)))?;
    } else if root {
        // Without CAP_SETPCAP the drop fails, as it should for root: but
        // only if something is left to drop.
        let bounding = read_sets(true)?.bounding;
        if bounding != 0 {
            drop_bounding(bounding)?;
        }
    }
    match sys::ambient_clear_all() {
        Err(e) if e.raw_os_error() != Some(libc::EINVAL) => {
            return Err(io("PR_CAP_AMBIENT_CLEAR_ALL")(e));
        }
        _ => {}
    }
    sys::capset(&[Data::default(); 2]).map_err(io("capset"))?;
    let mut after = current()?;
    if !root {
        after.bounding = 0; // see above: irrelevant without uid 0
    }
    if !after.is_empty() {
        return Err(SandboxError::Capabilities {
            op: "verification",
            source: std::io::Error::other(format!("capabilities left: {after:?}")),
        });
    }
    Ok(Some(before))
}

fn drop_bounding(set: u64) -> Result<(), SandboxError> {
    for cap in 0..=last_cap() {
        if set & (1 << cap) == 0 {
            continue;
        }
        sys::capbset_drop(cap).map_err(io("PR_CAPBSET_DROP"))?;
    }
    Ok(())
}
