//! Snapshots of the write grants, and `nono undo`.
//!
//! `nono run --snapshot` records, before the command starts, every entry
//! under each write grant: a manifest per grant (kind, mode, owner, size,
//! times, inode, hash, symlink target) and the contents of regular files,
//! stored once by BLAKE3 hash in a store the sandbox cannot reach (see
//! [`store`]). `nono undo diff` compares a snapshot with the tree as it is
//! when asked; `nono undo restore` brings back what was deleted, modified,
//! truncated or changed in mode. Nothing needs to outlive the command:
//! nono's exec model (the command replaces nono) is kept.
//!
//! The modules return data; `report::undo` renders it.

mod config;
pub mod diff;
pub mod manifest;
pub mod prune;
pub mod restore;
pub mod snapshot;
pub mod store;
mod sys;
pub mod time;
mod tree;

use std::path::{Path, PathBuf};

pub use config::Limits;

use crate::policy::{Access, Origin, Policy};

/// How complete a snapshot must be for the command to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Everything under the write grants is recorded, or the command does
    /// not run (exit 125).
    Strict,
    /// The command runs with what could be recorded; what is missing is
    /// listed on stderr.
    BestEffort,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Strict => "strict",
            Mode::BestEffort => "best-effort",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error("snapshot store {}: {source}", path.display())]
    Store {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot take a complete snapshot: {count} entr{} unreadable, first {}: {error}",
        if *count == 1 { "y" } else { "ies" },
        crate::output::path(path)
    )]
    Unreadable {
        count: usize,
        path: PathBuf,
        error: String,
    },
    #[error(
        "cannot take a complete snapshot: more than {limit} entries under the write grants ({})",
        crate::output::path(root)
    )]
    TooMany { limit: u64, root: PathBuf },
    #[error("{name}: invalid value '{value}'")]
    BadSetting { name: &'static str, value: String },
    #[error("no snapshot covers {}", crate::output::path(.0))]
    NoRun(PathBuf),
    #[error("no snapshot run '{0}'")]
    UnknownRun(String),
    #[error("run id '{0}' matches {1} runs: give more of it")]
    Ambiguous(String, usize),
    #[error("snapshot {id} is damaged: {what}")]
    Damaged { id: String, what: String },
    #[error(
        "{} is not under a write grant of snapshot {id}",
        crate::output::path(path)
    )]
    NotCovered { path: PathBuf, id: String },
    #[error("cannot write the report: {0}")]
    Output(#[source] std::io::Error),
}

impl crate::error::Diagnostic for UndoError {
    fn hints(&self) -> Vec<String> {
        match self {
            UndoError::Unreadable { .. } | UndoError::TooMany { .. } => vec![
                "--snapshot refuses to run the command when it cannot record everything it would have to restore".into(),
                "run with --snapshot=best-effort to take what can be read (what is missing is listed), or --snapshot=off".into(),
            ],
            UndoError::Store { .. } => vec![
                "the store is $XDG_STATE_HOME/nono/undo (default ~/.local/state/nono/undo); check its space and permissions".into(),
            ],
            UndoError::NoRun(_) | UndoError::UnknownRun(_) | UndoError::Ambiguous(..) | UndoError::NotCovered { .. } => {
                vec!["'nono undo list' shows the snapshots and the grants each covers".into()]
            }
            UndoError::BadSetting { .. } => {
                vec!["sizes are a number of bytes with an optional K, M, G or T suffix".into()]
            }
            _ => vec![],
        }
    }
}

/// The roots to snapshot: the policy's write grants that come from the
/// user (flags, profiles, and the pieces a carve-out split them into), not
/// system defaults (devices) and not the private temporary directory.
/// Nested roots are dropped: their parent's walk covers them.
pub fn write_roots(policy: &Policy) -> Vec<PathBuf> {
    fn from_user(o: &Origin) -> bool {
        match o {
            Origin::User { .. } => true,
            Origin::CarveOut { from, .. } | Origin::ExecSplit { from, .. } => from_user(from),
            Origin::System { .. } | Origin::TempDir => false,
            #[cfg(target_os = "linux")]
            Origin::MountLayer { .. } => false,
        }
    }
    let mut roots: Vec<PathBuf> = policy
        .rules
        .iter()
        .filter(|r| {
            r.parts
                .iter()
                .any(|(a, o)| a.contains(Access::WRITE) && from_user(o))
        })
        .map(|r| r.path.clone())
        .collect();
    roots.sort();
    let mut out: Vec<PathBuf> = Vec::new();
    for r in roots {
        if !out.iter().any(|o| r.starts_with(o)) {
            out.push(r);
        }
    }
    out
}

/// The store of this user.
pub fn store_dir(home: &Path) -> PathBuf {
    store::location(home)
}
