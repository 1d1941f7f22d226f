//! Rendering for humans and scripts: every report nono prints on stdout.
//!
//! One module per report: `run --dry-run` ([`dry_run`]), `why`
//! ([`why`], with the environment and network questions in [`env`] and
//! [`net`]), `setup` ([`setup`]), `profile list/show` ([`profile`]) and
//! `undo` ([`undo`]). A report is a value that borrows what policy,
//! sandbox, profile and undo computed: its text is its `Display` (paths
//! escaped through [`output`](crate::output), colour through
//! [`Style`](crate::output::Style)), its JSON document its `Serialize`
//! ([`json`] holds the shared pieces). [`write`] puts either on a writer
//! and returns the write's error, so output errors reach the top instead of
//! being dropped here.
//!
//! The JSON keys are documented in docs/json.md and checked against it by
//! the integration tests; bump [`json::SCHEMA_VERSION`] when a key changes
//! meaning or disappears (adding keys does not).
//!
//! This layer sits above policy, sandbox, profile and undo: it reads what
//! they decided and planned, and nothing below imports it.

use std::fmt::{self, Display};
use std::io;

use serde::Serialize;

pub mod dry_run;
pub mod env;
pub mod json;
pub mod net;
pub mod profile;
pub mod setup;
pub mod undo;
pub mod why;

/// Writes `report` to `w`: its JSON document when `json`, else its text.
/// The report is rendered in memory first, so it reaches `w` in one write,
/// and the error of that write is the one returned.
pub fn write(
    w: &mut impl io::Write,
    report: &(impl Display + Serialize),
    json: bool,
) -> io::Result<()> {
    if json {
        write_json(w, report)
    } else {
        write_text(w, report)
    }
}

/// Writes the text of a report.
pub fn write_text(w: &mut impl io::Write, report: &impl Display) -> io::Result<()> {
    use std::fmt::Write as _;
    let mut text = String::new();
    write!(text, "{report}").map_err(|_| io::Error::other("a report could not be formatted"))?;
    w.write_all(text.as_bytes())?;
    w.flush()
}

/// Writes a report's JSON document, pretty-printed, with a final newline.
pub fn write_json(w: &mut impl io::Write, report: &impl Serialize) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    w.write_all(text.as_bytes())?;
    w.flush()
}

/// Implements `Serialize` for a report through its `json()` document.
/// The documents are built as `serde_json::Value`s: their keys print
/// sorted, as docs/json.md and the scripts that read them have them.
macro_rules! serialize_as_json {
    ($($t:ident),* $(,)?) => {$(
        impl serde::Serialize for $t<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.json().serialize(s)
            }
        }
    )*};
}
pub(crate) use serialize_as_json;

/// Width of the label column in `why` and `setup` text.
const LABEL: usize = 10;

/// One `  name       value` line of `why` and `setup`.
fn label(w: &mut dyn fmt::Write, name: &str, value: &str) -> fmt::Result {
    writeln!(w, "  {name:<LABEL$} {value}")
}

fn verdict(allowed: bool) -> &'static str {
    if allowed {
        "ALLOWED"
    } else {
        "DENIED"
    }
}
