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
    /// `--allow-host` entries and profiles' `network.allow_hosts` (an
    /// `@name` is a built-in host group), as given.
    pub allow_hosts: Vec<(String, Source)>,
    /// `--net-allow`: unrestricted network, dropping profiles' host lists.
    pub net_allow: bool,
    /// The PATH the command will search: its absolute directories are
    /// scanned for blocked programs (see `policy::programs`).
    pub search_path: Option<std::ffi::OsString>,
    /// Names of the profiles applied, outermost last (for display); one
    /// applied automatically for a known agent reads `NAME (auto)`.
    pub profiles: Vec<String>,
    /// Paths a profile adds to the protected list (`filesystem.protect`).
    pub protect: Vec<(PathBuf, Source)>,
    /// Leave `.git/config` and `.git/hooks` of existing repositories
    /// writable (`--allow-git-config`, `filesystem.allow_git_config`).
    pub allow_git_config: bool,
    /// The command's environment: `--allow-env`, `--env`, `--env-clear`.
    pub env: super::env::EnvRequest,
    /// A profile asked for a snapshot (`snapshot = true`) before the run.
    pub snapshot: bool,
    /// Variables the profiles' `[agent] state_env` set for the command, in
    /// merge order (a later one wins).
    pub agent_env: Vec<AgentEnv>,
    /// The profiles' `[agent] args`: (profile name, arguments), inserted
    /// after the program when the command is that profile's agent.
    pub agent_args: Vec<(String, Vec<String>)>,
    /// Cache directories to overlay.
    pub overlays: Vec<OverlayRequest>,
}

/// One environment variable a profile sets for the command: a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentEnv {
    pub name: String,
    /// Absolute, expanded.
    pub value: PathBuf,
    pub source: Source,
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
