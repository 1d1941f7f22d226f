//! The network: `why --connect/--bind`, `why --host`, and the host
//! allowlist section of `--dry-run`.

use std::fmt::{self, Display};
use std::net::SocketAddr;

use serde_json::{json, Value};

use super::json::SCHEMA_VERSION;
use super::{label, serialize_as_json, verdict};
use crate::output::{self, Style};
use crate::policy::net::{HostDecision, NetDecision};
use crate::policy::NetPolicy;

/// The note of a policy this kernel cannot enforce.
fn refusal_note(refusal: &str) -> String {
    format!(
        "this kernel cannot enforce the policy: run would refuse to start (exit 125): {refusal}"
    )
}

/// The `why --connect/--bind` answer.
pub struct WhyNet<'a> {
    pub d: &'a NetDecision,
    /// The layers that enforce the network options, one line each.
    pub layers: &'a [String],
    /// Why this kernel cannot enforce the policy, if it cannot.
    pub refusal: Option<&'a str>,
    pub style: Style,
}

impl Display for WhyNet<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.d;
        let verdict = if d.allowed {
            self.style.good("ALLOWED")
        } else {
            self.style.bad("DENIED")
        };
        writeln!(w, "{verdict}: TCP {} port {}", d.op.name(), d.op.port())?;
        label(w, "reason", &d.text)?;
        for l in self.layers {
            label(w, "enforced", &output::text(l))?;
        }
        if let Some(sug) = &d.suggestion {
            label(w, "to allow", &format!("add {sug}"))?;
        }
        if let Some(r) = self.refusal {
            label(w, "note", &refusal_note(&output::text(r)))?;
        }
        Ok(())
    }
}

impl WhyNet<'_> {
    /// The `why --connect/--bind --json` document.
    pub fn json(&self) -> Value {
        let d = self.d;
        let notes: Vec<String> = self.refusal.map(refusal_note).into_iter().collect();
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
                "enforced_by": self.layers,
            },
        })
    }
}

/// How host-allowlist mode is enforced, one sentence per layer.
pub fn host_mode_layers(proxy: SocketAddr) -> Vec<String> {
    vec![
        "network namespace: the command's only interface is its own loopback, so no socket of any family reaches an address outside the sandbox".to_string(),
        format!("egress proxy outside the sandbox at http://{proxy} (HTTP CONNECT and plain HTTP; the proxy resolves names and refuses loopback, link-local and private addresses unless an entry names them)"),
        "seccomp: only IP (inside the namespace), netlink and granted Unix socket families".to_string(),
    ]
}

/// The `why --host` answer.
pub struct WhyHost<'a> {
    pub d: &'a HostDecision,
    /// [`host_mode_layers`] in host-allowlist mode, else empty.
    pub layers: &'a [String],
    pub style: Style,
}

impl Display for WhyHost<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.d;
        let verdict = if d.allowed {
            self.style.good("ALLOWED")
        } else {
            self.style.bad("DENIED")
        };
        writeln!(
            w,
            "{verdict}: connection to {}:{}",
            output::text(&d.host),
            d.port
        )?;
        label(w, "reason", &output::text(&d.text))?;
        if let Some(src) = &d.source {
            label(w, "from", &output::text(src))?;
        }
        for l in self.layers {
            label(w, "enforced", &output::text(l))?;
        }
        for n in &d.notes {
            label(w, "note", &output::text(n))?;
        }
        if let Some(sug) = &d.suggestion {
            label(w, "to allow", &format!("add {}", output::text(sug)))?;
        }
        Ok(())
    }
}

impl WhyHost<'_> {
    /// The `why --host --json` document.
    pub fn json(&self) -> Value {
        let d = self.d;
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
                "enforced_by": self.layers,
            },
        })
    }
}

serialize_as_json!(WhyNet, WhyHost);

/// The allowlist for `--dry-run`: `None` outside host-allowlist mode.
pub struct HostView {
    pub proxy: SocketAddr,
    /// Why this machine cannot set up the namespace, if it cannot.
    pub unavailable: Option<String>,
}

/// `--dry-run` text section for host-allowlist mode.
pub fn host_allowlist(w: &mut dyn fmt::Write, net: &NetPolicy, view: &HostView) -> fmt::Result {
    writeln!(w, "\nhost allowlist ({} entries):", net.hosts.len())?;
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
        writeln!(
            w,
            "  {}  ports {}{exposes}  [{}]",
            output::text(&e.rule.pattern.to_string()),
            ports.join(","),
            output::text(&from)
        )?;
    }
    writeln!(w, "proxy the command sees: HTTP_PROXY=HTTPS_PROXY=ALL_PROXY=http://{} (NO_PROXY=localhost,127.0.0.1,::1)", view.proxy)?;
    for l in host_mode_layers(view.proxy) {
        writeln!(w, "  enforced: {l}")?;
    }
    if let Some(u) = &view.unavailable {
        writeln!(
            w,
            "  not available here: run would refuse to start (exit 125): {}",
            output::text(u)
        )?;
    }
    Ok(())
}

/// `--dry-run --json` key `host_allowlist`.
pub fn host_allowlist_json(net: &NetPolicy, view: Option<&HostView>) -> Value {
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
