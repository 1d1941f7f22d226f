//! The mount-namespace layer: what Landlock cannot express, done with
//! mounts in a private mount namespace, under Landlock and seccomp.
//!
//! Landlock can only allow, so a grant that covers a protected path is
//! carved into grants of its siblings, which leaves the carved directory
//! itself unlistable; it does not mediate chmod, chown, utime or xattrs;
//! and it cannot give the command a /tmp or /dev/shm of its own. In a
//! mount namespace of its own the command gets:
//!
//! - **masks**: every existing protected entry beneath a carved directory
//!   is covered by an empty, read-only object (an empty directory or an
//!   empty file from a private read-only tmpfs), on every mount that shows
//!   the same filesystem (aliases, found in the mount table). The carved
//!   directories can then be granted for reading as a whole (`walls`):
//!   `ls ~` works under `--allow ~`, and `~/.ssh` lists as empty;
//! - **read-only binds** of the read-only protected paths (PATH
//!   directories, git and editor configuration) inside write grants;
//! - **everything read-only** at the mount level except the write grants,
//!   bound back read-write: chmod, chown, utime and xattr changes fail with
//!   EROFS outside the write grants;
//! - **private /tmp, /var/tmp and /dev/shm**: the run's private directory
//!   bound on /tmp (exported as TMPDIR), fresh tmpfs instances on the
//!   others (gone when the command's last process exits). A directory that
//!   holds a grant stays the host's: a grant beneath the private
//!   directory's everything-allowed rule would get every right (Landlock
//!   rights add up along the path);
//! - **private ptys**: a new devpts instance on /dev/pts, /dev/ptmx bound
//!   to its ptmx: the user's other terminals are not in it.
//!
//! [`plan`] is pure over the policy and the mount table; `--dry-run`,
//! `why` and [`apply`] all read the same [`MountPlan`]. The Landlock rules
//! that the plan adds ([`MountPlan::rules`]) are made after the mounts, so
//! they bind to the new objects.
//!
//! The masks cannot be removed by the command: seccomp refuses every mount
//! system call and new namespaces, Landlock refuses mount, umount and
//! pivot_root to a sandboxed process, every capability is dropped before
//! exec, and for an unprivileged caller the mounts inherited into the user
//! namespace are locked together with what covers them.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::sys::{
    self, mount, move_mount, open_tree, setattr, staging, AT_RECURSIVE, MOUNT_ATTR_NODEV,
    MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY,
};
use crate::policy::{paths, Access, Kind, Origin, Policy, Rule};

/// The directories replaced by a private tmpfs.
pub const PRIVATE_DIRS: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

/// What a mask hides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub path: PathBuf,
    pub kind: Kind,
    /// The protected category.
    pub category: String,
    /// The protected path this one is another name of (a bind mount or a
    /// second mount of the same filesystem).
    pub alias_of: Option<PathBuf>,
    /// Bound read-only rather than hidden (read-only protected paths).
    pub read_only: bool,
}

/// A private tmpfs and the granted paths attached again inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Private {
    pub path: PathBuf,
    /// Bound there instead of a fresh tmpfs: the run's private directory
    /// on /tmp (so TMPDIR keeps its locking and clean-up).
    pub source: Option<PathBuf>,
}

/// A blocked program covered by an empty file from the read-only, noexec
/// tmpfs: execve of it fails with EACCES, and, being a mount point, it
/// cannot be renamed, removed or replaced (EBUSY).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramMask {
    pub path: PathBuf,
    pub kind: Kind,
    /// The blocklist category.
    pub category: String,
}

/// Everything the mount layer will do, in the order it is done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountPlan {
    /// Bound back read-write after the whole tree is made read-only.
    pub writable: Vec<PathBuf>,
    /// Protected entries hidden or bound read-only.
    pub masks: Vec<Mask>,
    /// Carved directories granted for reading as a whole (their protected
    /// entries are masked), with the rights added.
    pub walls: Vec<(PathBuf, Access)>,
    pub private: Vec<Private>,
    /// A new devpts instance on /dev/pts.
    pub pts: bool,
    /// Overlaid caches: (the directory, nono's directory for its changes).
    pub overlays: Vec<(PathBuf, PathBuf)>,
    /// Blocked programs masked, so that their directories keep execute
    /// as wholes instead of one Landlock rule per file.
    pub programs: Vec<ProgramMask>,
    /// The execute rules that then replace the per-file split (see
    /// [`crate::policy::programs::Commands::whole`]); `None`: the split
    /// stays (nothing blocked, or a blocked file could not be examined).
    pub whole_exec: Option<Vec<Rule>>,
}

