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
}

/// The options that define a sandbox; shared by `run` and `why` so that
/// both always describe the same sandbox.
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
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

    /// Take NAME off the command blocklist (a program name such as rm, or a family such as mkfs.*)
    #[arg(long = "allow-command", value_name = "NAME")]
    pub allow_command: Vec<String>,

    /// Add NAME to the command blocklist (blocked for the command and every process it starts)
    #[arg(long = "block-command", value_name = "NAME")]
    pub block_command: Vec<String>,
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

    /// Ask whether the program NAME would be blocked, instead of about a path
    #[arg(long = "command", value_name = "NAME", conflicts_with = "path")]
    pub command: Option<std::ffi::OsString>,

    /// The path to ask about
    #[arg(value_name = "PATH", required_unless_present = "command")]
    pub path: Option<PathBuf>,
}
