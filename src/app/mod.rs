//! The orchestration of every subcommand, one module each: what runs in
//! which order. `main` parses and prints the one failure; everything
//! between lives here.

mod completions;
mod man;
mod profile;
mod run;
mod setup;
mod undo;
mod why;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::Failure;
use crate::policy::{self, Policy};
use crate::{report, sandbox};

/// Writes a report to standard output. Every report nono prints goes
/// through here, so a write error is handled once: a closed pipe
/// (`nono ... | head -c 1`) ends nono quietly, anything else (a full disk,
/// `/dev/full`) is one `nono:` line and exit 125. `print!` would panic.
pub fn out(bytes: impl AsRef<[u8]>) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes.as_ref())
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Failure {
                    closed_pipe: true,
                    ..Failure::new(141, "standard output closed", vec![])
                }
            } else {
                Failure::new(125, format!("cannot write to standard output: {e}"), vec![])
            }
        })
}

/// Writes nono's own messages to standard error. There is nowhere left to
/// report a failure of this write, so it is ignored rather than a panic
/// (`eprintln!` panics on `2>/dev/full`).
pub fn say(lines: &[String]) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    for l in lines {
        if writeln!(stderr, "{l}").is_err() {
            return;
        }
    }
}

/// Runs the subcommand; its exit status, or the one failure to print.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(args) => run::run_command(args),
        Command::Why(args) => why::why(args),
        Command::Setup(args) => setup::setup(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man => man::man(),
        Command::Profile(cmd) => profile::profile_command(cmd),
        Command::Undo(cmd) => undo::undo_command(cmd),
    }
}

/// Why host-allowlist mode cannot be set up here, if it cannot.
pub fn host_mode_unavailable() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        sandbox::netns::available().err().map(|e| e.to_string())
    }
    #[cfg(not(target_os = "linux"))]
    {
        Some("network namespaces are Linux-only".into())
    }
}

/// `nono: 'rm' is blocked (file destruction)`, exit 126.
pub fn blocked_failure(invoked: &std::ffi::OsStr, b: &policy::programs::CommandBlock) -> Failure {
    Failure::new(
        126,
        b.message(invoked),
        vec![format!("to run it anyway: {}", b.allow_flags())],
    )
}

pub fn kernel_view(policy: &Policy) -> report::KernelView {
    let refusal = sandbox::check(policy).err().map(|e| e.to_string());
    #[cfg(target_os = "linux")]
    {
        let s = sandbox::Support::detect();
        let summary = if s.kernel_abi > 0 {
            format!(
                "Landlock ABI {} (nono uses ABI {}{})",
                s.kernel_abi,
                s.abi,
                s.test_cap
                    .map(|c| format!(", capped to {c} for testing"))
                    .unwrap_or_default()
            )
        } else {
            "Landlock unavailable".to_string()
        };
        report::KernelView {
            summary,
            backend: "landlock",
            kernel_abi: (s.kernel_abi > 0).then_some(s.kernel_abi),
            abi: s.abi.max(0),
            refusal,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        report::KernelView {
            summary: sandbox::backend_summary(),
            backend: if cfg!(target_os = "macos") {
                "seatbelt"
            } else {
                "none"
            },
            kernel_abi: None,
            abi: 0,
            refusal,
        }
    }
}
