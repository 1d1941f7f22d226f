//! Rendering of snapshots, diffs and restores, for people (text) and
//! scripts (`nono undo diff --json`). Everything here only formats data
//! that the other modules computed, writing through `io::Result`.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::json::jpath;
use crate::output;
use crate::undo::diff::{Change, GrantDiff};
use crate::undo::manifest::Skip;
use crate::undo::prune::Pruned;
use crate::undo::restore::Outcome;
use crate::undo::snapshot::{Plan, Taken};
use crate::undo::store::RunMeta;
use crate::undo::{time, Limits};

/// A path for display: relative to `cwd` when beneath it.
fn show(p: &Path, cwd: &Path) -> String {
    match p.strip_prefix(cwd) {
        Ok(r) if r.as_os_str().is_empty() => ".".into(),
        Ok(r) => output::path(r),
        Err(_) => output::path(p),
    }
}

fn command_line(run: &RunMeta) -> String {
    output::text(&run.command_text().join(" "))
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The line `nono run --snapshot` prints before the command starts. Not
/// `nono:`, which starts only the lines of something that went wrong.
pub fn snapshot_summary(w: &mut dyn Write, t: &Taken) -> io::Result<()> {
    let s = t
        .meta
        .grants
        .iter()
        .fold(crate::undo::store::Stats::default(), |mut a, g| {
            a.files += g.stats.files;
            a.bytes += g.stats.bytes;
            a.copied += g.stats.copied;
            a.reused += g.stats.reused;
            a.skipped += g.stats.skipped;
            a
        });
    writeln!(
        w,
        "nono snapshot {} of {}: {}, {} copied, {} unchanged{}; undo with 'nono undo restore'",
        t.meta.id,
        plural(t.meta.grants.len() as u64, "write grant", "write grants"),
        plural(s.files, "file", "files"),
        s.copied,
        s.reused,
        if s.skipped > 0 {
            format!(", {} not copied (see 'nono undo diff')", s.skipped)
        } else {
            String::new()
        }
    )?;
    if t.pruned > 0 {
        writeln!(
            w,
            "nono snapshot: retention removed the {} oldest",
            plural(t.pruned as u64, "run", "runs")
        )?;
    }
    if !t.missing.is_empty() {
        writeln!(
            w,
            "nono: snapshot incomplete (best-effort): {} not recorded:",
            plural(t.missing.len() as u64, "entry", "entries")
        )?;
        for (p, e) in &t.missing {
            writeln!(w, "  {}: {}", output::path(p), output::text(e))?;
        }
    }
    Ok(())
}

/// The snapshot section of `nono run --dry-run`.
pub fn plan_text(
    w: &mut dyn fmt::Write,
    plans: &[Plan],
    mode: crate::undo::Mode,
    limits: &Limits,
) -> fmt::Result {
    writeln!(w)?;
    writeln!(
        w,
        "Snapshot ({}): before the command starts, nono records the write grants for 'nono undo':",
        mode.name()
    )?;
    for p in plans {
        writeln!(
            w,
            "  {}: {}, {} ({} bytes)",
            output::path(&p.root),
            plural(p.entries, "entry", "entries"),
            plural(p.files, "file", "files"),
            p.bytes
        )?;
        for (s, why) in &p.skipped {
            writeln!(
                w,
                "    not copied ({}): {}",
                skip_text(*why, limits),
                output::path(s)
            )?;
        }
        for (s, e) in &p.problems {
            writeln!(
                w,
                "    unreadable: {}: {}",
                output::path(s),
                output::text(e)
            )?;
        }
        if p.truncated {
            writeln!(
                w,
                "    more than {} entries: the snapshot would be refused",
                limits.max_entries
            )?;
        }
    }
    if plans.is_empty() {
        writeln!(w, "  (no write grants: nothing to record)")?;
    }
    Ok(())
}

pub fn plan_json(plans: &[Plan], mode: crate::undo::Mode) -> Value {
    json!({
        "mode": mode.name(),
        "grants": plans.iter().map(|p| json!({
            "root": jpath(&p.root),
            "entries": p.entries,
            "files": p.files,
            "bytes": p.bytes,
            "skipped": p.skipped.iter().map(|(s, why)| json!({"path": jpath(s), "reason": why.reason()})).collect::<Vec<_>>(),
            "unreadable": p.problems.iter().map(|(s, e)| json!({"path": jpath(s), "error": e})).collect::<Vec<_>>(),
            "over_limit": p.truncated,
        })).collect::<Vec<_>>(),
    })
}

fn skip_text(s: Skip, limits: &Limits) -> String {
    match s {
        Skip::Rebuildable => "rebuildable directory".into(),
        Skip::Large => format!("larger than {} bytes", limits.max_file),
        Skip::Special => "special file".into(),
        Skip::Unreadable => "unreadable".into(),
        Skip::No => String::new(),
    }
}

pub fn empty(w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "no snapshots (take one with 'nono run --snapshot ...')")
}

