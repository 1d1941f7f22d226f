//! `nono profile list` and `nono profile show`.

use std::fmt::Write as _;

use crate::output;
use crate::policy::{Access, Origin, Policy, PolicySpec, Source};
use crate::profile::{Listed, Loaded, ProfileOrigin};

/// The table of `nono profile list`.
pub fn list(items: &[Listed]) -> String {
    let mut s = String::new();
    let width = items
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0);
    for l in items {
        let origin = match &l.origin {
            ProfileOrigin::User(p) if l.shadows => {
                format!("user ({}, shadows the built-in)", output::path(p))
            }
            ProfileOrigin::User(p) => format!("user ({})", output::path(p)),
            other => other.label().to_string(),
        };
        let desc = match &l.description {
            Ok(d) => output::text(d.lines().next().unwrap_or("")),
            Err(e) => format!("INVALID: {}", output::text(e)),
        };
        let _ = writeln!(
            s,
            "{:<width$}  {:<8}  {}",
            output::text(&l.name),
            origin,
            desc
        );
    }
    s
}

/// `nono profile show`: where the profile comes from, what it extends, and
/// every rule of the policy it builds with each rule's origin.
pub fn show(
    loaded: &[Loaded],
    spec: &PolicySpec,
    policy: &Policy,
    missing: &[std::path::PathBuf],
) -> String {
    let mut s = String::new();
    let Some(top) = loaded.last() else {
        return s;
    };
    let _ = writeln!(
        s,
        "profile:  {} ({})",
        output::text(&top.name),
        top.display()
    );
    if let Some(d) = &top.file.description {
        for l in d.lines() {
            let _ = writeln!(s, "          {}", output::text(l));
        }
    }
    if loaded.len() > 1 {
        let chain: Vec<String> = loaded.iter().map(|l| output::text(&l.name)).collect();
        let _ = writeln!(s, "merged:   {} (in this order)", chain.join(", "));
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "rules (r read, x execute, w write+create, d delete+rename+truncate, i device ioctl):"
    );
    super::dry_run::rules_table(&mut s, policy);
    let deletable: Vec<String> = policy
        .rules
        .iter()
        .filter(|r| {
            r.parts
                .iter()
                .any(|(a, o)| a.contains(Access::DELETE) && is_profile(o))
        })
        .map(|r| output::path(&r.path))
        .collect();
    if !deletable.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "delete rights: this profile lifts delete protection (unlink, rename, truncate) under: {}",
            deletable.join(", ")
        );
    }
    if !missing.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "created by 'nono run' (missing now, so not in the rules above): {}",
            missing
                .iter()
                .map(|p| output::path(p))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if spec.net_block || !spec.allow_connect.is_empty() || !spec.allow_bind.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "network: {}",
            if spec.net_block {
                "blocked".to_string()
            } else {
                format!(
                    "connect {:?}, bind {:?}",
                    spec.allow_connect, spec.allow_bind
                )
            }
        );
    }
    if !policy.net.hosts.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "host allowlist (host-allowlist mode):");
        for e in &policy.net.hosts {
            let group = e
                .group
                .as_ref()
                .map(|g| format!(" (@{g})"))
                .unwrap_or_default();
            let _ = writeln!(s, "  {}{group}", output::text(&e.rule.to_string()));
        }
    }
    for (label, list) in [
        ("commands allowed", &spec.allow_commands),
        ("commands blocked", &spec.block_commands),
    ] {
        if !list.is_empty() {
            let names: Vec<String> = list
                .iter()
                .map(|c| format!("{} ({})", output::text(&c.name), c.source))
                .collect();
            let _ = writeln!(s, "{label}: {}", names.join(", "));
        }
    }
    let env = &spec.env;
    if !env.allow.is_empty() {
        let names: Vec<String> = env.allow.iter().map(|a| output::text(&a.pattern)).collect();
        let _ = writeln!(s, "environment kept: {}", names.join(", "));
    }
    if !env.set.is_empty() {
        let names: Vec<String> = env.set.iter().map(|v| output::text(&v.name)).collect();
        let _ = writeln!(
            s,
            "environment set (values not shown): {}",
            names.join(", ")
        );
    }
    if let Some(src) = &env.clear {
        let _ = writeln!(s, "environment cleared to the minimal set ({src})");
    }
    let agent = &top.file.agent;
    if !agent.commands.is_empty() || !agent.packages.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "agent:    applied automatically to: {}; or a program under: {}",
            output::text(&agent.commands.join(", ")),
            output::text(&agent.packages.join(", "))
        );
    }
    for e in &spec.agent_env {
        let _ = writeln!(
            s,
            "          sets {}={} ({})",
            output::text(&e.name),
            output::path(&e.value),
            e.source
        );
    }
    for (name, args) in &spec.agent_args {
        let _ = writeln!(
            s,
            "          inserts after the program when it is {}: {}",
            output::text(name),
            output::text(&args.join(" "))
        );
    }
    s
}

fn is_profile(o: &Origin) -> bool {
    match o {
        Origin::User { source, .. } => matches!(source, Source::Profile { .. }),
        Origin::CarveOut { from, .. } => is_profile(from),
        _ => false,
    }
}
