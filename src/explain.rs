//! Rendering the policy for humans: `run --dry-run` and `why`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;

use crate::exec::Command;
use crate::output;
use crate::policy::decide::{Decision, Reason};
use crate::policy::{Access, Kind, Origin, Policy, Rule};

/// What the kernel offers, as the explanation needs it.
pub struct KernelView {
    pub summary: String,
    /// `None` when this kernel can enforce the policy; else why not.
    pub refusal: Option<String>,
}

/// The complete `--dry-run` report.
pub fn dry_run(
    policy: &Policy,
    cmd: &Command,
    kernel: &KernelView,
    tmp_base: &Path,
    blocked: Option<&str>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "nono dry run: nothing is executed");
    let _ = writeln!(s, "command:  {}", output::path(&cmd.path));
    if cmd.resolved != cmd.path {
        let _ = writeln!(s, "          resolves to {}", output::path(&cmd.resolved));
    }
    if let Some(b) = blocked {
        let _ = writeln!(
            s,
            "          BLOCKED: {} (nono run would exit 126)",
            output::text(b)
        );
    }
    let _ = writeln!(s, "kernel:   {}", kernel.summary);
    if let Some(r) = &kernel.refusal {
        let _ = writeln!(s, "          REFUSED: {r}");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "rules ({}; r read, x execute, w write+create, d delete+rename+truncate, i device ioctl):",
        policy.rules.len() + 1
    );
    let width = policy
        .rules
        .iter()
        .map(|r| output::path(&r.path).chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let mut per_file: BTreeMap<&Path, Vec<&Rule>> = BTreeMap::new();
    for rule in &policy.rules {
        if is_per_file_exec(rule) {
            if let Some(parent) = rule.path.parent() {
                per_file.entry(parent).or_default().push(rule);
                continue;
            }
        }
        let origins: Vec<String> = rule.parts.iter().map(|(_, o)| describe(o)).collect();
        let p = output::path(&rule.path);
        let _ = writeln!(
            s,
            "  {}  {:<4}  {:<width$}  {}",
            rule.access().short(),
            rule.kind.name(),
            p,
            origins.join("; "),
        );
    }
    for (dir, rules) in &per_file {
        let p = format!("{}/*", output::path(dir));
        let _ = writeln!(
            s,
            "  {}  {:<4}  {:<width$}  {} programs, one rule each; blocked programs left out",
            Access::EXECUTE.short(),
            Kind::File.name(),
            p,
            rules.len(),
        );
    }
    let tmp = format!("{}/run-XXXXXX", output::path(tmp_base));
    let _ = writeln!(
        s,
        "  {}  {:<4}  {:<width$}  private temporary directory, created at start, exported as TMPDIR",
        Access::ALL.short(),
        Kind::Dir.name(),
        tmp,
    );

    let _ = writeln!(s);
    let deletable: Vec<String> = policy
        .rules
        .iter()
        .filter(|r| r.access().contains(Access::DELETE))
        .map(|r| output::path(&r.path))
        .collect();
    let _ = writeln!(
        s,
        "delete protection: unlink, rmdir, rename, move and truncate are denied by the kernel everywhere{}",
        if deletable.is_empty() {
            " except the private temporary directory".to_string()
        } else {
            format!(
                " except the private temporary directory and: {}",
                deletable.join(", ")
            )
        }
    );

    blocklist_section(&mut s, policy);

    let _ = writeln!(s);
    let _ = writeln!(s, "protected (never reachable, whatever is granted):");
    let mut last_category = "";
    for p in &policy.protected {
        if p.category != last_category {
            let _ = writeln!(s, "  {}:", p.category);
            last_category = &p.category;
        }
        let _ = writeln!(
            s,
            "    {}{}",
            output::path(&p.path),
            if p.exists { "" } else { " (absent)" }
        );
    }
    if !policy.carved.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "carve-outs: these directories were split to keep protected paths out of a grant;"
        );
        let _ = writeln!(
            s,
            "their existing entries are granted one by one, but the directory itself cannot be listed or written, and entries created in it later are not covered:"
        );
        for c in &policy.carved {
            let _ = writeln!(
                s,
                "  {}  (from the grant of {})",
                output::path(&c.dir),
                output::path(&c.grant)
            );
        }
    }
    s
}

/// A per-file execute rule made by the blocklist split: listed in the
/// dry run as one line per directory (`why` shows each one).
fn is_per_file_exec(rule: &Rule) -> bool {
    rule.kind == Kind::File
        && rule.access() == Access::EXECUTE
        && rule
            .parts
            .iter()
            .all(|(_, o)| matches!(o, Origin::ExecSplit { .. }))
}

