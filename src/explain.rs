//! Rendering for humans and scripts: `run --dry-run`, `why` and `setup`.
//!
//! One section per report; each has a text renderer (escaped paths via
//! [`output`], colour through [`Style`]) and a JSON builder. The JSON keys
//! are documented in docs/json.md and checked against it by
//! tests/explain.rs; bump [`SCHEMA_VERSION`] when a key changes meaning or
//! disappears (adding keys does not).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::exec::Command;
use crate::output::{self, Style};
use crate::policy::decide::{Decision, Reason, Suggestion};
use crate::policy::{Access, Kind, Op, Origin, Policy, Rule};
use crate::setup;

/// The version of every JSON document nono prints.
pub const SCHEMA_VERSION: u32 = 1;

/// What the kernel offers, as the explanation needs it.
pub struct KernelView {
    pub summary: String,
    /// `landlock`, or `none` where no backend exists.
    pub backend: &'static str,
    /// The kernel's Landlock ABI, when there is one.
    pub kernel_abi: Option<i32>,
    /// The ABI nono uses (0: none).
    pub abi: i32,
    /// `None` when this kernel can enforce the policy; else why not.
    pub refusal: Option<String>,
}

// ---------------------------------------------------------------------------
// Shared JSON pieces

/// A path for JSON: exact when it is UTF-8, else with U+FFFD for the bytes
/// that are not (the text output shows them as `\xNN`).
fn jpath(p: &Path) -> Value {
    Value::String(p.to_string_lossy().into_owned())
}

fn jaccess(a: Access) -> Value {
    json!(a.names())
}

fn origin_json(o: &Origin) -> Value {
    match o {
        Origin::User { source, given } => json!({
            "type": "user",
            "source": source.to_string(),
            "given": jpath(given),
        }),
        Origin::System { why } => json!({ "type": "system", "why": why }),
        Origin::TempDir => json!({ "type": "temp_dir" }),
        Origin::MountLayer { what } => json!({ "type": "mount_layer", "why": what }),
        Origin::CarveOut { grant, from } => json!({
            "type": "carve_out",
            "grant": jpath(grant),
            "from": origin_json(from),
        }),
        Origin::ExecSplit { grant, from } => json!({
            "type": "exec_split",
            "grant": jpath(grant),
            "from": origin_json(from),
        }),
    }
}

fn rule_json(r: &Rule) -> Value {
    json!({
        "path": jpath(&r.path),
        "kind": r.kind.name(),
        "access": jaccess(r.access()),
        "origins": r.parts.iter().map(|(_, o)| origin_json(o)).collect::<Vec<_>>(),
    })
}

/// One JSON document, pretty-printed, with a final newline.
pub fn to_json_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------
// run --dry-run

/// The `agent` section of `--dry-run`: the known agent the command is,
/// whether its profile was applied automatically, and what the profiles
/// change in its start.
pub fn agent_text(
    profile: Option<&str>,
    auto: bool,
    args: &[String],
    env: &[crate::policy::spec::AgentEnv],
) -> String {
    let mut s = String::new();
    if profile.is_none() && env.is_empty() {
        return s;
    }
    let _ = writeln!(s);
    match (profile, auto) {
        (Some(p), true) => {
            let _ = writeln!(
                s,
                "agent:    {p}: its profile is applied automatically (--no-profile: only the options given)"
            );
        }
        (Some(p), false) => {
            let _ = writeln!(s, "agent:    {p}");
        }
        (None, _) => {
            let _ = writeln!(s, "agent:    not a known agent");
        }
    }
    for e in env {
        let _ = writeln!(
            s,
            "          sets {}={} ({})",
            output::text(&e.name),
            output::path(&e.value),
            output::text(&e.source.to_string())
        );
    }
    if !args.is_empty() {
        let _ = writeln!(
            s,
            "          inserts after the program: {}",
            output::text(&args.join(" "))
        );
    }
    s
}

