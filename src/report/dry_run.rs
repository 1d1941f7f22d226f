//! `nono run --dry-run`: the policy as the kernel will receive it, in text
//! and JSON, without running anything.

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::json::{jaccess, jpath, rule_json, SCHEMA_VERSION};
use super::net::{host_allowlist, host_allowlist_json, HostView};
use super::{env, serialize_as_json, undo};
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

/// The `agent` section of `--dry-run`: the known agent the command is,
/// whether its profile was applied automatically, and what the profiles
/// change in its start.
fn agent_text(
    w: &mut dyn fmt::Write,
    profile: Option<&str>,
    auto: bool,
    args: &[String],
    env: &[crate::policy::spec::AgentEnv],
) -> fmt::Result {
    if profile.is_none() && env.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    match (profile, auto) {
        (Some(p), true) => {
            writeln!(
                w,
                "agent:    {p}: its profile is applied automatically (--no-profile: only the options given)"
            )?;
        }
        (Some(p), false) => {
            writeln!(w, "agent:    {p}")?;
        }
        (None, _) => {
            writeln!(w, "agent:    not a known agent")?;
        }
    }
    for e in env {
        writeln!(
            w,
            "          sets {}={} ({})",
            output::text(&e.name),
            output::path(&e.value),
            output::text(&e.source.to_string())
        )?;
    }
    if !args.is_empty() {
        writeln!(
            w,
            "          inserts after the program: {}",
            output::text(&args.join(" "))
        )?;
    }
    Ok(())
}

/// The `agent` object of `--dry-run --json`.
fn agent_json(
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

/// Why `run` would not start COMMAND, if it would not.
#[derive(Clone, Copy)]
struct Refusal<'a> {
    /// COMMAND is on the blocklist.
    blocked: Option<&'a str>,
    /// The sandbox denies executing COMMAND.
    exec_denied: Option<&'a str>,
}

/// The head of `--dry-run`: the command, the kernel, every rule, delete
/// protection, the blocklist and the protected paths.
fn dry_run(
    w: &mut dyn fmt::Write,
    policy: &Policy,
    cmd: &Command,
    kernel: &KernelView,
    tmp_base: &Path,
    style: Style,
    refusal: Refusal<'_>,
) -> fmt::Result {
    let Refusal {
        blocked,
        exec_denied,
    } = refusal;
    writeln!(w, "nono dry run: nothing is executed")?;
    writeln!(w, "command:  {}", output::path(&cmd.path))?;
    if cmd.resolved != cmd.path {
        writeln!(w, "          resolves to {}", output::path(&cmd.resolved))?;
    }
    if let Some(b) = blocked {
        writeln!(
            w,
            "          {} {} (nono run would exit 126)",
            style.bad("BLOCKED:"),
            output::text(b)
        )?;
    }
    if let Some(d) = exec_denied {
        writeln!(
            w,
            "          {} {} (nono run would exit 126; nono why --op exec shows why)",
            style.bad("DENIED:"),
            output::text(d)
        )?;
    }
    if !policy.profiles.is_empty() {
        writeln!(w, "profiles: {}", output::text(&policy.profiles.join(", ")))?;
    }
    writeln!(w, "kernel:   {}", kernel.summary)?;
    if let Some(r) = &kernel.refusal {
        writeln!(w, "          {} {}", style.bad("REFUSED:"), output::text(r))?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "rules ({}; r read, x execute, w write+create, d delete+rename+truncate, i device ioctl):",
        policy.rules.len() + 1
    )?;
    let width = rules_table(w, policy)?;
    let tmp = format!("{}/run-XXXXXX", output::path(tmp_base));
    writeln!(
        w,
        "  {}  {:<4}  {:<width$}  private temporary directory, created at start, exported as TMPDIR",
        Access::ALL.short(),
        Kind::Dir.name(),
        tmp,
    )?;

    writeln!(w)?;
    let deletable: Vec<String> = policy
        .rules
        .iter()
        .filter(|r| r.access().contains(Access::DELETE))
        .map(|r| output::path(&r.path))
        .collect();
    writeln!(
        w,
        "delete protection: unlink, rmdir, rename, move and truncate are denied by the kernel everywhere{}",
        if deletable.is_empty() {
            " except the private temporary directory".to_string()
        } else {
            format!(
                " except the private temporary directory and: {}",
                deletable.join(", ")
            )
        }
    )?;

    blocklist_section(w, policy)?;

    writeln!(w)?;
    for (read_only, title) in [
        (false, "protected (never reachable, whatever is granted):"),
        (true, "read-only (readable when granted, never writable):"),
    ] {
        writeln!(w, "{title}")?;
        // Grouped by category in first-seen order; the list is sorted by path.
        let mut categories: Vec<&str> = Vec::new();
        for p in policy.protected.iter().filter(|p| p.read_only == read_only) {
            if !categories.contains(&p.category.as_str()) {
                categories.push(&p.category);
            }
        }
        for c in categories {
            writeln!(w, "  {c}:")?;
            for p in policy
                .protected
                .iter()
                .filter(|p| p.read_only == read_only && p.category == c)
            {
                writeln!(
                    w,
                    "    {}{}",
                    output::path(&p.path),
                    if p.exists { "" } else { " (absent)" }
                )?;
            }
        }
    }
    if !policy.writable_path_dirs.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "PATH directories left writable because a grant names them (what is written there runs outside later):"
        )?;
        for (d, given) in &policy.writable_path_dirs {
            writeln!(w, "  {} (by {})", output::path(d), output::path(given))?;
        }
    }
    if !policy.git_dirs.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "git repositories in write grants: config and hooks read-only (--allow-git-config to write them; git commands that write next to them, such as commit, then fail):"
        )?;
        for d in &policy.git_dirs {
            writeln!(w, "  {}", output::path(d))?;
        }
    }
    if !policy.git_dirs_writable.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "git repositories in write grants with config and hooks writable (--allow-git-config): what is written there runs at your next git command:"
        )?;
        for d in &policy.git_dirs_writable {
            writeln!(w, "  {}", output::path(d))?;
        }
    }
    if !policy.carved.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "carve-outs: these directories were split to keep protected paths out of a grant;"
        )?;
        writeln!(
            w,
            "their existing entries are granted one by one, but no entry can be created directly in the directory itself (nor can it be listed, unless the mount layer masks its protected entries: see below), and entries created in it later are not covered:"
        )?;
        for c in &policy.carved {
            writeln!(
                w,
                "  {}  (from the grant of {})",
                output::path(&c.dir),
                output::path(&c.grant)
            )?;
        }
    }
    Ok(())
}

