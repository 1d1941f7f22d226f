//! The JSON pieces every document shares: paths, rights, rule origins.

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
        #[cfg(target_os = "linux")]
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