/// `nono undo list`.
pub fn list(w: &mut dyn Write, rows: &[(&RunMeta, Option<usize>)], cwd: &Path) -> io::Result<()> {
    if rows.is_empty() {
        return empty(w);
    }
    writeln!(
        w,
        "{:<19}  {:<23}  {:>7}  COMMAND",
        "RUN", "TIME", "CHANGED"
    )?;
    for (run, changed) in rows {
        let changed = changed.map(|c| c.to_string()).unwrap_or_else(|| "?".into());
        writeln!(
            w,
            "{:<19}  {:<23}  {:>7}  {}",
            run.id,
            time::display(run.started_ms),
            changed,
            command_line(run)
        )?;
        let roots: Vec<String> = run.roots().map(|r| show(&r, cwd)).collect();
        writeln!(w, "{:<19}  grants: {}", "", roots.join(", "))?;
    }
    Ok(())
}

fn mode_change(d: &crate::undo::diff::Diff) -> Option<(u32, u32)> {
    match (&d.before, &d.now) {
        (Some(b), Some(n)) if b.mode != n.mode && b.kind == n.kind => Some((b.mode, n.mode)),
        _ => None,
    }
}

/// `nono undo diff`.
pub fn diff_text(
    w: &mut dyn Write,
    run: &RunMeta,
    diffs: &[GrantDiff],
    cwd: &Path,
) -> io::Result<()> {
    writeln!(
        w,
        "snapshot {} ({}): {}",
        run.id,
        time::display(run.started_ms),
        command_line(run)
    )?;
    let mut n = 0u64;
    for d in diffs {
        for c in &d.changes {
            n += 1;
            let mut line = format!("  {:<10} {}", c.change.name(), show(&c.path, cwd));
            if let Some(from) = &c.from {
                line.push_str(&format!(" (from {})", show(from, cwd)));
            }
            if c.change == Change::Replaced {
                if let (Some(b), Some(now)) = (&c.before, &c.now) {
                    line.push_str(&format!(
                        " (was a {}, now a {})",
                        b.kind.name(),
                        now.kind.name()
                    ));
                }
            }
            if let Some((b, a)) = mode_change(c) {
                line.push_str(&format!(" (mode {b:04o} -> {a:04o})"));
            }
            writeln!(w, "{line}")?;
        }
    }
    let skipped: Vec<&(PathBuf, Skip)> = diffs.iter().flat_map(|d| &d.skipped).collect();
    if !skipped.is_empty() {
        writeln!(
            w,
            "not copied by the snapshot (their contents cannot be restored):"
        )?;
        for (p, why) in skipped {
            writeln!(w, "  {:<11} {}", why.reason(), show(p, cwd))?;
        }
    }
    for d in diffs {
        for (p, e) in &d.problems {
            writeln!(w, "  unreadable now: {}: {}", show(p, cwd), output::text(e))?;
        }
    }
    if n == 0 {
        writeln!(w, "no differences")?;
    } else {
        writeln!(w, "{}", plural(n, "difference", "differences"))?;
    }
    Ok(())
}

