//! The command line, as clap sees it. No logic here: `main` turns these
//! types into a checked [`PolicySpec`](crate::policy::PolicySpec).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const RUN_EXAMPLES: &str = "\
Examples:
  nono run --allow . -- claude
      the agent gets the current project and nothing else
  nono run --read ~/src/lib --allow ./out -- make
      read one tree, write another
  nono run --allow . --allow-delete ./target -- cargo build
      let cargo replace its own build output
  nono run -p claude-code -- claude
      start from the built-in profile for Claude Code ('nono profile list')
  nono run --dry-run --allow ~ -- bash
      show the policy, including what protecting ~/.ssh costs";

#[derive(Debug, Parser)]
#[command(
    name = "nono",
    version,
    about = "Kernel-enforced capability sandbox for untrusted agents and processes",
    long_about = "nono runs a command so that it, and every process it starts, can reach only \
                  what you grant. The kernel enforces it (Landlock on Linux): there is no \
                  supervisor to talk to and no way to ask for more.",
    propagate_version = true,
    disable_help_subcommand = true
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
    Why(WhyArgs),
    /// List and show built-in and user profiles
    #[command(subcommand)]
    Profile(ProfileCommand),
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
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Print the policy and what this kernel enforces; run nothing
    #[arg(long)]
    pub dry_run: bool,

    /// The command to run, and its arguments
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
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

    /// The path to ask about
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}