/// The effective blocklist by category, with the files it blocks.
fn blocklist_section(s: &mut String, policy: &Policy) {
    let c = &policy.commands;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "command blocklist (COMMAND is checked by name and resolved file; the kernel denies execute of these files to every process):"
    );
    let mut order: Vec<String> = Vec::new();
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in c.list.effective() {
        if !order.contains(&e.category) {
            order.push(e.category.clone());
        }
        names
            .entry(e.category.clone())
            .or_default()
            .push(e.pattern.as_str().to_string());
    }
    let mut files: BTreeMap<&str, Vec<&crate::policy::programs::BlockedFile>> = BTreeMap::new();
    for f in &c.blocked {
        if !order.contains(&f.hit.category) {
            order.push(f.hit.category.clone());
        }
        files.entry(f.hit.category.as_str()).or_default().push(f);
    }
    for cat in &order {
        match names.get(cat) {
            Some(n) => {
                let _ = writeln!(s, "  {cat}: {}", output::text(&n.join(", ")));
            }
            None => {
                let _ = writeln!(s, "  {}:", output::text(cat));
            }
        }
        for f in files.get(cat.as_str()).into_iter().flatten() {
            let mut line = format!("    {}", output::path(&f.path));
            if let Some(t) = &f.target {
                let _ = write!(line, " -> {}", output::path(t));
            }
            if !f.same_as.is_empty() {
                let _ = write!(
                    line,
                    " (same file as {})",
                    output::text(&f.same_as.join(", "))
                );
            }
            let _ = writeln!(s, "{line}");
        }
    }
    for m in &c.list.multicall {
        let still = c.list.still_blocked(m);
        let names: Vec<&str> = m
            .names
            .iter()
            .map(|p| p.as_str())
            .filter(|n| c.list.check(n.as_bytes()).is_some())
            .collect();
        if !still.is_empty()
            && !names.is_empty()
            && !order
                .iter()
                .any(|o| o.starts_with(crate::policy::blocklist::MULTICALL_CATEGORY))
        {
            let _ = writeln!(
                s,
                "  multi-call binaries: {} (they run blocked commands as applets)",
                names.join(", ")
            );
        }
    }
    if !c.list.allowed.is_empty() {
        let lifted: Vec<&str> = c.list.allowed.iter().map(|p| p.as_str()).collect();
        let _ = writeln!(
            s,
            "  lifted with --allow-command: {}",
            output::text(&lifted.join(", "))
        );
    }
    if !c.split.is_empty() {
        let dirs: Vec<String> = c.split.iter().map(|d| output::path(d)).collect();
        let _ = writeln!(
            s,
            "  execute is granted per file in: {} (programs created there later cannot be executed)",
            dirs.join(", ")
        );
    }
    if !c.searched.is_empty() {
        let dirs: Vec<String> = c.searched.iter().map(|d| output::path(d)).collect();
        let _ = writeln!(
            s,
            "  searched for blocked names (--block-command): {} (files created later are not covered)",
            dirs.join(", ")
        );
    }
}

/// `--dry-run` of a blocked COMMAND that does not exist here.
pub fn blocked_command(message: Option<&str>) -> String {
    format!(
        "nono dry run: nothing is executed\ncommand:  BLOCKED: {} (nono run would exit 126)\n",
        output::text(message.unwrap_or("blocked"))
    )
}

/// The `why --command` answer.
pub fn why_command(
    name: &OsStr,
    found: Option<&Command>,
    blocked: Option<(&str, &[String])>,
    kernel_exec: Option<bool>,
) -> String {
    let mut s = String::new();
    let shown = output::path(Path::new(name));
    match blocked {
        Some((msg, hints)) => {
            let _ = writeln!(s, "BLOCKED: {}", output::text(msg));
            for h in hints {
                let _ = writeln!(s, "  {}", output::text(h));
            }
        }
        None => {
            let _ = writeln!(s, "NOT BLOCKED: '{shown}' is not on the command blocklist");
        }
    }
    match found {
        Some(cmd) => {
            let _ = writeln!(s, "  found: {}", output::path(&cmd.path));
            if cmd.resolved != cmd.path {
                let _ = writeln!(s, "  resolves to: {}", output::path(&cmd.resolved));
            }
        }
        None => {
            let _ = writeln!(s, "  not found in PATH on this machine");
        }
    }
    if let (Some(cmd), Some(x)) = (found, kernel_exec) {
        let _ = writeln!(
            s,
            "  kernel: execute of {} is {} inside the sandbox",
            output::path(&cmd.resolved),
            if x { "granted" } else { "denied" }
        );
    }
    s
}

fn describe(o: &Origin) -> String {
    o.describe()
}

/// The `why` answer.
pub fn why(d: &Decision) -> String {
    let mut s = String::new();
    let verdict = if d.allowed { "ALLOWED" } else { "DENIED" };
    let _ = writeln!(s, "{verdict}: {} {}", d.op.name(), output::path(&d.given));
    if d.via_symlink() {
        let _ = writeln!(
            s,
            "  the path resolves to {}: the kernel checks that, not the link",
            output::path(&d.resolved)
        );
    } else if !d.exists {
        let _ = writeln!(s, "  the path does not exist (yet)");
    }
    if d.checked != d.resolved {
        let _ = writeln!(
            s,
            "  the kernel checks this on the parent directory {}",
            output::path(&d.checked)
        );
    }
    match &d.reason {
        Reason::Protected { path, category } => {
            let _ = writeln!(
                s,
                "  reason: {} is protected ({category}); nono never grants it",
                output::path(path)
            );
        }
        Reason::Granted => {
            let _ = writeln!(s, "  reason: granted by");
        }
        Reason::DeleteProtected => {
            let _ = writeln!(
                s,
                "  reason: writable, but delete protection denies unlink, rename and truncate here"
            );
        }
        Reason::BlockedCommand { message } => {
            let _ = writeln!(
                s,
                "  reason: {}; the kernel rules leave it without execute",
                output::text(message)
            );
        }
        Reason::NotGranted => {
            let _ = writeln!(s, "  reason: no rule grants {} here", d.op.name());
        }
    }
    for r in &d.rules {
        let origins: Vec<String> = r
            .parts
            .iter()
            .map(|(a, o)| format!("{} from {}", a, describe(o)))
            .collect();
        let _ = writeln!(
            s,
            "    {}  {}  {}",
            r.access().short(),
            output::path(&r.path),
            origins.join("; ")
        );
    }
    if let Some(sug) = &d.suggestion {
        let _ = writeln!(s, "  to allow it: {}", output::text(sug));
    }
    s
}
