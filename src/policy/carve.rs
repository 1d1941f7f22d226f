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

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{paths, protected, CarvedDir, Kind, Origin, PolicyError, Protected, Rule};

/// Replaces every directory rule that has protected paths beneath it by its
/// carve-out, merges the result, and drops rules on protected paths.
pub fn apply(
    rules: Vec<Rule>,
    protected: &[Protected],
) -> Result<(Vec<Rule>, Vec<CarvedDir>), PolicyError> {
    let mut out: BTreeMap<OsString, Rule> = BTreeMap::new();
    let mut carved: Vec<CarvedDir> = Vec::new();
    for rule in rules {
        if protected::find(protected, &rule.path).is_some() {
            // Only system data could get here (user grants are refused
            // earlier); a protected path never gets a rule.
            continue;
        }
        let below = if rule.kind == Kind::Dir {
            protected::beneath(protected, &rule.path)
        } else {
            Vec::new()
        };
        if below.is_empty() {
            merge(&mut out, rule);
            continue;
        }
        for (access, origin) in &rule.parts {
            // A carve-out of a carve-out is still a carve-out of the original grant.
            let carve_origin = match origin {
                Origin::CarveOut { .. } => origin.clone(),
                other => Origin::CarveOut {
                    grant: rule.path.clone(),
                    from: Box::new(other.clone()),
                },
            };
            let mut pieces = Vec::new();
            split(&rule.path, &below, &mut pieces, &mut carved, &rule.path)?;
            for (path, kind) in pieces {
                merge(
                    &mut out,
                    Rule {
                        path,
                        kind,
                        parts: vec![(*access, carve_origin.clone())],
                    },
                );
            }
        }
    }
    carved.sort_by(|a, b| a.dir.cmp(&b.dir));
    carved.dedup();
    Ok((out.into_values().collect(), carved))
}

fn merge(out: &mut BTreeMap<OsString, Rule>, rule: Rule) {
    match out.get_mut(rule.path.as_os_str()) {
        Some(existing) => {
            for part in rule.parts {
                if !existing.parts.contains(&part) {
                    existing.parts.push(part);
                }
            }
        }
        None => {
            out.insert(rule.path.clone().into_os_string(), rule);
        }
    }
}

/// Lists `dir` and emits one piece per entry that is neither protected nor on
/// the way to a protected path; recurses into the latter.
fn split(
    dir: &Path,
    below: &[&Protected],
    pieces: &mut Vec<(PathBuf, Kind)>,
    carved: &mut Vec<CarvedDir>,
    grant: &Path,
) -> Result<(), PolicyError> {
    carved.push(CarvedDir {
        dir: dir.to_path_buf(),
        grant: grant.to_path_buf(),
    });
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // A directory we cannot list gets no rule at all: fail closed.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(()),
        Err(source) => {
            return Err(PolicyError::Carve {
                dir: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    children.sort();
    for child in children {
        if protected::find_exact_or_inside(below, &child) {
            continue;
        }
        // lstat: a symlink gets no rule. Following it would grant whatever
        // it points to; the kernel checks the target's own rules instead.
        let Ok(meta) = std::fs::symlink_metadata(&child) else {
            continue;
        };
        if !paths::is_rule_target(&meta) {
            continue;
        }
        let deeper: Vec<&Protected> = below
            .iter()
            .copied()
            .filter(|p| {
                p.path.as_os_str() != child.as_os_str() && paths::is_within(&p.path, &child)
            })
            .collect();
        if deeper.is_empty() {
            pieces.push((child, Kind::of(&meta)));
        } else if meta.is_dir() {
            split(&child, &deeper, pieces, carved, grant)?;
        }
    }
    Ok(())
}
