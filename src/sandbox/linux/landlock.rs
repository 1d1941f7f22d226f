//! The Linux backend: one Landlock ruleset built from the policy's rules.
//!
//! Compatibility is chosen on purpose, not left to the crate's best effort:
//! nono targets ABI [`Abi::TARGET`], handles every filesystem right up to
//! `min(kernel ABI, Abi::TARGET)` as a hard requirement, and refuses to run
//! when a right the policy relies on cannot be enforced by this kernel.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use landlock::{
    Access as _, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, AT_FDCWD};

use crate::policy::{Access, Kind, Origin, Policy};
use crate::sandbox::abi::Abi;
use crate::sandbox::{Enforced, SandboxError};

/// What this kernel offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// The kernel's Landlock ABI, or the negative errno of the probe
    /// (`-ENOSYS`: not built in; `-EOPNOTSUPP`: built in but disabled).
    pub kernel_abi: i32,
    /// The ABI nono uses: `min(kernel_abi, Abi::TARGET, test cap)`.
    pub abi: i32,
    /// A test-only cap on the ABI, when the binary was built with it.
    pub test_cap: Option<i32>,
}

impl Support {
    pub fn detect() -> Support {
        // Asked once per process: the running kernel's ABI cannot change
        // under it, and a run asks in several places (check, apply, the
        // reports).
        static KERNEL_ABI: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
        let kernel_abi = *KERNEL_ABI.get_or_init(|| match super::sys::landlock_abi_version() {
            Ok(v) => v,
            Err(e) => -e.raw_os_error().unwrap_or(libc::ENOSYS),
        });
        let test_cap = test_cap();
        let mut abi = kernel_abi.clamp(0, Abi::TARGET.number());
        if let Some(cap) = test_cap {
            abi = abi.min(cap);
        }
        Support {
            kernel_abi,
            abi,
            test_cap,
        }
    }

    /// Why Landlock is unusable, if it is.
    pub fn unavailable_reason(&self) -> Option<String> {
        match self.kernel_abi {
            v if v > 0 && self.abi > 0 => None,
            v if v > 0 => Some("capped to ABI 0 for testing".into()),
            v if v == -libc::EOPNOTSUPP => {
                Some("the kernel has Landlock but it is disabled at boot".into())
            }
            v if v == -libc::ENOSYS => Some("the kernel was built without Landlock".into()),
            v => Some(format!("probing Landlock failed with errno {}", -v)),
        }
    }
}

#[cfg(feature = "test-abi-cap")]
fn test_cap() -> Option<i32> {
    std::env::var("NONO_TEST_ABI_CAP").ok()?.parse().ok()
}

#[cfg(not(feature = "test-abi-cap"))]
fn test_cap() -> Option<i32> {
    None
}

/// The Landlock filesystem rights for a platform-neutral access on an
/// object of `kind`, restricted to what `abi` knows.
pub fn fs_rights(access: Access, kind: Kind, abi: i32) -> BitFlags<AccessFs> {
    let dir = kind == Kind::Dir;
    let mut r = BitFlags::<AccessFs>::empty();
    if access.contains(Access::READ) {
        r |= AccessFs::ReadFile;
        if dir {
            r |= AccessFs::ReadDir;
        }
    }
    if access.contains(Access::EXECUTE) {
        r |= AccessFs::Execute;
    }
    if access.contains(Access::WRITE) {
        r |= AccessFs::WriteFile;
        if dir {
            // MAKE_CHAR and MAKE_BLOCK are never granted: device nodes are
            // a way around every file permission.
            r |= AccessFs::MakeReg
                | AccessFs::MakeDir
                | AccessFs::MakeSym
                | AccessFs::MakeFifo
                | AccessFs::MakeSock
                | AccessFs::Refer;
        }
    }
    if access.contains(Access::DELETE) {
        r |= AccessFs::Truncate;
        if dir {
            r |= AccessFs::RemoveFile | AccessFs::RemoveDir;
        }
    }
    if access.contains(Access::DELETE_FILES) {
        r |= AccessFs::Truncate;
        if dir {
            r |= AccessFs::RemoveFile;
        }
    }
    if access.contains(Access::IOCTL) {
        r |= AccessFs::IoctlDev;
    }
    r & handled(abi)
}