/// One line of /proc/self/mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    /// major:minor of the filesystem.
    pub dev: String,
    /// The directory of the filesystem that is mounted.
    pub root: PathBuf,
    pub mount_point: PathBuf,
}

/// Parses /proc/self/mountinfo text (see proc(5)); unparsable lines are
/// skipped, which can only leave an alias unmasked if the kernel's format
/// changed, so [`mount_table`] refuses an empty table.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    // One parser for the table, shared with the policy's alias detection.
    crate::policy::mounts::parse(text)
        .into_iter()
        .map(|m| MountEntry {
            dev: m.dev,
            root: m.root,
            mount_point: m.mount_point,
        })
        .collect()
}

/// This process's mount table, as the policy saw it (see
/// [`crate::policy::mounts::mountinfo`]).
pub fn mount_table() -> Result<Vec<MountEntry>, MountError> {
    let text = crate::policy::mounts::mountinfo().map_err(|source| MountError::Failed {
        step: "reading /proc/self/mountinfo",
        path: PathBuf::from("/proc/self/mountinfo"),
        source,
    })?;
    let table = parse_mountinfo(text);
    if table.is_empty() {
        return Err(MountError::Failed {
            step: "parsing /proc/self/mountinfo",
            path: PathBuf::from("/proc/self/mountinfo"),
            source: io::Error::from(io::ErrorKind::InvalidData),
        });
    }
    Ok(table)
}

/// The other names of `path` in the mount table: the same place of the
/// same filesystem seen through another mount.
pub fn aliases(path: &Path, table: &[MountEntry]) -> Vec<PathBuf> {
    // The mount that shows `path`: the longest mount point above it, the
    // later of equal ones (mounted on top).
    let Some(own) = table
        .iter()
        .enumerate()
        .filter(|(_, m)| paths::is_within(path, &m.mount_point))
        .max_by_key(|(i, m)| (m.mount_point.as_os_str().len(), *i))
        .map(|(_, m)| m)
    else {
        return Vec::new();
    };
    let Ok(rest) = path.strip_prefix(&own.mount_point) else {
        return Vec::new();
    };
    let in_fs = own.root.join(rest);
    let mut out: Vec<PathBuf> = Vec::new();
    for m in table {
        if m.dev != own.dev || !paths::is_within(&in_fs, &m.root) {
            continue;
        }
        let Ok(below) = in_fs.strip_prefix(&m.root) else {
            continue;
        };
        let alias = m.mount_point.join(below);
        if alias != path && !out.contains(&alias) {
            out.push(alias);
        }
    }
    out
}

/// Whether an entry exists at `p` that a mount can cover (not a symlink:
/// its target is listed and masked on its own).
fn mask_kind(p: &Path) -> Option<Kind> {
    let meta = std::fs::symlink_metadata(p).ok()?;
    if meta.file_type().is_symlink() {
        return None;
    }
    Some(if meta.is_dir() { Kind::Dir } else { Kind::File })
}

fn user_grant(o: &Origin) -> bool {
    match o {
        Origin::User { .. } => true,
        Origin::CarveOut { from, .. } | Origin::ExecSplit { from, .. } => user_grant(from),
        Origin::System { .. } | Origin::TempDir | Origin::MountLayer { .. } => false,
    }
}

/// Keeps only the paths not inside another one of the list.
fn outermost(mut v: Vec<PathBuf>) -> Vec<PathBuf> {
    v.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    v.dedup();
    let mut out: Vec<PathBuf> = Vec::new();
    for p in v {
        if !out.iter().any(|o| paths::is_within(&p, o)) {
            out.push(p);
        }
    }
    out
}

/// A character or block device (not following a final symlink: rules hold
/// resolved paths).
fn is_device(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    std::fs::symlink_metadata(p)
        .map(|m| m.file_type().is_char_device() || m.file_type().is_block_device())
        .unwrap_or(false)
}