/// The `agent` object of `--dry-run --json`.
pub fn agent_json(
    profile: Option<&str>,
    auto: bool,
    args: &[String],
    env: &[crate::policy::spec::AgentEnv],
) -> Value {
    json!({
        "profile": profile,
        "auto": auto,
        "args": args,
        "env": env.iter().map(|e| json!({
            "name": e.name,
            "value": jpath(&e.value),
            "source": e.source.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// The complete `--dry-run` report.
pub fn dry_run(
    policy: &Policy,
    cmd: &Command,
    kernel: &KernelView,
    tmp_base: &Path,
    style: Style,
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
            "          {} {} (nono run would exit 126)",
            style.bad("BLOCKED:"),
            output::text(b)
        );
    }
    if !policy.profiles.is_empty() {
        let _ = writeln!(s, "profiles: {}", output::text(&policy.profiles.join(", ")));
    }
    let _ = writeln!(s, "kernel:   {}", kernel.summary);
    if let Some(r) = &kernel.refusal {
        let _ = writeln!(s, "          {} {}", style.bad("REFUSED:"), output::text(r));
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "rules ({}; r read, x execute, w write+create, d delete+rename+truncate, i device ioctl):",
        policy.rules.len() + 1
    );
    let width = rules_table(&mut s, policy);
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
    for (read_only, title) in [
        (false, "protected (never reachable, whatever is granted):"),
        (true, "read-only (readable when granted, never writable):"),
    ] {
        let _ = writeln!(s, "{title}");
        // Grouped by category in first-seen order; the list is sorted by path.
        let mut categories: Vec<&str> = Vec::new();
        for p in policy.protected.iter().filter(|p| p.read_only == read_only) {
            if !categories.contains(&p.category.as_str()) {
                categories.push(&p.category);
            }
        }
        for c in categories {
            let _ = writeln!(s, "  {c}:");
            for p in policy
                .protected
                .iter()
                .filter(|p| p.read_only == read_only && p.category == c)
            {
                let _ = writeln!(
                    s,
                    "    {}{}",
                    output::path(&p.path),
                    if p.exists { "" } else { " (absent)" }
                );
            }
        }
    }
    if !policy.writable_path_dirs.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "PATH directories left writable because a grant names them (what is written there runs outside later):"
        );
        for (d, given) in &policy.writable_path_dirs {
            let _ = writeln!(s, "  {} (by {})", output::path(d), output::path(given));
        }
    }
    if !policy.git_dirs.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "git repositories in write grants: config and hooks read-only (--allow-git-config to write them; git commands that write next to them, such as commit, then fail):"
        );
        for d in &policy.git_dirs {
            let _ = writeln!(s, "  {}", output::path(d));
        }
    }
    if !policy.git_dirs_writable.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "git repositories in write grants with config and hooks writable (--allow-git-config): what is written there runs at your next git command:"
        );
        for d in &policy.git_dirs_writable {
            let _ = writeln!(s, "  {}", output::path(d));
        }
    }
    if !policy.carved.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "carve-outs: these directories were split to keep protected paths out of a grant;"
        );
        let _ = writeln!(
            s,
            "their existing entries are granted one by one, but no entry can be created directly in the directory itself (nor can it be listed, unless the mount layer masks its protected entries: see below), and entries created in it later are not covered:"
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

/// One line per rule (rights, kind, path, origins), the blocklist's
/// per-file execute rules folded to one line per directory. Shared by
/// `--dry-run` and `nono profile show`. Returns the path column's width.
pub fn rules_table(s: &mut String, policy: &Policy) -> usize {
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
    width
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

/// The effective blocklist for `--dry-run --json`.
fn blocklist_json(policy: &Policy) -> Value {
    let c = &policy.commands;
    json!({
        "names": c.list.effective().iter().map(|e| json!({
            "name": e.pattern.as_str(),
            "category": e.category,
        })).collect::<Vec<_>>(),
        "files": c.blocked.iter().map(|f| json!({
            "path": jpath(&f.path),
            "category": f.hit.category,
            "name": f.hit.pattern,
        })).collect::<Vec<_>>(),
        "lifted": c.list.allowed.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "split": c.split.iter().map(|d| jpath(d)).collect::<Vec<_>>(),
        "searched": c.searched.iter().map(|d| jpath(d)).collect::<Vec<_>>(),
    })
}

/// The `why --connect/--bind` answer.
pub fn why_net(
    d: &crate::policy::net::NetDecision,
    layers: &[String],
    refusal: Option<&str>,
    style: Style,
) -> String {
    let mut s = String::new();
    let verdict = if d.allowed {
        style.good("ALLOWED")
    } else {
        style.bad("DENIED")
    };
    let _ = writeln!(s, "{verdict}: TCP {} port {}", d.op.name(), d.op.port());
    label(&mut s, "reason", &d.text);
    for l in layers {
        label(&mut s, "enforced", &output::text(l));
    }
    if let Some(sug) = &d.suggestion {
        label(&mut s, "to allow", &format!("add {sug}"));
    }
    if let Some(r) = refusal {
        label(
            &mut s,
            "note",
            &format!(
                "this kernel cannot enforce the policy: run would refuse to start (exit 125): {}",
                output::text(r)
            ),
        );
    }
    s
}

/// The `why --connect/--bind --json` document.
pub fn why_net_json(
    d: &crate::policy::net::NetDecision,
    layers: &[String],
    refusal: Option<&str>,
) -> Value {
    let notes: Vec<String> = refusal
        .map(|r| {
            vec![format!(
                "this kernel cannot enforce the policy: run would refuse to start (exit 125): {r}"
            )]
        })
        .unwrap_or_default();
    json!({
        "schema_version": SCHEMA_VERSION,
        "document": "why",
        "subject": "network",
        "allowed": d.allowed,
        "verdict": verdict(d.allowed).to_lowercase(),
        "reason": { "code": d.code, "text": d.text },
        "suggestion": d.suggestion.as_ref().map(|s| json!({
            "args": s.split(' ').collect::<Vec<_>>(),
            "text": format!("add {s}"),
        })),
        "no_suggestion": Value::Null,
        "notes": notes,
        "network": {
            "op": d.op.name(),
            "protocol": "tcp",
            "port": d.op.port(),
            "enforced_by": layers,
        },
    })
}

/// The `why --command --json` document.
pub fn why_command_json(
    name: &OsStr,
    found: Option<&Command>,
    blocked: Option<(&str, &[String])>,
    lifted: bool,
    kernel_exec: Option<bool>,
) -> Value {
    let allowed = blocked.is_none();
    let (code, text) = match blocked {
        Some((msg, _)) => ("blocked", msg.to_string()),
        None if lifted => (
            "unblocked",
            "on the default blocklist, lifted by --allow-command".to_string(),
        ),
        None => ("not_blocked", "not on the command blocklist".to_string()),
    };
    json!({
        "schema_version": SCHEMA_VERSION,
        "document": "why",
        "subject": "command",
        "allowed": allowed,
        "verdict": verdict(allowed).to_lowercase(),
        "reason": { "code": code, "text": text },
        "suggestion": Value::Null,
        "no_suggestion": blocked.map(|(_, hints)| hints.join("; ")),
        "notes": Vec::<String>::new(),
        "command": {
            "name": jpath(Path::new(name)),
            "path": found.map(|c| jpath(&c.path)),
            "resolved": found.map(|c| jpath(&c.resolved)),
            "blocked": !allowed,
            "kernel_exec": kernel_exec,
        },
    })
}

fn describe(o: &Origin) -> String {
    o.describe()
}

/// The `--dry-run --json` document.
pub fn dry_run_json(
    policy: &Policy,
    cmd: &Command,
    kernel: &KernelView,
    tmp_base: &Path,
    guarantees: &[crate::sandbox::Guarantee],
    plan: Option<&crate::sandbox::KernelPlan>,
) -> Value {
    let kernel_rules = plan.map(|p| {
        json!({
            "abi": p.abi,
            "landlock": {
                "fs": p.landlock_fs,
                "net": p.landlock_net,
                "scopes": p.landlock_scopes,
                "ports": p.landlock_ports.iter().map(|r| json!({
                    "port": r.port,
                    "rights": r.rights,
                })).collect::<Vec<_>>(),
            },
            "seccomp": p.seccomp.iter().map(|r| json!({
                "syscall": r.syscall,
                "errno": r.errno,
                "always": r.always,
                "why": r.why,
            })).collect::<Vec<_>>(),
        })
    });
    let delete_allowed: Vec<Value> = policy
        .rules
        .iter()
        .filter(|r| r.access().contains(Access::DELETE))
        .map(|r| jpath(&r.path))
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "document": "dry_run",
        "command": {
            "path": jpath(&cmd.path),
            "resolved": jpath(&cmd.resolved),
            "argv": cmd.argv.iter().map(|a| Value::String(a.to_string_lossy().into_owned())).collect::<Vec<_>>(),
        },
        "kernel": {
            "backend": kernel.backend,
            "summary": kernel.summary,
            "kernel_abi": kernel.kernel_abi,
            "abi": kernel.abi,
            "enforceable": kernel.refusal.is_none(),
            "refusal": kernel.refusal,
        },
        "rules": policy.rules.iter().map(rule_json).collect::<Vec<_>>(),
        "temp_dir": {
            "path": jpath(&tmp_base.join(crate::policy::decide::TMPDIR_PLACEHOLDER)),
            "access": jaccess(Access::ALL),
        },
        "delete_allowed": delete_allowed,
        "protected": policy.protected.iter().map(|p| json!({
            "path": jpath(&p.path),
            "category": p.category,
            "exists": p.exists,
            "read_only": p.read_only,
        })).collect::<Vec<_>>(),
        "carved": policy.carved.iter().map(|c| json!({
            "dir": jpath(&c.dir),
            "grant": jpath(&c.grant),
        })).collect::<Vec<_>>(),
        "writable_path_dirs": policy.writable_path_dirs.iter().map(|(d, g)| json!({
            "dir": jpath(d),
            "grant": jpath(g),
        })).collect::<Vec<_>>(),
        "git": {
            "config_read_only": policy.git_dirs.iter().map(|d| jpath(d)).collect::<Vec<_>>(),
            "config_writable": policy.git_dirs_writable.iter().map(|d| jpath(d)).collect::<Vec<_>>(),
        },
        "profiles": policy.profiles,
        "network": {
            "block": policy.net.block,
            "connect": policy.net.connect,
            "bind": policy.net.bind,
            "unix_sockets": policy.net.unix_sockets.iter().map(|u| jpath(&u.path)).collect::<Vec<_>>(),
        },
        "blocklist": blocklist_json(policy),
        "enforcement": guarantees.iter().map(|g| json!({
            "topic": g.topic,
            "text": g.text,
        })).collect::<Vec<_>>(),
        "kernel_rules": kernel_rules,
    })
}