/// Every filesystem right of `abi`: all of them are handled, so anything
/// not granted is denied.
fn handled(abi: i32) -> BitFlags<AccessFs> {
    AccessFs::from_all(ABI::from(abi))
}

/// Refuses, before anything is changed, what this kernel cannot enforce.
///
/// The default guarantees hold on every Landlock ABI: where Landlock lacks
/// a right, the seccomp layer stands in (truncation before ABI 3, the
/// network before ABI 4). Refused are only the options whose meaning needs
/// a right that seccomp cannot scope by path or port.
pub fn check(policy: &Policy, support: &Support) -> Result<(), SandboxError> {
    check_baseline(support)?;
    // --allow-delete: seccomp can deny truncation everywhere but cannot
    // allow it under one path only. (The private temporary directory is
    // not a user request: there it is simply lost before ABI 3.)
    if support.abi < Abi::TRUNCATE && user_delete_grant(policy) {
        return Err(SandboxError::MissingFeature {
            feature: "--allow-delete (truncation allowed under one path only)",
            abi: Abi::TRUNCATE,
            have: support.abi,
        });
    }
    // Port grants: seccomp cannot see the port of bind()/connect().
    if support.abi < Abi::NET && policy.net.has_port_grants() {
        return Err(SandboxError::MissingFeature {
            feature: "TCP port grants (--allow-connect, --allow-bind)",
            abi: Abi::NET,
            have: support.abi,
        });
    }
    Ok(())
}

/// What every sandbox needs, whatever the policy: a usable Landlock.
pub fn check_baseline(support: &Support) -> Result<(), SandboxError> {
    if let Some(reason) = support.unavailable_reason() {
        return Err(SandboxError::LandlockUnavailable(reason));
    }
    Ok(())
}

fn user_delete_grant(policy: &Policy) -> bool {
    policy.rules.iter().any(|r| {
        r.parts.iter().any(|(a, o)| {
            a.contains(Access::DELETE) && !matches!(o, Origin::TempDir | Origin::MountLayer { .. })
        })
    })
}

fn ll_err(op: &'static str) -> impl FnOnce(landlock::RulesetError) -> SandboxError {
    move |source| SandboxError::Landlock { op, source }
}

/// Builds the one ruleset and restricts this process.
/// What the ruleset handles (denies unless a rule allows): the one source
/// for [`apply`] and for `--dry-run`'s description of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    pub fs: BitFlags<AccessFs>,
    /// TCP bind/connect: handled (so denied unless a port rule allows it)
    /// whenever the network is restricted. seccomp additionally refuses the
    /// sockets themselves unless ports are granted.
    pub net: BitFlags<AccessNet>,
    /// Signals and abstract Unix sockets reach only this sandbox.
    pub scopes: BitFlags<Scope>,
}

pub fn handled_for(policy: &Policy, abi: i32) -> Handled {
    let handle_net = policy.net.restricted() && abi >= Abi::NET;
    Handled {
        fs: handled(abi),
        net: if handle_net {
            AccessNet::from_all(ABI::V4)
        } else {
            BitFlags::empty()
        },
        scopes: if abi >= Abi::SCOPES {
            Scope::from_all(ABI::V6)
        } else {
            BitFlags::empty()
        },
    }
}

/// Names of flags as the landlock crate spells them (`ReadFile`, ...).
pub trait FlagNames {
    fn names(self) -> Vec<String>;
}

macro_rules! flag_names {
    ($($t:ty),*) => {$(
        impl FlagNames for BitFlags<$t> {
            fn names(self) -> Vec<String> {
                self.iter().map(|f| format!("{f:?}")).collect()
            }
        }
    )*};
}
flag_names!(AccessFs, AccessNet, Scope);

