//! The command's environment: the `--dry-run` section and `why --env NAME`.
//! Names and reasons only, never values.

use std::ffi::OsStr;
use std::fmt::{self, Display};
use std::path::Path;

use serde_json::{json, Value};

use super::json::{jpath, SCHEMA_VERSION};
use super::{label, serialize_as_json, verdict};
use crate::output::{self, Style};

/// A variable name for display: escaped like a path.
pub(super) fn env_name(name: &OsStr) -> String {
    output::path(Path::new(name))
}

/// Where the command's environment comes from, for `--dry-run`: names and
/// reasons, never values.
pub fn env_section(
    w: &mut dyn fmt::Write,
    plan: &crate::policy::env::EnvPlan,
    policy: &crate::policy::env::EnvPolicy,
) -> fmt::Result {
    use crate::policy::env::Reason;
    writeln!(w)?;
    writeln!(w, "environment (names only; values are never shown):")?;
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
                writeln!(
                    w,
                    "  {:<7}  {}: {}",
                    e.action.name(),
                    env_name(&e.name),
                    output::text(&r.text())
                )?;
            }
        }
    }
    if let Some(src) = policy.clear() {
        writeln!(
            w,
            "  {src} keeps only: {} (and the names kept or set above)",
            output::text(&policy.data().keep().join(", "))
        )?;
        if !minimal.is_empty() {
            writeln!(w, "  kept     {}", minimal.join(", "))?;
        }
        if !cleared.is_empty() {
            writeln!(
                w,
                "  removed  {} ({} variables)",
                cleared.join(", "),
                cleared.len()
            )?;
        }
    }
    writeln!(
        w,
        "  set      {}: the run's private temporary directory",
        tmp.join(", ")
    )?;
    if inherited > 0 {
        writeln!(w, "  kept     {inherited} other variables, unchanged")?;
    }
    if plan
        .with(crate::policy::env::Action::Removed)
        .next()
        .is_some()
    {
        writeln!(
            w,
            "  to pass a removed variable: --allow-env NAME (or a GLOB such as 'NAME_*')"
        )?;
    }
    Ok(())
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

/// The `why --env NAME` answer: whether the variable reaches the command,
/// and why.
pub struct WhyEnv<'a> {
    pub e: &'a crate::policy::env::Entry,
    pub style: Style,
}

impl Display for WhyEnv<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::policy::env::Action;
        let (e, style) = (self.e, self.style);
        let name = env_name(&e.name);
        let head = match e.action {
            Action::Kept => style.good("KEPT"),
            Action::Set => style.good("SET"),
            Action::Removed => style.bad("REMOVED"),
        };
        let what = match e.action {
            Action::Kept => "is passed to the command unchanged",
            // nono's own value for a tool is named in the reason: it is not
            // the caller's.
            Action::Set if e.reason.for_tools() => "is given a value by nono",
            Action::Set => "is given a value by nono (never shown)",
            Action::Removed => "is not passed to the command",
        };
        writeln!(w, "{head}: {name} {what}")?;
        label(w, "reason", &output::text(&e.reason.text()))?;
        if e.action == Action::Removed {
            label(
                w,
                "to keep",
                &style.bold(&format!("add --allow-env {}", output::shell_word(&name))),
            )?;
        }
        for n in env_notes(e) {
            label(w, "note", &n)?;
        }
        Ok(())
    }
}

impl WhyEnv<'_> {
    /// The `why --env NAME --json` document.
    pub fn json(&self) -> Value {
        use crate::policy::env::Action;
        let e = self.e;
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
}

serialize_as_json!(WhyEnv);
