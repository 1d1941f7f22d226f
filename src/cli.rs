//! The command line, as clap sees it. No logic here: `main` turns these
//! types into a checked [`PolicySpec`](crate::policy::PolicySpec).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const RUN_EXAMPLES: &str = "\
Examples:
  nono run --allow . -- claude
      the agent gets the current project, plus what its built-in profile
      (claude-code, applied automatically; --no-profile to not) grants
  nono run --read . --read ~/src/lib --allow ./out -- make
      read the project (its Makefile) and one tree, write another
  nono run --allow . --allow-delete . -- cargo build
      cargo saves target/ and Cargo.lock by rename, which needs delete
  nono run -p claude-code -- claude
      start from the built-in profile for Claude Code ('nono profile list')
  nono run --dry-run --allow ~ -- bash
      show the policy, including what protecting ~/.ssh costs";

const WHY_EXAMPLES: &str = "\
Examples:
  nono why --allow . ~/.ssh/id_ed25519
      denied: a protected path, whatever is granted
  nono why --allow . --op delete ./Cargo.lock
      denied by delete protection, and the option that lifts it
  nono why --op write '$TMPDIR/scratch'
      the run's private temporary directory (quote it: nono expands it)
  nono why --env GITHUB_TOKEN
      removed from the command's environment, and the pattern that matched

Exit status: 0 allowed, 1 denied, 125 error.";

const COMPLETIONS_EXAMPLES: &str = "\
Install:
  nono completions bash > ~/.local/share/bash-completion/completions/nono
  nono completions zsh > ~/.zfunc/_nono      # with fpath+=(~/.zfunc)
  nono completions fish > ~/.config/fish/completions/nono.fish";

#[derive(Debug, Parser)]
#[command(
    name = "nono",
    version,
    about = "Kernel-enforced capability sandbox for untrusted agents and processes",
    long_about = "nono runs a command so that it, and every process it starts, can reach only \
                  what you grant. The kernel enforces it (Landlock on Linux): there is no \
                  supervisor to talk to and no way to ask for more.",
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = RUN_EXAMPLES
)]
pub struct Cli {
    /// More log output on stderr (-v: decisions, -vv: every rule)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run COMMAND in a sandbox
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Explain whether PATH would be reachable, and why
    #[command(after_help = WHY_EXAMPLES)]
    Why(WhyArgs),
    /// Show what this kernel can enforce, and what to upgrade
    Setup(SetupArgs),
    /// Print a shell completion script
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the man page (roff)
    #[command(hide = true)]
    Man,
    /// List and show built-in and user profiles
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Snapshots taken by 'run --snapshot': list, diff, restore, prune
    #[command(subcommand)]
    Undo(UndoCommand),
}

/// `nono undo`. RUN is a run id from 'nono undo list' (or a unique prefix
/// of one); without it, the newest run that covered the paths (or the
/// current directory).
#[derive(Debug, Subcommand)]
pub enum UndoCommand {
    /// Runs with snapshots, newest first: id, time, files changed since, command, grants
    List,
    /// What differs between a snapshot and now (exit 0: nothing, 1: differences)
    Diff {
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
        #[arg(value_name = "RUN|PATH")]
        args: Vec<PathBuf>,
    },
    /// Bring back deleted, modified and truncated files, symlinks and modes (exit 1: some paths not restored)
    Restore {
        /// Also remove what was created since the snapshot
        #[arg(long)]
        remove_new: bool,
        /// Show what would be done; change nothing
        #[arg(long)]
        dry_run: bool,
        #[arg(value_name = "RUN|PATH")]
        args: Vec<PathBuf>,
    },
    /// Apply the retention (newest 20 runs, 2 GiB of objects) and delete unused objects
    Prune,
}

/// `--snapshot[=MODE]`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SnapshotArg {
    /// Refuse to run the command unless everything is recorded
    Strict,
    /// Run with what could be recorded, and list what is missing
    BestEffort,
    /// No snapshot, even when a profile asks for one
    Off,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Every built-in and user profile: name, origin, description
    List,
    /// The policy a profile builds, with the origin of each rule
    Show {
        /// A profile name or a path to a .toml file
        #[arg(value_name = "NAME|FILE")]
        name: String,
    },
}