// ---------------------------------------------------------------------------
// why (path)

/// Width of the label column in `why` and `setup` text.
const LABEL: usize = 10;

fn label(s: &mut String, name: &str, value: &str) {
    let _ = writeln!(s, "  {name:<LABEL$} {value}");
}

/// One line describing where a rule comes from.
fn rule_line(r: &Rule) -> String {
    let origins: Vec<String> = r
        .parts
        .iter()
        .map(|(a, o)| format!("{a} from {}", describe(o)))
        .collect();
    format!(
        "{}  {:<4}  {}  {}",
        r.access().short(),
        r.kind.name(),
        output::path(&r.path),
        origins.join("; ")
    )
}

/// The human sentence for the deciding rule. Paths are escaped.
pub fn reason_text(d: &Decision) -> String {
    let p = |x: &Path| output::path(x);
    match &d.reason {
        Reason::Protected { path, category } => format!(
            "{} is protected ({category}): nono never grants it, whatever the options, because credentials, keys and start-up files are what a compromised agent would steal or use to run code outside the sandbox",
            p(path)
        ),
        Reason::BlockedCommand { message, .. } => format!(
            "{}: the kernel rules leave it without execute, for the command and every process it starts",
            output::text(message)
        ),
        Reason::ReadOnly { path, category } if category == crate::policy::protected::GIT_CATEGORY => format!(
            "{} is read-only ({category}): what is written there runs at your next git command outside the sandbox (core.fsmonitor, hooks)",
            p(path)
        ),
        Reason::ReadOnly { path, category } => format!(
            "{} is read-only ({category}): it may be granted for reading, but nono never lets it be written, because what is written there runs outside the sandbox later",
            p(path)
        ),
        Reason::Granted => {
            let by: Vec<String> = d
                .rules
                .iter()
                .filter(|(_, decisive)| *decisive)
                .flat_map(|(r, _)| {
                    r.parts
                        .iter()
                        .filter(|(a, _)| a.intersects(d.needs))
                        .map(|(_, o)| describe(o))
                })
                .collect();
            format!("{} granted by {}", d.needs, by.join("; "))
        }
        Reason::TempDir => "inside the run's private temporary directory (TMPDIR): created fresh for each run, reachable by that run only, everything allowed".to_string(),
        Reason::DeleteProtected => format!(
            "{} is writable, but delete protection denies unlink, rmdir, rename and truncation there",
            p(&d.checked)
        ),
        Reason::CarveOut { dir, grant, itself } => {
            let split = if dir == grant {
                format!(
                    "the grant of {} was split to keep protected paths out",
                    p(grant)
                )
            } else {
                format!(
                    "the grant of {} was split at {} to keep protected paths out",
                    p(grant),
                    p(dir)
                )
            };
            match (itself, d.op, d.exists) {
                (true, Op::Read | Op::Exec, _) => format!(
                    "{split}: its existing entries are granted one by one, the directory itself cannot be listed"
                ),
                (true, _, _) => format!(
                    "{split}: only the entries that existed when nono started are granted; new ones cannot be created directly in {}",
                    p(dir)
                ),
                (false, _, false) => format!(
                    "{split}: {} did not exist when the policy was built, and entries created later directly in {} are not covered",
                    p(&d.checked),
                    p(dir)
                ),
                (false, _, true) => format!("{split}: this entry got no rule of its own"),
            }
        }
        Reason::Interpreter { path } => format!(
            "the script's interpreter {} cannot be executed in the sandbox",
            p(path)
        ),
        Reason::NotGranted => format!(
            "no rule grants {} on {} or a directory above it",
            d.needs,
            p(&d.checked)
        ),
    }
}

