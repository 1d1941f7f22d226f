//! nono: run a command in a kernel-enforced capability sandbox.
//!
//! `main` parses the command line, hands it to [`app::run`] and prints the
//! one failure, if any; nothing else happens here.

// Every `unsafe` block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]
// nono's entry point is the C `main` below, not Rust's runtime start-up
// (see `main`). Test builds keep the test harness's.
#![cfg_attr(not(test), no_main)]

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

/// The process's entry point, called by the C library. A Rust `fn main`
/// would first run the standard library's start-up, which measured about
/// 0.5 ms per `nono run` here (BENCHMARKS.md): it reads `/proc/self/maps` to find
/// the main thread's stack guard, sets up an alternate signal stack and
/// SIGSEGV/SIGBUS handlers that print "has overflowed its stack". nono
/// keeps the two parts it relies on ([`start_up`]) and flushes standard
/// output at the end as that runtime would; a stack overflow is then a
/// plain SIGSEGV. Arguments and the environment come from the C library
/// either way (`std::env` reads them on glibc without the runtime).
#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    start_up();
    let code = run();
    use std::io::Write;
    let _ = std::io::stdout().flush();
    status(code)
}

/// What the standard library's start-up does that nono needs: standard
/// input, output and error open (a closed one is opened on `/dev/null`,
/// so that no file nono opens later lands on descriptor 0, 1 or 2 and
/// receives output meant for it), and SIGPIPE ignored, so that writing
/// to a closed pipe or socket fails with EPIPE instead of killing nono
/// (the proxy depends on it; `exec` restores the default for the
/// command).
#[cfg(not(test))]
fn start_up() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd for the duration of
    // the call; a zero timeout only reports each descriptor's state.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    for p in &fds {
        let closed = if polled < 0 {
            // SAFETY: F_GETFD only reads the descriptor's flags.
            let flags = unsafe { libc::fcntl(p.fd, libc::F_GETFD) };
            flags < 0
        } else {
            p.revents & libc::POLLNVAL != 0
        };
        if !closed {
            continue;
        }
        // SAFETY: a NUL-terminated path and flags; the lowest free
        // descriptor, which is `p.fd` since it is closed and the lower
        // ones are open by now.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if fd != p.fd {
            // As the standard library does: nono cannot run safely.
            std::process::abort();
        }
    }
    // SAFETY: setting a signal's disposition touches no memory of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// The exit status `code` stands for. `ExitCode` has no accessor on
/// stable Rust; every code nono makes comes from a `u8`.
#[cfg(not(test))]
fn status(code: ExitCode) -> libc::c_int {
    (0..=u8::MAX)
        .find(|n| ExitCode::from(*n) == code)
        .map_or(1, libc::c_int::from)
}

/// Parses the command line and runs it. (Test builds have the harness's
/// entry point instead of [`main`]; `run` stays their root of live code.)
#[cfg_attr(test, allow(dead_code))]
fn run() -> ExitCode {
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