/// The options that define a sandbox; shared by `run` and `why` so that
/// both always describe the same sandbox.
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
    /// Start from a profile: a built-in or user profile NAME, or a FILE
    /// (repeatable; later profiles and all other options add to it)
    #[arg(short = 'p', long = "profile", value_name = "NAME|FILE")]
    pub profile: Vec<String>,

    /// Do not apply a known agent's built-in profile automatically (the
    /// command gets only what the options grant)
    #[arg(long = "no-profile")]
    pub no_profile: bool,

    /// The agent profile chosen for the command (set by nono, not a flag).
    #[arg(skip)]
    pub auto_profile: Option<String>,

    /// Read, write and create under PATH (file or directory)
    #[arg(short = 'a', long = "allow", value_name = "PATH")]
    pub allow: Vec<PathBuf>,

    /// Read (and execute) only under PATH
    #[arg(short = 'r', long = "read", value_name = "PATH")]
    pub read: Vec<PathBuf>,

    /// Write and create only under PATH, no read
    #[arg(short = 'w', long = "write", value_name = "PATH")]
    pub write: Vec<PathBuf>,

    /// Also delete, truncate, rename and move under PATH (a directory inside a write grant)
    #[arg(long = "allow-delete", value_name = "PATH")]
    pub allow_delete: Vec<PathBuf>,

    /// Leave .git/config and .git/hooks of existing repositories in write grants writable (read-only by default: what is written there runs at your next git command)
    #[arg(long = "allow-git-config")]
    pub allow_git_config: bool,

    /// No network at all: no TCP, UDP (so no DNS), raw, MPTCP/SCTP or other IP traffic, loopback included
    #[arg(long = "net-block")]
    pub net_block: bool,

    /// Allow TCP connections to PORT on any address (implies --net-block for everything else)
    #[arg(long = "allow-connect", value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub allow_connect: Vec<u16>,

    /// Allow binding TCP PORT (implies --net-block for everything else)
    #[arg(long = "allow-bind", value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub allow_bind: Vec<u16>,

    /// Host-allowlist mode: reach only the listed hosts, through a proxy nono starts
    /// (HOST: DNS name, *.domain, IP literal, [::1]; no PORT = 443 and 80;
    /// localhost:PORT exposes that port of this machine's loopback; @group: a built-in host group)
    #[arg(long = "allow-host", value_name = "HOST[:PORT]")]
    pub allow_host: Vec<String>,

    /// Unrestricted network, overriding a profile's host list
    #[arg(long = "net-allow")]
    pub net_allow: bool,

    /// Allow connecting to the host Unix socket PATH (see --dry-run: on current kernels this allows all Unix sockets)
    #[arg(long = "allow-unix-socket", value_name = "PATH")]
    pub allow_unix_socket: Vec<PathBuf>,

    /// Take NAME off the command blocklist (a program name such as rm, or a family such as mkfs.*)
    #[arg(long = "allow-command", value_name = "NAME")]
    pub allow_command: Vec<String>,

    /// Add NAME to the command blocklist (blocked for the command and every process it starts)
    #[arg(long = "block-command", value_name = "NAME")]
    pub block_command: Vec<String>,

    /// Pass the variable NAME (or every name matching GLOB) although it looks like a secret
    #[arg(long = "allow-env", value_name = "NAME|GLOB")]
    pub allow_env: Vec<String>,

    /// Set the variable NAME to VALUE for the command (VALUE shows in process listings);
    /// `why --env NAME` asks whether NAME reaches the command
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<OsString>,

    /// Pass only PATH, HOME, USER, LOGNAME, SHELL, TERM, COLORTERM, NO_COLOR, LANG, LC_*, TZ (and --allow-env/--env ones)
    #[arg(long = "env-clear")]
    pub env_clear: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Print the policy and what this kernel enforces; run nothing
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: print one JSON document instead of text
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Record the write grants before the command starts, for 'nono undo' (MODE: strict, best-effort, off)
    #[arg(long, value_name = "MODE", value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "strict")]
    pub snapshot: Option<SnapshotArg>,
    /// Host-allowlist mode: append one JSON line per connection attempt to FILE
    #[arg(long = "net-log", value_name = "FILE")]
    pub net_log: Option<PathBuf>,

    /// Keep the capabilities of a root caller (by default every capability is dropped)
    #[arg(long = "keep-caps")]
    pub keep_caps: bool,

    /// Print nothing of nono's own on stderr unless it fails (e.g. not the
    /// line naming an automatically applied agent profile)
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Refuse (exit 125) instead of falling back to the Landlock-only sandbox when the mount-namespace layer is not available here
    #[arg(long = "require-isolation")]
    pub require_isolation: bool,

    /// The command to run, and its arguments
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OpArg {
    Read,
    Write,
    Delete,
    Exec,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The operation to ask about
    #[arg(long, value_enum, default_value = "read")]
    pub op: OpArg,

    /// Print one JSON document instead of text
    #[arg(long)]
    pub json: bool,

    /// Ask whether the program NAME would be blocked, instead of about a path
    #[arg(long = "command", value_name = "NAME", conflicts_with_all = ["path", "connect", "bind", "host"])]
    pub command: Option<std::ffi::OsString>,

    /// Ask whether a TCP connection to PORT would be allowed
    #[arg(long = "connect", value_name = "PORT", conflicts_with_all = ["path", "bind"], value_parser = clap::value_parser!(u16).range(1..))]
    pub connect: Option<u16>,

    /// Ask whether binding TCP PORT would be allowed
    #[arg(long = "bind", value_name = "PORT", conflicts_with = "path", value_parser = clap::value_parser!(u16).range(1..))]
    pub bind: Option<u16>,

    /// Ask whether HOST[:PORT] would be reachable (no PORT: 443)
    #[arg(long = "host", value_name = "HOST[:PORT]", conflicts_with_all = ["path", "connect", "bind"])]
    pub host: Option<String>,

    /// The path to ask about ('$TMPDIR/...' means the run's private
    /// temporary directory)
    #[arg(value_name = "PATH", required_unless_present_any = ["command", "connect", "bind", "env", "host"])]
    pub path: Option<PathBuf>,

    /// The command `nono run` would start (after `--`): a known agent gets
    /// its built-in profile, as in `run`
    #[arg(value_name = "COMMAND", last = true)]
    pub run_command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Print one JSON document instead of text
    #[arg(long)]
    pub json: bool,

    /// Print an AppArmor profile that lets this nono create user namespaces (for the mount-namespace layer on Ubuntu)
    #[arg(long = "apparmor-profile", conflicts_with = "json")]
    pub apparmor_profile: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells nono generates completions for.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}
