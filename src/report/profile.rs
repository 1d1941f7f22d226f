//! `nono profile list` and `nono profile show`.

use std::fmt::{self, Display};
use std::path::PathBuf;

use crate::output;
use crate::policy::{Access, Origin, Policy, PolicySpec, Source};
use crate::profile::{Listed, Loaded, ProfileOrigin};

/// The table of `nono profile list`.
pub struct ProfileList<'a> {
    pub items: &'a [Listed],
}

impl Display for ProfileList<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = self.items;
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
            writeln!(
                w,
                "{:<width$}  {:<8}  {}",
                output::text(&l.name),
                origin,
                desc
            )?;
        }
        Ok(())
    }
}

/// `nono profile show`: where the profile comes from, what it extends, and
/// every rule of the policy it builds with each rule's origin.
pub struct ProfileShow<'a> {
    /// The profile and those it extends, in merge order (the profile last).
    pub loaded: &'a [Loaded],
    pub spec: &'a PolicySpec,
    pub policy: &'a Policy,
    /// Directories the profile asks for that do not exist now.
    pub missing: &'a [PathBuf],
}

impl Display for ProfileShow<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (loaded, spec, policy, missing) = (self.loaded, self.spec, self.policy, self.missing);
        let Some(top) = loaded.last() else {
            return Ok(());
        };
        writeln!(
            w,
            "profile:  {} ({})",
            output::text(&top.name),
            top.display()
        )?;
        if let Some(d) = &top.file.description {
            for l in d.lines() {
                writeln!(w, "          {}", output::text(l))?;
            }
        }
        if loaded.len() > 1 {
            let chain: Vec<String> = loaded.iter().map(|l| output::text(&l.name)).collect();
            writeln!(w, "merged:   {} (in this order)", chain.join(", "))?;
        }
        writeln!(w)?;
        writeln!(
            w,
            "rules (r read, x execute, w write+create, d delete+rename+truncate, i device ioctl):"
        )?;
        super::dry_run::rules_table(w, policy)?;
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
            writeln!(w)?;
            writeln!(
                w,
            "delete rights: this profile lifts delete protection (unlink, rename, truncate) under: {}",
            deletable.join(", ")
        )?;
        }
        if !missing.is_empty() {
            writeln!(w)?;
            writeln!(
                w,
                "created by 'nono run' (missing now, so not in the rules above): {}",
                missing
                    .iter()
                    .map(|p| output::path(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        if spec.net_block || !spec.allow_connect.is_empty() || !spec.allow_bind.is_empty() {
            writeln!(w)?;
            writeln!(
                w,
                "network: {}",
                if spec.net_block {
                    "blocked".to_string()
                } else {
                    format!(
                        "connect {:?}, bind {:?}",
                        spec.allow_connect, spec.allow_bind
                    )
                }
            )?;
        }
        if !policy.net.hosts.is_empty() {
            writeln!(w)?;
            writeln!(w, "host allowlist (host-allowlist mode):")?;
            for e in &policy.net.hosts {
                let group = e
                    .group
                    .as_ref()
                    .map(|g| format!(" (@{g})"))
                    .unwrap_or_default();
                writeln!(w, "  {}{group}", output::text(&e.rule.to_string()))?;
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
                writeln!(w, "{label}: {}", names.join(", "))?;
            }
        }
        let env = &spec.env;
        if !env.allow.is_empty() {
            let names: Vec<String> = env.allow.iter().map(|a| output::text(&a.pattern)).collect();
            writeln!(w, "environment kept: {}", names.join(", "))?;
        }
        if !env.set.is_empty() {
            let names: Vec<String> = env.set.iter().map(|v| output::text(&v.name)).collect();
            writeln!(
                w,
                "environment set (values not shown): {}",
                names.join(", ")
            )?;
        }
        if let Some(src) = &env.clear {
            writeln!(w, "environment cleared to the minimal set ({src})")?;
        }
        let agent = &top.file.agent;
        if !agent.commands.is_empty() || !agent.packages.is_empty() {
            writeln!(w)?;
            writeln!(
                w,
                "agent:    applied automatically to: {}; or a program under: {}",
                output::text(&agent.commands.join(", ")),
                output::text(&agent.packages.join(", "))
            )?;
        }
        for e in &spec.agent_env {
            writeln!(
                w,
                "          sets {}={} ({})",
                output::text(&e.name),
                output::path(&e.value),
                e.source
            )?;
        }
        for (name, args) in &spec.agent_args {
            writeln!(
                w,
                "          inserts after the program when it is {}: {}",
                output::text(name),
                output::text(&args.join(" "))
            )?;
        }
        Ok(())
    }
}

fn is_profile(o: &Origin) -> bool {
    match o {
        Origin::User { source, .. } => matches!(source, Source::Profile { .. }),
        Origin::CarveOut { from, .. } => is_profile(from),
        _ => false,
    }
}
