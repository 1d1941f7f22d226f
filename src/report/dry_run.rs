//! `nono run --dry-run`: the policy as the kernel will receive it, in text
//! and JSON, without running anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::describe;
use super::json::{jaccess, jpath, rule_json, SCHEMA_VERSION};
use crate::exec::Command;
use crate::output::{self, Style};
use crate::policy::{Access, Kind, Origin, Policy, Rule};

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
    if !c.split.is_empty() && c.masking {
        let dirs: Vec<String> = c.split.iter().map(|d| output::path(d)).collect();
        let _ = writeln!(
            s,
            "  execute is granted as a whole in: {} (the mount layer covers each blocked program there, every name of it, with an empty non-executable file; programs created there later can be executed)",
            dirs.join(", ")
        );
    } else if !c.split.is_empty() {
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
        "kernel": if c.masking { "masked" } else { "per_file" },
        "masked": c.masked.iter().map(|d| jpath(d)).collect::<Vec<_>>(),
        "searched": c.searched.iter().map(|d| jpath(d)).collect::<Vec<_>>(),
    })
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
