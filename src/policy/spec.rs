//! The unchecked policy request: what the command line and profiles ask for,
//! before any path is resolved. `Policy::build` turns it into a checked
//! [`Policy`](super::Policy). Backends never see this type.

use std::fmt;
use std::path::PathBuf;

use super::access::Access;

/// Where a request came from; carried through to every rule so that
/// `--dry-run` and `nono why` can name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--allow`.
    Flag(&'static str),
    /// A profile's key, e.g. profile `rust`, key `filesystem.allow`.
    Profile { name: String, key: &'static str },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => f.write_str(flag),
            Source::Profile { name, key } => write!(f, "profile {name} ({key})"),
        }
    }
}

/// One requested grant, as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRequest {
    /// The path exactly as the user wrote it (may be relative, start with
    /// `~`, or name a symlink).
    pub path: PathBuf,
    pub access: Access,
    pub source: Source,
}

/// A request to lift delete protection under a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteRequest {
    pub path: PathBuf,
    pub source: Source,
}

/// A cache directory to overlay (profile key `filesystem.overlay`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverlayRequest {
    pub path: PathBuf,
    /// The profile that asked: its changes land in its own upper directory.
    pub profile: String,
    pub source: Source,
}

/// A request to change the command blocklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRequest {
    pub name: String,
    pub source: Source,
}

/// Everything a user can ask of a sandbox, unchecked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicySpec {
    pub grants: Vec<GrantRequest>,
    pub allow_delete: Vec<DeleteRequest>,
    pub allow_commands: Vec<CommandRequest>,
    pub block_commands: Vec<CommandRequest>,
    pub net_block: bool,
    /// TCP ports to allow connecting to (`--allow-connect`).
    pub allow_connect: Vec<u16>,
    /// TCP ports to allow binding (`--allow-bind`).
    pub allow_bind: Vec<u16>,
    /// Host Unix sockets to allow connecting to (`--allow-unix-socket`).
    pub allow_unix_sockets: Vec<(PathBuf, Source)>,
    /// The PATH the command will search: its absolute directories are
    /// scanned for blocked programs (see `policy::programs`).
    pub search_path: Option<std::ffi::OsString>,
    /// Names of the profiles applied, outermost last (for display).
    pub profiles: Vec<String>,
    /// Cache directories to overlay.
    pub overlays: Vec<OverlayRequest>,
}

impl PolicySpec {
    pub fn grant(&mut self, path: impl Into<PathBuf>, access: Access, source: Source) {
        self.grants.push(GrantRequest {
            path: path.into(),
            access,
            source,
        });
    }
}
