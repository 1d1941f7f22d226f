//! The profile file format: strict TOML, parsed with spans so that every
//! error names the file, line, column and key.
//!
//! ```toml
//! name = "rust"                      # optional; must match the file name
//! description = "cargo and rustc"
//! extends = ["base"]                 # or a single string
//! snapshot = true                    # record the write grants for `nono undo`
//!
//! [filesystem]                       # paths: ~, $VAR, ${VAR}, ${VAR:-default}, $CWD
//! create = ["~/.app"]                # nono run makes these directories if missing
//! allow = ["$CWD"]                   # read + write + create
//! read = ["~/.rustup?"]              # trailing ? = optional: skipped when missing
//! write = []
//! allow_delete = ["$CWD"]
//! protect = ["~/.config/mytool/token"]  # added to the protected paths
//! allow_git_config = false           # true: .git/config and hooks writable
//! overlay = ["~/.cargo/registry?"]   # changes land in nono's own upper directory
//!
//! [network]
//! block = false
//! connect = [443]                    # TCP ports
//! bind = []
//! allow_hosts = ["@github", "api.example.com"]   # host-allowlist mode
//!
//! [commands]
//! allow = ["rm"]                     # off the blocklist
//! block = ["curl"]                   # onto the blocklist
//!
//! [env]
//! allow = ["ANTHROPIC_API_KEY"]      # like --allow-env (names or globs)
//! set = { NODE_ENV = "test" }        # like --env NAME=VALUE
//! clear = false                      # true: like --env-clear
//! [agent]                            # agent profiles
//! commands = ["claude"]              # program names that select it automatically
//! packages = ["node_modules/@anthropic-ai/claude-code"]  # ... or install paths
//! state_env = { CLAUDE_CONFIG_DIR = "~/.app" }  # path variables set for the command
//! args = []                          # inserted after the program when it is the agent
//! ```

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// Largest profile file nono reads. Real profiles are a few hundred bytes;
/// the cap keeps a hostile or mistaken file (a device, a log) from being
/// read into memory whole.
pub const MAX_PROFILE_BYTES: usize = 1024 * 1024;

/// A profile file as written, before lookup of `extends` and expansion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    pub name: Option<Spanned<String>>,
    pub description: Option<String>,
    #[serde(default)]
    pub extends: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub filesystem: Filesystem,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub commands: Commands,
    #[serde(default)]
    pub env: Env,
    /// Take a snapshot of the write grants before the command starts
    /// (`nono undo`); sticky like `network.block`.
    pub snapshot: Option<bool>,
    #[serde(default)]
    pub agent: Agent,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    /// Directories `nono run` creates (mode 0700, with missing parents)
    /// when they do not exist, so that a program's first start in the
    /// sandbox finds the state directory it would have made itself.
    #[serde(default)]
    pub create: Vec<Spanned<String>>,
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    #[serde(default)]
    pub read: Vec<Spanned<String>>,
    #[serde(default)]
    pub write: Vec<Spanned<String>>,
    #[serde(default)]
    pub allow_delete: Vec<Spanned<String>>,
    /// Paths added to the protected list: never granted, carved out of
    /// every grant, whether or not they exist.
    #[serde(default)]
    pub protect: Vec<Spanned<String>>,
    /// Leave `.git/config` and `.git/hooks` of existing repositories in
    /// write grants writable (like `--allow-git-config`).
    pub allow_git_config: Option<bool>,
    /// Cache directories the command sees with its own changes on top
    /// (the mount-namespace layer); the real directory is never written.
    #[serde(default)]
    pub overlay: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub block: Option<bool>,
    /// Checked to be ports (1-65535) when applied, so the error can say so.
    #[serde(default)]
    pub connect: Vec<Spanned<i64>>,
    #[serde(default)]
    pub bind: Vec<Spanned<i64>>,
    /// Host-allowlist entries (`--allow-host` syntax) and `@group` names.
    #[serde(default)]
    pub allow_hosts: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    #[serde(default)]
    pub block: Vec<Spanned<String>>,
}

/// The command's environment (see `policy::env`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Env {
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    /// Literal values (no expansion), by name.
    #[serde(default)]
    pub set: std::collections::BTreeMap<String, Spanned<String>>,
    pub clear: Option<bool>,
}

/// How an agent profile recognises its agent and prepares its start (see
/// `profile::agents`). Only the built-in profiles' `commands` and
/// `packages` select a profile automatically: that choice must not depend
/// on files a user (or an agent that could write them) placed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// Program file names that are this agent (`claude`).
    #[serde(default)]
    pub commands: Vec<String>,
    /// Path fragments of the agent's install directory
    /// (`node_modules/@openai/codex`): a program, or the script given to
    /// node, resolved through symlinks to a file under one is this agent.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Environment variables that point the agent at its state directory,
    /// set for the command. Values are paths, expanded like filesystem
    /// entries.
    #[serde(default)]
    pub state_env: std::collections::BTreeMap<String, Spanned<String>>,
    /// Arguments inserted right after the program when the command is this
    /// agent (its documented configuration, e.g. "you are sandboxed").
    #[serde(default)]
    pub args: Vec<String>,
}

