//! Decisions for `nono why`: would this operation on this path be allowed,
//! and which rule decides it.
//!
//! The answer is computed from the same [`Rule`] list the backend hands to
//! the kernel, with the kernel's semantics: rights of every rule on the path
//! or one of its ancestors add up; symlinks are followed component by
//! component (the last one too, except for delete, which removes the link
//! itself); unlink and rename are checked on the parent directory; creation
//! needs write on the parent. The private temporary directory of a run is
//! added exactly as `run` adds it, under a placeholder name, so that
//! `$TMPDIR/...` can be asked about before the directory exists.

use std::ffi::{OsStr, OsString};
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::{paths, protected, Access, CarvedDir, Context, Op, Origin, Policy, PolicyError, Rule};

/// The name the placeholder for a run's private temporary directory gets:
/// the real one is `run-` plus six random characters, chosen at start.
pub const TMPDIR_PLACEHOLDER: &str = "run-XXXXXX";

/// How many symlinks the kernel follows in one lookup before ELOOP.
const MAX_SYMLINKS: usize = 40;

/// What decides a [`Decision`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The path is, or is inside, a protected path: nono never grants it.
    Protected { path: PathBuf, category: String },
    /// A write or delete inside a read-only protected path (programs on the
    /// user's PATH, git and nono configuration): readable when granted,
    /// never writable.
    ReadOnly { path: PathBuf, category: String },
    /// Granted by the rules marked decisive.
    Granted,
    /// Inside the run's private temporary directory: everything is allowed.
    TempDir,
    /// The path is writable, but delete protection holds (no
    /// `--allow-delete` covers it).
    DeleteProtected,
    /// A grant would cover the path, but its directory `dir` was split to
    /// keep protected paths out; `dir` itself (`itself`) or an entry of it
    /// that did not exist when the policy was built has no rule.
    CarveOut {
        dir: PathBuf,
        grant: PathBuf,
        itself: bool,
    },
    /// The path is executable, but its `#!` interpreter is not.
    Interpreter { path: PathBuf },
    /// No rule reaches the path with this right.
    NotGranted,
    /// Execute of a program on the command blocklist (`message` says
    /// which name and category).
    BlockedCommand { message: String, allow: String },
}

impl Reason {
    /// The stable machine-readable code of the reason (`--json`).
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Protected { .. } => "protected",
            Reason::ReadOnly { .. } => "read_only",
            Reason::Granted => "granted",
            Reason::TempDir => "temp_dir",
            Reason::DeleteProtected => "delete_protected",
            Reason::CarveOut { .. } => "carve_out",
            Reason::Interpreter { .. } => "interpreter",
            Reason::NotGranted => "not_granted",
            Reason::BlockedCommand { .. } => "blocked",
        }
    }
}

/// One symlink followed on the way, as the kernel follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub link: PathBuf,
    /// The link's content as stored (may be relative).
    pub target: PathBuf,
}

/// A grant option to add to the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantFlag {
    Read,
    Write,
    AllowDelete,
}

impl GrantFlag {
    pub fn flag(self) -> &'static str {
        match self {
            GrantFlag::Read => "--read",
            GrantFlag::Write => "--write",
            GrantFlag::AllowDelete => "--allow-delete",
        }
    }
}

/// Options that, added to the same command line, allow the operation.
/// Only ever offered after checking it: the policy is rebuilt with them and
/// decided again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub options: Vec<(GrantFlag, PathBuf)>,
}

