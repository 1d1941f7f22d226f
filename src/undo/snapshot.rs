//! Taking a snapshot of the write grants, before the command starts.
//!
//! Incremental: an entry whose kind, size, mtime, ctime, inode and device
//! are those of the previous snapshot of the same grant keeps that
//! snapshot's hash without being read, so a second run costs a metadata
//! walk plus copies of what changed. An entry that changed within two
//! seconds before the previous snapshot began is read again anyway: file
//! times are coarse, and a write in the same clock tick as that snapshot
//! would otherwise go unseen (git's "racy clean" problem).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::config::Limits;
use super::manifest::{self, Entry, Kind, Skip};
use super::store::{esc, GrantMeta, RunMeta, Stats, Store};
use super::{time, tree, Mode, UndoError};
use crate::policy::Protected;

/// A snapshot that was taken.
pub struct Taken {
    pub meta: RunMeta,
    /// Entries not recorded (best-effort): absolute path and error.
    pub missing: Vec<(PathBuf, String)>,
    /// Retention removed these runs afterwards.
    pub pruned: usize,
}

/// How much older than the previous snapshot's start an entry's ctime must
/// be for its hash to be reused.
const RACY_NS: i64 = 2_000_000_000;

pub struct Request<'a> {
    pub roots: &'a [PathBuf],
    pub protected: &'a [Protected],
    pub limits: &'a Limits,
    pub mode: Mode,
    pub cwd: &'a Path,
    pub command: &'a [std::ffi::OsString],
}

pub fn take(store: &Store, req: &Request<'_>) -> Result<Taken, UndoError> {
    let sio = |e| UndoError::Store {
        path: store.root.clone(),
        source: e,
    };
    let _lock = store.lock(true).map_err(sio)?;
    store.remove_stale();
    let started_ms = time::now_ms();
    let id = store.new_id(started_ms);
    let previous = store.runs().map_err(sio)?;
    let tmp = store.begin(&id).map_err(sio)?;
    let result = take_into(store, req, &id, started_ms, &previous);
    let (meta, manifests, missing, _new_objects) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = store.commit(&tmp, &meta, &manifests, req.limits.durable) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(sio(e));
    }
    // Retention never fails the run: the snapshot is already complete.
    let pruned = match super::prune::auto(store, req.limits, &meta.id) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "retention");
            0
        }
    };
    Ok(Taken {
        meta,
        missing,
        pruned,
    })
}

type Built = (RunMeta, Vec<(String, String)>, Vec<(PathBuf, String)>, bool);

fn take_into(
    store: &Store,
    req: &Request<'_>,
    id: &str,
    started_ms: u64,
    previous: &[RunMeta],
) -> Result<Built, UndoError> {
    use std::os::unix::ffi::OsStrExt;
    let mut grants = Vec::new();
    let mut manifests = Vec::new();
    let mut missing: Vec<(PathBuf, String)> = Vec::new();
    let mut new_objects = false;
    let mut total_entries = 0u64;
    for (i, root) in req.roots.iter().enumerate() {
        let prev = previous_entries(store, previous, root);
        let mut limits = req.limits.clone();
        limits.max_entries = limits.max_entries.saturating_sub(total_entries);
        let walk = tree::walk(root, &limits, req.protected);
        if walk.truncated {
            if req.mode == Mode::Strict {
                return Err(UndoError::TooMany {
                    limit: req.limits.max_entries,
                    root: root.clone(),
                });
            }
            missing.push((
                root.clone(),
                format!(
                    "more than {} entries: the rest is not recorded",
                    req.limits.max_entries
                ),
            ));
        }
        let mut entries = walk.entries;
        let mut problems = walk.problems;
        let mut stats = Stats::default();
        for e in entries.iter_mut() {
            if e.kind == Kind::File && e.skip == Skip::No {
                if let Some(h) = prev.as_ref().and_then(|(map, started)| {
                    let p = map.get(&e.path)?;
                    (p.same_stat(e) && p.ctime_ns < *started - RACY_NS)
                        .then_some(p.hash)
                        .flatten()
                }) {
                    e.hash = Some(h);
                    stats.reused += 1;
                } else {
                    match copy_in(store, root, e) {
                        Ok((h, written, n)) => {
                            e.hash = Some(h);
                            e.size = n;
                            stats.hashed += 1;
                            if written {
                                stats.copied += 1;
                                stats.copied_bytes += n;
                                new_objects = true;
                            }
                        }
                        Err(err) if is_store_full(&err) => {
                            return Err(UndoError::Store {
                                path: store.root.clone(),
                                source: err,
                            })
                        }
                        Err(err) => {
                            e.skip = Skip::Unreadable;
                            problems.push((e.path.clone(), err.to_string()));
                        }
                    }
                    test_delay();
                }
            }
            stats.entries += 1;
            match e.skip {
                Skip::No if e.kind == Kind::File => {
                    stats.files += 1;
                    stats.bytes += e.size;
                }
                Skip::No => {}
                Skip::Unreadable => stats.unreadable += 1,
                _ => stats.skipped += 1,
            }
        }
        total_entries += entries.len() as u64;
        if !problems.is_empty() && req.mode == Mode::Strict {
            let (p, err) = &problems[0];
            return Err(UndoError::Unreadable {
                count: problems.len(),
                path: tree::join(root, p),
                error: err.clone(),
            });
        }
        for (p, err) in problems {
            missing.push((tree::join(root, &p), err));
        }
        let name = format!("{i}.manifest");
        manifests.push((
            name.clone(),
            manifest::encode(root.as_os_str().as_bytes(), &entries),
        ));
        grants.push(GrantMeta {
            root: esc(root.as_os_str().as_bytes()),
            manifest: name,
            stats,
        });
    }
    let meta = RunMeta {
        version: 1,
        id: id.to_string(),
        started_ms,
        cwd: esc(req.cwd.as_os_str().as_bytes()),
        command: req.command.iter().map(|a| esc(a.as_bytes())).collect(),
        mode: req.mode.name().to_string(),
        grants,
    };
    Ok((meta, manifests, missing, new_objects))
}

