//! Rendering for humans and scripts: every report nono prints on stdout.
//!
//! One module per report: `run --dry-run` ([`dry_run`]), `why`
//! ([`why`], with the environment and network questions in [`env`] and
//! [`net`]), `setup` ([`setup`]), `profile list/show` ([`profile`]) and
//! `undo` ([`undo`]). Each has a text renderer (escaped paths via
//! [`output`](crate::output), colour through
//! [`Style`](crate::output::Style)) and a JSON builder ([`json`] holds the
//! shared pieces). The JSON keys are documented in docs/json.md and checked
//! against it by the integration tests; bump [`SCHEMA_VERSION`] when a key
//! changes meaning or disappears (adding keys does not).
//!
//! This layer sits above policy, sandbox, profile and undo: it reads what
//! they decided and planned, and nothing below imports it.

use std::fmt::Write as _;

use crate::policy::Origin;

pub mod dry_run;
pub mod env;
pub mod json;
pub mod net;
pub mod profile;
pub mod setup;
pub mod undo;
pub mod why;

pub use dry_run::{
    agent_json, agent_text, blocked_command, dry_run, dry_run_json, enforcement, kernel_rules,
    mount_layer_json, mount_layer_text, KernelView,
};
pub use env::{env_json, env_section, why_env, why_env_json};
pub use json::to_json_text;
pub use net::{
    host_allowlist, host_allowlist_json, host_mode_layers, why_host, why_host_json, why_net,
    why_net_json, HostView,
};
pub use setup::{setup_json, setup_text};
pub use why::{why, why_command, why_command_json, why_json};

/// Width of the label column in `why` and `setup` text.
const LABEL: usize = 10;

fn label(s: &mut String, name: &str, value: &str) {
    let _ = writeln!(s, "  {name:<LABEL$} {value}");
}

fn verdict(allowed: bool) -> &'static str {
    if allowed {
        "ALLOWED"
    } else {
        "DENIED"
    }
}

fn describe(o: &Origin) -> String {
    o.describe()
}