pub fn apply(policy: &Policy, support: &Support) -> Result<Enforced, SandboxError> {
    check(policy, support)?;
    let abi = support.abi;
    let net = &policy.net;
    let h = handled_for(policy, abi);
    tracing::debug!(
        fs = ?h.fs.names(),
        net = ?h.net.names(),
        scopes = ?h.scopes.names(),
        "landlock handled"
    );
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(h.fs)
        .map_err(ll_err("handle_access"))?;
    let handle_net = !h.net.is_empty();
    if handle_net {
        ruleset = ruleset
            .handle_access(h.net)
            .map_err(ll_err("handle_access(net)"))?;
    }
    if !h.scopes.is_empty() {
        ruleset = ruleset.scope(h.scopes).map_err(ll_err("scope"))?;
    }
    let mut created = ruleset.create().map_err(ll_err("create_ruleset"))?;
    if handle_net {
        for (port, rights) in port_rules(net) {
            // What is installed: tests compare it with --dry-run's list.
            tracing::debug!(port, rights = ?rights.names(), "landlock port rule");
            created = created
                .add_rule(NetPort::new(port, rights))
                .map_err(ll_err("add_rule(net)"))?;
        }
    }
    let count = add_rules(&created, policy, abi)?;
    let status = created.restrict_self().map_err(ll_err("restrict_self"))?;
    if status.ruleset != RulesetStatus::FullyEnforced {
        return Err(SandboxError::NotFullyEnforced(format!(
            "{:?}",
            status.ruleset
        )));
    }
    if !status.no_new_privs {
        return Err(SandboxError::NotFullyEnforced(
            "without no_new_privs".into(),
        ));
    }
    Ok(Enforced {
        abi,
        rules: count,
        filters: 0,
        warnings: Vec::new(),
    })
}

/// One Landlock port rule per granted port, connect and bind merged.
pub fn port_rules(net: &crate::policy::NetPolicy) -> Vec<(u16, BitFlags<AccessNet>)> {
    let mut ports: std::collections::BTreeMap<u16, BitFlags<AccessNet>> = Default::default();
    for p in &net.connect {
        *ports.entry(*p).or_default() |= AccessNet::ConnectTcp;
    }
    for p in &net.bind {
        *ports.entry(*p).or_default() |= AccessNet::BindTcp;
    }
    ports.into_iter().collect()
}

