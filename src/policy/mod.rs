//! The policy: the one checked, platform-neutral description of a sandbox.
//!
//! Flags and profiles become a [`PolicySpec`]; [`Policy::build`] resolves
//! every path once, applies the system defaults, the protected paths and their
//! carve-outs, and yields a list of [`Rule`]s. That list is the single source
//! of truth: the Landlock backend turns each rule into a kernel rule, the
//! Seatbelt backend into a profile clause, `--dry-run` prints it and
//! `nono why` evaluates it with the kernel's own semantics (rights of all
//! rules on a path's ancestors add up).

pub mod access;
pub mod blocklist;
mod carve;
mod data;
pub mod decide;
pub mod env;
pub mod git;
mod lookup;
#[cfg(target_os = "linux")]
pub mod mounts;
pub mod net;
mod passwd;
pub mod paths;
pub mod programs;
pub mod protected;
mod rules;
pub mod spec;

use std::path::{Path, PathBuf};

pub use access::{Access, Op};
pub use net::NetPolicy;
pub use paths::{Context, Kind};
pub use protected::Protected;
pub use rules::{Origin, Rule};
pub use spec::{DeleteRequest, PolicySpec, Source};

/// A directory that a carve-out had to split: entries created in it after
/// nono starts are not covered by the grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarvedDir {
    pub dir: PathBuf,
    pub grant: PathBuf,
    /// The rights of the grant that was split here.
    pub access: Access,
}

/// An overlaid cache directory: the command sees the real directory with
/// its own changes on top; the changes land in `upper` (nono's, per
/// profile and path), never in `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlay {
    /// Canonical.
    pub path: PathBuf,
    /// Holds `upper/` and `work/` for overlayfs.
    pub upper: PathBuf,
    pub source: Source,
}

/// nono's own state: `$XDG_STATE_HOME/nono` (default
/// `~/.local/state/nono`), a protected path: it holds the snapshots of
/// `nono undo`, the overlays' upper directories and the blocklist's scan
/// cache, each of which a sandboxed program could turn against the next
/// run.
pub fn state_base(home: &Path) -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(".local/state"));
    state.join("nono")
}

/// Where overlay upper directories live: `$XDG_STATE_HOME/nono/overlay`
/// (default `~/.local/state/nono/overlay`). Protected: a grant there would
/// let the command shape what the next run's caches contain.
pub fn overlay_base(home: &Path) -> PathBuf {
    state_base(home).join("overlay")
}

/// One directory name per overlaid path: `/` and `%` percent-escaped.
fn overlay_key(path: &Path) -> String {
    path.to_string_lossy()
        .replace('%', "%25")
        .replace('/', "%2F")
}

/// The checked policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Sorted by path, one per path.
    pub rules: Vec<Rule>,
    pub protected: Vec<Protected>,
    pub carved: Vec<CarvedDir>,
    /// Network and IPC: `--net-block` (`net.block`), port grants, Unix
    /// socket grants; `net.restricted()` is what backends use.
    pub net: NetPolicy,
    pub profiles: Vec<String>,
    pub context: Context,
    /// The command blocklist and the files it leaves without execute.
    pub commands: programs::Commands,
    /// Directories on `$PATH` left writable because a write grant names
    /// them: (directory, grant as given).
    pub writable_path_dirs: Vec<(PathBuf, PathBuf)>,
    /// The `.git` directories of existing repositories in write grants
    /// whose configuration and hooks were made read-only (empty with
    /// `--allow-git-config`).
    pub git_dirs: Vec<PathBuf>,
    /// With `--allow-git-config`: the `.git` directories left writable.
    pub git_dirs_writable: Vec<PathBuf>,
    /// Overlaid cache directories (used by the mount-namespace layer only).
    pub overlays: Vec<Overlay>,
}