/// `nono undo diff --json` (keys documented in docs/json.md).
pub fn diff_json(run: &RunMeta, diffs: &[GrantDiff]) -> Value {
    let mut changes = Vec::new();
    let mut counts = serde_json::Map::new();
    for c in [
        Change::Deleted,
        Change::Modified,
        Change::Truncated,
        Change::Replaced,
        Change::Mode,
        Change::Renamed,
        Change::Created,
    ] {
        counts.insert(c.name().into(), json!(0));
    }
    for d in diffs {
        for c in &d.changes {
            let mut o = serde_json::Map::new();
            o.insert("path".into(), jpath(&c.path));
            o.insert("change".into(), json!(c.change.name()));
            o.insert("root".into(), jpath(&d.root));
            if let Some(f) = &c.from {
                o.insert("from".into(), jpath(f));
            }
            if let Some(b) = &c.before {
                o.insert("kind_before".into(), json!(b.kind.name()));
                o.insert("mode_before".into(), json!(format!("{:04o}", b.mode)));
                o.insert("size_before".into(), json!(b.size));
            }
            if let Some(n) = &c.now {
                o.insert("kind_now".into(), json!(n.kind.name()));
                o.insert("mode_now".into(), json!(format!("{:04o}", n.mode)));
                o.insert("size_now".into(), json!(n.size));
            }
            if let Some(v) = counts.get_mut(c.change.name()) {
                *v = json!(v.as_u64().unwrap_or(0) + 1);
            }
            changes.push(Value::Object(o));
        }
    }
    json!({
        "schema_version": 1,
        "document": "undo_diff",
        "run": run_json(run),
        "changes": changes,
        "counts": counts,
        "skipped": diffs.iter().flat_map(|d| &d.skipped).map(|(p, why)| json!({"path": jpath(p), "reason": why.reason()})).collect::<Vec<_>>(),
        "unreadable": diffs.iter().flat_map(|d| &d.problems).map(|(p, e)| json!({"path": jpath(p), "error": e})).collect::<Vec<_>>(),
    })
}

fn run_json(run: &RunMeta) -> Value {
    let stats: Vec<Value> = run
        .grants
        .iter()
        .map(|g| {
            json!({
                "root": jpath(&crate::undo::store::path_of(&g.root)),
                "entries": g.stats.entries,
                "files": g.stats.files,
                "bytes": g.stats.bytes,
                "hashed": g.stats.hashed,
                "reused": g.stats.reused,
                "copied": g.stats.copied,
                "copied_bytes": g.stats.copied_bytes,
                "skipped": g.stats.skipped,
                "unreadable": g.stats.unreadable,
            })
        })
        .collect();
    json!({
        "id": run.id,
        "time": time::display(run.started_ms),
        "started_ms": run.started_ms,
        "cwd": jpath(&run.cwd_path()),
        "command": run.command_text(),
        "mode": run.mode,
        "grants": stats,
    })
}

/// `nono undo restore`.
pub fn restore_text(
    w: &mut dyn Write,
    run: &RunMeta,
    o: &Outcome,
    dry_run: bool,
    cwd: &Path,
) -> io::Result<()> {
    writeln!(
        w,
        "{} snapshot {} ({}): {}",
        if dry_run {
            "would restore from"
        } else {
            "restored from"
        },
        run.id,
        time::display(run.started_ms),
        command_line(run)
    )?;
    for (p, a) in &o.done {
        writeln!(w, "  {:<8} {}", a.name(), show(p, cwd))?;
    }
    if !o.kept.is_empty() {
        writeln!(
            w,
            "kept {} created since the snapshot (remove them with --remove-new):",
            plural(o.kept.len() as u64, "entry", "entries")
        )?;
        for p in &o.kept {
            writeln!(w, "  {}", show(p, cwd))?;
        }
    }
    if !o.not_recorded.is_empty() {
        writeln!(w, "not restorable, the snapshot did not copy them:")?;
        for (p, why) in &o.not_recorded {
            writeln!(w, "  {:<11} {}", why.reason(), show(p, cwd))?;
        }
    }
    if !o.failed.is_empty() {
        writeln!(
            w,
            "could not restore {}:",
            plural(o.failed.len() as u64, "path", "paths")
        )?;
        for (p, e) in &o.failed {
            writeln!(w, "  {}: {}", show(p, cwd), output::text(e))?;
        }
    }
    if o.done.is_empty() && o.failed.is_empty() {
        writeln!(w, "nothing to restore: the tree matches the snapshot")?;
    }
    Ok(())
}

/// `nono undo prune`.
pub fn pruned(w: &mut dyn Write, p: &Pruned, limits: &Limits) -> io::Result<()> {
    writeln!(
        w,
        "removed {} and {} ({} bytes); kept {} ({} bytes of objects; retention: {} runs, {} bytes)",
        plural(p.runs_removed.len() as u64, "run", "runs"),
        plural(p.objects_removed, "object", "objects"),
        p.bytes_removed,
        plural(p.runs_kept as u64, "run", "runs"),
        p.bytes_kept,
        limits.keep_runs,
        limits.max_bytes
    )?;
    for id in &p.runs_removed {
        writeln!(w, "  removed {id}")?;
    }
    Ok(())
}