/// One line per rule (rights, kind, path, origins), the blocklist's
/// per-file execute rules folded to one line per directory. Shared by
/// `--dry-run` and `nono profile show`. Returns the path column's width.
pub(super) fn rules_table(w: &mut dyn fmt::Write, policy: &Policy) -> Result<usize, fmt::Error> {
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
        let origins: Vec<String> = rule.parts.iter().map(|(_, o)| o.describe()).collect();
        let p = output::path(&rule.path);
        writeln!(
            w,
            "  {}  {:<4}  {:<width$}  {}",
            rule.access().short(),
            rule.kind.name(),
            p,
            origins.join("; "),
        )?;
    }
    for (dir, rules) in &per_file {
        let p = format!("{}/*", output::path(dir));
        writeln!(
            w,
            "  {}  {:<4}  {:<width$}  {} programs, one rule each; blocked programs left out",
            Access::EXECUTE.short(),
            Kind::File.name(),
            p,
            rules.len(),
        )?;
    }
    Ok(width)
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
fn blocklist_section(w: &mut dyn fmt::Write, policy: &Policy) -> fmt::Result {
    let c = &policy.commands;
    writeln!(w)?;
    writeln!(
        w,
        "command blocklist (COMMAND is checked by name and resolved file; the kernel denies execute of these files to every process):"
    )?;
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
                writeln!(w, "  {cat}: {}", output::text(&n.join(", ")))?;
            }
            None => {
                writeln!(w, "  {}:", output::text(cat))?;
            }
        }
        for f in files.get(cat.as_str()).into_iter().flatten() {
            write!(w, "    {}", output::path(&f.path))?;
            if let Some(t) = &f.target {
                write!(w, " -> {}", output::path(t))?;
            }
            if !f.same_as.is_empty() {
                write!(w, " (same file as {})", output::text(&f.same_as.join(", ")))?;
            }
            writeln!(w)?;
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
            writeln!(
                w,
                "  multi-call binaries: {} (they run blocked commands as applets)",
                names.join(", ")
            )?;
        }
    }
    if !c.list.allowed.is_empty() {
        let lifted: Vec<&str> = c.list.allowed.iter().map(|p| p.as_str()).collect();
        writeln!(
            w,
            "  lifted with --allow-command: {}",
            output::text(&lifted.join(", "))
        )?;
    }
    if !c.split.is_empty() && c.masking {
        let dirs: Vec<String> = c.split.iter().map(|d| output::path(d)).collect();
        writeln!(
            w,
            "  execute is granted as a whole in: {} (the mount layer covers each blocked program there, every name of it, with an empty non-executable file; programs created there later can be executed)",
            dirs.join(", ")
        )?;
    } else if !c.split.is_empty() {
        let dirs: Vec<String> = c.split.iter().map(|d| output::path(d)).collect();
        writeln!(
            w,
            "  execute is granted per file in: {} (programs created there later cannot be executed)",
            dirs.join(", ")
        )?;
    }
    if !c.searched.is_empty() {
        let dirs: Vec<String> = c.searched.iter().map(|d| output::path(d)).collect();
        writeln!(
            w,
            "  searched for blocked names (--block-command): {} (files created later are not covered)",
            dirs.join(", ")
        )?;
    }
    Ok(())
}