/// The mount plan for `policy` on a machine with mount table `table`.
pub fn plan(policy: &Policy, table: &[MountEntry], run_dir: Option<&Path>) -> MountPlan {
    const MODIFY: Access = Access::WRITE.union(Access::DELETE);
    // Write grants, as granted (a carved grant by its own path).
    let mut writable: Vec<PathBuf> = Vec::new();
    for r in &policy.rules {
        // A device node is written through the driver, which a read-only
        // mount does not stop (the kernel checks read-only only for files,
        // directories and symlinks): `/dev/null`, `/dev/tty` and the rest
        // stay usable on the read-only tree, while chmod, chown and utime
        // of them fail with EROFS like everything else outside the grants.
        if r.kind == Kind::File && is_device(&r.path) {
            continue;
        }
        for (a, o) in &r.parts {
            if !a.intersects(MODIFY) {
                continue;
            }
            match o {
                Origin::CarveOut { grant, .. } if user_grant(o) => writable.push(grant.clone()),
                Origin::TempDir | Origin::MountLayer { .. } => {}
                _ => writable.push(r.path.clone()),
            }
        }
    }
    let mut writable = outermost(writable);

    // Walls: each carved directory, readable as a whole where its grant
    // reads. Execute is not added: the per-entry rules already carry it,
    // and a directory-wide execute right would undo the blocklist's
    // per-file split.
    let mut walls: Vec<(PathBuf, Access)> = Vec::new();
    for c in &policy.carved {
        if c.access.contains(Access::READ) && !walls.iter().any(|(p, _)| *p == c.dir) {
            walls.push((c.dir.clone(), Access::READ));
        }
    }

    // Masks: the existing protected entries beneath a carved directory
    // (nothing else can reach one: carving keeps every other rule off
    // them), and their aliases.
    let mut masks: Vec<Mask> = Vec::new();
    let mut targets: Vec<&crate::policy::Protected> = policy
        .protected
        .iter()
        .filter(|p| p.exists)
        // An overlaid cache is never written (its writes land in the upper
        // directory), so its read-only protection is the overlay itself.
        .filter(|p| {
            !(p.read_only
                && policy
                    .overlays
                    .iter()
                    .any(|o| paths::is_within(&p.path, &o.path)))
        })
        .filter(|p| {
            policy
                .carved
                .iter()
                .any(|c| paths::is_within(&p.path, &c.dir) && p.path != c.dir)
        })
        .collect();
    targets.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    for p in targets {
        // Inside a hidden entry already: covered by its mask.
        if masks
            .iter()
            .any(|m| !m.read_only && paths::is_within(&p.path, &m.path))
        {
            continue;
        }
        let Some(kind) = mask_kind(&p.path) else {
            continue;
        };
        let names = std::iter::once((p.path.clone(), None)).chain(
            aliases(&p.path, table)
                .into_iter()
                .map(|a| (a, Some(p.path.clone()))),
        );
        for (path, alias_of) in names {
            if masks.iter().any(|m| m.path == path) {
                continue;
            }
            let kind = if alias_of.is_some() {
                match mask_kind(&path) {
                    Some(k) => k,
                    None => continue,
                }
            } else {
                kind
            };
            masks.push(Mask {
                path,
                kind,
                category: p.category.clone(),
                alias_of,
                read_only: p.read_only,
            });
        }
    }

    // Carved directories whose every protected entry beneath exists and is
    // covered by a mount (a mask, or a read-only bind): the mounts alone
    // keep those entries, so the grant's own rights come back for the
    // directory itself, all but REMOVE_DIR (which would let the command
    // move a directory holding a mask aside and put a planted one in its
    // place). This is what lets a project whose `.git/config` is read-only
    // create files at its top. A directory with a protected name that does
    // not exist (nothing to mount on: `~/.bash_profile`) stays carved.
    let covered = |p: &Path| masks.iter().any(|m| paths::is_within(p, &m.path));
    for (dir, access) in walls.iter_mut() {
        // Every grant split here (--allow and --allow-delete are two).
        let granted = policy
            .carved
            .iter()
            .filter(|c| &c.dir == dir)
            .fold(Access::NONE, |a, c| a | c.access);
        let restorable = policy
            .protected
            .iter()
            .filter(|p| &p.path != dir && paths::is_within(&p.path, dir))
            .all(|p| p.exists && covered(&p.path));
        if restorable {
            let mut a = granted.without(Access::EXECUTE.union(Access::DELETE));
            if granted.contains(Access::DELETE) {
                a |= Access::DELETE_FILES;
            }
            *access = a;
        }
    }

    // Private temporary directories, unless a grant names one itself.
    let mut private = Vec::new();
    for dir in PRIVATE_DIRS {
        let Ok(canonical) = std::fs::canonicalize(dir) else {
            continue;
        };
        if !canonical.is_dir() {
            continue;
        }
        let named = policy.rules.iter().any(|r| {
            r.path == canonical
                && r.parts
                    .iter()
                    .any(|(_, o)| matches!(o, Origin::User { .. }))
        });
        if named {
            continue;
        }
        let mut inside: Vec<PathBuf> = policy
            .rules
            .iter()
            .filter(|r| {
                r.path != canonical
                    && paths::is_within(&r.path, &canonical)
                    && r.parts
                        .iter()
                        .any(|(_, o)| !matches!(o, Origin::TempDir | Origin::MountLayer { .. }))
            })
            .map(|r| r.path.clone())
            .collect();
        // Granted host sockets must stay reachable by their path.
        inside.extend(
            policy
                .net
                .unix_sockets
                .iter()
                .map(|u| u.path.clone())
                .filter(|p| paths::is_within(p, &canonical)),
        );
        inside.extend(
            walls
                .iter()
                .map(|(p, _)| p.clone())
                .filter(|p| p != &canonical && paths::is_within(p, &canonical)),
        );
        // The run directory under TMPDIR=/dev/shm/...: hiding it would
        // hide the command's TMPDIR (under /tmp it becomes the private
        // /tmp itself).
        if dir != "/tmp" {
            inside.extend(
                run_dir
                    .filter(|r| paths::is_within(r, &canonical))
                    .map(Path::to_path_buf),
            );
        }
        // A grant inside it would sit beneath the private tmpfs's own
        // everything-allowed rule (Landlock rights add up along the path),
        // so such a directory stays the host's, under today's rules.
        if !inside.is_empty() {
            continue;
        }
        let source = (dir == "/tmp")
            .then(|| run_dir.map(Path::to_path_buf))
            .flatten();
        private.push(Private {
            path: canonical,
            source,
        });
    }

    // The run directory, where it is not the private /tmp, is written in
    // place.
    if let Some(r) = run_dir {
        if !private.iter().any(|p| p.source.as_deref() == Some(r)) {
            writable.push(r.to_path_buf());
        }
    }
    // A new devpts instance hides the command's own terminal's name too
    // (ttyname() fails, `tty` says "not a tty", interactive programs
    // break): where the command runs on a pty, /dev/pts stays the host's,
    // under the Landlock rules for terminals.
    let pts = Path::new("/dev/pts").is_dir()
        && Path::new("/dev/ptmx").exists()
        && !own_terminal_is_a_pty();
    let overlays = policy
        .overlays
        .iter()
        .map(|o| (o.path.clone(), o.upper.clone()))
        .collect();
    let (programs, whole_exec) = program_masks(policy, table);
    MountPlan {
        writable,
        masks,
        walls,
        private,
        pts,
        overlays,
        programs,
        whole_exec,
    }
}

