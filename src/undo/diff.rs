//! What differs between a snapshot and the tree as it is now.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::config::Limits;
use super::manifest::{Entry, Kind, Skip};
use super::store::{GrantMeta, RunMeta, Store};
use super::{tree, UndoError};
use crate::policy::Protected;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// In the snapshot, gone now.
    Deleted,
    /// Contents (or a symlink's target) differ.
    Modified,
    /// Shorter now, and what is left is the start of the old contents.
    Truncated,
    /// A different kind of entry now (a file where a directory was, ...).
    Replaced,
    /// Only the permission bits differ.
    Mode,
    /// Gone from `from`, and the same file (inode or contents) is here.
    Renamed,
    /// Not in the snapshot.
    Created,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Deleted => "deleted",
            Change::Modified => "modified",
            Change::Truncated => "truncated",
            Change::Replaced => "replaced",
            Change::Mode => "mode",
            Change::Renamed => "renamed",
            Change::Created => "created",
        }
    }
}

/// One difference, at an absolute path.
#[derive(Clone, Debug)]
pub struct Diff {
    pub path: PathBuf,
    pub change: Change,
    /// For `renamed`: where it was.
    pub from: Option<PathBuf>,
    /// The entry in the snapshot (for `renamed`: at `from`).
    pub before: Option<Entry>,
    /// The entry now.
    pub now: Option<Entry>,
}

/// The differences under one grant.
pub struct GrantDiff {
    pub root: PathBuf,
    pub changes: Vec<Diff>,
    /// Entries whose contents the snapshot does not hold: (path, reason).
    pub skipped: Vec<(PathBuf, Skip)>,
    /// The snapshot's manifest, by relative path (restore uses it).
    pub recorded: HashMap<Vec<u8>, Entry>,
    /// Entries of the current tree that could not be read.
    pub problems: Vec<(PathBuf, String)>,
    /// Temporary files of an interrupted restore (removed by the next).
    pub leftovers: Vec<PathBuf>,
}

/// Whether absolute `p` is selected by the PATH arguments (none = all).
pub fn selected(p: &Path, filter: &[PathBuf]) -> bool {
    filter.is_empty() || filter.iter().any(|f| p.starts_with(f))
}

/// Compares one grant of `run` with the tree now.
pub fn grant(
    store: &Store,
    run: &RunMeta,
    g: &GrantMeta,
    limits: &Limits,
    protected: &[Protected],
    filter: &[PathBuf],
) -> Result<GrantDiff, UndoError> {
    let mut cache = HashMap::new();
    grant_cached(store, run, g, limits, protected, filter, &mut cache)
}

/// [`grant`], reusing walks of the same root (`nono undo list` compares
/// every run with the same trees).
pub fn grant_cached(
    store: &Store,
    run: &RunMeta,
    g: &GrantMeta,
    limits: &Limits,
    protected: &[Protected],
    filter: &[PathBuf],
    cache: &mut HashMap<PathBuf, tree::Walk>,
) -> Result<GrantDiff, UndoError> {
    let root = super::store::path_of(&g.root);
    let entries = store.manifest(run, g).map_err(|e| UndoError::Damaged {
        id: run.id.clone(),
        what: format!("{}: {e}", g.manifest),
    })?;
    let walk = cache.entry(root.clone()).or_insert_with(|| {
        let mut unlimited = limits.clone();
        unlimited.max_entries = u64::MAX;
        tree::walk(&root, &unlimited, protected)
    });
    compare(store, run, root, entries, walk, filter)
}

fn compare(
    store: &Store,
    run: &RunMeta,
    root: PathBuf,
    entries: Vec<Entry>,
    walk: &tree::Walk,
    filter: &[PathBuf],
) -> Result<GrantDiff, UndoError> {
    let started_ns = run.started_ms as i64 * 1_000_000;
    let now: HashMap<&[u8], &Entry> = walk
        .entries
        .iter()
        .map(|e| (e.path.as_slice(), e))
        .collect();
    let recorded: HashMap<Vec<u8>, Entry> = entries
        .iter()
        .map(|e| (e.path.clone(), e.clone()))
        .collect();
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    // Entries beneath a directory the snapshot skipped (or could not read)
    // are not compared: there is nothing to compare them with.
    let unrecorded_dirs: Vec<&[u8]> = entries
        .iter()
        .filter(|e| e.kind == Kind::Dir && e.skip != Skip::No)
        .map(|e| e.path.as_slice())
        .collect();
    let under_unrecorded = |p: &[u8]| {
        unrecorded_dirs
            .iter()
            .any(|d| p.len() > d.len() && p.starts_with(d) && p[d.len()] == b'/')
    };
    for old in &entries {
        let abs = tree::join(&root, &old.path);
        if !selected(&abs, filter) {
            continue;
        }
        if old.skip != Skip::No {
            skipped.push((abs.clone(), old.skip));
        }
        let change = match now.get(old.path.as_slice()) {
            None => Some(Change::Deleted),
            Some(cur) if cur.kind != old.kind => Some(Change::Replaced),
            Some(cur) => {
                let content = match old.kind {
                    Kind::File if old.skip == Skip::No => {
                        content_change(store, &abs, old, cur, started_ns)
                    }
                    Kind::File | Kind::Other => {
                        // Contents not recorded: all that can be said is
                        // whether size or mtime moved.
                        (old.size != cur.size || old.mtime_ns != cur.mtime_ns)
                            .then_some(Change::Modified)
                    }
                    Kind::Symlink => (old.target != cur.target).then_some(Change::Modified),
                    Kind::Dir => None,
                };
                content.or_else(|| (old.mode != cur.mode).then_some(Change::Mode))
            }
        };
        if let Some(change) = change {
            changes.push(Diff {
                path: abs,
                change,
                from: None,
                before: Some(old.clone()),
                now: now.get(old.path.as_slice()).map(|e| (*e).clone()),
            });
        }
    }
    let mut created: Vec<Diff> = Vec::new();
    let mut leftovers = Vec::new();
    for (rel, cur) in &now {
        if recorded.contains_key(*rel) || under_unrecorded(rel) {
            continue;
        }
        let abs = tree::join(&root, rel);
        if !selected(&abs, filter) {
            continue;
        }
        if is_restore_temp(rel) && cur.kind != Kind::Dir {
            leftovers.push(abs);
            continue;
        }
        created.push(Diff {
            path: abs,
            change: Change::Created,
            from: None,
            before: None,
            now: Some((*cur).clone()),
        });
    }
    find_renames(&mut changes, &mut created);
    changes.extend(created);
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    let problems = walk
        .problems
        .iter()
        .map(|(p, e)| (tree::join(&root, p), e.clone()))
        .collect();
    Ok(GrantDiff {
        root,
        changes,
        skipped,
        recorded,
        problems,
        leftovers,
    })
}

