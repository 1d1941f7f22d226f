//! The JSON pieces every document shares: paths, rights, rule origins, and
//! the pretty-printed text of a document.

use std::path::Path;

use serde_json::{json, Value};

use crate::policy::{Access, Origin, Rule};

/// The version of every JSON document nono prints.
pub const SCHEMA_VERSION: u32 = 1;

/// A path for JSON: exact when it is UTF-8, else with U+FFFD for the bytes
/// that are not (the text output shows them as `\xNN`).
pub(super) fn jpath(p: &Path) -> Value {
    Value::String(p.to_string_lossy().into_owned())
}

pub(super) fn jaccess(a: Access) -> Value {
    json!(a.names())
}

pub(super) fn origin_json(o: &Origin) -> Value {
    match o {
        Origin::User { source, given } => json!({
            "type": "user",
            "source": source.to_string(),
            "given": jpath(given),
        }),
        Origin::System { why } => json!({ "type": "system", "why": why }),
        Origin::TempDir => json!({ "type": "temp_dir" }),
        Origin::MountLayer { what } => json!({ "type": "mount_layer", "why": what }),
        Origin::CarveOut { grant, from } => json!({
            "type": "carve_out",
            "grant": jpath(grant),
            "from": origin_json(from),
        }),
        Origin::ExecSplit { grant, from } => json!({
            "type": "exec_split",
            "grant": jpath(grant),
            "from": origin_json(from),
        }),
    }
}

pub(super) fn rule_json(r: &Rule) -> Value {
    json!({
        "path": jpath(&r.path),
        "kind": r.kind.name(),
        "access": jaccess(r.access()),
        "origins": r.parts.iter().map(|(_, o)| origin_json(o)).collect::<Vec<_>>(),
    })
}

/// One JSON document, pretty-printed, with a final newline.
pub fn to_json_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------
// run --dry-run