/// Every name of a blocked program in the split directories, on every
/// mount that shows it, to be masked, and the execute rules that replace
/// the split (`None`: nothing is split, the split stays). Pure over the
/// scan and the mount table: no system call.
///
/// Another mount of the same place (a bind mount of a program directory,
/// or of a filesystem holding one) must be covered as well: there the
/// file is reached through the same directory inode, which now has
/// execute as a whole. A symlink needs no mask: the kernel checks the
/// file it resolves to, which is masked itself when it is a blocked
/// program of a split directory. Nor does an entry that is neither a file
/// nor a directory: `execve` refuses it anyway. An entry gone since the
/// scan makes [`apply`] fail, and the command does not run (fail closed).
fn program_masks(policy: &Policy, table: &[MountEntry]) -> (Vec<ProgramMask>, Option<Vec<Rule>>) {
    use crate::policy::programs::BlockedKind;
    let c = &policy.commands;
    if c.split.is_empty() {
        return (Vec::new(), None);
    }
    let mut masks: Vec<ProgramMask> = Vec::new();
    for b in &c.blocked {
        let kind = match b.kind {
            BlockedKind::File => Kind::File,
            BlockedKind::Dir => Kind::Dir,
            BlockedKind::Link | BlockedKind::Other => continue,
        };
        for path in std::iter::once(b.path.clone()).chain(aliases(&b.path, table)) {
            if !masks.iter().any(|m| m.path == path) {
                masks.push(ProgramMask {
                    path,
                    kind,
                    category: b.hit.category.clone(),
                });
            }
        }
    }
    (masks, Some(c.whole.clone()))
}

