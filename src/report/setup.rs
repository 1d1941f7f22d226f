//! `nono setup`: what this machine can enforce, in text and JSON.

use std::fmt::{self, Display};

use serde_json::{json, Value};

use super::json::SCHEMA_VERSION;
use super::{label, serialize_as_json};
use crate::output::{self, Style};
use crate::setup;

fn level_styled(l: setup::Level, style: Style) -> String {
    let padded = format!("{:<8}", l.name());
    match l {
        setup::Level::Full => style.good(&padded),
        setup::Level::Partial => style.warn(&padded),
        setup::Level::None => style.bad(&padded),
    }
}

/// The `setup` report as text.
pub fn setup_text(w: &mut dyn fmt::Write, r: &setup::Report, style: Style) -> fmt::Result {
    writeln!(
        w,
        "{}",
        style.bold("nono setup: what this machine can enforce")
    )?;
    writeln!(w)?;
    label(w, "os", r.os)?;
    label(w, "kernel", &output::text(&r.kernel_release))?;
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
    label(w, "landlock", &ll)?;
    let sc = match (r.seccomp.filter, r.seccomp.mode) {
        (true, Some(m)) if m > 0 => format!("filters available (this process is in mode {m})"),
        (true, _) => "filters available".to_string(),
        (false, _) => "filters unavailable".to_string(),
    };
    label(w, "seccomp", &sc)?;

    writeln!(w)?;
    writeln!(w, "{}", style.bold("Landlock features"))?;
    writeln!(
        w,
        "  {:<4} {:<18} {:<6} {:<7} {:<8} what",
        "ABI", "feature", "Linux", "kernel", "nono"
    )?;
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
        writeln!(
            w,
            "  {:<4} {:<18} {:<6} {} {:<8} {}",
            f.abi, f.name, f.linux, have_s, used, f.what
        )?;
    }

    writeln!(w)?;
    writeln!(w, "{}", style.bold("Guarantees here"))?;
    let width = r
        .guarantees
        .iter()
        .map(|g| g.title.len())
        .max()
        .unwrap_or(0);
    for g in &r.guarantees {
        writeln!(
            w,
            "  {} {:<width$}  {}",
            level_styled(g.level, style),
            g.title,
            g.detail
        )?;
    }
    if !r.seccomp_rules.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            style.bold("seccomp rules in every sandbox (options add more; see --dry-run)")
        )?;
        let width = r
            .seccomp_rules
            .iter()
            .map(|x| x.syscall.len())
            .max()
            .unwrap_or(0);
        for x in &r.seccomp_rules {
            let when = if x.always { "always" } else { "when" };
            writeln!(
                w,
                "  {:<width$}  {} {:<6}  {}",
                x.syscall,
                x.errno,
                when,
                x.why.join("; ")
            )?;
        }
    }
    if !r.upgrades.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", style.bold("To get more"))?;
        for u in &r.upgrades {
            writeln!(w, "  - {u}")?;
        }
    }
    writeln!(w)?;
    match &r.refusal {
        None => {
            writeln!(w, "{} nono can run commands here", style.good("OK:"))?;
        }
        Some(why) => {
            writeln!(
                w,
                "{} nono cannot run commands here: {}",
                style.bad("UNUSABLE:"),
                output::text(why)
            )?;
        }
    }
    Ok(())
}

/// The `setup --json` document without the host-allowlist key.
fn setup_json(r: &setup::Report) -> Value {
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

/// Everything `nono setup` prints: the machine's report and whether
/// host-allowlist mode can be set up here.
pub struct Setup<'a> {
    pub report: &'a setup::Report,
    /// Why host-allowlist mode cannot be set up here, if it cannot.
    pub hosts_unavailable: Option<&'a str>,
    /// The namespace is entered directly (root), not in a user namespace.
    pub privileged: bool,
    pub style: Style,
}

impl Display for Setup<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        setup_text(w, self.report, self.style)?;
        match self.hosts_unavailable {
            None => writeln!(
                w,
                "\nhost-allowlist mode (--allow-host): available (network namespace{})",
                if self.privileged {
                    ", entered directly as root"
                } else {
                    " in an unprivileged user namespace"
                }
            ),
            Some(why) => {
                writeln!(
                    w,
                    "\nhost-allowlist mode (--allow-host): NOT available: {}",
                    output::text(why)
                )?;
                writeln!(w, "  enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0; on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for nono), or run as root")
            }
        }
    }
}

impl Setup<'_> {
    /// The `setup --json` document.
    pub fn json(&self) -> Value {
        let mut doc = setup_json(self.report);
        doc["host_allowlist"] = json!({
            "available": self.hosts_unavailable.is_none(),
            "unavailable_reason": self.hosts_unavailable,
        });
        doc
    }
}

serialize_as_json!(Setup);