/// Why a policy could not be built. Every variant names the path at fault.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "cannot determine the home directory: HOME is unset and the user has no password entry"
    )]
    NoHome,
    #[error("cannot determine the current directory: {}", .0.kind())]
    Cwd(#[source] std::io::Error),
    #[error("empty path")]
    EmptyPath,
    #[error("{}: '~user' paths are not supported, only '~' and '~/...'", .0.display())]
    TildeUser(PathBuf),
    #[error("path does not exist: {}", .0.display())]
    NotFound(PathBuf),
    #[error("cannot resolve {}: {source}", path.display())]
    Resolve {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("refusing to grant {}: it is a protected path ({category}: {})", given.display(), protected.display())]
    Protected {
        given: PathBuf,
        protected: PathBuf,
        category: String,
    },
    #[error(
        "refusing to grant write access to {}: it is read-only ({category}: {})",
        crate::output::path(given),
        crate::output::path(protected)
    )]
    ReadOnly {
        given: PathBuf,
        protected: PathBuf,
        category: String,
    },
    #[error("--allow-delete {}: not inside any write grant (--allow or --write)", .0.display())]
    DeleteOutsideWrite(PathBuf),
    #[error("--allow-delete {}: not a directory", .0.display())]
    DeleteNotDir(PathBuf),
    #[error("cannot list {} to carve protected paths out of a grant: {source}", dir.display())]
    Carve {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    CommandName(String),
    /// An `--allow-host` entry or `@group` that cannot be used.
    #[error("{0}")]
    HostRule(crate::proxy::allow::HostRuleError),
    /// Network options that contradict each other.
    #[error("{message}")]
    NetConflict { message: String, hints: Vec<String> },
    #[error("--block-command: more than {limit} entries under {} to search for blocked programs", dir.display())]
    CommandSearch { dir: PathBuf, limit: usize },
    #[error("built-in data is invalid: {0}")]
    BuiltinData(String),
    #[cfg(target_os = "linux")]
    #[error("cannot read the mount table (/proc/self/mountinfo) to find other names of protected paths: {source}")]
    MountTable { source: std::io::Error },
    #[error("cannot overlay {}: {why}", crate::output::path(path))]
    Overlay { path: PathBuf, why: &'static str },
}

impl crate::error::Diagnostic for PolicyError {
    /// `hint:` lines for the user.
    fn hints(&self) -> Vec<String> {
        match self {
            PolicyError::NotFound(_) => {
                vec!["grants must name an existing file or directory; create it first".into()]
            }
            PolicyError::Protected { .. } => vec![
                "nono never grants credentials, keys, shell histories or start-up files".into(),
                "grant the specific files the program needs from elsewhere instead".into(),
            ],
            PolicyError::ReadOnly { given, category, .. } => {
                let mut h = vec![
                    "what is written there runs outside the sandbox later (on your PATH, in git's or nono's configuration)".into(),
                    format!("grant it for reading: --read {}", crate::output::path(given)),
                ];
                if category == protected::PATH_CATEGORY {
                    h.push("it lies in a directory on your PATH: to write there, grant that directory itself".into());
                }
                if category == git::CATEGORY {
                    h.push("to let the command change a repository's configuration and hooks: --allow-git-config".into());
                }
                h
            }
            PolicyError::DeleteOutsideWrite(p) => vec![format!(
                "grant write access first, e.g. --allow {} --allow-delete {}",
                p.display(),
                p.display()
            )],
            PolicyError::DeleteNotDir(p) => vec![format!(
                "the kernel controls deletion per directory: name the directory that holds it, e.g. --allow-delete {}",
                match p.parent() {
                    // `hello.c` as written: its directory is the current one.
                    Some(d) if d.as_os_str().is_empty() => Path::new("."),
                    Some(d) => d,
                    None => Path::new("/"),
                }
                .display()
            )],
            PolicyError::HostRule(e) => e.hints(),
            PolicyError::NetConflict { hints, .. } => hints.clone(),
            PolicyError::NoHome => vec!["set HOME to your home directory".into()],
            #[cfg(target_os = "linux")]
            PolicyError::MountTable { .. } => vec![
                "a bind mount can show protected directories under another name; nono refuses when it cannot check".into(),
                "mount /proc in this environment".into(),
            ],
            PolicyError::CommandName(_) => vec![
                "--allow-command and --block-command take a program name such as rm, or a family such as mkfs.*".into(),
            ],
            PolicyError::CommandSearch { .. } => vec![
                "nono searches granted directories for programs named by --block-command and refuses when it cannot finish".into(),
                "grant a smaller directory, or drop --block-command".into(),
            ],
            _ => vec![],
        }
    }
}

impl Policy {
    /// Builds the checked policy from a request. Reads the filesystem (to
    /// resolve paths and list directories that must be carved) but changes
    /// nothing.
    pub fn build(spec: &PolicySpec, ctx: &Context) -> Result<Policy, PolicyError> {
        let mut p = Policy::build_deferred(spec, ctx)?;
        p.split_programs();
        Ok(p)
    }

    /// [`Policy::build`] less the blocklist's per-file split, for a caller
    /// that decides next between the mount layer
    /// ([`Policy::mask_programs`]) and Landlock alone
    /// ([`Policy::split_programs`]): the split costs one rule per file of
    /// a program directory and the layer does not use it. Until one of the
    /// two is called, the directories holding a blocked program have no
    /// execute (fail closed).
    pub fn build_deferred(spec: &PolicySpec, ctx: &Context) -> Result<Policy, PolicyError> {
        // Built-in paths share a few parents: resolve them through one
        // listing per parent for the length of this build.
        let _lookups = lookup::scope();
        let system = data::system_rules().map_err(|e| PolicyError::BuiltinData(e.to_string()))?;
        // Announced before the protected paths are loaded (which resolves
        // them): /etc is then listed once for both.
        lookup::expect(system.iter().flat_map(|g| g.paths.iter().map(Path::new)));
        let mut protected = protected::load(ctx)?;
        // A profile's own protected paths, with every guarantee of the
        // built-in ones (refused when named, carved, shown, aliases).
        let mut user: Vec<(PathBuf, String, bool)> = Vec::new();
        for (p, source) in &spec.protect {
            let lexical = paths::expand(p, ctx)?;
            user.push((lexical, format!("protected by {source}"), false));
        }
        protected::extend(&mut protected, &user)?;

        let mut merged = rules::RuleSet::default();
        let write_grants = user_rules(spec, ctx, &protected, &mut merged)?;
        let late = late_read_only(spec, ctx, &write_grants, &mut protected)?;
        system_rules(system, &protected, &mut merged);

        let (rules, carved) = carve::apply(merged.into_rules(), &protected)?;
        // A socket grant is a path grant too: gpg-agent's and ssh-agent's
        // sockets live in protected directories and hand out keys.
        for (given, _) in &spec.allow_unix_sockets {
            resolve_user_path(given, Access::WRITE, ctx, &protected)?;
        }
        let mut net = NetPolicy::build(
            spec.net_block,
            &spec.allow_connect,
            &spec.allow_bind,
            &spec.allow_unix_sockets,
            ctx,
        )?;
        net.hosts = net::hosts_from(spec)?;
        let list = blocklist::Blocklist::build(&spec.allow_commands, &spec.block_commands)
            .map_err(PolicyError::CommandName)?;
        let (rules, commands) = programs::apply_deferred(rules, list, spec.search_path.as_deref())?;
        let overlays = overlays(spec, ctx, &protected)?;
        Ok(Policy {
            overlays,
            rules,
            commands,
            protected,
            carved,
            net,
            profiles: spec.profiles.clone(),
            context: ctx.clone(),
            writable_path_dirs: late.writable_path_dirs,
            git_dirs: late.git_dirs,
            git_dirs_writable: late.git_dirs_writable,
        })
    }

    /// Adds the private temporary directory with every right.
    pub fn add_tmpdir(&mut self, dir: &Path) {
        rules::merge_into(
            &mut self.rules,
            Rule {
                path: dir.to_path_buf(),
                kind: Kind::Dir,
                parts: vec![(Access::ALL, Origin::TempDir)],
            },
        );
    }

    /// Adds the Landlock rules of an active mount layer (see
    /// `sandbox::mountns::MountPlan::rules`), merged like every other rule.
    pub fn add_rules(&mut self, extra: Vec<Rule>) {
        for rule in extra {
            rules::merge_into(&mut self.rules, rule);
        }
    }

    /// Replaces the blocklist's per-file execute rules by `whole` (the
    /// split directories granted as wholes, see [`programs::Commands`])
    /// where the mount layer covers each blocked file in `masked` with an
    /// empty file on a noexec mount. Only for a layer that is set up (or,
    /// for `--dry-run` and `why`, would be).
    #[cfg(target_os = "linux")]
    pub fn mask_programs(&mut self, masked: Vec<PathBuf>, whole: Vec<Rule>) {
        self.commands.drop_split();
        for r in &mut self.rules {
            r.parts
                .retain(|(_, o)| !matches!(o, Origin::ExecSplit { .. }));
        }
        self.rules.retain(|r| !r.parts.is_empty());
        self.add_rules(whole);
        self.commands.masked = masked;
        self.commands.masking = true;
    }

    /// Adds the blocklist's per-file split (the Landlock-only form, see
    /// [`Policy::build_deferred`]); nothing if it is in already or the
    /// mount layer took over.
    pub fn split_programs(&mut self) {
        let rules = std::mem::take(&mut self.rules);
        self.rules = self.commands.split_rules(rules);
    }

    /// What `GIT_CONFIG_GLOBAL` must be for git to work in the sandbox
    /// (see [`git::user_config_fallback`]).
    pub fn git_user_config_fallback(&self, home: &Path) -> Option<git::UserConfigFallback> {
        let xdg = std::env::var_os("XDG_CONFIG_HOME");
        git::user_config_fallback(self, home, xdg.as_deref())
    }

    /// The union of the rights that reach `path` and the rules they come
    /// from: exactly how Landlock evaluates a path within one ruleset,
    /// less execute on a blocked program the mount layer masked (the
    /// noexec mount denies it whatever Landlock allows).
    pub fn rights_at(&self, path: &Path) -> (Access, Vec<&Rule>) {
        let covering: Vec<&Rule> = self.rules.iter().filter(|r| r.covers(path)).collect();
        let mut access = covering.iter().fold(Access::NONE, |a, r| a | r.access());
        if self
            .commands
            .masked
            .iter()
            .any(|m| paths::is_within(path, m))
        {
            access = access.without(Access::EXECUTE);
        }
        (access, covering)
    }
}

#[cfg(test)]
impl Policy {
    /// A policy from ready-made parts, for backend tests that must not
    /// depend on this machine's filesystem.
    pub fn from_parts(rules: Vec<Rule>, protected: Vec<Protected>, net_block: bool) -> Policy {
        Policy {
            rules,
            protected,
            carved: Vec::new(),
            net: net::NetPolicy {
                block: net_block,
                ..Default::default()
            },
            commands: Default::default(),
            writable_path_dirs: Vec::new(),
            git_dirs: Vec::new(),
            git_dirs_writable: Vec::new(),
            overlays: Vec::new(),
            profiles: Vec::new(),
            context: Context {
                home: PathBuf::from("/Users/u"),
                cwd: PathBuf::from("/Users/u/proj"),
            },
        }
    }
}

/// The user's grants and `--allow-delete` directories as rules; returns
/// the write grants (canonical, as given).
fn user_rules(
    spec: &PolicySpec,
    ctx: &Context,
    protected: &[Protected],
    merged: &mut rules::RuleSet,
) -> Result<Vec<(PathBuf, PathBuf)>, PolicyError> {
    let mut write_grants: Vec<(PathBuf, PathBuf)> = Vec::new();
    for g in &spec.grants {
        let resolved = resolve_user_path(&g.path, g.access, ctx, protected)?;
        if g.access.contains(Access::WRITE) {
            write_grants.push((resolved.canonical.clone(), g.path.clone()));
        }
        let origin = Origin::User {
            source: g.source.clone(),
            given: g.path.clone(),
        };
        merged.add_part(resolved.canonical, resolved.kind, g.access, origin);
    }

    for d in &spec.allow_delete {
        let resolved = resolve_user_path(&d.path, Access::DELETE, ctx, protected)?;
        if resolved.kind != Kind::Dir {
            return Err(PolicyError::DeleteNotDir(d.path.clone()));
        }
        if !write_grants
            .iter()
            .any(|(w, _)| paths::is_within(&resolved.canonical, w))
        {
            return Err(PolicyError::DeleteOutsideWrite(d.path.clone()));
        }
        let origin = Origin::User {
            source: d.source.clone(),
            given: d.path.clone(),
        };
        merged.add_part(resolved.canonical, Kind::Dir, Access::DELETE, origin);
    }
    Ok(write_grants)
}

/// What [`late_read_only`] decided, for the policy's report fields.
struct Late {
    writable_path_dirs: Vec<(PathBuf, PathBuf)>,
    git_dirs: Vec<PathBuf>,
    git_dirs_writable: Vec<PathBuf>,
}

/// Read-only where a broader write grant covers them: the PATH's
/// directories and the configuration and hooks of existing git
/// repositories, added to `protected`. After the grants were checked,
/// because a grant that names a PATH directory keeps it writable.
fn late_read_only(
    spec: &PolicySpec,
    ctx: &Context,
    write_grants: &[(PathBuf, PathBuf)],
    protected: &mut Vec<Protected>,
) -> Result<Late, PolicyError> {
    let mut late: Vec<(PathBuf, String, bool)> = Vec::new();
    let writable_path_dirs = path_dirs(spec, write_grants, protected, &mut late)?;
    let grant_dirs: Vec<PathBuf> = write_grants.iter().map(|(c, _)| c.clone()).collect();
    let found = git::repositories(&grant_dirs, &ctx.cwd);
    let (git_dirs, git_dirs_writable) = if spec.allow_git_config {
        (
            Vec::new(),
            found.iter().map(|r| r.git_dir.clone()).collect(),
        )
    } else {
        for r in &found {
            for p in &r.protect {
                late.push((p.clone(), git::CATEGORY.to_string(), true));
            }
        }
        (
            found.iter().map(|r| r.git_dir.clone()).collect(),
            Vec::new(),
        )
    };
    protected::extend(protected, &late)?;
    Ok(Late {
        writable_path_dirs,
        git_dirs,
        git_dirs_writable,
    })
}

/// The command's own terminal and the system defaults that exist here
/// and are not protected.
fn system_rules(
    system: Vec<data::SystemRule>,
    protected: &[Protected],
    merged: &mut rules::RuleSet,
) {
    // The command's own terminal: granted by device, not all of
    // /dev/pts (which would reach every terminal of the user).
    for tty in own_terminals() {
        merged.add_part(
            tty,
            Kind::File,
            Access::READ_WRITE.union(Access::IOCTL),
            Origin::System {
                why: "the command's own terminal (its stdin, stdout or stderr)".into(),
            },
        );
    }
    for group in system {
        for p in &group.paths {
            // Skipped when missing: the defaults list what exists on any
            // common distribution, not what this machine must have.
            let Some((canonical, kind)) = paths::canonical_and_kind(Path::new(p)) else {
                continue;
            };
            if protected::find(protected, &canonical).is_some() {
                continue;
            }
            let origin = Origin::System {
                why: group.why.clone(),
            };
            merged.add_part(canonical, kind, group.access, origin);
        }
    }
}

/// The overlaid cache directories, checked.
fn overlays(
    spec: &PolicySpec,
    ctx: &Context,
    protected: &[Protected],
) -> Result<Vec<Overlay>, PolicyError> {
    let mut overlays: Vec<Overlay> = Vec::new();
    for o in &spec.overlays {
        // Checked as a read: the real directory is never written (the
        // overlay takes the writes), so a read-only cache may be one.
        let resolved = resolve_user_path(&o.path, Access::READ_EXEC, ctx, protected)?;
        let path = resolved.canonical;
        if resolved.kind != Kind::Dir {
            return Err(PolicyError::Overlay {
                path,
                why: "not a directory",
            });
        }
        // overlayfs takes its layers as a comma- and colon-separated
        // option string.
        if path
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .any(|b| matches!(b, b',' | b':' | b'\\' | b'\n'))
        {
            return Err(PolicyError::Overlay {
                path,
                why: "its path contains ',', ':', '\\' or a newline",
            });
        }
        if overlays.iter().any(|x| x.path == path) {
            continue;
        }
        let upper = overlay_base(&ctx.home)
            .join(&o.profile)
            .join(overlay_key(&path));
        overlays.push(Overlay {
            path,
            upper,
            source: o.source.clone(),
        });
    }
    Ok(overlays)
}

/// Adds every absolute directory of the command's PATH to `late` as
/// read-only, except those a write grant names: the user's explicit
/// choice, returned for `--dry-run`. A write grant strictly inside one is
/// refused (name the directory itself to write there). Relative entries
/// (`.`, empty) name whatever directory a shell is in later and cannot be
/// protected (SECURITY.md).
fn path_dirs(
    spec: &PolicySpec,
    write_grants: &[(PathBuf, PathBuf)],
    protected: &[Protected],
    late: &mut Vec<(PathBuf, String, bool)>,
) -> Result<Vec<(PathBuf, PathBuf)>, PolicyError> {
    use std::os::unix::ffi::OsStrExt;
    let mut exempt = Vec::new();
    let Some(path) = &spec.search_path else {
        return Ok(exempt);
    };
    for entry in path.as_bytes().split(|c| *c == b':') {
        let dir = Path::new(std::ffi::OsStr::from_bytes(entry));
        if !dir.is_absolute() {
            continue;
        }
        let lexical = paths::normalize_lexically(dir);
        // Through the build's lookup cache: PATH names the same
        // directories again and again.
        let canonical =
            paths::canonical_and_kind(&lexical).map_or_else(|| lexical.clone(), |(c, _)| c);
        // Already on the fixed list: named grants of those stay refused.
        if protected::find_read_only(protected, &canonical).is_some()
            || protected::find(protected, &canonical).is_some()
        {
            continue;
        }
        let named = write_grants
            .iter()
            .find(|(w, _)| *w == canonical || *w == lexical);
        if let Some((_, given)) = named {
            if !exempt
                .iter()
                .any(|(d, _): &(PathBuf, PathBuf)| *d == canonical)
            {
                exempt.push((canonical, given.clone()));
            }
            continue;
        }
        // A write grant inside it (not naming it) is refused like one
        // inside any read-only path, rather than silently made read-only.
        if let Some((_, given)) = write_grants
            .iter()
            .find(|(w, _)| paths::is_within(w, &canonical) || paths::is_within(w, &lexical))
        {
            return Err(PolicyError::ReadOnly {
                given: given.clone(),
                protected: canonical,
                category: protected::PATH_CATEGORY.to_string(),
            });
        }
        late.push((lexical, protected::PATH_CATEGORY.to_string(), true));
    }
    Ok(exempt)
}

/// The pseudo-terminals on the process's stdin, stdout and stderr (which
/// the command inherits): each `/dev/pts/N` they are.
#[cfg(target_os = "linux")]
fn own_terminals() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for fd in 0..3 {
        // SAFETY: isatty only inspects the descriptor number.
        if unsafe { libc::isatty(fd) } != 1 {
            continue;
        }
        let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
            continue;
        };
        let Some((canonical, Kind::File)) = paths::canonical_and_kind(&p) else {
            continue;
        };
        if paths::is_within(&canonical, Path::new("/dev/pts")) && !out.contains(&canonical) {
            out.push(canonical);
        }
    }
    out
}