/// The suggestion as command-line words (raw, for JSON).
fn suggestion_args(sug: &Suggestion) -> Vec<Value> {
    sug.options
        .iter()
        .flat_map(|(f, path)| [Value::String(f.flag().to_string()), jpath(path)])
        .collect()
}

/// The suggestion as a line a user can paste (escaped and quoted).
fn suggestion_line(sug: &Suggestion) -> String {
    sug.options
        .iter()
        .map(|(f, path)| format!("{} {}", f.flag(), output::shell_word(&output::path(path))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What to say when a denied operation has no option that allows it.
fn no_suggestion_text(d: &Decision) -> Option<String> {
    match &d.reason {
        Reason::Protected { .. } => Some(
            "not possible: give the program a copy of what it needs, outside the protected path".into(),
        ),
        Reason::ReadOnly { category, .. } if category == crate::policy::protected::GIT_CATEGORY => Some(
            "--allow-git-config leaves the configuration and hooks of the repositories in write grants writable (what the command writes there runs at your next git command)".into(),
        ),
        Reason::ReadOnly { .. } => Some(
            "not possible: change it yourself, outside the sandbox".into(),
        ),
        Reason::BlockedCommand { allow, .. } => Some(format!(
            "no grant allows it: the program is on the command blocklist; {allow} lifts it"
        )),
        Reason::CarveOut { itself: true, dir, .. } if matches!(d.op, Op::Read | Op::Exec) => {
            Some(format!(
                "not possible: listing {} would expose the protected paths in it",
                output::path(dir)
            ))
        }
        Reason::CarveOut { .. } => Some(
            "create it before starting nono (existing entries are granted), or grant a directory that holds it".into(),
        ),
        _ if d.other_run.is_some() => Some(
            "not offered: use the run's own temporary directory, $TMPDIR".into(),
        ),
        _ if crate::policy::decide::directory_missing(d) => Some(
            "its directory does not exist: create it first, then grant it".into(),
        ),
        _ => Some("no single option allows it; see the reason".into()),
    }
}

fn suggestion_text(d: &Decision) -> Option<String> {
    match &d.suggestion {
        Some(s) => Some(format!("add {}", suggestion_line(s))),
        None if !d.allowed => no_suggestion_text(d),
        None => None,
    }
}

fn verdict(allowed: bool) -> &'static str {
    if allowed {
        "ALLOWED"
    } else {
        "DENIED"
    }
}

/// The `why` answer as text.
pub fn why(d: &Decision, style: Style) -> String {
    let mut s = String::new();
    let v = verdict(d.allowed);
    let v = if d.allowed {
        style.good(v)
    } else {
        style.bad(v)
    };
    let _ = writeln!(s, "{v}: {} {}", d.op.name(), output::path(&d.given));
    if d.absolute != d.given {
        label(&mut s, "path", &output::path(&d.absolute));
    }
    for hop in &d.hops {
        label(
            &mut s,
            "symlink",
            &format!(
                "{} -> {}",
                output::path(&hop.link),
                output::path(&hop.target)
            ),
        );
    }
    if !d.hops.is_empty() {
        label(
            &mut s,
            "resolves",
            &format!(
                "{} (the kernel follows symlinks and checks the target, not the link)",
                output::path(&d.resolved)
            ),
        );
    }
    let on = if d.checks_parent() {
        format!(
            "{} on {} (the directory that holds it)",
            d.needs,
            output::path(&d.checked)
        )
    } else {
        format!("{} on {}", d.needs, output::path(&d.checked))
    };
    label(&mut s, "checks", &on);
    label(&mut s, "rights", &d.rights.to_string());
    for (i, (r, decisive)) in d.rules.iter().enumerate() {
        let mark = if *decisive { "*" } else { " " };
        label(
            &mut s,
            if i == 0 { "rules" } else { "" },
            &format!("{mark} {}", rule_line(r)),
        );
    }
    label(&mut s, "reason", &reason_text(d));
    if let Some(t) = suggestion_text(d) {
        label(&mut s, "to allow", &style.bold(&t));
    }
    for n in &d.notes {
        label(&mut s, "note", &output::text(n));
    }
    s
}

/// The `why --json` document for a path question.
pub fn why_json(d: &Decision) -> Value {
    let mut reason = json!({
        "code": d.reason.code(),
        "text": reason_text(d),
    });
    match &d.reason {
        Reason::Protected { path, category } | Reason::ReadOnly { path, category } => {
            reason["path"] = jpath(path);
            reason["category"] = json!(category);
        }
        Reason::CarveOut { dir, grant, itself } => {
            reason["dir"] = jpath(dir);
            reason["grant"] = jpath(grant);
            reason["dir_itself"] = json!(itself);
        }
        Reason::Interpreter { path } => reason["path"] = jpath(path),
        _ => {}
    }
    let suggestion = match &d.suggestion {
        Some(s) => json!({ "args": suggestion_args(s), "text": suggestion_text(d) }),
        None => Value::Null,
    };
    json!({
        "schema_version": SCHEMA_VERSION,
        "document": "why",
        "subject": "path",
        "allowed": d.allowed,
        "verdict": verdict(d.allowed).to_lowercase(),
        "reason": reason,
        "suggestion": suggestion,
        "no_suggestion": if d.suggestion.is_none() { no_suggestion_text(d) } else { None },
        "notes": d.notes,
        "path": {
            "given": jpath(&d.given),
            "absolute": jpath(&d.absolute),
            "resolved": jpath(&d.resolved),
            "exists": d.exists,
            "symlinks": d.hops.iter().map(|h| json!({
                "link": jpath(&h.link),
                "target": jpath(&h.target),
            })).collect::<Vec<_>>(),
            "checked": jpath(&d.checked),
            "checked_is_parent": d.checks_parent(),
            "op": d.op.name(),
            "needs": jaccess(d.needs),
            "rights": jaccess(d.rights),
            "in_temp_dir": d.in_tmpdir,
            "rules": d.rules.iter().map(|(r, decisive)| {
                let mut v = rule_json(r);
                v["decisive"] = json!(decisive);
                v
            }).collect::<Vec<_>>(),
        },
    })
}

// ---------------------------------------------------------------------------
// setup

fn level_styled(l: setup::Level, style: Style) -> String {
    let padded = format!("{:<8}", l.name());
    match l {
        setup::Level::Full => style.good(&padded),
        setup::Level::Partial => style.warn(&padded),
        setup::Level::None => style.bad(&padded),
    }
}

/// The `setup` report as text.
pub fn setup_text(r: &setup::Report, style: Style) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}",
        style.bold("nono setup: what this machine can enforce")
    );
    let _ = writeln!(s);
    label(&mut s, "os", r.os);
    label(&mut s, "kernel", &output::text(&r.kernel_release));
    let l = &r.landlock;
    let ll = match (l.kernel_abi, &l.unavailable) {
        (Some(k), None) => format!(
            "ABI {k} (nono uses ABI {}, knows up to {}{})",
            l.abi,
            l.target_abi,
            l.test_cap
                .map(|c| format!(", capped to {c} for testing"))
                .unwrap_or_default()
        ),
        (Some(k), Some(why)) => format!("ABI {k}, unusable: {why}"),
        (None, Some(why)) => format!("unavailable: {why}"),
        (None, None) => "unavailable".into(),
    };
    label(&mut s, "landlock", &ll);
    let sc = match (r.seccomp.filter, r.seccomp.mode) {
        (true, Some(m)) if m > 0 => format!("filters available (this process is in mode {m})"),
        (true, _) => "filters available".to_string(),
        (false, _) => "filters unavailable".to_string(),
    };
    label(&mut s, "seccomp", &sc);

    let _ = writeln!(s);
    let _ = writeln!(s, "{}", style.bold("Landlock features"));
    let _ = writeln!(
        s,
        "  {:<4} {:<18} {:<6} {:<7} {:<8} what",
        "ABI", "feature", "Linux", "kernel", "nono"
    );
    let kernel = l.kernel_abi.unwrap_or(0);
    for f in &setup::FEATURES {
        let have = if kernel >= f.abi { "yes" } else { "no" };
        let used = if l.abi >= f.abi {
            "uses"
        } else if f.abi > l.target_abi {
            "-"
        } else {
            "no"
        };
        let have_s = if kernel >= f.abi {
            style.good(&format!("{have:<7}"))
        } else {
            style.dim(&format!("{have:<7}"))
        };
        let _ = writeln!(
            s,
            "  {:<4} {:<18} {:<6} {} {:<8} {}",
            f.abi, f.name, f.linux, have_s, used, f.what
        );
    }

    let _ = writeln!(s);
    let _ = writeln!(s, "{}", style.bold("Guarantees here"));
    let width = r
        .guarantees
        .iter()
        .map(|g| g.title.len())
        .max()
        .unwrap_or(0);
    for g in &r.guarantees {
        let _ = writeln!(
            s,
            "  {} {:<width$}  {}",
            level_styled(g.level, style),
            g.title,
            g.detail
        );
    }
    if !r.seccomp_rules.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{}",
            style.bold("seccomp rules in every sandbox (options add more; see --dry-run)")
        );
        let width = r
            .seccomp_rules
            .iter()
            .map(|x| x.syscall.len())
            .max()
            .unwrap_or(0);
        for x in &r.seccomp_rules {
            let when = if x.always { "always" } else { "when" };
            let _ = writeln!(
                s,
                "  {:<width$}  {} {:<6}  {}",
                x.syscall,
                x.errno,
                when,
                x.why.join("; ")
            );
        }
    }
    if !r.upgrades.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "{}", style.bold("To get more"));
        for u in &r.upgrades {
            let _ = writeln!(s, "  - {u}");
        }
    }
    let _ = writeln!(s);
    match &r.refusal {
        None => {
            let _ = writeln!(s, "{} nono can run commands here", style.good("OK:"));
        }
        Some(why) => {
            let _ = writeln!(
                s,
                "{} nono cannot run commands here: {}",
                style.bad("UNUSABLE:"),
                output::text(why)
            );
        }
    }
    s
}

