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
mod carve;
mod data;
pub mod decide;
pub mod paths;
pub mod protected;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use access::{Access, Op};
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
}

impl Origin {
    /// A short human description.
    pub fn describe(&self) -> String {
        match self {
            Origin::User { source, given } => format!("{source} {}", crate::output::path(given)),
            Origin::System { why } => format!("system default ({why})"),
            Origin::TempDir => "private temporary directory (TMPDIR)".to_string(),
            Origin::CarveOut { from, .. } => format!("carve-out of {}", from.describe()),
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
            Kind::Dir => path.starts_with(&self.path),
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
    pub profiles: Vec<String>,
    pub context: Context,
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
    #[error("--allow-delete {}: not inside any write grant (--allow or --write)", .0.display())]
    DeleteOutsideWrite(PathBuf),
    #[error("--allow-delete {}: not a directory", .0.display())]
    DeleteNotDir(PathBuf),
    #[error("cannot list {} to carve protected paths out of a grant: {source}", dir.display())]
    Carve {
        dir: PathBuf,
        source: std::io::Error,
    },
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
            _ => vec![],
        }
    }
}

impl Policy {
    /// Builds the checked policy from a request. Reads the filesystem (to
    /// resolve paths and list directories that must be carved) but changes
    /// nothing.
    pub fn build(spec: &PolicySpec, ctx: &Context) -> Result<Policy, PolicyError> {
        let protected = protected::load(ctx)?;
        let mut merged = Merger::default();

        let mut write_grants: Vec<PathBuf> = Vec::new();
        for g in &spec.grants {
            let resolved = resolve_user_path(&g.path, ctx, &protected)?;
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
            let resolved = resolve_user_path(&d.path, ctx, &protected)?;
            if resolved.kind != Kind::Dir {
                return Err(PolicyError::DeleteNotDir(d.path.clone()));
            }
            if !write_grants
                .iter()
                .any(|w| resolved.canonical.starts_with(w))
            {
                return Err(PolicyError::DeleteOutsideWrite(d.path.clone()));
            }
            let origin = Origin::User {
                source: d.source.clone(),
                given: d.path.clone(),
            };
            merged.add(resolved.canonical, Kind::Dir, Access::DELETE, origin);
        }

        let system = data::system_rules().map_err(|e| PolicyError::BuiltinData(e.to_string()))?;
        for group in system {
            for p in &group.paths {
                // Skipped when missing: the defaults list what exists on any
                // common distribution, not what this machine must have.
                let Ok(canonical) = std::fs::canonicalize(p) else {
                    continue;
                };
                if protected::find(&protected, &canonical).is_some() {
                    continue;
                }
                let Ok(meta) = std::fs::metadata(&canonical) else {
                    continue;
                };
                let origin = Origin::System {
                    why: group.why.clone(),
                };
                merged.add(canonical, Kind::of(&meta), group.access, origin);
            }
        }

        let (rules, carved) = carve::apply(merged.into_rules(), &protected)?;
        Ok(Policy {
            rules,
            protected,
            carved,
            net_block: spec.net_block,
            profiles: spec.profiles.clone(),
            context: ctx.clone(),
        })
    }

    /// Adds the private temporary directory with every right.
    pub fn add_tmpdir(&mut self, dir: &Path) {
        let mut m = Merger::default();
        for r in self.rules.drain(..) {
            m.rules.insert(r.path.clone(), r);
        }
        m.add(dir.to_path_buf(), Kind::Dir, Access::ALL, Origin::TempDir);
        self.rules = m.into_rules();
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
    ctx: &Context,
    protected: &[Protected],
) -> Result<paths::Resolved, PolicyError> {
    let lexical = paths::expand(raw, ctx)?;
    if let Some(p) = protected::find(protected, &lexical) {
        return Err(protected_error(raw, p));
    }
    let resolved = paths::resolve(raw, ctx)?;
    if let Some(p) = protected::find(protected, &resolved.canonical) {
        return Err(protected_error(raw, p));
    }
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
    rules: BTreeMap<PathBuf, Rule>,
}

impl Merger {
    fn add(&mut self, path: PathBuf, kind: Kind, access: Access, origin: Origin) {
        let rule = self.rules.entry(path.clone()).or_insert_with(|| Rule {
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