/// Adds every rule of the policy to the ruleset, returns how many.
///
/// The rules go in through `landlock_add_rule(2)` directly, on a duplicate
/// of the ruleset descriptor (the same kernel object): the crate would
/// `fstat` every descriptor to check its kind, and the blocklist makes a
/// thousand file rules. Rights are already limited to the handled ABI;
/// anything the kernel rejects is an error (fail closed).
fn add_rules(created: &RulesetCreated, policy: &Policy, abi: i32) -> Result<usize, SandboxError> {
    let dup = created
        .try_clone()
        .map_err(|source| SandboxError::LandlockCall {
            op: "dup ruleset",
            path: None,
            source,
        })?;
    let Some(ruleset_fd) = Option::<OwnedFd>::from(dup) else {
        return Err(SandboxError::NotFullyEnforced("without a ruleset".into()));
    };
    let mut count = 0;
    // File rules are opened relative to their directory, and each such
    // directory is opened once: it is kept (up to `KEEP` of them) for the
    // other file rules in it, and a directory rule whose directory is
    // kept reuses that descriptor (same flags, same `RESOLVE_NO_SYMLINKS`
    // open of the same path). Rules are sorted by path, so `/etc` serves
    // `/etc/hosts` and `/etc/passwd` across the `/etc/*` directory rules
    // in between, and `/usr/lib` both its own rule and `/usr/lib/os-release`.
    const KEEP: usize = 64;
    let parents: std::collections::HashSet<&Path> = policy
        .rules
        .iter()
        .filter(|r| r.kind == Kind::File)
        .filter_map(|r| r.path.parent())
        .collect();
    let mut dirs: std::collections::HashMap<&Path, OwnedFd> = Default::default();
    // A directory beyond `KEEP`: only the last one is held.
    let mut spare: Option<(&Path, OwnedFd)> = None;
    for rule in &policy.rules {
        // The kind is taken from the opened object, not from the policy:
        // if a file replaced a directory meanwhile, file rights are all it
        // can get (directory rights on a file are EINVAL). File rights are
        // valid on anything, so a file rule needs no check.
        let mut owned: Option<OwnedFd> = None;
        let kind = match (rule.kind, rule.path.parent(), rule.path.file_name()) {
            (Kind::File, Some(parent), Some(name)) => {
                let held =
                    dirs.contains_key(parent) || spare.as_ref().is_some_and(|(p, _)| *p == parent);
                if !held {
                    let d = open_beneath(AT_FDCWD, parent, OFlag::O_DIRECTORY)?;
                    if dirs.len() < KEEP {
                        dirs.insert(parent, d);
                    } else {
                        spare = Some((parent, d));
                    }
                }
                let dir = match (dirs.get(parent), &spare) {
                    (Some(d), _) => d,
                    (None, Some((_, d))) => d,
                    (None, None) => {
                        return Err(SandboxError::NotFullyEnforced(
                            "without a rule's directory".into(),
                        ))
                    }
                };
                match open_beneath(dir.as_fd(), Path::new(name), OFlag::empty())
                    .map_err(|e| with_path(e, &rule.path))
                {
                    Ok(fd) => owned = Some(fd),
                    // A program removed since the scan (a package upgrade):
                    // skipping its execute rule only takes rights away.
                    Err(SandboxError::OpenRule { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound
                            && only_exec_split(rule) =>
                    {
                        continue
                    }
                    Err(e) => return Err(e),
                }
                Kind::File
            }
            (Kind::File, _, _) => {
                owned = Some(open_beneath(AT_FDCWD, &rule.path, OFlag::empty())?);
                Kind::File
            }
            // Kept: opened with O_DIRECTORY, so a directory.
            (Kind::Dir, _, _) if dirs.contains_key(rule.path.as_path()) => Kind::Dir,
            // O_DIRECTORY proves the kind without an fstat; ENOTDIR: no
            // longer a directory, so it gets file rights only.
            (Kind::Dir, _, _) => match open_beneath(AT_FDCWD, &rule.path, OFlag::O_DIRECTORY) {
                Ok(fd) => {
                    if parents.contains(rule.path.as_path()) && dirs.len() < KEEP {
                        dirs.insert(rule.path.as_path(), fd);
                    } else {
                        owned = Some(fd);
                    }
                    Kind::Dir
                }
                Err(SandboxError::OpenRule { source, .. })
                    if source.raw_os_error() == Some(libc::ENOTDIR) =>
                {
                    owned = Some(open_beneath(AT_FDCWD, &rule.path, OFlag::empty())?);
                    Kind::File
                }
                Err(e) => return Err(e),
            },
        };
        let fd = match (&owned, dirs.get(rule.path.as_path())) {
            (Some(fd), _) => fd,
            (None, Some(fd)) => fd,
            (None, None) => {
                return Err(SandboxError::NotFullyEnforced(
                    "without a rule's descriptor".into(),
                ))
            }
        };
        let rights = fs_rights(rule.access(), kind, abi);
        if rights.is_empty() {
            continue;
        }
        super::sys::landlock_add_path_beneath(&ruleset_fd, fd, rights.bits()).map_err(
            |source| SandboxError::LandlockCall {
                op: "add_rule",
                path: Some(rule.path.clone()),
                source,
            },
        )?;
        count += 1;
    }
    Ok(count)
}

/// A per-file execute rule made by the blocklist and nothing else.
fn only_exec_split(rule: &crate::policy::Rule) -> bool {
    rule.parts
        .iter()
        .all(|(a, o)| *a == Access::EXECUTE && matches!(o, crate::policy::Origin::ExecSplit { .. }))
}

fn with_path(e: SandboxError, path: &Path) -> SandboxError {
    match e {
        SandboxError::OpenRule { source, .. } => SandboxError::OpenRule {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    }
}

/// Opens a rule's path (relative to `dir`) without following any symlink,
/// so a symlink planted after resolution cannot redirect the rule
/// elsewhere. Relative opens also stay beneath `dir`.
fn open_beneath<Fd: std::os::fd::AsFd>(
    dir: Fd,
    path: &Path,
    extra: OFlag,
) -> Result<OwnedFd, SandboxError> {
    let mut resolve = ResolveFlag::RESOLVE_NO_SYMLINKS;
    if path.is_relative() {
        // A single name under an already opened directory: no `..` either.
        resolve |= ResolveFlag::RESOLVE_BENEATH;
    }
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC | extra)
        .resolve(resolve);
    nix::fcntl::openat2(dir, path, how).map_err(|e| SandboxError::OpenRule {
        path: path.to_path_buf(),
        source: std::io::Error::from(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_write_on_dir_never_grants_delete_or_devices() {
        let r = fs_rights(Access::READ_WRITE, Kind::Dir, 6);
        assert!(r.contains(AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::Execute));
        assert!(r.contains(AccessFs::WriteFile | AccessFs::MakeReg | AccessFs::Refer));
        for denied in [
            AccessFs::RemoveFile,
            AccessFs::RemoveDir,
            AccessFs::Truncate,
            AccessFs::MakeChar,
            AccessFs::MakeBlock,
            AccessFs::IoctlDev,
        ] {
            assert!(!r.contains(denied), "{denied:?} must not be granted");
        }
    }

    #[test]
    fn file_rules_get_file_rights_only() {
        let file_rights = AccessFs::from_file(ABI::V6);
        let r = fs_rights(Access::ALL, Kind::File, 6);
        assert_eq!(r & !file_rights, BitFlags::empty());
        assert!(r.contains(AccessFs::Truncate));
    }

    #[test]
    fn rights_are_limited_to_the_abi() {
        let r = fs_rights(Access::ALL, Kind::Dir, 1);
        assert!(!r.contains(AccessFs::Refer));
        assert!(!r.contains(AccessFs::Truncate));
        assert!(!r.contains(AccessFs::IoctlDev));
        assert!(fs_rights(Access::ALL, Kind::Dir, 3).contains(AccessFs::Truncate));
    }

    fn support(abi: i32) -> Support {
        Support {
            kernel_abi: 7,
            abi,
            test_cap: Some(abi),
        }
    }

    fn policy(spec: crate::policy::PolicySpec, dir: &Path) -> Policy {
        crate::test_support::policy_in(&spec, dir)
    }

    #[test]
    fn check_refuses_only_what_seccomp_cannot_stand_in_for() {
        use crate::policy::{DeleteRequest, PolicySpec, Source};
        let d = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(d.path()).unwrap();
        // The default policy runs on every ABI (seccomp covers truncation
        // and the network below ABI 3 and 4).
        let default = policy(PolicySpec::default(), &dir);
        for abi in 1..=6 {
            assert!(check(&default, &support(abi)).is_ok(), "ABI {abi}");
        }
        let blocked = policy(
            PolicySpec {
                net_block: true,
                ..PolicySpec::default()
            },
            &dir,
        );
        assert!(check(&blocked, &support(1)).is_ok());
        // Port grants need Landlock TCP rules.
        let ports = policy(
            PolicySpec {
                allow_bind: vec![8080],
                ..PolicySpec::default()
            },
            &dir,
        );
        assert!(matches!(
            check(&ports, &support(3)),
            Err(SandboxError::MissingFeature { abi: Abi::V4, .. })
        ));
        assert!(check(&ports, &support(4)).is_ok());
        // --allow-delete needs per-path truncation.
        // (A project directory, not HOME itself: HOME is carved.)
        let proj = dir.join("proj");
        std::fs::create_dir(&proj).unwrap();
        let mut spec = PolicySpec::default();
        spec.grant(&proj, Access::READ_WRITE, Source::Flag("--allow"));
        spec.allow_delete.push(DeleteRequest {
            path: proj.clone(),
            source: Source::Flag("--allow-delete"),
        });
        let delete = policy(spec, &dir);
        assert!(matches!(
            check(&delete, &support(2)),
            Err(SandboxError::MissingFeature { abi: Abi::V3, .. })
        ));
        assert!(check(&delete, &support(3)).is_ok());
        // The private TMPDIR's delete right is not a user request.
        let mut tmp = default.clone();
        tmp.add_tmpdir(&dir);
        assert!(check(&tmp, &support(1)).is_ok());
    }

    #[test]
    fn port_rules_merge_connect_and_bind() {
        let mut net = crate::policy::NetPolicy::default();
        net.connect.extend([443, 8080]);
        net.bind.insert(8080);
        assert_eq!(
            port_rules(&net),
            vec![
                (443, BitFlags::from(AccessNet::ConnectTcp)),
                (8080, AccessNet::ConnectTcp | AccessNet::BindTcp),
            ]
        );
    }

    #[test]
    fn delete_maps_to_remove_and_truncate() {
        let r = fs_rights(Access::DELETE, Kind::Dir, 6);
        assert_eq!(
            r,
            AccessFs::RemoveFile | AccessFs::RemoveDir | AccessFs::Truncate
        );
    }
}