/// The terminal devices (`/dev/ttysN` on macOS) on the process's stdin,
/// stdout and stderr, by name: the Seatbelt base profile grants no terminal
/// device but `/dev/tty`.
#[cfg(not(target_os = "linux"))]
fn own_terminals() -> Vec<PathBuf> {
    use std::os::fd::BorrowedFd;
    let mut out = Vec::new();
    for fd in 0..3 {
        // SAFETY: 0, 1 and 2 stay open for the life of the process (nono
        // never closes them); the borrow does not outlive this iteration.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(name) = nix::unistd::ttyname(fd) else {
            continue;
        };
        let Some((canonical, Kind::File)) = paths::canonical_and_kind(&name) else {
            continue;
        };
        if canonical.starts_with("/dev") && !out.contains(&canonical) {
            out.push(canonical);
        }
    }
    out
}

/// Resolves a user path and refuses protected ones. The lexical path is
/// checked before existence so that naming a protected path that does not
/// exist yet still says "protected".
fn resolve_user_path(
    raw: &Path,
    access: Access,
    ctx: &Context,
    protected: &[Protected],
) -> Result<paths::Resolved, PolicyError> {
    let check = |path: &Path| -> Result<(), PolicyError> {
        if let Some(p) = protected::find(protected, path) {
            return Err(protected_error(raw, p));
        }
        // Read-only protected paths may be granted for reading only: asking
        // to write there is refused rather than silently downgraded.
        if access.intersects(Access::WRITE.union(Access::DELETE)) {
            if let Some(p) = protected::find_read_only(protected, path) {
                return Err(PolicyError::ReadOnly {
                    given: raw.to_path_buf(),
                    protected: p.path.clone(),
                    category: p.category.clone(),
                });
            }
        }
        Ok(())
    };
    check(&paths::expand(raw, ctx)?)?;
    let resolved = paths::resolve(raw, ctx)?;
    check(&resolved.canonical)?;
    Ok(resolved)
}

fn protected_error(raw: &Path, p: &Protected) -> PolicyError {
    PolicyError::Protected {
        given: raw.to_path_buf(),
        protected: p.path.clone(),
        category: p.category.clone(),
    }
}

#[cfg(test)]
mod tests;
