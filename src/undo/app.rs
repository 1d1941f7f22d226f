//! `nono undo ...` and the snapshot step of `nono run`: resolves which run
//! and which paths are meant, calls the store, diff and restore, and hands
//! the results to [`report`](super::report).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use super::store::{RunMeta, Store};
use super::{diff, prune, restore, snapshot, Limits, Mode, UndoError};
use crate::error::Exit;
use crate::policy::{Context, Policy, Protected};
use crate::report::undo as report;

/// A `nono undo` subcommand, free of clap types.
pub enum Request {
    List,
    Diff {
        json: bool,
        args: Vec<PathBuf>,
    },
    Restore {
        remove_new: bool,
        dry_run: bool,
        args: Vec<PathBuf>,
    },
    Prune,
}

fn out_err(e: std::io::Error) -> UndoError {
    UndoError::Output(e)
}

/// Takes the snapshot for `nono run`. In best-effort mode a failure of
/// the store itself is reported and the command runs without a snapshot.
pub fn take_for_run(
    policy: &Policy,
    mode: Mode,
    cwd: &Path,
    command: &[OsString],
    quiet: bool,
) -> Result<(), UndoError> {
    let limits = Limits::from_env()?;
    let roots = super::write_roots(policy);
    let dir = super::store_dir(&policy.context.home);
    let taken = Store::open(&dir)
        .map_err(|e| UndoError::Store {
            path: dir.clone(),
            source: e,
        })
        .and_then(|store| {
            snapshot::take(
                &store,
                &snapshot::Request {
                    roots: &roots,
                    protected: &policy.protected,
                    limits: &limits,
                    mode,
                    cwd,
                    command,
                },
            )
        });
    // nono's own messages on stderr: a failed write there (2>/dev/full)
    // has nowhere to be reported and must not stop the command, so it is
    // ignored, as for every other message of nono's.
    let mut err = std::io::stderr().lock();
    match taken {
        Ok(t) => {
            if !quiet {
                let _unreported = report::snapshot_summary(&mut err, &t);
            }
            Ok(())
        }
        Err(e) if mode == Mode::BestEffort => {
            let _unreported = writeln!(
                err,
                "nono: no snapshot taken (best-effort, running anyway): {e}"
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// What `nono run --dry-run` says about the snapshot it would take.
pub fn plan(policy: &Policy) -> Result<Vec<snapshot::Plan>, UndoError> {
    let limits = Limits::from_env()?;
    let roots = super::write_roots(policy);
    Ok(snapshot::plan(&roots, &limits, &policy.protected))
}

/// Runs `nono undo ...`; returns the exit status.
pub fn run(req: Request, ctx: &Context, protected: &[Protected]) -> Result<Exit, UndoError> {
    let limits = Limits::from_env()?;
    let dir = super::store_dir(&ctx.home);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let Some(store) = Store::existing(&dir) else {
        return match req {
            Request::List | Request::Prune => {
                report::empty(&mut w).map_err(out_err)?;
                Ok(Exit::Success)
            }
            _ => Err(UndoError::NoRun(ctx.cwd.clone())),
        };
    };
    match req {
        Request::List => {
            let _lock = store.lock(false).map_err(|e| store_err(&store, e))?;
            let runs = store.runs().map_err(|e| store_err(&store, e))?;
            let mut cache = HashMap::new();
            let mut rows = Vec::new();
            for run in &runs {
                let mut changed: Option<usize> = Some(0);
                for g in &run.grants {
                    match diff::grant_cached(&store, run, g, &limits, protected, &[], &mut cache) {
                        Ok(d) => {
                            if let Some(c) = changed.as_mut() {
                                *c += d.changes.len();
                            }
                        }
                        Err(_) => changed = None,
                    }
                }
                rows.push((run, changed));
            }
            report::list(&mut w, &rows, &ctx.cwd).map_err(out_err)?;
            Ok(Exit::Success)
        }
        Request::Diff { json, args } => {
            let _lock = store.lock(false).map_err(|e| store_err(&store, e))?;
            let (run, filter) = resolve(&store, &args, &ctx.cwd)?;
            let diffs = diffs(&store, &run, &limits, protected, &filter)?;
            if json {
                let doc = report::diff_json(&run, &diffs);
                writeln!(
                    w,
                    "{}",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                )
                .map_err(out_err)?;
            } else {
                report::diff_text(&mut w, &run, &diffs, &ctx.cwd).map_err(out_err)?;
            }
            let any = diffs.iter().any(|d| !d.changes.is_empty());
            Ok(Exit::answer(!any))
        }
        Request::Restore {
            remove_new,
            dry_run,
            args,
        } => {
            let _lock = store.lock(false).map_err(|e| store_err(&store, e))?;
            let (run, filter) = resolve(&store, &args, &ctx.cwd)?;
            let diffs = diffs(&store, &run, &limits, protected, &filter)?;
            let opts = restore::Options {
                remove_new,
                dry_run,
            };
            let mut outcome = restore::Outcome::default();
            for d in &diffs {
                restore::grant(&store, d, &opts, &mut outcome);
            }
            report::restore_text(&mut w, &run, &outcome, dry_run, &ctx.cwd).map_err(out_err)?;
            // Contents the snapshot did not copy are not restored either.
            Ok(Exit::answer(
                outcome.failed.is_empty() && outcome.not_recorded.is_empty(),
            ))
        }
        Request::Prune => {
            let p = prune::run(&store, &limits)?;
            report::pruned(&mut w, &p, &limits).map_err(out_err)?;
            Ok(Exit::Success)
        }
    }
}

fn store_err(store: &Store, e: std::io::Error) -> UndoError {
    UndoError::Store {
        path: store.root.clone(),
        source: e,
    }
}

fn diffs(
    store: &Store,
    run: &RunMeta,
    limits: &Limits,
    protected: &[Protected],
    filter: &[PathBuf],
) -> Result<Vec<diff::GrantDiff>, UndoError> {
    let mut out = Vec::new();
    for g in &run.grants {
        let root = super::store::path_of(&g.root);
        let relevant = filter.is_empty()
            || filter
                .iter()
                .any(|f| f.starts_with(&root) || root.starts_with(f));
        if relevant {
            out.push(diff::grant(store, run, g, limits, protected, filter)?);
        }
    }
    Ok(out)
}

/// A RUN argument: a run id or a unique prefix of one (digits and dashes,
/// at least 8 characters), matching a run in the store. Anything else is
/// a PATH.
fn looks_like_run(s: &str) -> bool {
    s.len() >= 8 && s.bytes().all(|b| b.is_ascii_digit() || b == b'-')
}

fn resolve(
    store: &Store,
    args: &[PathBuf],
    cwd: &Path,
) -> Result<(RunMeta, Vec<PathBuf>), UndoError> {
    let runs = store.runs().map_err(|e| store_err(store, e))?;
    let mut rest = args;
    let mut chosen: Option<RunMeta> = None;
    if let Some(first) = args.first().and_then(|a| a.to_str()) {
        if looks_like_run(first) {
            let hits: Vec<&RunMeta> = runs.iter().filter(|r| r.id.starts_with(first)).collect();
            match hits.as_slice() {
                [one] => {
                    chosen = Some((*one).clone());
                    rest = &args[1..];
                }
                [] if !cwd.join(first).exists() => {
                    return Err(UndoError::UnknownRun(first.to_string()))
                }
                [] => {}
                _ => return Err(UndoError::Ambiguous(first.to_string(), hits.len())),
            }
        }
    }
    let filter: Vec<PathBuf> = rest.iter().map(|p| absolute(p, cwd)).collect();
    let targets: Vec<PathBuf> = if filter.is_empty() {
        vec![absolute(cwd, cwd)]
    } else {
        filter.clone()
    };
    let covers = |r: &RunMeta, p: &Path| r.roots().any(|root| p.starts_with(&root));
    let run = match chosen {
        Some(r) => {
            for p in &filter {
                if !covers(&r, p) {
                    return Err(UndoError::NotCovered {
                        path: p.clone(),
                        id: r.id.clone(),
                    });
                }
            }
            r
        }
        None => runs
            .into_iter()
            .find(|r| targets.iter().all(|p| covers(r, p)))
            .ok_or_else(|| UndoError::NoRun(targets[0].clone()))?,
    };
    Ok((run, filter))
}

/// `p` made absolute against `cwd`, `.` and `..` removed, and its longest
/// existing ancestor resolved (the path itself may be gone: that is what
/// restore is for).
fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    let mut lexical = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut tail: Vec<OsString> = Vec::new();
    let mut head = lexical.clone();
    loop {
        if let Ok(c) = std::fs::canonicalize(&head) {
            let mut out = c;
            for t in tail.iter().rev() {
                out.push(t);
            }
            return out;
        }
        match head.file_name() {
            Some(n) => {
                tail.push(n.to_os_string());
                head.pop();
            }
            None => return lexical,
        }
    }
}