/// Whether stdin, stdout or stderr is a pty of the host's devpts.
fn own_terminal_is_a_pty() -> bool {
    (0..3).any(|fd| {
        std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|p| p.starts_with("/dev/pts/"))
    })
}

impl MountPlan {
    /// The Landlock rules the mount layer adds, made after the mounts.
    pub fn rules(&self) -> Vec<Rule> {
        let mut out: Vec<Rule> = Vec::new();
        for (path, access) in &self.walls {
            out.push(Rule {
                path: path.clone(),
                kind: Kind::Dir,
                parts: vec![(
                    *access,
                    Origin::MountLayer {
                        what: "carved directory listable: its protected entries are masked",
                    },
                )],
            });
        }
        for (path, _) in &self.overlays {
            out.push(Rule {
                path: path.clone(),
                kind: Kind::Dir,
                parts: vec![(
                    Access::ALL,
                    Origin::MountLayer {
                        what: "overlaid cache: changes land in nono's upper directory, the real one is not written",
                    },
                )],
            });
        }
        // The private devpts holds only the ptys the command makes (the
        // Landlock path grants only its own terminal): all of it is its.
        if self.pts {
            out.push(Rule {
                path: PathBuf::from("/dev/pts"),
                kind: Kind::Dir,
                parts: vec![(
                    Access::READ_WRITE.union(Access::IOCTL),
                    Origin::MountLayer {
                        what: "private devpts instance: only the ptys the command makes",
                    },
                )],
            });
        }
        for p in &self.private {
            out.push(Rule {
                path: p.path.clone(),
                kind: Kind::Dir,
                parts: vec![(
                    Access::ALL,
                    Origin::MountLayer {
                        what: "private temporary directory of this run",
                    },
                )],
            });
        }
        out
    }

    /// The rules `why` adds: the walls. The private directories are left
    /// out: a path there names the run's own file, not the host's, and
    /// `why` answers for the host's (with a note).
    pub fn why_rules(&self) -> Vec<Rule> {
        let mut r = self.rules();
        r.retain(|rule| !self.private.iter().any(|p| p.path == rule.path));
        r
    }

    /// The overlay that holds `path`, if any: (directory, upper).
    pub fn overlay_of(&self, path: &Path) -> Option<&(PathBuf, PathBuf)> {
        self.overlays
            .iter()
            .find(|(p, _)| paths::is_within(path, p))
    }

    /// The private directory that holds `path`, if any.
    pub fn private_dir_of(&self, path: &Path) -> Option<&Path> {
        self.private
            .iter()
            .find(|p| paths::is_within(path, &p.path))
            .map(|p| p.path.as_path())
    }

    /// The path that TMPDIR points to: the private /tmp if there is one.
    pub fn tmpdir(&self) -> Option<&Path> {
        self.private
            .iter()
            .find(|p| p.path == Path::new("/tmp"))
            .map(|p| p.path.as_path())
    }
}

/// Why the mount layer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// The kernel lacks what the layer needs; nothing was changed yet, so
    /// the Landlock-only sandbox can still be applied.
    #[error("the kernel cannot {what}{}: {source}", needs.map(|k| format!(" ({}, Linux {})", k.name, k.linux)).unwrap_or_default())]
    Unavailable {
        what: &'static str,
        /// The kernel interface that is missing, when it is known.
        needs: Option<crate::sandbox::abi::KernelFeature>,
        #[source]
        source: io::Error,
    },
    /// Something failed after the layer started changing the mounts.
    #[error("mount layer: {step} {} failed: {source}", crate::output::path(path))]
    Failed {
        step: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn failed<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> MountError + 'a {
    move |source| MountError::Failed {
        step,
        path: path.to_path_buf(),
        source,
    }
}