/// The `--dry-run` text of a blocked COMMAND that does not exist here
/// (its JSON is a whole [`DryRun`] document: scripts keep every key).
pub struct BlockedCommand<'a> {
    /// The refusal `run` would print (exit 126).
    pub message: &'a str,
}

impl Display for BlockedCommand<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(w, "nono dry run: nothing is executed")?;
        writeln!(
            w,
            "command:  BLOCKED: {} (nono run would exit 126)",
            output::text(self.message)
        )
    }
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
fn dry_run_json(
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

/// What the kernel receives, rule by rule: the Landlock rights handled and
/// every seccomp rule, from the same builders `run` installs them with.
fn kernel_rules(w: &mut dyn fmt::Write, plan: Option<&crate::sandbox::KernelPlan>) -> fmt::Result {
    let Some(p) = plan else {
        return Ok(());
    };
    writeln!(w)?;
    writeln!(w, "kernel rules as installed (Landlock ABI {}):", p.abi)?;
    writeln!(w, "  landlock handles  {}", p.landlock_fs.join(" "))?;
    if !p.landlock_net.is_empty() {
        writeln!(w, "  landlock handles  {}", p.landlock_net.join(" "))?;
    }
    if !p.landlock_scopes.is_empty() {
        writeln!(w, "  landlock scopes   {}", p.landlock_scopes.join(" "))?;
    }
    for r in &p.landlock_ports {
        writeln!(w, "  landlock port     {} {}", r.port, r.rights.join(" "))?;
    }
    let width = p.seccomp.iter().map(|r| r.syscall.len()).max().unwrap_or(0);
    for r in &p.seccomp {
        let when = if r.always { "always" } else { "when" };
        writeln!(
            w,
            "  seccomp {:<width$}  {} {:<6}  {}",
            r.syscall,
            r.errno,
            when,
            r.why.join("; ")
        )?;
    }
    Ok(())
}

/// The `--dry-run` section that says which kernel layer enforces what
/// beyond the filesystem rules (network, IPC, terminal, privileges).
fn enforcement(w: &mut dyn fmt::Write, guarantees: &[crate::sandbox::Guarantee]) -> fmt::Result {
    if guarantees.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "enforcement beyond the filesystem (topic, then the kernel layer that enforces it):"
    )?;
    let width = guarantees.iter().map(|g| g.topic.len()).max().unwrap_or(0);
    for g in guarantees {
        writeln!(w, "  {:<width$}  {}", g.topic, g.text)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// environment (dry-run section, why --env)

/// The mount-namespace layer for `--dry-run --json`: whether it is
/// active, why not, and the plan per path (from the same plan that `run`
/// applies).
fn mount_layer_json(layer: &Result<crate::sandbox::MountLayer, String>, required: bool) -> Value {
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
fn mount_layer_text(
    w: &mut dyn fmt::Write,
    layer: &Result<crate::sandbox::MountLayer, String>,
    required: bool,
) -> fmt::Result {
    writeln!(w)?;
    match layer {
        Ok(l) => {
            writeln!(
                w,
                "mount layer: active (a private mount namespace under Landlock and seccomp)"
            )?;
            for m in l.lines() {
                writeln!(
                    w,
                    "  {:<9} {}  {}",
                    m.what,
                    crate::output::path(&m.path),
                    output::text(&m.detail)
                )?;
            }
        }
        Err(reason) if required => {
            writeln!(
                w,
                "mount layer: not available ({}): run would refuse (--require-isolation)",
                output::text(reason)
            )?;
        }
        Err(reason) => {
            writeln!(
                w,
                "mount layer: not available ({}): Landlock only",
                output::text(reason)
            )?;
            writeln!(
                w,
                "  the fallback loses: {}",
                crate::sandbox::MOUNT_FALLBACK_LOSES
            )?;
        }
    }
    Ok(())
}

/// The known agent the command is, for the `agent` section.
pub struct Agent<'a> {
    /// The agent's built-in profile, when the command is a known agent.
    pub profile: Option<&'a str>,
    /// Its profile was applied automatically (no `-p`, no `--no-profile`).
    pub auto: bool,
    /// The profiles' `[agent] args`, inserted after the program.
    pub args: &'a [String],
    pub env: &'a [crate::policy::spec::AgentEnv],
}

/// The snapshot `run` would take, for the `snapshot` section.
pub struct Snapshot<'a> {
    pub plans: &'a [crate::undo::snapshot::Plan],
    pub mode: crate::undo::Mode,
    pub limits: &'a crate::undo::Limits,
}

/// The complete `nono run --dry-run` report: every section reads the
/// policy and the plans `run` would apply.
pub struct DryRun<'a> {
    pub policy: &'a Policy,
    pub cmd: &'a Command,
    pub kernel: &'a KernelView,
    /// Where the private temporary directory will be created.
    pub tmp_base: &'a Path,
    pub style: Style,
    /// The refusal `run` would print (exit 126), when COMMAND is blocked.
    pub blocked: Option<&'a str>,
    /// The error `run` would end with (exit 126) when the sandbox denies
    /// executing COMMAND itself.
    pub exec_denied: Option<&'a str>,
    pub guarantees: &'a [crate::sandbox::Guarantee],
    pub plan: Option<&'a crate::sandbox::KernelPlan>,
    /// The mount-namespace layer's plan, or why it is not available.
    pub mount_layer: &'a Result<crate::sandbox::MountLayer, String>,
    /// `--require-isolation`.
    pub require_isolation: bool,
    pub env_plan: &'a crate::policy::env::EnvPlan,
    pub env_policy: &'a crate::policy::env::EnvPolicy,
    /// Host-allowlist mode, when the policy has a host list.
    pub hosts: Option<&'a HostView>,
    /// Known failures of this command under this policy, with their fix.
    pub advice: &'a [String],
    /// Directories the profiles ask for that `run` would create.
    pub created: &'a [PathBuf],
    pub agent: Agent<'a>,
    pub snapshot: Option<Snapshot<'a>>,
}

