//! The checker of docs/json.md: every JSON document nono prints is held
//! against the key table of its section, both ways — every documented key
//! has its documented type and is present where the table says `always`,
//! and every key printed is documented.

use std::collections::BTreeSet;

use serde_json::Value;

const DOC: &str = include_str!("../../docs/json.md");

/// One row of a key table: `| `path` | types | always/optional | meaning |`.
pub struct KeySpec {
    /// In the documentation's notation: `a.b`, `a[].b` (key `b` of every
    /// element of array `a`).
    pub path: String,
    pub types: Vec<String>,
    pub always: bool,
}

/// The key tables of one section of docs/json.md (heading containing `marker`).
pub fn documented_keys(marker: &str) -> Vec<KeySpec> {
    let mut out = Vec::new();
    let mut in_section = false;
    for line in DOC.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            in_section = h.contains(marker);
            continue;
        }
        if !in_section || !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line
            .split(" | ")
            .map(|c| c.trim_matches(|c| c == '|' || c == ' '))
            .collect();
        if cells.len() < 4 {
            continue;
        }
        let path = cells[0].trim_matches('`').to_string();
        let types = cells[1]
            .replace("\\|", "|")
            .split('|')
            .map(|t| t.trim().to_string())
            .collect();
        let always = match cells[2] {
            "always" => true,
            "optional" => false,
            other => panic!("docs/json.md: bad presence {other:?} for {path}"),
        };
        out.push(KeySpec {
            path,
            types,
            always,
        });
    }
    assert!(out.len() > 10, "no key table found for {marker}");
    out
}

fn type_ok(v: &Value, types: &[String]) -> bool {
    types.iter().any(|t| match t.as_str() {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        other => panic!("docs/json.md: unknown type {other}"),
    })
}

/// Values at a documented key path: `None` where the parent object exists
/// but the key does not.
fn values_at<'a>(v: &'a Value, segs: &[&str], out: &mut Vec<Option<&'a Value>>) {
    let Some((seg, rest)) = segs.split_first() else {
        return;
    };
    let (key, is_array) = match seg.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (*seg, false),
    };
    let Some(obj) = v.as_object() else { return };
    match obj.get(key) {
        None if rest.is_empty() => out.push(None),
        None => {}
        Some(child) if rest.is_empty() => out.push(Some(child)),
        Some(child) if is_array => {
            for e in child.as_array().into_iter().flatten() {
                values_at(e, rest, out);
            }
        }
        Some(child) => values_at(child, rest, out),
    }
}

/// Every key path present in a document, in the documentation's notation.
fn present_keys(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let Value::Object(m) = v else { return };
    for (k, child) in m {
        let p = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        out.insert(p.clone());
        match child {
            Value::Array(items) => {
                for item in items {
                    present_keys(item, &format!("{p}[]"), out);
                }
            }
            other => present_keys(other, &p, out),
        }
    }
}

/// Checks one document against the section `marker`, both ways, and
/// returns the keys it holds.
pub fn check_keys(marker: &str, doc: &Value) -> BTreeSet<String> {
    check(marker, doc, None)
}

/// The same for a document nested at `key` of another, whose own section
/// documents it as `key.…` (the snapshot plan inside `--dry-run --json`).
pub fn check_nested_keys(marker: &str, key: &str, value: &Value) -> BTreeSet<String> {
    let wrapped = serde_json::json!({ key: value });
    check(marker, &wrapped, Some(key))
}

fn check(marker: &str, doc: &Value, wrapper: Option<&str>) -> BTreeSet<String> {
    let specs = documented_keys(marker);
    for spec in &specs {
        let segs: Vec<&str> = spec.path.split('.').collect();
        let mut vals = Vec::new();
        values_at(doc, &segs, &mut vals);
        for v in vals {
            match v {
                None => assert!(
                    !spec.always,
                    "{marker}: documented key {} missing\n{doc:#}",
                    spec.path
                ),
                Some(v) => assert!(
                    type_ok(v, &spec.types),
                    "{marker}: {} is {v} but documented as {:?}",
                    spec.path,
                    spec.types
                ),
            }
        }
    }
    let documented: BTreeSet<&str> = specs.iter().map(|s| s.path.as_str()).collect();
    let mut present = BTreeSet::new();
    present_keys(doc, "", &mut present);
    if let Some(w) = wrapper {
        present.remove(w);
    }
    for k in &present {
        assert!(
            documented.contains(k.as_str()),
            "{marker}: key {k} is not documented in docs/json.md"
        );
    }
    present
}
