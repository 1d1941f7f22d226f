//! The network: `why --connect/--bind`, `why --host`, and the host
//! allowlist section of `--dry-run`.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::json::SCHEMA_VERSION;
use super::{label, verdict};
use crate::output::{self, Style};

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