/// The `setup --json` document.
pub fn setup_json(r: &setup::Report) -> Value {
    let l = &r.landlock;
    let kernel = l.kernel_abi.unwrap_or(0);
    json!({
        "schema_version": SCHEMA_VERSION,
        "document": "setup",
        "os": r.os,
        "kernel_release": r.kernel_release,
        "usable": r.usable(),
        "refusal": r.refusal,
        "landlock": {
            "available": l.unavailable.is_none(),
            "kernel_abi": l.kernel_abi,
            "abi": l.abi,
            "target_abi": l.target_abi,
            "unavailable": l.unavailable,
            "test_cap": l.test_cap,
            "features": setup::FEATURES.iter().map(|f| json!({
                "abi": f.abi,
                "name": f.name,
                "linux": f.linux,
                "description": f.what,
                "kernel": kernel >= f.abi,
                "used": l.abi >= f.abi,
            })).collect::<Vec<_>>(),
        },
        "seccomp": {
            "filter": r.seccomp.filter,
            "mode": r.seccomp.mode,
            "rules": r.seccomp_rules.iter().map(|x| json!({
                "syscall": x.syscall,
                "errno": x.errno,
                "always": x.always,
                "why": x.why,
            })).collect::<Vec<_>>(),
        },
        "guarantees": r.guarantees.iter().map(|g| json!({
            "id": g.id,
            "title": g.title,
            "level": g.level.name(),
            "detail": g.detail,
        })).collect::<Vec<_>>(),
        "upgrades": r.upgrades,
    })
}