/// `extends = "a"` or `extends = ["a", "b"]`.
#[derive(Debug, Default)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a profile name or a list of profile names")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![s.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    v.push(s);
                }
                Ok(OneOrMany(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A problem in a profile's text, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    pub line: usize,
    pub column: usize,
    /// The key the error is about (`filesystem.read`), when known.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Parses a profile's text. Never panics, whatever the input.
pub fn parse(text: &str) -> Result<ProfileFile, TextError> {
    toml::from_str::<ProfileFile>(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let mut err = error_at(text, span, e.message().trim_end().to_string());
        // toml names unknown keys itself; for type errors name the key.
        if err.key.is_none() {
            err.message = err.message.replace('\n', " ");
        }
        err
    })
}

/// An error at a byte range of the text: line and column (1-based, columns
/// in characters) and the dotted key whose value holds the range.
pub fn error_at(text: &str, span: Range<usize>, message: String) -> TextError {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..start].chars().count() + 1;
    TextError {
        line,
        column,
        key: key_at(text, start),
        message,
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The dotted key whose value contains byte `pos`: the nearest `key =` at or
/// before it, prefixed by the nearest `[table]` header above that. Only used
/// to label errors; a wrong guess costs nothing but a less precise message,
/// so it is kept deliberately simple and returns `None` when unsure.
fn key_at(text: &str, pos: usize) -> Option<String> {
    let head = &text[..pos];
    let line_start = head.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[pos..]
        .find('\n')
        .map(|i| pos + i)
        .unwrap_or(text.len());
    let upto_line = &text[..line_end];
    let mut key: Option<String> = None;
    let mut table: Option<String> = None;
    for l in upto_line.lines().rev() {
        let t = l.trim();
        if t.starts_with('[') {
            let name = t.trim_start_matches('[');
            let name = name.split(']').next().unwrap_or("").trim();
            table = Some(name.to_string());
            break;
        }
        if key.is_none() {
            if let Some((k, _)) = t.split_once('=') {
                let k = k.trim();
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    key = Some(k.to_string());
                }
            }
        }
    }
    // An error on a header line itself (e.g. an unknown table) has no key.
    if text[line_start..line_end].trim_start().starts_with('[') {
        return None;
    }
    let key = key?;
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_profile() {
        let p = parse(
            r#"
name = "x"
description = "d"
extends = "base"
[filesystem]
allow = ["$CWD"]
read = ["~/.rustup?"]
allow_delete = ["$CWD"]
[network]
block = true
connect = [443]
bind = [8080]
[commands]
allow = ["rm"]
block = ["curl"]
[env]
allow = ["A_*"]
set = { B = "1" }
clear = true
"#,
        )
        .unwrap();
        assert_eq!(p.env.allow[0].get_ref(), "A_*");
        assert_eq!(p.env.set["B"].get_ref(), "1");
        assert_eq!(p.env.clear, Some(true));
        assert_eq!(p.extends.unwrap().into_inner().0, vec!["base"]);
        assert_eq!(p.filesystem.allow[0].get_ref(), "$CWD");
        assert_eq!(*p.network.connect[0].get_ref(), 443);
        assert_eq!(p.network.block, Some(true));
        assert_eq!(p.commands.block[0].get_ref(), "curl");
    }

    #[test]
    fn extends_takes_a_list() {
        let p = parse("extends = [\"a\", \"b\"]\n").unwrap();
        assert_eq!(p.extends.unwrap().into_inner().0, vec!["a", "b"]);
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse("name = \"x\"\n[filesystem]\nallow = []\nreed = [\"/\"]\n").unwrap_err();
        assert_eq!((e.line, e.column), (4, 1), "{e}");
        assert!(e.message.contains("reed"), "{e}");
    }

    #[test]
    fn unknown_table_is_an_error() {
        let e = parse("[filesytem]\nallow = []\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        assert!(e.message.contains("filesytem"), "{e}");
    }

    #[test]
    fn bad_value_names_line_and_key() {
        let e = parse("[network]\nconnect = [\n  443,\n  \"x\",\n]\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert_eq!(e.key.as_deref(), Some("network.connect"), "{e}");
        let e = parse("[filesystem]\nread = \"/usr\"\n").unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (2, Some("filesystem.read")),
            "{e}"
        );
        let e = parse("[network]\nblock = \"yes\"\n").unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (2, Some("network.block")),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_has_a_position() {
        let e = parse("name = \"x\"\n\nallow = [\n").unwrap_err();
        assert!(e.line >= 3, "{e}");
    }
}
