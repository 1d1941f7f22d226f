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
mod lookup;
pub mod net;
pub mod paths;
pub mod programs;
pub mod protected;
pub mod spec;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use access::{Access, Op};
pub use net::NetPolicy;
pub use paths::{Context, Kind};
pub use protected::Protected;
pub use spec::{DeleteRequest, PolicySpec, Source};

/// Why a rule exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A grant the user asked for (flag or profile), with the path as given.
    User { source: Source, given: PathBuf },
    /// A system default, with its reason.
    System { why: String },
    /// The private per-run temporary directory.
    TempDir,
    /// Part of the grant `from` on directory `grant`, split up to keep
    /// protected paths out of it.
    CarveOut { grant: PathBuf, from: Box<Origin> },
    /// Execute of `grant`, handed out entry by entry so that blocked
    /// programs get none (see [`programs`]).
    ExecSplit { grant: PathBuf, from: Box<Origin> },
}

impl Origin {
    /// A short human description.
    pub fn describe(&self) -> String {
        match self {
            Origin::User { source, given } => format!("{source} {}", crate::output::path(given)),
            Origin::System { why } => format!("system default ({why})"),
            Origin::TempDir => "private temporary directory (TMPDIR)".to_string(),
            Origin::CarveOut { from, .. } => format!("carve-out of {}", from.describe()),
            Origin::ExecSplit { grant, from } => format!(
                "execute of {} per entry, blocked programs left out ({})",
                crate::output::path(grant),
                from.describe()
            ),
        }
    }
}

/// One kernel rule: rights on a path and everything beneath it (for a
/// directory) or on the file itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Canonical: absolute, no symlinks, no `..`.
    pub path: PathBuf,
    pub kind: Kind,
    /// Each contribution with its origin; the rule's rights are their union.
    pub parts: Vec<(Access, Origin)>,
}

impl Rule {
    pub fn access(&self) -> Access {
        self.parts.iter().fold(Access::NONE, |a, (b, _)| a | *b)
    }

    /// True if this rule's rights reach `path` (the kernel's semantics: a
    /// directory rule covers its whole hierarchy, a file rule only the file).
    pub fn covers(&self, path: &Path) -> bool {
        match self.kind {
            Kind::Dir => paths::is_within(path, &self.path),
            Kind::File => path == self.path,
        }
    }
}

/// A directory that a carve-out had to split: entries created in it after
/// nono starts are not covered by the grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarvedDir {
    pub dir: PathBuf,
    pub grant: PathBuf,
}

/// The checked policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Sorted by path, one per path.
    pub rules: Vec<Rule>,
    pub protected: Vec<Protected>,
    pub carved: Vec<CarvedDir>,
    pub net_block: bool,
    /// Network and IPC: `--net-block`, port grants, Unix socket grants.
    /// `net.block == net_block`; `net.restricted()` is what backends use.
    pub net: NetPolicy,
    pub profiles: Vec<String>,
    pub context: Context,
    /// The command blocklist and the files it leaves without execute.
    pub commands: programs::Commands,
}

/// Why a policy could not be built. Every variant names the path at fault.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "cannot determine the home directory: HOME is unset and the user has no password entry"
    )]
    NoHome,
    #[error("cannot determine the current directory: {0}")]
    Cwd(std::io::ErrorKind),
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
    #[error("--block-command: more than {limit} entries under {} to search for blocked programs", dir.display())]
    CommandSearch { dir: PathBuf, limit: usize },
    #[error("built-in data is invalid: {0}")]
    BuiltinData(String),
}