/// The answer to "may OP be done on PATH".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// As the user wrote it.
    pub given: PathBuf,
    /// `~`, `$TMPDIR` and the current directory applied; not yet resolved.
    pub absolute: PathBuf,
    /// The object the operation acts on, every symlink resolved as the
    /// kernel resolves it (the last component is not followed for delete).
    pub resolved: PathBuf,
    /// Whether `resolved` exists now.
    pub exists: bool,
    /// Symlinks followed, in order.
    pub hops: Vec<Hop>,
    /// The object on which the kernel checks the right: the path itself, or
    /// its parent directory for delete and for creating a missing path.
    pub checked: PathBuf,
    pub op: Op,
    /// The rights the operation needs on `checked`.
    pub needs: Access,
    pub allowed: bool,
    pub reason: Reason,
    /// Rights that reach `checked`.
    pub rights: Access,
    /// The rules that reach `checked`, with whether each grants what is
    /// needed (decisive).
    pub rules: Vec<(Rule, bool)>,
    /// The smallest option that would allow it, when one exists.
    pub suggestion: Option<Suggestion>,
    /// Whether the path is in the private temporary directory of the run.
    pub in_tmpdir: bool,
    /// The `run-*` directory of another run that the path lies in.
    pub other_run: Option<PathBuf>,
    /// Short remarks that matter for this answer.
    pub notes: Vec<String>,
}

impl Decision {
    pub fn checks_parent(&self) -> bool {
        self.checked != self.resolved
    }
}

/// Where `run` puts the private temporary directories, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TmpBase {
    /// `<TMPDIR or /tmp>/nono-<uid>`, canonical as far as it exists.
    pub base: PathBuf,
}

impl TmpBase {
    pub fn new(raw: &Path) -> TmpBase {
        let base = canonical_prefix(raw);
        TmpBase { base }
    }

    /// The placeholder path standing for the next run's directory.
    pub fn placeholder(&self) -> PathBuf {
        self.base.join(TMPDIR_PLACEHOLDER)
    }