/// A created entry that is a deleted one moved: the same inode, or for
/// regular files the same contents. The deleted entry then stays in the
/// list (restore brings it back) with the new place noted on the created
/// one, which becomes `renamed`.
fn find_renames(changes: &mut [Diff], created: &mut [Diff]) {
    let mut by_inode: HashMap<(u64, u64), usize> = HashMap::new();
    // By size and contents: a moved file keeps both, so only a created file
    // as large as a deleted one is read, and never more than the largest
    // file the snapshot recorded (the sandboxed command can make a sparse
    // file of 16 TiB in no time; hashing it would take an hour).
    let mut by_hash: HashMap<(u64, blake3::Hash), usize> = HashMap::new();
    let mut sizes: std::collections::HashSet<u64> = Default::default();
    for (i, d) in changes.iter().enumerate() {
        if d.change != Change::Deleted {
            continue;
        }
        if let Some(b) = &d.before {
            by_inode.insert((b.dev, b.ino), i);
            if let Some(h) = b.hash {
                by_hash.insert((b.size, h), i);
                sizes.insert(b.size);
            }
        }
    }
    if by_inode.is_empty() {
        return;
    }
    for c in created.iter_mut() {
        let Some(cur) = &c.now else { continue };
        let mut hit = by_inode.get(&(cur.dev, cur.ino)).copied();
        if hit.is_none() && cur.kind == Kind::File && sizes.contains(&cur.size) {
            if let Ok(h) = hash_file(&c.path) {
                hit = by_hash.get(&(cur.size, h)).copied();
            }
        }
        if let Some(i) = hit {
            if changes[i].before.as_ref().map(|b| b.kind) == Some(cur.kind) {
                c.change = Change::Renamed;
                c.from = Some(changes[i].path.clone());
                c.before = changes[i].before.clone();
            }
        }
    }
}

/// Names restore uses for its temporary files; an interrupted restore may
/// leave one, which the next restore replaces or removes.
pub fn is_restore_temp(rel: &[u8]) -> bool {
    let name = rel.rsplit(|b| *b == b'/').next().unwrap_or(rel);
    name.starts_with(b".nono-restore-")
}

fn content_change(
    store: &Store,
    abs: &Path,
    old: &Entry,
    cur: &Entry,
    started_ns: i64,
) -> Option<Change> {
    if old.same_stat(cur) && old.ctime_ns < started_ns - 2_000_000_000 {
        return None;
    }
    let Some(h) = old.hash else {
        return Some(Change::Modified);
    };
    if cur.size > old.size {
        return Some(Change::Modified);
    }
    if cur.size == old.size {
        return match hash_file(abs) {
            Ok(now) if now == h => None,
            _ => Some(Change::Modified),
        };
    }
    // Shorter: truncated when the rest is the start of the old contents.
    let is_prefix = (|| -> std::io::Result<bool> {
        let mut a = Vec::new();
        // O_NONBLOCK: a lease the sandboxed command still holds makes a
        // plain open wait (45 s per file); this one fails instead.
        open_nonblocking(abs)?
            .take(cur.size + 1)
            .read_to_end(&mut a)?;
        let mut b = Vec::new();
        store
            .open_object(&h)?
            .take(a.len() as u64)
            .read_to_end(&mut b)?;
        Ok(a == b)
    })();
    Some(if is_prefix.unwrap_or(false) {
        Change::Truncated
    } else {
        Change::Modified
    })
}

/// Opens `p` for reading without following a final symlink and without
/// waiting: for a FIFO, or a file under a lease another process holds,
/// the open fails (EWOULDBLOCK) or returns at once instead of blocking.
fn open_nonblocking(p: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(p)
}

pub fn hash_file(p: &Path) -> std::io::Result<blake3::Hash> {
    let f = open_nonblocking(p)?;
    let mut h = blake3::Hasher::new();
    h.update_reader(f)?;
    Ok(h.finalize())
}
