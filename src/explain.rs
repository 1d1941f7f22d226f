//! Rendering the policy for humans: `run --dry-run` and `why`.

use std::fmt::Write as _;
use std::path::Path;

use crate::exec::Command;
use crate::output;
use crate::policy::decide::{Decision, Reason};
use crate::policy::{Access, Kind, Origin, Policy};

/// What the kernel offers, as the explanation needs it.
pub struct KernelView {
    pub summary: String,
    /// `None` when this kernel can enforce the policy; else why not.
    pub refusal: Option<String>,
}

/// The complete `--dry-run` report.
pub fn dry_run(policy: &Policy, cmd: &Command, kernel: &KernelView, tmp_base: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "nono dry run: nothing is executed");
    let _ = writeln!(s, "command:  {}", output::path(&cmd.path));
    if cmd.resolved != cmd.path {
        let _ = writeln!(s, "          resolves to {}", output::path(&cmd.resolved));
    }
    if !policy.profiles.is_empty() {
        let _ = writeln!(s, "profiles: {}", output::text(&policy.profiles.join(", ")));
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
    for rule in &policy.rules {
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