impl PolicyError {
    /// `hint:` lines for the user.
    pub fn hints(&self) -> Vec<String> {
        match self {
            PolicyError::NotFound(_) => {
                vec!["grants must name an existing file or directory; create it first".into()]
            }
            PolicyError::Protected { .. } => vec![
                "nono never grants credentials, keys, shell histories or start-up files".into(),
                "grant the specific files the program needs from elsewhere instead".into(),
            ],
            PolicyError::ReadOnly { given, .. } => vec![
                "what is written there runs outside the sandbox later (on your PATH, in git's or nono's configuration)".into(),
                format!("grant it for reading: --read {}", crate::output::path(given)),
            ],
            PolicyError::DeleteOutsideWrite(p) => vec![format!(
                "grant write access first, e.g. --allow {} --allow-delete {}",
                p.display(),
                p.display()
            )],
            PolicyError::DeleteNotDir(p) => vec![format!(
                "the kernel controls deletion per directory: name the directory that holds it, e.g. --allow-delete {}",
                p.parent().unwrap_or(Path::new("/")).display()
            )],
            PolicyError::NoHome => vec!["set HOME to your home directory".into()],
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
        // Built-in paths share a few parents: resolve them through one
        // listing per parent for the length of this build.
        let _lookups = lookup::scope();
        let system = data::system_rules().map_err(|e| PolicyError::BuiltinData(e.to_string()))?;
        // Announced before the protected paths are loaded (which resolves
        // them): /etc is then listed once for both.
        lookup::expect(system.iter().flat_map(|g| g.paths.iter().map(Path::new)));
        let protected = protected::load(ctx)?;
        let mut merged = Merger::default();

        let mut write_grants: Vec<PathBuf> = Vec::new();
        for g in &spec.grants {
            let resolved = resolve_user_path(&g.path, g.access, ctx, &protected)?;
            if g.access.contains(Access::WRITE) {
                write_grants.push(resolved.canonical.clone());
            }
            let origin = Origin::User {
                source: g.source.clone(),
                given: g.path.clone(),
            };
            merged.add(resolved.canonical, resolved.kind, g.access, origin);
        }

        for d in &spec.allow_delete {
            let resolved = resolve_user_path(&d.path, Access::DELETE, ctx, &protected)?;
            if resolved.kind != Kind::Dir {
                return Err(PolicyError::DeleteNotDir(d.path.clone()));
            }
            if !write_grants
                .iter()
                .any(|w| paths::is_within(&resolved.canonical, w))
            {
                return Err(PolicyError::DeleteOutsideWrite(d.path.clone()));
            }
            let origin = Origin::User {
                source: d.source.clone(),
                given: d.path.clone(),
            };
            merged.add(resolved.canonical, Kind::Dir, Access::DELETE, origin);
        }

        for group in system {
            for p in &group.paths {
                // Skipped when missing: the defaults list what exists on any
                // common distribution, not what this machine must have.
                let Some((canonical, kind)) = paths::canonical_and_kind(Path::new(p)) else {
                    continue;
                };
                if protected::find(&protected, &canonical).is_some() {
                    continue;
                }
                let origin = Origin::System {
                    why: group.why.clone(),
                };
                merged.add(canonical, kind, group.access, origin);
            }
        }

        let (rules, carved) = carve::apply(merged.into_rules(), &protected)?;
        // A socket grant is a path grant too: gpg-agent's and ssh-agent's
        // sockets live in protected directories and hand out keys.
        for (given, _) in &spec.allow_unix_sockets {
            resolve_user_path(given, Access::WRITE, ctx, &protected)?;
        }
        let net = NetPolicy::build(
            spec.net_block,
            &spec.allow_connect,
            &spec.allow_bind,
            &spec.allow_unix_sockets,
            ctx,
        )?;
        let list = blocklist::Blocklist::build(&spec.allow_commands, &spec.block_commands)
            .map_err(PolicyError::CommandName)?;
        let (rules, commands) = programs::apply(rules, list, spec.search_path.as_deref())?;
        Ok(Policy {
            rules,
            commands,
            protected,
            carved,
            net_block: spec.net_block,
            net,
            profiles: spec.profiles.clone(),
            context: ctx.clone(),
        })
    }

    /// Adds the private temporary directory with every right.
    pub fn add_tmpdir(&mut self, dir: &Path) {
        // Inserted in place: the rules are sorted, and rebuilding a map of a
        // thousand paths here cost more than the rest of the start-up.
        let part = (Access::ALL, Origin::TempDir);
        match self
            .rules
            .binary_search_by(|r| r.path.as_os_str().cmp(dir.as_os_str()))
        {
            Ok(i) => {
                if !self.rules[i].parts.contains(&part) {
                    self.rules[i].parts.push(part);
                }
            }
            Err(i) => self.rules.insert(
                i,
                Rule {
                    path: dir.to_path_buf(),
                    kind: Kind::Dir,
                    parts: vec![part],
                },
            ),
        }
    }

    /// The union of the rights that reach `path` and the rules they come
    /// from: exactly how Landlock evaluates a path within one ruleset.
    pub fn rights_at(&self, path: &Path) -> (Access, Vec<&Rule>) {
        let covering: Vec<&Rule> = self.rules.iter().filter(|r| r.covers(path)).collect();
        let access = covering.iter().fold(Access::NONE, |a, r| a | r.access());
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
            net_block,
            net: net::NetPolicy {
                block: net_block,
                ..Default::default()
            },
            commands: Default::default(),
            profiles: Vec::new(),
            context: Context {
                home: PathBuf::from("/Users/u"),
                cwd: PathBuf::from("/Users/u/proj"),
            },
        }
    }
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

/// Merges rules on the same path: one kernel rule per inode.
#[derive(Default)]
struct Merger {
    // Keyed by bytes: `PathBuf`'s `Ord` compares component by component,
    // which is many times slower and gives no better order here.
    rules: BTreeMap<OsString, Rule>,
}

impl Merger {
    fn add(&mut self, path: PathBuf, kind: Kind, access: Access, origin: Origin) {
        let rule = self
            .rules
            .entry(path.clone().into_os_string())
            .or_insert_with(|| Rule {
                path,
                kind,
                parts: Vec::new(),
            });
        if !rule.parts.iter().any(|(a, o)| *a == access && *o == origin) {
            rule.parts.push((access, origin));
        }
    }

    fn into_rules(self) -> Vec<Rule> {
        self.rules.into_values().collect()
    }
}

#[cfg(test)]
mod tests;