/// Sets up the plan in this process's (new, private) mount namespace.
/// Must run after `namespaces::enter` with `mount: true`.
pub fn apply(plan: &MountPlan) -> Result<(), MountError> {
    let cwd = std::env::current_dir().ok();
    apply_mounts(plan)?;
    // The working directory still refers to the mount it was entered on
    // (now read-only, or covered by a private tmpfs): enter it again by
    // name, so that relative paths see the new mounts. Where the name is
    // gone (under a private /tmp, not granted) the old one stays, which
    // Landlock denies like before.
    if let Some(cwd) = cwd {
        let _ = std::env::set_current_dir(&cwd);
    }
    Ok(())
}

fn apply_mounts(plan: &MountPlan) -> Result<(), MountError> {
    let root = Path::new("/");
    // Nothing done here may propagate back to the host's namespace.
    mount("none", root, None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(failed("making the mounts private:", root))?;
    // The first calls that need a recent kernel: fail before any change
    // anyone could see, so that the Landlock-only sandbox can still run.
    let masks = staging().map_err(|source| MountError::Unavailable {
        what: "create a private tmpfs",
        needs: Some(crate::sandbox::abi::MOUNT_API),
        source,
    })?;
    let probe = open_tree(masks.as_raw_fd(), Path::new("d"), false).map_err(|source| {
        MountError::Unavailable {
            what: "clone a detached mount (open_tree on an fsmount descriptor)",
            needs: None,
            source,
        }
    })?;
    // mount_setattr changing nothing: whether the call exists.
    setattr(libc::AT_FDCWD, root, 0, 0, 0).map_err(|source| MountError::Unavailable {
        what: "change mount attributes",
        needs: Some(crate::sandbox::abi::MOUNT_SETATTR),
        source,
    })?;

    // Overlays first: overlayfs needs its upper directory on a writable
    // mount when it is mounted (it keeps a private reference afterwards).
    let userxattr = !nix::unistd::geteuid().is_root();
    for (lower, base) in &plan.overlays {
        let upper = base.join("upper");
        let work = base.join("work");
        for d in [&upper, &work] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)
                .map_err(failed("creating the overlay directory", d))?;
        }
        let mut opts = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            upper.display(),
            work.display()
        );
        if userxattr {
            opts.push_str(",userxattr");
        }
        mount(
            "overlay",
            lower,
            Some("overlay"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(&opts),
        )
        .map_err(failed("mounting an overlay on", lower))?;
    }

    setattr(libc::AT_FDCWD, root, AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0)
        .map_err(failed("making the mount tree read-only:", root))?;

    for w in &plan.writable {
        mount(
            &w.to_string_lossy(),
            w,
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )
        .map_err(failed("binding the write grant", w))?;
        // Mounts that were read-only on the host stay so (the kernel locks
        // them in a user namespace): then only the top is made writable.
        if setattr(libc::AT_FDCWD, w, AT_RECURSIVE, 0, MOUNT_ATTR_RDONLY).is_err() {
            setattr(libc::AT_FDCWD, w, 0, 0, MOUNT_ATTR_RDONLY)
                .map_err(failed("making the write grant writable:", w))?;
        }
    }

    for (lower, _) in &plan.overlays {
        setattr(libc::AT_FDCWD, lower, 0, 0, MOUNT_ATTR_RDONLY)
            .map_err(failed("making the overlay writable:", lower))?;
    }

    let mut first = Some(probe);
    for m in &plan.masks {
        let tree = if m.read_only {
            let t = open_tree(libc::AT_FDCWD, &m.path, true).map_err(failed("cloning", &m.path))?;
            setattr(
                t.as_raw_fd(),
                Path::new(""),
                libc::AT_EMPTY_PATH | AT_RECURSIVE,
                MOUNT_ATTR_RDONLY,
                0,
            )
            .map_err(failed("making read-only:", &m.path))?;
            t
        } else {
            match (m.kind, first.take()) {
                (Kind::Dir, Some(t)) => t,
                (kind, spare) => {
                    first = spare;
                    let src = if kind == Kind::Dir { "d" } else { "f" };
                    open_tree(masks.as_raw_fd(), Path::new(src), false)
                        .map_err(failed("cloning the mask for", &m.path))?
                }
            }
        };
        move_mount(&tree, &m.path).map_err(failed("masking", &m.path))?;
    }
    // Blocked programs: an empty file (directory) from the noexec tmpfs.
    for p in &plan.programs {
        let src = if p.kind == Kind::Dir { "d" } else { "x" };
        let tree = open_tree(masks.as_raw_fd(), Path::new(src), false)
            .map_err(failed("cloning the mask for", &p.path))?;
        move_mount(&tree, &p.path).map_err(failed("masking the blocked program", &p.path))?;
    }

    for p in &plan.private {
        match &p.source {
            Some(src) => {
                mount(&src.to_string_lossy(), &p.path, None, libc::MS_BIND, None)
                    .map_err(failed("binding the run directory on", &p.path))?;
                setattr(
                    libc::AT_FDCWD,
                    &p.path,
                    0,
                    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                    MOUNT_ATTR_RDONLY,
                )
                .map_err(failed("making writable:", &p.path))?;
            }
            None => mount(
                "tmpfs",
                &p.path,
                Some("tmpfs"),
                libc::MS_NOSUID | libc::MS_NODEV,
                Some("mode=1777"),
            )
            .map_err(failed("mounting a private tmpfs on", &p.path))?,
        }
    }

    if plan.pts {
        let pts = Path::new("/dev/pts");
        mount(
            "devpts",
            pts,
            Some("devpts"),
            libc::MS_NOSUID | libc::MS_NOEXEC,
            Some("newinstance,ptmxmode=0666,mode=0620"),
        )
        .map_err(failed("mounting a private devpts on", pts))?;
        let ptmx = Path::new("/dev/ptmx");
        mount("/dev/pts/ptmx", ptmx, None, libc::MS_BIND, None).map_err(failed("binding", ptmx))?;
    }
    Ok(())
}

