//! nono: run a command in a kernel-enforced capability sandbox.
//!
//! `main` parses the command line, hands it to [`app::run`] and prints the
//! one failure, if any; nothing else happens here.

// Every `unsafe` block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod advice;
mod app;
mod cli;
mod error;
mod exec;
mod manpage;
mod output;
mod policy;
mod profile;
mod proxy;
mod report;
mod request;
mod sandbox;
mod setup;
#[cfg(test)]
mod test_support;
mod tmpdir;
mod undo;

use std::process::ExitCode;

use clap::Parser;

use app::{out, say};
use cli::Cli;
use error::{Exit, Failure};

/// Ends the process as SIGPIPE's default action would: a shell then sees
/// the same status as for any other program whose reader went away (141),
/// and prints nothing.
fn die_of_closed_pipe() -> ExitCode {
    // SAFETY: restoring the default disposition and raising the signal
    // touch no memory; if the signal does not end the process (blocked by
    // the parent), the exit code below stands in for it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    Exit::ClosedPipe.into()
}

/// The one place a failure is printed: one `nono:` line, its `hint:`
/// lines, and its status; a closed standard output ends nono quietly.
fn fail(f: Failure) -> ExitCode {
    if f.exit() == Exit::ClosedPipe {
        return die_of_closed_pipe();
    }
    let mut lines = vec![format!("nono: {}", output::text(&f.to_string()))];
    lines.extend(
        f.hints()
            .iter()
            .map(|h| format!("hint: {}", output::text(h))),
    );
    say(&lines);
    f.exit().into()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging(cli.verbose);
    app::run(cli).unwrap_or_else(fail)
}

/// Help and version go to stdout with status 0; every other parse error is
/// a one-line `nono:` message with status 125 (not clap's 2), so scripts can
/// tell nono's failures from the command's.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let styled = e.render();
            let text = if output::Style::for_stdout().color() {
                styled.ansi().to_string()
            } else {
                styled.to_string()
            };
            return match out(text) {
                Ok(()) => Exit::Success.into(),
                Err(f) => fail(f),
            };
        }
        // `nono` alone: an error like any other, not a help page on stderr.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            say(&[
                "nono: no subcommand given".into(),
                "hint: see 'nono --help'".into(),
            ]);
            return Exit::Failure.into();
        }
        _ => {}
    }
    let rendered = e.render().to_string();
    // clap's message is the first paragraph; some messages continue on
    // indented lines ("required arguments were not provided:\n  <COMMAND>").
    let mut paragraphs = rendered.split("\n\n");
    let message = paragraphs
        .next()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("tip: "))
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    let message = if message.is_empty() {
        "invalid usage"
    } else {
        message
    };
    let mut lines = vec![format!("nono: {}", output::text(message))];
    for l in rendered.lines() {
        if let Some(tip) = l.trim().strip_prefix("tip: ") {
            lines.push(format!("hint: {}", output::text(tip)));
        }
    }
    lines.push("hint: see 'nono --help'".into());
    say(&lines);
    Exit::Failure.into()
}

/// Logging costs start-up time, so the subscriber is only installed when
/// asked for (`-v` or `NONO_LOG`).
fn init_logging(verbose: u8) {
    let from_env = std::env::var_os("NONO_LOG").is_some();
    if verbose == 0 && !from_env {
        return;
    }
    let level = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NONO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("nono={level}")));
    // Colour only on a terminal: logs redirected to a file stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
