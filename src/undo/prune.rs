//! Retention and garbage collection of the store.
//!
//! Retention keeps the newest `keep_runs` runs, then drops the oldest of
//! those until the objects the kept runs refer to fit in `max_bytes`; the
//! newest run is always kept. Objects no kept run refers to are deleted.
//! After a snapshot this runs only once the number of runs exceeds the
//! limit by a quarter, so that its cost (reading every kept manifest) is
//! paid every few runs, not every run.

use std::collections::{HashMap, HashSet};
use std::fs;

use super::config::Limits;
use super::store::{RunMeta, Store};
use super::UndoError;

#[derive(Default, Debug)]
pub struct Pruned {
    pub runs_removed: Vec<String>,
    pub runs_kept: usize,
    pub objects_removed: u64,
    pub bytes_removed: u64,
    pub bytes_kept: u64,
}

/// After a snapshot (exclusive lock held by the caller).
pub fn auto(store: &Store, limits: &Limits, newest: &str) -> Result<usize, UndoError> {
    let runs = store.runs().map_err(|e| store_err(store, e))?;
    let slack = limits.keep_runs + limits.keep_runs.div_ceil(4);
    if runs.len() <= slack.max(1) {
        return Ok(0);
    }
    let p = prune_locked(store, limits, runs, newest)?;
    Ok(p.runs_removed.len())
}

fn store_err(store: &Store, e: std::io::Error) -> UndoError {
    UndoError::Store {
        path: store.root.clone(),
        source: e,
    }
}

/// `nono undo prune`.
pub fn run(store: &Store, limits: &Limits) -> Result<Pruned, UndoError> {
    let _lock = store.lock(true).map_err(|e| store_err(store, e))?;
    store.remove_stale();
    let runs = store.runs().map_err(|e| store_err(store, e))?;
    let newest = runs.first().map(|r| r.id.clone()).unwrap_or_default();
    prune_locked(store, limits, runs, &newest)
}

fn prune_locked(
    store: &Store,
    limits: &Limits,
    runs: Vec<RunMeta>,
    newest: &str,
) -> Result<Pruned, UndoError> {
    // Each run's objects and their sizes, from the manifests.
    let mut refs: Vec<Refs> = Vec::new();
    for run in runs {
        let mut objs = HashMap::new();
        let mut readable = true;
        for g in &run.grants {
            match store.manifest(&run, g) {
                Ok(entries) => {
                    for e in entries {
                        if let Some(h) = e.hash {
                            objs.insert(h, e.size);
                        }
                    }
                }
                Err(_) => readable = false,
            }
        }
        // A damaged run cannot be restored from: it is dropped, and keeps
        // no object alive.
        refs.push((run, readable.then_some(objs)));
    }
    let (keep, drop) = choose(&refs, limits, newest);
    let mut out = Pruned::default();
    for i in drop {
        let id = &refs[i].0.id;
        store.delete_run(id).map_err(|e| store_err(store, e))?;
        out.runs_removed.push(id.clone());
    }
    let mut live: HashSet<blake3::Hash> = HashSet::new();
    for &i in &keep {
        live.extend(refs[i].1.iter().flat_map(|o| o.keys().copied()));
    }
    out.runs_kept = keep.len();
    for shard in fs::read_dir(store.root.join("objects")).map_err(|e| store_err(store, e))? {
        let Ok(shard) = shard else { continue };
        let sname = shard.file_name();
        let Some(sname) = sname.to_str() else {
            continue;
        };
        if sname.len() != 2 {
            continue;
        }
        for obj in fs::read_dir(shard.path()).into_iter().flatten().flatten() {
            let oname = obj.file_name();
            let hex = format!("{sname}{}", oname.to_string_lossy());
            let size = obj.metadata().map(|m| m.len()).unwrap_or(0);
            let alive = blake3::Hash::from_hex(&hex).is_ok_and(|h| live.contains(&h));
            if alive {
                out.bytes_kept += size;
            } else if fs::remove_file(obj.path()).is_ok() {
                out.objects_removed += 1;
                out.bytes_removed += size;
            }
        }
    }
    Ok(out)
}

/// Which runs to keep and which to drop (indices into `refs`, newest
/// first). Pure: tested on its own.
type Refs = (RunMeta, Option<HashMap<blake3::Hash, u64>>);

fn choose(refs: &[Refs], limits: &Limits, newest: &str) -> (Vec<usize>, Vec<usize>) {
    let mut keep: Vec<usize> = Vec::new();
    let mut drop: Vec<usize> = Vec::new();
    let mut seen: HashSet<blake3::Hash> = HashSet::new();
    let mut bytes = 0u64;
    for (i, (run, objs)) in refs.iter().enumerate() {
        let is_newest = run.id == newest;
        let Some(objs) = objs else {
            drop.push(i);
            continue;
        };
        let extra: u64 = objs
            .iter()
            .filter(|(h, _)| !seen.contains(*h))
            .map(|(_, s)| *s)
            .sum();
        let fits = keep.len() < limits.keep_runs.max(1) && bytes + extra <= limits.max_bytes;
        if is_newest || (fits && drop.is_empty()) {
            keep.push(i);
            bytes += extra;
            seen.extend(objs.keys().copied());
        } else {
            drop.push(i);
        }
    }
    (keep, drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, objs: &[(&str, u64)]) -> Refs {
        (
            RunMeta {
                version: 1,
                id: id.into(),
                started_ms: 0,
                cwd: String::new(),
                command: vec![],
                mode: "strict".into(),
                grants: vec![Default::default()],
            },
            Some(
                objs.iter()
                    .map(|(k, s)| (blake3::hash(k.as_bytes()), *s))
                    .collect(),
            ),
        )
    }

    fn limits(keep_runs: usize, max_bytes: u64) -> Limits {
        Limits {
            max_file: 0,
            max_entries: 0,
            keep_runs,
            max_bytes,
            skip_names: vec![],
            durable: false,
        }
    }

    #[test]
    fn keeps_the_newest_runs_within_count_and_size() {
        let refs = vec![
            run("3", &[("a", 10), ("b", 10)]),
            run("2", &[("a", 10), ("c", 10)]),
            run("1", &[("d", 100)]),
        ];
        assert_eq!(
            choose(&refs, &limits(5, 1000), "3"),
            (vec![0, 1, 2], vec![])
        );
        assert_eq!(choose(&refs, &limits(2, 1000), "3"), (vec![0, 1], vec![2]));
        // Shared objects count once: 3 and 2 need 30 bytes together.
        assert_eq!(choose(&refs, &limits(5, 30), "3"), (vec![0, 1], vec![2]));
        // Once a run is dropped, every older one goes too.
        assert_eq!(choose(&refs, &limits(5, 25), "3"), (vec![0], vec![1, 2]));
        // The newest run stays even when it alone is over the size.
        assert_eq!(choose(&refs, &limits(5, 1), "3"), (vec![0], vec![1, 2]));
    }
}