/// The first steps of [`apply`], the ones that need kernel support, run in
/// a short-lived child: whether the layer can be set up here (for
/// `--dry-run`, `why` and `setup`).
pub fn probe() -> Result<(), String> {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::ForkResult;
    // The child only makes system calls and leaves with _exit.
    match sys::fork_single_threaded() {
        Ok(ForkResult::Child) => {
            let req = super::namespaces::Unshare {
                mount: true,
                net: false,
            };
            let code = match super::namespaces::enter(req) {
                Err(_) => 1,
                Ok(_) => match first_steps() {
                    Ok(_) => 0,
                    Err(_) => 2,
                },
            };
            // Ends the child without running the parent's destructors or
            // atexit handlers.
            sys::exit_now(code)
        }
        Ok(ForkResult::Parent { child }) => match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(WaitStatus::Exited(_, 2)) => {
                Err("the kernel lacks the mount API the layer needs (open_tree on a detached tmpfs, mount_setattr)".into())
            }
            Ok(_) | Err(_) => {
                // Ask again in this process's terms for the precise reason.
                let reason = super::namespaces::probe(super::namespaces::Unshare {
                    mount: true,
                    net: false,
                })
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "cannot create a mount namespace".into());
                Err(reason)
            }
        },
        Err(e) => Err(format!("cannot probe for namespaces: fork failed: {e}")),
    }
}

