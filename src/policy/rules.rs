//! Rules, and the one place where they are merged.
//!
//! Every stage of the policy build (grants and system defaults, carving,
//! the blocklist's execute split, the mount layer's additions) can put
//! several contributions on one path; the kernel takes one rule per
//! inode. [`RuleSet`] collects rules that way: one rule per path, each
//! contribution (rights and origin) once, in the order it came, with the
//! rule's kind as first given. [`merge_into`] does the same into a list
//! that is already sorted (the built policy's). Both yield the paths in
//! byte order, the order of every rule list in the policy.

use rustc_hash::FxBuildHasher;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{paths, Access, Kind, Source};

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
    /// Added by the mount-namespace layer (see `sandbox::mountns`).
    #[cfg(target_os = "linux")]
    MountLayer { what: &'static str },
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
            #[cfg(target_os = "linux")]
            Origin::MountLayer { what } => format!("mount layer: {what}"),
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

/// Rules being collected: one per path, each contribution once.
#[derive(Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    // A hash index instead of a BTreeMap: ordering paths compares them
    // component by component, which for a thousand per-file rules was
    // most of nono's start-up time in user space. The rules arrive nearly
    // sorted, so the final sort is cheap.
    index: ByPath<usize>,
}

impl RuleSet {
    /// Adds `rule`, merged into the rule already on its path, if any.
    pub fn add(&mut self, rule: Rule) {
        match self.index.get(rule.path.as_os_str()) {
            Some(&i) => add_parts(&mut self.rules[i], rule.parts),
            None => {
                self.index
                    .insert(rule.path.clone().into_os_string(), self.rules.len());
                self.rules.push(rule);
            }
        }
    }

    /// Adds one contribution on `path`.
    pub fn add_part(&mut self, path: PathBuf, kind: Kind, access: Access, origin: Origin) {
        self.add(Rule {
            path,
            kind,
            parts: vec![(access, origin)],
        });
    }

    /// The rules, sorted by path (byte order).
    pub fn into_rules(mut self) -> Vec<Rule> {
        self.rules
            .sort_unstable_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        self.rules
    }
}

/// Merges `rule` into `rules`, which are sorted by path (byte order) with
/// one rule per path, keeping them so: inserted in place, since
/// rebuilding a map of a thousand paths cost more than the rest of the
/// start-up.
pub fn merge_into(rules: &mut Vec<Rule>, rule: Rule) {
    match rules.binary_search_by(|r| r.path.as_os_str().cmp(rule.path.as_os_str())) {
        Ok(i) => add_parts(&mut rules[i], rule.parts),
        Err(i) => rules.insert(i, rule),
    }
}

fn add_parts(existing: &mut Rule, parts: Vec<(Access, Origin)>) {
    for part in parts {
        if !existing.parts.contains(&part) {
            existing.parts.push(part);
        }
    }
}

/// Maps keyed by a path's bytes with rustc-hash's FxHash: `Path`'s own
/// `Hash` walks components, and SipHash is built for hostile keys; these
/// keys are local file names and built-in paths, hashed a word at a time.
pub(super) type ByPath<V> = HashMap<OsString, V, FxBuildHasher>;
/// A set of names or paths, hashed like [`ByPath`].
pub(super) type PathSet = HashSet<OsString, FxBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: &str, a: Access, why: &str) -> Rule {
        Rule {
            path: PathBuf::from(p),
            kind: Kind::Dir,
            parts: vec![(a, Origin::System { why: why.into() })],
        }
    }

    /// Both ways of merging give one rule per path, each contribution
    /// once and in arrival order, paths in byte order.
    #[test]
    fn both_merges_agree() {
        let input = [
            rule("/usr/lib", Access::READ, "a"),
            rule("/usr", Access::READ, "a"),
            rule("/usr-x", Access::READ, "b"),
            rule("/usr", Access::EXECUTE, "b"),
            rule("/usr", Access::READ, "a"),
        ];
        let mut set = RuleSet::default();
        let mut sorted = Vec::new();
        for r in input.iter().cloned() {
            set.add(r.clone());
            merge_into(&mut sorted, r);
        }
        let set = set.into_rules();
        assert_eq!(set, sorted);
        let paths: Vec<&str> = set.iter().map(|r| r.path.to_str().unwrap()).collect();
        assert_eq!(paths, ["/usr", "/usr-x", "/usr/lib"]);
        assert_eq!(set[0].parts.len(), 2);
        assert_eq!(set[0].access(), Access::READ | Access::EXECUTE);
    }
}