/// The `--dry-run` section that says which kernel layer enforces what
/// beyond the filesystem rules (network, IPC, terminal, privileges).
/// What the kernel receives, rule by rule: the Landlock rights handled and
/// every seccomp rule, from the same builders `run` installs them with.
pub fn kernel_rules(plan: Option<&crate::sandbox::KernelPlan>) -> String {
    let mut s = String::new();
    let Some(p) = plan else {
        return s;
    };
    let _ = writeln!(s);
    let _ = writeln!(s, "kernel rules as installed (Landlock ABI {}):", p.abi);
    let _ = writeln!(s, "  landlock handles  {}", p.landlock_fs.join(" "));
    if !p.landlock_net.is_empty() {
        let _ = writeln!(s, "  landlock handles  {}", p.landlock_net.join(" "));
    }
    if !p.landlock_scopes.is_empty() {
        let _ = writeln!(s, "  landlock scopes   {}", p.landlock_scopes.join(" "));
    }
    for r in &p.landlock_ports {
        let _ = writeln!(s, "  landlock port     {} {}", r.port, r.rights.join(" "));
    }
    let width = p.seccomp.iter().map(|r| r.syscall.len()).max().unwrap_or(0);
    for r in &p.seccomp {
        let when = if r.always { "always" } else { "when" };
        let _ = writeln!(
            s,
            "  seccomp {:<width$}  {} {:<6}  {}",
            r.syscall,
            r.errno,
            when,
            r.why.join("; ")
        );
    }
    s
}

pub fn enforcement(guarantees: &[crate::sandbox::Guarantee]) -> String {
    let mut s = String::new();
    if guarantees.is_empty() {
        return s;
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "enforcement beyond the filesystem (topic, then the kernel layer that enforces it):"
    );
    let width = guarantees.iter().map(|g| g.topic.len()).max().unwrap_or(0);
    for g in guarantees {
        let _ = writeln!(s, "  {:<width$}  {}", g.topic, g.text);
    }
    s
}

// ---------------------------------------------------------------------------
// environment (dry-run section, why --env)

/// A variable name for display: escaped like a path.
fn env_name(name: &OsStr) -> String {
    output::path(Path::new(name))
}

/// Where the command's environment comes from, for `--dry-run`: names and
/// reasons, never values.
pub fn env_section(
    plan: &crate::policy::env::EnvPlan,
    policy: &crate::policy::env::EnvPolicy,
) -> String {
    use crate::policy::env::Reason;
    let mut s = String::new();
    let _ = writeln!(s);
    let _ = writeln!(s, "environment (names only; values are never shown):");
    let mut cleared: Vec<String> = Vec::new();
    let mut minimal: Vec<String> = Vec::new();
    let mut tmp: Vec<String> = Vec::new();
    let mut inherited = 0usize;
    for e in &plan.entries {
        match &e.reason {
            Reason::Inherited => inherited += 1,
            Reason::Minimal { .. } => minimal.push(env_name(&e.name)),
            Reason::Cleared { .. } => cleared.push(env_name(&e.name)),
            Reason::TempDir => tmp.push(env_name(&e.name)),
            r => {
                let _ = writeln!(
                    s,
                    "  {:<7}  {}: {}",
                    e.action.name(),
                    env_name(&e.name),
                    output::text(&r.text())
                );
            }
        }
    }
    if let Some(src) = policy.clear() {
        let _ = writeln!(
            s,
            "  {src} keeps only: {} (and the names kept or set above)",
            output::text(&policy.data().keep().join(", "))
        );
        if !minimal.is_empty() {
            let _ = writeln!(s, "  kept     {}", minimal.join(", "));
        }
        if !cleared.is_empty() {
            let _ = writeln!(
                s,
                "  removed  {} ({} variables)",
                cleared.join(", "),
                cleared.len()
            );
        }
    }
    let _ = writeln!(
        s,
        "  set      {}: the run's private temporary directory",
        tmp.join(", ")
    );
    if inherited > 0 {
        let _ = writeln!(s, "  kept     {inherited} other variables, unchanged");
    }
    if plan
        .with(crate::policy::env::Action::Removed)
        .next()
        .is_some()
    {
        let _ = writeln!(
            s,
            "  to pass a removed variable: --allow-env NAME (or a GLOB such as 'NAME_*')"
        );
    }
    s
}

fn env_reason_json(r: &crate::policy::env::Reason) -> Value {
    let mut v = json!({ "code": r.code(), "text": r.text() });
    if let Some(p) = r.pattern() {
        v["pattern"] = json!(p);
    }
    if let Some(c) = r.category() {
        v["category"] = json!(c);
    }
    if let Some(src) = r.source() {
        v["source"] = json!(src.to_string());
    }
    if let crate::policy::env::Reason::Allowed {
        overrides: Some(o), ..
    } = r
    {
        v["overrides"] = json!(o.code());
    }
    v
}