impl Display for DryRun<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        dry_run(
            w,
            self.policy,
            self.cmd,
            self.kernel,
            self.tmp_base,
            self.style,
            Refusal {
                blocked: self.blocked,
                exec_denied: self.exec_denied,
            },
        )?;
        enforcement(w, self.guarantees)?;
        mount_layer_text(w, self.mount_layer, self.require_isolation)?;
        env::env_section(w, self.env_plan, self.env_policy)?;
        kernel_rules(w, self.plan)?;
        if let Some(v) = self.hosts {
            host_allowlist(w, &self.policy.net, v)?;
        }
        if !self.advice.is_empty() {
            writeln!(w, "\nknown to fail here, and the fix:")?;
            for a in self.advice {
                writeln!(w, "  - {}", output::text(a))?;
            }
        }
        if !self.created.is_empty() {
            let dirs: Vec<String> = self.created.iter().map(|p| output::path(p)).collect();
            writeln!(
                w,
                "\nmissing now, created (mode 0700) and granted by the profile when nono runs: {}",
                dirs.join(", ")
            )?;
        }
        let a = &self.agent;
        agent_text(w, a.profile, a.auto, a.args, a.env)?;
        if let Some(s) = &self.snapshot {
            undo::plan_text(w, s.plans, s.mode, s.limits)?;
        }
        Ok(())
    }
}

impl DryRun<'_> {
    /// The `--dry-run --json` document.
    pub fn json(&self) -> Value {
        let mut doc = dry_run_json(
            self.policy,
            self.cmd,
            self.kernel,
            self.tmp_base,
            self.guarantees,
            self.plan,
        );
        doc["blocked"] = json!(self.blocked);
        doc["exec_denied"] = json!(self.exec_denied);
        doc["host_allowlist"] = host_allowlist_json(&self.policy.net, self.hosts);
        doc["advice"] = json!(self.advice);
        doc["create"] = json!(self
            .created
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>());
        doc["env"] = env::env_json(self.env_plan, self.env_policy);
        doc["snapshot"] = match &self.snapshot {
            Some(s) => undo::plan_json(s.plans, s.mode),
            None => Value::Null,
        };
        let a = &self.agent;
        doc["agent"] = agent_json(a.profile, a.auto, a.args, a.env);
        doc["mount_layer"] = mount_layer_json(self.mount_layer, self.require_isolation);
        doc
    }
}

serialize_as_json!(DryRun);
