//! The shapes of the built-in TOML data files, as written.
//!
//! Shared, through `#[path]`, by `build.rs`, which reads every built-in
//! file into these types (a malformed file fails the build) and compiles
//! it into static tables, and by the unit tests, which parse each file
//! afresh and compare it with the compiled tables, so that the two cannot
//! drift apart. Nothing here runs in `nono run`: the TOML files stay the
//! source of truth (they are documented, and SPEC.md's tables are checked
//! against them), the binary carries their compiled form.
//!
//! Every table denies unknown fields, as before: a misspelt key is a build
//! error, not a silently ignored line.

use serde::Deserialize;

/// `src/policy/data/system.toml`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SystemFile {
    pub rule: Vec<SystemRule>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SystemRule {
    pub why: String,
    /// Access letters: r read, x execute, w write, d delete, i ioctl.
    pub access: String,
    pub paths: Vec<String>,
}

/// `src/policy/data/protected.toml`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProtectedFile {
    pub group: Vec<ProtectedGroup>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProtectedGroup {
    pub category: String,
    pub paths: Vec<String>,
    #[serde(default)]
    pub read_only: bool,
}

/// `src/policy/data/blocklist.toml`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BlocklistFile {
    pub program_dirs: Vec<String>,
    pub category: Vec<BlockCategory>,
    pub multicall: Vec<Multicall>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BlockCategory {
    pub name: String,
    pub commands: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Multicall {
    pub names: Vec<String>,
    pub provides: Vec<String>,
}

/// `src/policy/data/env.toml`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    pub not_secret: Vec<String>,
    pub clear: ClearSection,
    pub secret: Vec<SecretGroup>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClearSection {
    pub keep: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretGroup {
    pub category: String,
    pub patterns: Vec<String>,
}

/// `src/proxy/data/hosts.toml`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HostsFile {
    pub group: Vec<HostGroup>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HostGroup {
    pub name: String,
    pub description: String,
    pub hosts: Vec<Host>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub host: String,
    pub why: String,
}

/// `src/undo/data/skip.toml`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SkipFile {
    pub names: Vec<String>,
}