/// The `env` object of `--dry-run --json`.
pub fn env_json(
    plan: &crate::policy::env::EnvPlan,
    policy: &crate::policy::env::EnvPolicy,
) -> Value {
    json!({
        "clear": policy.clear().is_some(),
        "allow": policy.allow().iter().map(|a| json!({
            "pattern": a.pattern,
            "source": a.source.to_string(),
        })).collect::<Vec<_>>(),
        "vars": plan.entries.iter().map(|e| json!({
            "name": jpath(Path::new(&e.name)),
            "action": e.action.name(),
            "inherited": e.inherited,
            "reason": env_reason_json(&e.reason),
        })).collect::<Vec<_>>(),
    })
}

fn env_notes(e: &crate::policy::env::Entry) -> Vec<String> {
    let mut notes = Vec::new();
    if !e.inherited && e.action != crate::policy::env::Action::Set {
        notes.push(
            "not set in nono's environment now: the answer is for when it is, judged by its name"
                .to_string(),
        );
    }
    notes
}

/// The `why --env NAME` answer.
pub fn why_env(e: &crate::policy::env::Entry, style: Style) -> String {
    use crate::policy::env::Action;
    let mut s = String::new();
    let name = env_name(&e.name);
    let head = match e.action {
        Action::Kept => style.good("KEPT"),
        Action::Set => style.good("SET"),
        Action::Removed => style.bad("REMOVED"),
    };
    let what = match e.action {
        Action::Kept => "is passed to the command unchanged",
        Action::Set => "is given a value by nono (never shown)",
        Action::Removed => "is not passed to the command",
    };
    let _ = writeln!(s, "{head}: {name} {what}");
    label(&mut s, "reason", &output::text(&e.reason.text()));
    if e.action == Action::Removed {
        label(
            &mut s,
            "to keep",
            &style.bold(&format!("add --allow-env {}", output::shell_word(&name))),
        );
    }
    for n in env_notes(e) {
        label(&mut s, "note", &n);
    }
    s
}

// --- host-allowlist mode (`why --host`, `--dry-run`) -------------------

/// How host-allowlist mode is enforced, one sentence per layer.
pub fn host_mode_layers(proxy: std::net::SocketAddr) -> Vec<String> {
    vec![
        "network namespace: the command's only interface is its own loopback, so no socket of any family reaches an address outside the sandbox".to_string(),
        format!("egress proxy outside the sandbox at http://{proxy} (HTTP CONNECT and plain HTTP; the proxy resolves names and refuses loopback, link-local and private addresses unless an entry names them)"),
        "seccomp: only IP (inside the namespace), netlink and granted Unix socket families".to_string(),
    ]
}

/// `nono why --host` as text.
pub fn why_host(d: &crate::policy::net::HostDecision, layers: &[String], style: Style) -> String {
    let mut s = String::new();
    let verdict = if d.allowed {
        style.good("ALLOWED")
    } else {
        style.bad("DENIED")
    };
    let _ = writeln!(
        s,
        "{verdict}: connection to {}:{}",
        output::text(&d.host),
        d.port
    );
    label(&mut s, "reason", &output::text(&d.text));
    if let Some(src) = &d.source {
        label(&mut s, "from", &output::text(src));
    }
    for l in layers {
        label(&mut s, "enforced", &output::text(l));
    }
    for n in &d.notes {
        label(&mut s, "note", &output::text(n));
    }
    if let Some(sug) = &d.suggestion {
        label(&mut s, "to allow", &format!("add {}", output::text(sug)));
    }
    s
}

/// The `why --host --json` document.
pub fn why_host_json(d: &crate::policy::net::HostDecision, layers: &[String]) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "document": "why",
        "subject": "host",
        "allowed": d.allowed,
        "verdict": verdict(d.allowed).to_lowercase(),
        "reason": { "code": d.code, "text": d.text },
        "suggestion": d.suggestion.as_ref().map(|s| json!({
            "args": s.split(' ').collect::<Vec<_>>(),
            "text": format!("add {s}"),
        })),
        "no_suggestion": Value::Null,
        "notes": d.notes,
        "host": {
            "name": d.host,
            "port": d.port,
            "entry": d.entry,
            "source": d.source,
            "enforced_by": layers,
        },
    })
}

/// The allowlist for `--dry-run`: `None` outside host-allowlist mode.
pub struct HostView {
    pub proxy: std::net::SocketAddr,
    /// Why this machine cannot set up the namespace, if it cannot.
    pub unavailable: Option<String>,
}

/// `--dry-run` text section for host-allowlist mode.
pub fn host_allowlist(net: &crate::policy::NetPolicy, view: &HostView) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nhost allowlist ({} entries):", net.hosts.len());
    for e in &net.hosts {
        let from = match &e.group {
            Some(g) => format!("{} (@{g})", e.source),
            None => e.source.to_string(),
        };
        let ports: Vec<String> = e.rule.ports().iter().map(u16::to_string).collect();
        let exposes = if e.rule.exposed().is_some() {
            ", exposes this machine's loopback port inside"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {}  ports {}{exposes}  [{}]",
            output::text(&e.rule.pattern.to_string()),
            ports.join(","),
            output::text(&from)
        );
    }
    let _ = writeln!(s, "proxy the command sees: HTTP_PROXY=HTTPS_PROXY=ALL_PROXY=http://{} (NO_PROXY=localhost,127.0.0.1,::1)", view.proxy);
    for l in host_mode_layers(view.proxy) {
        let _ = writeln!(s, "  enforced: {l}");
    }
    if let Some(u) = &view.unavailable {
        let _ = writeln!(
            s,
            "  not available here: run would refuse to start (exit 125): {}",
            output::text(u)
        );
    }
    s
}