/// ENOSPC and EDQUOT are the store's failure, not the file's: a snapshot
/// cannot go on without space.
fn is_store_full(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// Copies one file into the store: (hash, new object written, bytes).
fn copy_in(store: &Store, root: &Path, e: &Entry) -> std::io::Result<(blake3::Hash, bool, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(tree::join(root, &e.path))?;
    // The walk saw a regular file; make sure this is still one (a fifo
    // swapped in would block a read).
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("no longer a regular file"));
    }
    let (h, n, written) = store.put(&mut f)?;
    Ok((h, written, n))
}

/// The entries of the newest earlier snapshot of the same root, by path,
/// with that snapshot's start time in nanoseconds.
fn previous_entries(
    store: &Store,
    previous: &[RunMeta],
    root: &Path,
) -> Option<(HashMap<Vec<u8>, Entry>, i64)> {
    for run in previous {
        for g in &run.grants {
            if super::store::path_of(&g.root) != root {
                continue;
            }
            match store.manifest(run, g) {
                Ok(entries) => {
                    let map = entries.into_iter().map(|e| (e.path.clone(), e)).collect();
                    return Some((map, run.started_ms as i64 * 1_000_000));
                }
                Err(e) => {
                    tracing::debug!(run = %run.id, error = %e, "previous manifest unreadable");
                    return None;
                }
            }
        }
    }
    None
}

/// Test builds only: `NONO_TEST_SNAPSHOT_DELAY_MS` slows every file copy,
/// so that a test can kill nono in the middle of a snapshot.
#[cfg(feature = "test-abi-cap")]
fn test_delay() {
    if let Some(ms) = std::env::var("NONO_TEST_SNAPSHOT_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(not(feature = "test-abi-cap"))]
fn test_delay() {}

/// What a snapshot of one root would record, from a metadata walk
/// (`nono run --dry-run`).
pub struct Plan {
    pub root: PathBuf,
    pub entries: u64,
    pub files: u64,
    pub bytes: u64,
    pub skipped: Vec<(PathBuf, Skip)>,
    pub problems: Vec<(PathBuf, String)>,
    pub truncated: bool,
}

pub fn plan(roots: &[PathBuf], limits: &Limits, protected: &[Protected]) -> Vec<Plan> {
    roots
        .iter()
        .map(|root| {
            let w = tree::walk(root, limits, protected);
            let files: Vec<&Entry> = w
                .entries
                .iter()
                .filter(|e| e.kind == Kind::File && e.skip == Skip::No)
                .collect();
            Plan {
                root: root.clone(),
                entries: w.entries.len() as u64,
                files: files.len() as u64,
                bytes: files.iter().map(|e| e.size).sum(),
                skipped: w
                    .entries
                    .iter()
                    .filter(|e| e.skip != Skip::No && e.skip != Skip::Unreadable)
                    .map(|e| (tree::join(root, &e.path), e.skip))
                    .collect(),
                problems: w
                    .problems
                    .iter()
                    .map(|(p, e)| (tree::join(root, p), e.clone()))
                    .collect(),
                truncated: w.truncated,
            }
        })
        .collect()
}
