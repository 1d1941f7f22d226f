//! `nono why PATH` and `nono why --command NAME`: the verdict, the rules
//! that decide it, the reason and what would change it.

use std::ffi::OsStr;
use std::fmt::{self, Display};
use std::path::Path;

use serde_json::{json, Value};

use super::json::{jaccess, jpath, rule_json, SCHEMA_VERSION};
use super::{label, serialize_as_json, verdict};
use crate::exec::Command;
use crate::output::{self, Style};
use crate::policy::decide::{Decision, Reason, Suggestion};
use crate::policy::{Op, Rule};

/// The `why --command` answer: would `run` refuse NAME, and may the
/// kernel rules execute the file it finds.
pub struct WhyCommand<'a> {
    pub name: &'a OsStr,
    /// What PATH lookup finds here, if anything.
    pub found: Option<&'a Command>,
    /// The refusal `run` would print and its hints, when NAME is blocked.
    pub blocked: Option<(&'a str, &'a [String])>,
    /// Not blocked because `--allow-command` lifted a default entry.
    pub lifted: bool,
    /// Whether the kernel rules grant execute of the file found.
    pub kernel_exec: Option<bool>,
}

impl Display for WhyCommand<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = output::path(Path::new(self.name));
        match self.blocked {
            Some((msg, hints)) => {
                writeln!(w, "BLOCKED: {}", output::text(msg))?;
                for h in hints {
                    writeln!(w, "  {}", output::text(h))?;
                }
            }
            None => writeln!(w, "NOT BLOCKED: '{shown}' is not on the command blocklist")?,
        }
        match self.found {
            Some(cmd) => {
                writeln!(w, "  found: {}", output::path(&cmd.path))?;
                if cmd.resolved != cmd.path {
                    writeln!(w, "  resolves to: {}", output::path(&cmd.resolved))?;
                }
            }
            None => writeln!(w, "  not found in PATH on this machine")?,
        }
        if let (Some(cmd), Some(x)) = (self.found, self.kernel_exec) {
            writeln!(
                w,
                "  kernel: execute of {} is {} inside the sandbox",
                output::path(&cmd.resolved),
                if x { "granted" } else { "denied" }
            )?;
        }
        Ok(())
    }
}

impl WhyCommand<'_> {
    /// The `why --command --json` document.
    pub fn json(&self) -> Value {
        let allowed = self.blocked.is_none();
        let (code, text) = match self.blocked {
            Some((msg, _)) => ("blocked", msg.to_string()),
            None if self.lifted => (
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
            "no_suggestion": self.blocked.map(|(_, hints)| hints.join("; ")),
            "notes": Vec::<String>::new(),
            "command": {
                "name": jpath(Path::new(self.name)),
                "path": self.found.map(|c| jpath(&c.path)),
                "resolved": self.found.map(|c| jpath(&c.resolved)),
                "blocked": !allowed,
                "kernel_exec": self.kernel_exec,
            },
        })
    }
}

/// One line describing where a rule comes from.
fn rule_line(r: &Rule) -> String {
    let origins: Vec<String> = r
        .parts
        .iter()
        .map(|(a, o)| format!("{a} from {}", o.describe()))
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
                        .map(|(_, o)| o.describe())
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

/// The `why PATH` answer: the verdict, the path as the kernel resolves it,
/// the rules that reach it, the reason and what would allow it.
pub struct WhyPath<'a> {
    pub d: &'a Decision,
    pub style: Style,
}

impl Display for WhyPath<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, style) = (self.d, self.style);
        let v = verdict(d.allowed);
        let v = if d.allowed {
            style.good(v)
        } else {
            style.bad(v)
        };
        writeln!(w, "{v}: {} {}", d.op.name(), output::path(&d.given))?;
        if d.absolute != d.given {
            label(w, "path", &output::path(&d.absolute))?;
        }
        for hop in &d.hops {
            label(
                w,
                "symlink",
                &format!(
                    "{} -> {}",
                    output::path(&hop.link),
                    output::path(&hop.target)
                ),
            )?;
        }
        if !d.hops.is_empty() {
            label(
                w,
                "resolves",
                &format!(
                    "{} (the kernel follows symlinks and checks the target, not the link)",
                    output::path(&d.resolved)
                ),
            )?;
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
        label(w, "checks", &on)?;
        label(w, "rights", &d.rights.to_string())?;
        for (i, (r, decisive)) in d.rules.iter().enumerate() {
            let mark = if *decisive { "*" } else { " " };
            label(
                w,
                if i == 0 { "rules" } else { "" },
                &format!("{mark} {}", rule_line(r)),
            )?;
        }
        label(w, "reason", &reason_text(d))?;
        if let Some(t) = suggestion_text(d) {
            label(w, "to allow", &style.bold(&t))?;
        }
        for n in &d.notes {
            label(w, "note", &output::text(n))?;
        }
        Ok(())
    }
}

impl WhyPath<'_> {
    /// The `why --json` document for a path question.
    pub fn json(&self) -> Value {
        let d = self.d;
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
}

serialize_as_json!(WhyCommand, WhyPath);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::decide::{GrantFlag, Hop};
    use crate::policy::Source;
    use crate::policy::{Access, Kind, Origin};
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
        let text = WhyPath {
            d: &denied_via_symlink(),
            style: Style::plain(),
        }
        .to_string();
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
        let v = WhyPath {
            d: &d,
            style: Style::plain(),
        }
        .json();
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