/// The `why --env NAME --json` document.
pub fn why_env_json(e: &crate::policy::env::Entry) -> Value {
    use crate::policy::env::Action;
    let allowed = e.action != Action::Removed;
    let name = e.name.to_string_lossy().into_owned();
    json!({
        "schema_version": SCHEMA_VERSION,
        "document": "why",
        "subject": "env",
        "allowed": allowed,
        "verdict": verdict(allowed).to_lowercase(),
        "reason": env_reason_json(&e.reason),
        "suggestion": (!allowed).then(|| json!({
            "args": ["--allow-env", name],
            "text": format!("add --allow-env {}", output::shell_word(&env_name(&e.name))),
        })),
        "no_suggestion": Value::Null,
        "notes": env_notes(e),
        "env": {
            "name": name,
            "action": e.action.name(),
            "inherited": e.inherited,
        },
    })
}

/// `--dry-run --json` key `host_allowlist`.
pub fn host_allowlist_json(net: &crate::policy::NetPolicy, view: Option<&HostView>) -> Value {
    let Some(view) = view else {
        return Value::Null;
    };
    json!({
        "proxy": format!("http://{}", view.proxy),
        "enforced_by": host_mode_layers(view.proxy),
        "available": view.unavailable.is_none(),
        "unavailable_reason": view.unavailable,
        "entries": net.hosts.iter().map(|e| json!({
            "entry": e.rule.to_string(),
            "ports": e.rule.ports(),
            "source": e.source.to_string(),
            "group": e.group,
            "exposes_host_loopback": e.rule.exposed().is_some(),
        })).collect::<Vec<_>>(),
    })
}

/// The mount-namespace layer for `--dry-run --json`: whether it is
/// active, why not, and the plan per path (from the same plan that `run`
/// applies).
pub fn mount_layer_json(
    layer: &Result<crate::sandbox::MountLayer, String>,
    required: bool,
) -> Value {
    match layer {
        Ok(l) => json!({
            "active": true,
            "reason": Value::Null,
            "required": required,
            "fallback_loses": Value::Null,
            "plan": l.lines().iter().map(|m| json!({
                "path": jpath(&m.path),
                "what": m.what,
                "detail": m.detail,
            })).collect::<Vec<_>>(),
        }),
        Err(reason) => json!({
            "active": false,
            "reason": reason,
            "required": required,
            "fallback_loses": crate::sandbox::MOUNT_FALLBACK_LOSES,
            "plan": [],
        }),
    }
}

/// The mount-namespace layer for `--dry-run`.
pub fn mount_layer_text(
    layer: &Result<crate::sandbox::MountLayer, String>,
    required: bool,
) -> String {
    let mut out = String::new();
    out.push('\n');
    match layer {
        Ok(l) => {
            out.push_str(
                "mount layer: active (a private mount namespace under Landlock and seccomp)\n",
            );
            for m in l.lines() {
                let _ = writeln!(
                    out,
                    "  {:<9} {}  {}",
                    m.what,
                    crate::output::path(&m.path),
                    output::text(&m.detail)
                );
            }
        }
        Err(reason) if required => {
            let _ = writeln!(
                out,
                "mount layer: not available ({}): run would refuse (--require-isolation)",
                output::text(reason)
            );
        }
        Err(reason) => {
            let _ = writeln!(
                out,
                "mount layer: not available ({}): Landlock only",
                output::text(reason)
            );
            let _ = writeln!(
                out,
                "  the fallback loses: {}",
                crate::sandbox::MOUNT_FALLBACK_LOSES
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::decide::{GrantFlag, Hop};
    use crate::policy::Source;
    use std::path::PathBuf;

    fn denied_via_symlink() -> Decision {
        Decision {
            given: PathBuf::from("link\u{1b}[31m"),
            absolute: PathBuf::from("/w/link\u{1b}[31m"),
            resolved: PathBuf::from("/out/secret"),
            exists: true,
            hops: vec![Hop {
                link: PathBuf::from("/w/link\u{1b}[31m"),
                target: PathBuf::from("/out/secret"),
            }],
            checked: PathBuf::from("/out/secret"),
            op: Op::Read,
            needs: Access::READ,
            allowed: false,
            reason: Reason::NotGranted,
            rights: Access::NONE,
            rules: vec![],
            suggestion: Some(Suggestion {
                options: vec![(GrantFlag::Read, PathBuf::from("/out/my secret"))],
            }),
            in_tmpdir: false,
            other_run: None,
            notes: vec![],
        }
    }

    #[test]
    fn why_text_is_aligned_escaped_and_quoted() {
        let text = why(&denied_via_symlink(), Style::plain());
        assert_eq!(
            text,
            "DENIED: read link\\u{1b}[31m\n\
             \x20 path       /w/link\\u{1b}[31m\n\
             \x20 symlink    /w/link\\u{1b}[31m -> /out/secret\n\
             \x20 resolves   /out/secret (the kernel follows symlinks and checks the target, not the link)\n\
             \x20 checks     read on /out/secret\n\
             \x20 rights     none\n\
             \x20 reason     no rule grants read on /out/secret or a directory above it\n\
             \x20 to allow   add --read '/out/my secret'\n"
        );
    }

    #[test]
    fn why_json_has_raw_paths_and_codes() {
        let mut d = denied_via_symlink();
        d.rules = vec![(
            Rule {
                path: PathBuf::from("/w"),
                kind: Kind::Dir,
                parts: vec![(
                    Access::READ_WRITE,
                    Origin::User {
                        source: Source::Flag("--allow"),
                        given: PathBuf::from("."),
                    },
                )],
            },
            false,
        )];
        let v = why_json(&d);
        assert_eq!(v["path"]["given"], "link\u{1b}[31m");
        assert_eq!(v["reason"]["code"], "not_granted");
        assert_eq!(v["suggestion"]["args"], json!(["--read", "/out/my secret"]));
        assert_eq!(
            v["path"]["rules"][0]["origins"][0],
            json!({"type": "user", "source": "--allow", "given": "."})
        );
        assert_eq!(
            v["path"]["rules"][0]["access"],
            json!(["read", "execute", "write"])
        );
        assert_eq!(v["no_suggestion"], Value::Null);
    }
}
