//! Carve-outs: keeping protected paths out of a grant that covers them.
//!
//! Landlock can only allow. A rule on a directory gives its rights to the
//! whole hierarchy, so a grant of `~` would give `~/.ssh` too. Instead of
//! the directory itself, each entry on the way to a protected path is granted
//! on its own, except the protected entry and the directories that lead to
//! one (which are split again, recursively). What this cannot cover: entries
//! created later directly inside a split directory, and listing or creating
//! entries in that directory itself. `--dry-run` reports every split
//! directory.

use std::path::{Path, PathBuf};

use super::rules::RuleSet;
use super::{paths, protected, Access, CarvedDir, Kind, Origin, PolicyError, Protected, Rule};

/// Places every rule, carving where protected paths lie beneath it, and
/// merges the result. Rules on protected paths are dropped; rules on
/// read-only protected paths keep only their read and execute rights.
pub fn apply(
    rules: Vec<Rule>,
    protected: &[Protected],
) -> Result<(Vec<Rule>, Vec<CarvedDir>), PolicyError> {
    let mut out = RuleSet::default();
    let mut carved: Vec<CarvedDir> = Vec::new();
    for rule in rules {
        for (access, origin) in &rule.parts {
            let mut placer = Placer {
                protected,
                out: &mut out,
                carved: &mut carved,
                grant: &rule.path,
            };
            placer.place(&rule.path, rule.kind, *access, origin.clone())?;
        }
    }
    carved.sort_by(|a, b| a.dir.as_os_str().cmp(b.dir.as_os_str()));
    carved.dedup();
    Ok((out.into_rules(), carved))
}

const MODIFY: Access = Access::WRITE.union(Access::DELETE);

struct Placer<'a> {
    protected: &'a [Protected],
    out: &'a mut RuleSet,
    carved: &'a mut Vec<CarvedDir>,
    /// The path of the rule being placed, for carve-out origins.
    grant: &'a Path,
}

impl Placer<'_> {
    fn place(
        &mut self,
        path: &Path,
        kind: Kind,
        access: Access,
        origin: Origin,
    ) -> Result<(), PolicyError> {
        if protected::find(self.protected, path).is_some() {
            // User grants naming protected paths are refused earlier; only
            // system data or a carve-out could get here: no rule at all.
            return Ok(());
        }
        let mut access = access;
        if access.intersects(MODIFY) && protected::find_read_only(self.protected, path).is_some() {
            access = access.intersect(protected::READ_ONLY_KEEP);
        }
        if access.is_empty() {
            return Ok(());
        }
        let modifies = access.intersects(MODIFY);
        let below = kind == Kind::Dir && protected::any_beneath(self.protected, path, modifies);
        if !below {
            self.out.add(Rule {
                path: path.to_path_buf(),
                kind,
                parts: vec![(access, origin)],
            });
            return Ok(());
        }
        // A carve-out of a carve-out is still a carve-out of the original grant.
        let child_origin = match origin {
            Origin::CarveOut { .. } => origin,
            other => Origin::CarveOut {
                grant: self.grant.to_path_buf(),
                from: Box::new(other),
            },
        };
        self.carved.push(CarvedDir {
            dir: path.to_path_buf(),
            grant: self.grant.to_path_buf(),
            access,
        });
        for (child, child_kind) in children(path)? {
            self.place(&child, child_kind, access, child_origin.clone())?;
        }
        Ok(())
    }
}

/// The entries of `dir` that can carry a rule. `lstat`: a symlink gets no
/// rule. Following it would grant whatever it points to; the kernel checks
/// the target's own rules instead.
fn children(dir: &Path) -> Result<Vec<(PathBuf, Kind)>, PolicyError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // A directory we cannot list gets no rule at all: fail closed.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(Vec::new()),
        Err(source) => {
            return Err(PolicyError::Carve {
                dir: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut out: Vec<(PathBuf, Kind)> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let meta = std::fs::symlink_metadata(&path).ok()?;
            paths::is_rule_target(&meta).then(|| (path, Kind::of(&meta)))
        })
        .collect();
    out.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    Ok(out)
}