    /// `$TMPDIR/rest` as the kernel will see it: `..` climbs out of the
    /// run directory into the real base (canonical as far as it exists),
    /// so `$TMPDIR/../../etc/shadow` is not mistaken for a path inside it.
    /// Inside the run directory, which does not exist yet, names are
    /// lexical.
    pub fn resolve(&self, rest: &Path) -> PathBuf {
        use std::path::Component;
        let mut p = self.placeholder();
        for c in rest.components() {
            match c {
                Component::ParentDir => {
                    p.pop();
                }
                Component::Normal(n) => p.push(n),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        paths::normalize_lexically(&p)
    }

    /// The `run-*` directory `path` lies in, if any.
    fn run_dir_of(&self, path: &Path) -> Option<PathBuf> {
        let rest = path.strip_prefix(&self.base).ok()?;
        let first = rest.components().next()?;
        let name = first.as_os_str();
        let b = name.as_bytes();
        (b.starts_with(b"run-") || b.starts_with(b"new-")).then(|| self.base.join(name))
    }
}

/// Canonicalizes the longest existing prefix of an absolute path and
/// appends the rest lexically.
pub fn canonical_prefix(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest: Vec<OsString> = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&existing) {
            let mut out = c;
            for n in rest.iter().rev() {
                out.push(n);
            }
            return out;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(n), Some(parent)) => {
                rest.push(n.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// `$TMPDIR/rest` or `${TMPDIR}/rest` as written (quoted) by the user.
fn tmpdir_relative(raw: &Path) -> Option<&Path> {
    let b = raw.as_os_str().as_bytes();
    for prefix in [&b"$TMPDIR"[..], b"${TMPDIR}"] {
        if let Some(rest) = b.strip_prefix(prefix) {
            if rest.is_empty() {
                return Some(Path::new(""));
            }
            if let Some(r) = rest.strip_prefix(b"/") {
                return Some(Path::new(OsStr::from_bytes(r)));
            }
        }
    }
    None
}

/// The result of resolving a path like the kernel's lookup does.
struct Walk {
    path: PathBuf,
    exists: bool,
    hops: Vec<Hop>,
}

/// Resolves an absolute path component by component, following symlinks
/// (the last one only if `follow_last`), like path lookup in the kernel.
/// Where a component is missing the rest is appended as written.
fn walk(absolute: &Path, follow_last: bool) -> Walk {
    let mut pending: Vec<OsString> = absolute
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    let mut cur = PathBuf::from("/");
    let mut hops = Vec::new();
    while let Some(name) = pending.pop() {
        if name == ".." {
            cur.pop();
            continue;
        }
        let candidate = cur.join(&name);
        let is_last = pending.is_empty();
        let meta = match std::fs::symlink_metadata(&candidate) {
            Ok(m) => m,
            Err(_) => {
                let mut out = candidate;
                for n in pending.iter().rev() {
                    out.push(n);
                }
                return Walk {
                    path: paths::normalize_lexically(&out),
                    exists: false,
                    hops,
                };
            }
        };
        if meta.file_type().is_symlink() && (!is_last || follow_last) && hops.len() < MAX_SYMLINKS {
            let Ok(target) = std::fs::read_link(&candidate) else {
                cur = candidate;
                continue;
            };
            hops.push(Hop {
                link: candidate,
                target: target.clone(),
            });
            if target.is_absolute() {
                cur = PathBuf::from("/");
            }
            for c in target.components().rev() {
                match c {
                    Component::Normal(n) => pending.push(n.to_os_string()),
                    Component::ParentDir => pending.push(OsString::from("..")),
                    _ => {}
                }
            }
            continue;
        }
        cur = candidate;
    }
    Walk {
        path: cur,
        exists: true,
        hops,
    }
}

/// The `#!` interpreter of a script, if `p` is one.
fn interpreter_of(p: &Path) -> Option<PathBuf> {
    let mut head = [0u8; 256];
    let mut f = std::fs::File::open(p).ok()?;
    let n = f.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let interp = line
        .split(|b| *b == b' ' || *b == b'\t')
        .find(|t| !t.is_empty())?;
    Some(PathBuf::from(OsStr::from_bytes(interp)))
}

/// Decides `op` on `raw` under `policy`, for the sandbox `run` would build:
/// the policy plus a private temporary directory under `tmp`.
pub fn decide(
    policy: &Policy,
    raw: &Path,
    op: Op,
    ctx: &Context,
    tmp: &TmpBase,
) -> Result<Decision, PolicyError> {
    let mut policy = policy.clone();
    policy.add_tmpdir(&tmp.placeholder());
    let policy = &policy;

    let absolute = match tmpdir_relative(raw) {
        Some(rest) => tmp.resolve(rest),
        None => paths::expand(raw, ctx)?,
    };
    // Delete removes the name itself: a symlink is removed, not followed.
    let w = walk(&absolute, op != Op::Delete);
    let resolved = w.path;
    let exists = w.exists;
    let parent = resolved.parent().unwrap_or(Path::new("/")).to_path_buf();
    let checked = match op {
        Op::Delete => parent,
        Op::Write if !exists => parent,
        _ => resolved.clone(),
    };
    let mut needs = op.needs();
    let interpreter = if op == Op::Exec && exists {
        interpreter_of(&resolved)
    } else {
        None
    };
    if interpreter.is_some() {
        // The interpreter opens the script by name to read it.
        needs |= Access::READ;
    }
    let (rights, covering) = policy.rights_at(&checked);
    let rules: Vec<(Rule, bool)> = covering
        .into_iter()
        .map(|r| (r.clone(), r.access().intersects(needs)))
        .collect();
    let placeholder = tmp.placeholder();
    let facts = Facts {
        policy,
        op,
        absolute: &absolute,
        resolved: &resolved,
        checked: &checked,
        exists,
        needs,
        rights,
        interpreter: interpreter.as_deref(),
        in_tmpdir: checked.starts_with(&placeholder),
    };
    let (allowed, reason) = facts.verdict();
    let other_run = tmp.run_dir_of(&checked).filter(|r| *r != placeholder);
    let notes = facts.notes(allowed, &reason, other_run.as_deref());
    let in_tmpdir = facts.in_tmpdir;

    Ok(Decision {
        given: raw.to_path_buf(),
        absolute,
        resolved,
        exists,
        hops: w.hops,
        checked,
        op,
        needs,
        allowed,
        reason,
        rights,
        rules,
        suggestion: None,
        in_tmpdir,
        other_run,
        notes,
    })
}

/// What an answer is decided from: the path as asked, resolved and
/// checked (the parent for a delete or a create), and what the kernel
/// grants there.
struct Facts<'a> {
    policy: &'a Policy,
    op: Op,
    absolute: &'a Path,
    resolved: &'a Path,
    checked: &'a Path,
    exists: bool,
    needs: Access,
    rights: Access,
    /// A script's interpreter, for exec.
    interpreter: Option<&'a Path>,
    in_tmpdir: bool,
}

impl Facts<'_> {
    /// Allowed or not, and the reason, in the order the checks decide:
    /// protection first, then the rights, then why they are missing.
    fn verdict(&self) -> (bool, Reason) {
        let policy = self.policy;
        let prot = protected::find(&policy.protected, self.resolved)
            .or_else(|| protected::find(&policy.protected, self.checked));
        if let Some(p) = prot {
            return (
                false,
                Reason::Protected {
                    path: p.path.clone(),
                    category: p.category.clone(),
                },
            );
        }
        let read_only = if matches!(self.op, Op::Write | Op::Delete) {
            protected::find_read_only(&policy.protected, self.resolved)
                .or_else(|| protected::find_read_only(&policy.protected, self.checked))
        } else {
            None
        };
        if let Some(p) = read_only {
            return (
                false,
                Reason::ReadOnly {
                    path: p.path.clone(),
                    category: p.category.clone(),
                },
            );
        }
        if self.rights.contains(self.needs) {
            return match self.interpreter.map(|i| interpreter_denied(policy, i)) {
                Some(Some(path)) => (false, Reason::Interpreter { path }),
                _ if self.in_tmpdir => (true, Reason::TempDir),
                _ => (true, Reason::Granted),
            };
        }
        if let Some(b) = blocked_exec(policy, self.op, self.resolved) {
            return (
                false,
                Reason::BlockedCommand {
                    message: b.message(self.resolved.as_os_str()),
                    allow: b.allow_flags(),
                },
            );
        }
        if let Some(c) = carve_reason(policy, self.checked, self.needs) {
            return (false, c);
        }
        if self.op == Op::Delete && self.rights.contains(Access::WRITE) {
            return (false, Reason::DeleteProtected);
        }
        (false, Reason::NotGranted)
    }

    /// The notes beside the answer.
    fn notes(&self, allowed: bool, reason: &Reason, other_run: Option<&Path>) -> Vec<String> {
        let mut notes = Vec::new();
        if self.in_tmpdir {
            notes.push(format!(
                "{TMPDIR_PLACEHOLDER} stands for the directory each run creates when it starts"
            ));
        } else if !self.exists {
            notes.push(match self.op {
                Op::Write => "the path does not exist: the answer is for creating it".to_string(),
                _ => "the path does not exist now: the answer is for when it does".to_string(),
            });
        }
        if let Some(p) = protected::find(&self.policy.protected, self.absolute) {
            if !matches!(reason, Reason::Protected { .. }) {
                notes.push(format!(
                    "the name lies in the protected {} but resolves elsewhere: the kernel checks where it leads",
                    crate::output::path(&p.path)
                ));
            }
        }
        if let Some(run) = other_run {
            notes.push(format!(
                "{} is the private temporary directory of another nono run: each run can reach only its own (ask about '$TMPDIR/...')",
                crate::output::path(run)
            ));
        } else if !allowed && self.rights.is_empty() && is_shared_tmp(self.checked) {
            notes.push(
                "the shared temporary directories are not granted; programs get a private TMPDIR (ask about '$TMPDIR/...')"
                    .to_string(),
            );
        }
        if allowed && self.op == Op::Write && self.exists && !self.rights.contains(Access::DELETE) {
            notes.push(
                "writing and appending work; truncating (e.g. `> file`) counts as delete and is denied"
                    .to_string(),
            );
        }
        if self.op == Op::Exec {
            if let Some(i) = self.interpreter {
                notes.push(format!(
                    "a script: the kernel also checks execute on its interpreter {}, and the interpreter must read it",
                    crate::output::path(i)
                ));
            }
        }
        notes
    }
}

/// Exec of a blocked program: the kernel rules leave it without execute,
/// and no grant would change that, only `--allow-command`.
fn blocked_exec(policy: &Policy, op: Op, resolved: &Path) -> Option<super::programs::CommandBlock> {
    if op != Op::Exec {
        return None;
    }
    let name = resolved.file_name()?;
    policy.commands.check_file(name, resolved)
}

/// The interpreter path when it cannot be executed under `policy`.
fn interpreter_denied(policy: &Policy, interp: &Path) -> Option<PathBuf> {
    let w = walk(interp, true);
    let (rights, _) = policy.rights_at(&w.path);
    let denied =
        !rights.contains(Access::EXECUTE) || protected::find(&policy.protected, &w.path).is_some();
    denied.then_some(w.path)
}

fn is_shared_tmp(p: &Path) -> bool {
    ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .any(|t| p.starts_with(t))
}

/// When `checked` is denied because a grant that would cover it was carved
/// around protected paths: the deepest split directory on its way.
fn carve_reason(policy: &Policy, checked: &Path, needs: Access) -> Option<Reason> {
    let mut best: Option<&CarvedDir> = None;
    for c in &policy.carved {
        if !checked.starts_with(&c.dir) || !checked.starts_with(&c.grant) {
            continue;
        }
        if !carved_grant_access(policy, &c.grant).contains(needs) {
            continue;
        }
        if best.is_none_or(|b| c.dir.starts_with(&b.dir)) {
            best = Some(c);
        }
    }
    best.map(|c| Reason::CarveOut {
        dir: c.dir.clone(),
        grant: c.grant.clone(),
        itself: c.dir == checked,
    })
}

/// The rights the carved grant on `grant` gave (what its pieces carry).
fn carved_grant_access(policy: &Policy, grant: &Path) -> Access {
    let mut a = Access::NONE;
    for r in &policy.rules {
        for (access, origin) in &r.parts {
            if matches!(origin, Origin::CarveOut { grant: g, .. } if g == grant) {
                a |= *access;
            }
        }
    }
    a
}

/// The candidate options that would allow a denied operation, smallest
/// first. The caller checks each by rebuilding the policy.
pub fn candidates(d: &Decision) -> Vec<Suggestion> {
    // Another run's temporary directory is that run's business.
    if d.allowed
        || matches!(
            d.reason,
            Reason::Protected { .. } | Reason::ReadOnly { .. } | Reason::BlockedCommand { .. }
        )
        || d.other_run.is_some()
    {
        return Vec::new();
    }
    let one = |flag, path: &Path| Suggestion {
        options: vec![(flag, path.to_path_buf())],
    };
    // Grants must name something that exists; when even the directory is
    // missing, a grant of some far ancestor (perhaps `/`) is not a fix.
    let parent = d.resolved.parent().unwrap_or(Path::new("/"));
    let dir_exists = d.checked.is_dir();
    let found = match (&d.reason, d.op) {
        (Reason::Interpreter { path }, _) => vec![one(GrantFlag::Read, path)],
        (_, Op::Read | Op::Exec) if d.exists => vec![one(GrantFlag::Read, &d.checked)],
        (_, Op::Read | Op::Exec) if parent.is_dir() => vec![one(GrantFlag::Read, parent)],
        (_, Op::Write) if d.exists => vec![one(GrantFlag::Write, &d.checked)],
        (_, Op::Write) if dir_exists => vec![one(GrantFlag::Write, &d.checked)],
        (Reason::DeleteProtected, Op::Delete) if dir_exists => {
            vec![one(GrantFlag::AllowDelete, &d.checked)]
        }
        (_, Op::Delete) if dir_exists => vec![Suggestion {
            options: vec![
                (GrantFlag::Write, d.checked.clone()),
                (GrantFlag::AllowDelete, d.checked.clone()),
            ],
        }],
        _ => Vec::new(),
    };
    // Never offer the whole filesystem.
    found
        .into_iter()
        .filter(|s| s.options.iter().all(|(_, p)| p != Path::new("/")))
        .collect()
}

/// True when the directory the operation needs does not exist, so no grant
/// can be suggested.
pub fn directory_missing(d: &Decision) -> bool {
    let dir = if d.checks_parent() {
        d.checked.as_path()
    } else {
        d.resolved.parent().unwrap_or(Path::new("/"))
    };
    !d.exists && !dir.is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{spec_with_grants, TempTree};

    struct T {
        _dir: TempTree,
        ctx: Context,
        tmp: TmpBase,
    }

    fn t() -> T {
        let dir = TempTree::new();
        dir.dirs(&["home/.ssh", "home/proj", "home/tmp", "outside"])
            .files(&[
                ("home/.ssh/id", "k"),
                ("home/proj/f", "f"),
                ("outside/x", "x"),
            ]);
        let home = dir.path("home");
        std::os::unix::fs::symlink(dir.path("outside"), home.join("proj/out")).unwrap();
        T {
            ctx: Context {
                home: home.clone(),
                cwd: home.join("proj"),
            },
            tmp: TmpBase::new(&dir.path("tmpbase")),
            _dir: dir,
        }
    }

    fn policy(t: &T, grants: &[(&str, Access)]) -> Policy {
        Policy::build(&spec_with_grants(grants), &t.ctx).unwrap()
    }

    fn ask(t: &T, p: &Policy, path: &str, op: Op) -> Decision {
        decide(p, Path::new(path), op, &t.ctx, &t.tmp).unwrap()
    }

    #[test]
    fn symlink_is_followed_and_reported() {
        let t = t();
        let p = policy(&t, &[(".", Access::READ_WRITE)]);
        let d = ask(&t, &p, "out/x", Op::Read);
        assert!(!d.allowed);
        assert_eq!(d.hops.len(), 1);
        assert!(d.resolved.ends_with("outside/x"));
        assert_eq!(d.reason, Reason::NotGranted);
        // Delete removes the link itself, in the granted directory.
        let d = ask(&t, &p, "out", Op::Delete);
        assert!(d.hops.is_empty());
        assert_eq!(d.checked, t.ctx.cwd);
        assert_eq!(d.reason, Reason::DeleteProtected);
    }

    #[test]
    fn carved_home_new_entry_and_itself_are_carve_outs() {
        let t = t();
        let p = policy(&t, &[("~", Access::READ_WRITE)]);
        let d = ask(&t, &p, "~/new-file", Op::Write);
        assert!(!d.allowed);
        assert!(matches!(d.reason, Reason::CarveOut { itself: true, .. }));
        let d = ask(&t, &p, "~/later", Op::Read);
        assert!(matches!(d.reason, Reason::CarveOut { itself: false, .. }));
        let d = ask(&t, &p, "~", Op::Read);
        assert!(matches!(d.reason, Reason::CarveOut { itself: true, .. }));
        assert!(
            candidates(&d).len() == 1,
            "offered, but the caller's check rejects it"
        );
        let d = ask(&t, &p, "~/proj/f", Op::Read);
        assert!(d.allowed);
        let d = ask(&t, &p, "~/.ssh/id", Op::Read);
        assert!(matches!(d.reason, Reason::Protected { .. }));
        assert!(candidates(&d).is_empty());
    }

    #[test]
    fn tmpdir_placeholder_allows_everything() {
        let t = t();
        let p = policy(&t, &[]);
        for op in [Op::Read, Op::Write, Op::Delete, Op::Exec] {
            let d = ask(&t, &p, "$TMPDIR/a", op);
            assert!(d.allowed, "{op:?}");
            assert_eq!(d.reason, Reason::TempDir);
        }
        let other = t.tmp.base.join("run-abcdef/x");
        let d = ask(&t, &p, other.to_str().unwrap(), Op::Read);
        assert!(!d.allowed);
        assert!(d.notes.iter().any(|n| n.contains("another nono run")));
    }

    #[test]
    fn delete_suggestions_depend_on_write() {
        let t = t();
        let p = policy(&t, &[(".", Access::READ_WRITE)]);
        let d = ask(&t, &p, "f", Op::Delete);
        assert_eq!(
            candidates(&d),
            vec![Suggestion {
                options: vec![(GrantFlag::AllowDelete, t.ctx.cwd.clone())]
            }]
        );
        let p = policy(&t, &[]);
        let d = ask(&t, &p, "f", Op::Delete);
        assert_eq!(candidates(&d)[0].options.len(), 2);
    }
}
