//! `nono undo ...` and the snapshot step of `nono run`: resolves which run
//! and which paths are meant, calls the store, diff and restore, and hands
//! the results to [`report::undo`](crate::report::undo).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use super::AppError;
use crate::cli::UndoCommand;
use crate::error::{Exit, Failure};
use crate::policy::{self, Context, Policy, Protected};
use crate::report::undo as report;
use crate::undo::store::{RunMeta, Store};
use crate::undo::{diff, prune, restore, snapshot, Limits, Mode, UndoError};

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

/// `nono undo ...`: exit 0, or 1 (diff: differences; restore: some paths
/// not restored), 125 on error.
pub fn undo_command(cmd: UndoCommand) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    let protected = policy::protected::load(&ctx)?;
    let req = match cmd {
        UndoCommand::List => Request::List,
        UndoCommand::Diff { json, args } => Request::Diff { json, args },
        UndoCommand::Restore {
            remove_new,
            dry_run,
            args,
        } => Request::Restore {
            remove_new,
            dry_run,
            args,
        },
        UndoCommand::Prune => Request::Prune,
    };
    Ok(run(req, &ctx, &protected)?.into())
}

fn out_err(e: std::io::Error) -> UndoError {
    UndoError::Output(e)
}

fn stdout_err(e: std::io::Error) -> Failure {
    AppError::Stdout(e).into()
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
    let roots = crate::undo::write_roots(policy);
    let dir = crate::undo::store_dir(&policy.context.home);
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
    // nono's own messages on stderr go through `say`, the one place where
    // a failed write there (2>/dev/full) is dropped: it has nowhere to be
    // reported and must not stop the command.
    match taken {
        Ok(t) => {
            if !quiet {
                let mut text = Vec::new();
                report::snapshot_summary(&mut text, &t).map_err(out_err)?;
                let lines: Vec<String> = String::from_utf8_lossy(&text)
                    .lines()
                    .map(String::from)
                    .collect();
                super::say(&lines);
            }
            Ok(())
        }
        Err(e) if mode == Mode::BestEffort => {
            super::say(&[format!(
                "nono: no snapshot taken (best-effort, running anyway): {e}"
            )]);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// What `nono run --dry-run` says about the snapshot it would take.
pub fn plan(policy: &Policy) -> Result<Vec<snapshot::Plan>, UndoError> {
    let limits = Limits::from_env()?;
    let roots = crate::undo::write_roots(policy);
    Ok(snapshot::plan(&roots, &limits, &policy.protected))
}

/// Runs `nono undo ...`; returns the exit status.
///
/// A failed write of a report is the orchestration's `Stdout` error, so a
/// closed pipe ends nono quietly, as for every other report.
pub fn run(req: Request, ctx: &Context, protected: &[Protected]) -> Result<Exit, Failure> {
    let limits = Limits::from_env()?;
    let dir = crate::undo::store_dir(&ctx.home);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let Some(store) = Store::existing(&dir) else {
        return match req {
            Request::List | Request::Prune => {
                report::empty(&mut w).map_err(stdout_err)?;
                Ok(Exit::Success)
            }
            _ => Err(UndoError::NoRun(ctx.cwd.clone()).into()),
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
            report::list(&mut w, &rows, &ctx.cwd).map_err(stdout_err)?;
            Ok(Exit::Success)
        }
        Request::Diff { json, args } => {
            let _lock = store.lock(false).map_err(|e| store_err(&store, e))?;
            let (run, filter) = resolve(&store, &args, &ctx.cwd)?;
            let diffs = diffs(&store, &run, &limits, protected, &filter)?;
            if json {
                let doc = report::diff_json(&run, &diffs);
                crate::report::write_json(&mut w, &doc).map_err(stdout_err)?;
            } else {
                report::diff_text(&mut w, &run, &diffs, &ctx.cwd).map_err(stdout_err)?;
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
            report::restore_text(&mut w, &run, &outcome, dry_run, &ctx.cwd).map_err(stdout_err)?;
            // Contents the snapshot did not copy are not restored either.
            Ok(Exit::answer(
                outcome.failed.is_empty() && outcome.not_recorded.is_empty(),
            ))
        }
        Request::Prune => {
            let p = prune::run(&store, &limits)?;
            report::pruned(&mut w, &p, &limits).map_err(stdout_err)?;
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
        let root = crate::undo::store::path_of(&g.root);
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
    // Every root a snapshot recorded: symlinks inside one are the
    // sandboxed command's to plant, and are never followed.
    let roots: Vec<PathBuf> = runs.iter().flat_map(|r| r.roots()).collect();
    let filter: Vec<PathBuf> = rest.iter().map(|p| absolute(p, cwd, &roots)).collect();
    let targets: Vec<PathBuf> = if filter.is_empty() {
        vec![absolute(cwd, cwd, &roots)]
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

/// `p` made absolute against `cwd`, `.` and `..` removed, and resolved
/// through symlinks as far as it lies outside every snapshot root (a
/// symlink to the project works). Inside a root nothing is resolved: a
/// symlink there may be one the sandboxed command planted where a
/// directory was (`sub -> /other/project`), and following it would restore
/// into another tree; restore handles it as the entry it replaced. The
/// path itself may be gone: that is what restore is for.
fn absolute(p: &Path, cwd: &Path, roots: &[PathBuf]) -> PathBuf {
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
    let inside = |q: &Path| roots.iter().any(|r| q.starts_with(r));
    let mut out = PathBuf::from("/");
    let mut names = lexical.components().skip(1);
    while let Some(c) = names.next() {
        if inside(&out) {
            out.push(c);
            continue;
        }
        let next = out.join(c);
        match std::fs::canonicalize(&next) {
            Ok(real) => out = real,
            Err(_) => {
                // Missing from here on: the rest as written.
                out = next;
                for rest in names.by_ref() {
                    out.push(rest);
                }
            }
        }
    }
    out
}