/// The steps of [`apply`] that fail with [`MountError::Unavailable`].
fn first_steps() -> io::Result<()> {
    let root = Path::new("/");
    mount("none", root, None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    let masks = staging()?;
    open_tree(masks.as_raw_fd(), Path::new("d"), false)?;
    setattr(libc::AT_FDCWD, root, 0, 0, 0)
}

impl MountPlan {
    /// One line per path, in the order the plan is applied.
    pub fn lines(&self) -> Vec<crate::sandbox::MountLine> {
        use crate::sandbox::MountLine;
        let mut out = vec![MountLine {
            path: PathBuf::from("/"),
            what: "read_only",
            detail: "every mount read-only (chmod, chown, utime, xattrs fail with EROFS) except the write grants".into(),
        }];
        for w in &self.writable {
            out.push(MountLine {
                path: w.clone(),
                what: "writable",
                detail: "write grant, bound back read-write".into(),
            });
        }
        for m in &self.masks {
            let alias = m
                .alias_of
                .as_ref()
                .map(|a| format!(", another name of {}", crate::output::path(a)))
                .unwrap_or_default();
            let (what, detail) = if m.read_only {
                (
                    "read_only",
                    format!("{} bound read-only{alias}", m.category),
                )
            } else if m.kind == Kind::Dir {
                (
                    "masked",
                    format!(
                        "{}: an empty read-only directory covers it{alias}",
                        m.category
                    ),
                )
            } else {
                (
                    "masked",
                    format!("{}: an empty read-only file covers it{alias}", m.category),
                )
            };
            out.push(MountLine {
                path: m.path.clone(),
                what,
                detail,
            });
        }
        for p in &self.programs {
            out.push(MountLine {
                path: p.path.clone(),
                what: "masked",
                detail: format!(
                    "blocked program ({}): an empty non-executable file covers it (execve fails with EACCES)",
                    p.category
                ),
            });
        }
        for (p, _) in &self.walls {
            out.push(MountLine {
                path: p.clone(),
                what: "listable",
                detail: "carved directory, readable as a whole: its protected entries are masked"
                    .into(),
            });
        }
        for p in &self.private {
            let detail = match &p.source {
                Some(src) => format!(
                    "the run's private directory ({}) bound here, exported as TMPDIR; removed at the next start after the run",
                    crate::output::path(src)
                ),
                None if p.path == Path::new("/tmp") => {
                    "the run's private directory bound here, exported as TMPDIR".to_string()
                }
                None => "a tmpfs of this run, empty at start, gone at the end".to_string(),
            };
            out.push(MountLine {
                path: p.path.clone(),
                what: "private",
                detail,
            });
        }
        for (path, upper) in &self.overlays {
            out.push(MountLine {
                path: path.clone(),
                what: "overlaid",
                detail: format!(
                    "the real directory with the command's changes on top; they land in {}",
                    crate::output::path(upper)
                ),
            });
        }
        if self.pts {
            out.push(MountLine {
                path: PathBuf::from("/dev/pts"),
                what: "private",
                detail: "a new devpts instance: ptys made inside work, the user's other terminals are not in it".into(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dev: &str, root: &str, mp: &str) -> MountEntry {
        MountEntry {
            dev: dev.into(),
            root: root.into(),
            mount_point: mp.into(),
        }
    }

    #[test]
    fn mountinfo_is_parsed_with_escapes() {
        let t = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                 40 22 8:1 /home/u /mnt/my\\040home rw - ext4 /dev/sda1 rw\n";
        assert_eq!(
            parse_mountinfo(t),
            vec![
                entry("8:1", "/", "/"),
                entry("8:1", "/home/u", "/mnt/my home")
            ]
        );
    }

    #[test]
    fn aliases_are_other_mounts_of_the_same_place() {
        let table = vec![
            entry("8:1", "/", "/"),
            entry("0:5", "/", "/proc"),
            entry("8:1", "/home/u", "/mnt/alias"),
            entry("8:1", "/home", "/srv/homes"),
            entry("8:1", "/var", "/mnt/var"),
            entry("8:2", "/home/u", "/mnt/other-disk"),
        ];
        assert_eq!(
            aliases(Path::new("/home/u/.ssh"), &table),
            vec![
                PathBuf::from("/mnt/alias/.ssh"),
                PathBuf::from("/srv/homes/u/.ssh")
            ]
        );
        // Seen from the alias, the original is the alias.
        assert!(
            aliases(Path::new("/mnt/alias/.ssh"), &table).contains(&PathBuf::from("/home/u/.ssh"))
        );
    }

    #[test]
    fn a_mount_on_top_decides_what_a_path_shows() {
        // /tmp is a tmpfs on top of the root filesystem's /tmp.
        let table = vec![
            entry("8:1", "/", "/"),
            entry("0:30", "/", "/tmp"),
            entry("0:30", "/x", "/mnt/x"),
        ];
        assert_eq!(
            aliases(Path::new("/tmp/x/.ssh"), &table),
            vec![PathBuf::from("/mnt/x/.ssh")]
        );
    }

    #[test]
    fn outermost_keeps_only_the_tops() {
        let v = vec![
            PathBuf::from("/a/b"),
            PathBuf::from("/a"),
            PathBuf::from("/ab"),
            PathBuf::from("/a/b/c"),
        ];
        assert_eq!(
            outermost(v),
            vec![PathBuf::from("/a"), PathBuf::from("/ab")]
        );
    }
}
