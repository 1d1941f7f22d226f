//! Decisions for `nono why`: would this operation on this path be allowed,
//! and which rule decides it.
//!
//! The answer is computed from the same [`Rule`] list the backend hands to
//! the kernel, with the kernel's semantics: rights of every rule on the path
//! or one of its ancestors add up; unlink and rename are checked on the
//! parent directory; creation needs write on the parent.

use std::path::{Path, PathBuf};

use super::{paths, protected, Access, Context, Op, Policy, PolicyError, Rule};

/// What decides a [`Decision`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The path is, or is inside, a protected path.
    Protected { path: PathBuf, category: String },
    /// Granted by the listed rules.
    Granted,
    /// Some rule reaches the path, but not with this right; for delete: the
    /// path is writable but delete protection holds.
    DeleteProtected,
    /// No rule reaches the path with this right.
    NotGranted,
    /// Execute of a program on the command blocklist (`message` says
    /// which name and category).
    BlockedCommand { message: String },
}

/// The answer to "may OP be done on PATH".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub given: PathBuf,
    /// The path the kernel will check: resolved through symlinks.
    pub resolved: PathBuf,
    pub exists: bool,
    /// The object on which the kernel checks the right: the path itself, or
    /// its parent directory for delete and for creating a missing path.
    pub checked: PathBuf,
    pub op: Op,
    pub allowed: bool,
    pub reason: Reason,
    /// Rights that reach `checked`.
    pub rights: Access,
    /// The rules that contribute those rights.
    pub rules: Vec<Rule>,
    /// The smallest option that would allow it, when there is one.
    pub suggestion: Option<String>,
}

impl Decision {
    pub fn via_symlink(&self) -> bool {
        self.exists && self.resolved != paths::normalize_lexically(&self.given)
    }
}

/// Decides `op` on `raw` under `policy`.
pub fn decide(policy: &Policy, raw: &Path, op: Op, ctx: &Context) -> Result<Decision, PolicyError> {
    let (resolved, exists) = paths::resolve_maybe_missing(raw, ctx)?;
    let absolute = paths::expand(raw, ctx)?;
    let checked = match op {
        Op::Delete => resolved.parent().unwrap_or(Path::new("/")).to_path_buf(),
        Op::Write if !exists => resolved.parent().unwrap_or(Path::new("/")).to_path_buf(),
        _ => resolved.clone(),
    };
    let (rights, rules) = policy.rights_at(&checked);
    let rules: Vec<Rule> = rules.into_iter().cloned().collect();
    let needed = op.needs();

    let prot = protected::find(&policy.protected, &resolved)
        .or_else(|| protected::find(&policy.protected, &absolute));
    let (allowed, reason, suggestion) = if let Some(p) = prot {
        (
            false,
            Reason::Protected {
                path: p.path.clone(),
                category: p.category.clone(),
            },
            None,
        )
    } else if rights.contains(needed) {
        (true, Reason::Granted, None)
    } else if let Some(b) = blocked_exec(policy, op, &resolved) {
        let message = b.message(resolved.as_os_str());
        (
            false,
            Reason::BlockedCommand { message },
            Some(b.allow_flags()),
        )
    } else if op == Op::Delete && rights.contains(Access::WRITE) {
        let s = format!("--allow-delete {}", checked.display());
        (false, Reason::DeleteProtected, Some(s))
    } else {
        (
            false,
            Reason::NotGranted,
            Some(suggest(op, &checked, exists)),
        )
    };
    Ok(Decision {
        given: raw.to_path_buf(),
        resolved,
        exists,
        checked,
        op,
        allowed,
        reason,
        rights,
        rules,
        suggestion,
    })
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

fn suggest(op: Op, checked: &Path, exists: bool) -> String {
    let p = checked.display();
    match op {
        Op::Read | Op::Exec => format!("--read {p}"),
        Op::Write if exists => format!("--allow {p}"),
        Op::Write => format!("--allow {p}"),
        Op::Delete => format!("--allow {p} --allow-delete {p}"),
    }
}
