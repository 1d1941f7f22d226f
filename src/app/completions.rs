//! `nono completions SHELL`: generated from the clap definitions.

use std::process::ExitCode;

use super::out;
use crate::cli::{Cli, CompletionShell, CompletionsArgs};
use crate::error::{Exit, Failure};

pub fn completions(args: CompletionsArgs) -> Result<ExitCode, Failure> {
    use clap::CommandFactory;
    let shell = match args.shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics on a failed write.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "nono", &mut script);
    out(script)?;
    Ok(Exit::Success.into())
}
