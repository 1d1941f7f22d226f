//! nono's exit statuses, and the one trait that gives every error its
//! status and its `hint:` lines.
//!
//! Every error type of the crate keeps its source (`#[source]`, `#[from]`)
//! and implements [`Diagnostic`]; `main` prints whichever reaches it as one
//! `nono:` line and its hints, and ends with its [`Exit`]. No other place
//! chooses a status, so README's and the man page's tables are generated
//! from (and tested against) [`Exit`].

use std::fmt;
use std::process::ExitCode;

/// The statuses nono ends with when it does not become the command (once
/// it has exec'd the command, the command's status is the status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The subcommand did what was asked, or the answer is yes.
    Success,
    /// The answer is no: `why` denied, `setup` unusable, `undo diff`
    /// found differences, `undo restore` left paths behind.
    Negative,
    /// nono itself failed, before the command started.
    Failure,
    /// COMMAND is blocked or cannot be executed (the shell's 126).
    CannotRun,
    /// COMMAND was not found (the shell's 127).
    NotFound,
    /// Standard output was closed early: nono ends as a program killed by
    /// SIGPIPE does (the shell's 128 + 13), silently.
    ClosedPipe,
}

impl Exit {
    /// Every status, in the order of the documented table.
    pub const ALL: [Exit; 6] = [
        Exit::Success,
        Exit::Negative,
        Exit::Failure,
        Exit::CannotRun,
        Exit::NotFound,
        Exit::ClosedPipe,
    ];

    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Negative => 1,
            Exit::Failure => 125,
            Exit::CannotRun => 126,
            Exit::NotFound => 127,
            Exit::ClosedPipe => 128 + libc::SIGPIPE as u8,
        }
    }

    /// `Success` for yes, `Negative` for no.
    pub const fn answer(yes: bool) -> Exit {
        if yes {
            Exit::Success
        } else {
            Exit::Negative
        }
    }

    /// What the status means, for README's table and the man page
    /// (Markdown: `code` spans only).
    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "`--dry-run`, `setup` (nono can run here), `why` (allowed / not blocked), `profile`, `completions`, `--help`, `--version`",
            Exit::Negative => "`why`: denied or blocked; `setup`: nono cannot run commands on this machine; `undo diff`: differences; `undo restore`: some path not restored",
            Exit::Failure => "nono itself failed: bad option, missing path, protected or read-only path named, kernel cannot enforce the policy",
            Exit::CannotRun => "COMMAND is blocked, found but not executable, or its execution was denied by the sandbox",
            Exit::NotFound => "COMMAND not found",
            Exit::ClosedPipe => "standard output was closed before nono finished writing (its reader, such as `head`, went away): nono ends silently, as a program killed by SIGPIPE does",
        }
    }
}

/// The first row of the table: not a status nono chooses.
pub const COMMAND_OWN: (&str, &str) = (
    "the command's own",
    "`nono run` exec'd the command; its status is the status",
);

/// README's exit-status table, as Markdown (checked by the test below).
#[cfg(test)]
pub fn exit_table_markdown() -> String {
    let mut s = String::from("| status | meaning |\n|---|---|\n");
    s.push_str(&format!("| {} | {} |\n", COMMAND_OWN.0, COMMAND_OWN.1));
    for e in Exit::ALL {
        s.push_str(&format!("| {} | {} |\n", e.code(), e.meaning()));
    }
    s
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// What every error of nono can say about itself beyond its message.
pub trait Diagnostic: std::error::Error + Send + Sync + 'static {
    /// The status nono ends with; [`Exit::Failure`] unless the error is
    /// about the command itself.
    fn exit(&self) -> Exit {
        Exit::Failure
    }

    /// `hint:` lines: what to do about it.
    fn hints(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The one failure `main` prints: any [`Diagnostic`], kept whole (its
/// sources included) until then.
pub struct Failure(Box<dyn Diagnostic>);

impl<E: Diagnostic> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(Box::new(e))
    }
}

impl Failure {
    pub fn exit(&self) -> Exit {
        self.0.exit()
    }

    pub fn hints(&self) -> Vec<String> {
        self.0.hints()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_contracts() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 125, 126, 127, 141]);
    }

    /// README's table is the one generated from [`Exit`]: a status added
    /// or reworded here fails until README says the same.
    #[test]
    fn readme_exit_table_is_generated_from_the_enum() {
        let readme = include_str!("../README.md");
        let table = exit_table_markdown();
        assert!(
            readme.contains(&format!("## Exit status\n\n{table}\n")),
            "README.md's exit-status table differs from the enum; it should read:\n{table}"
        );
    }

    #[test]
    fn failure_keeps_status_hints_and_source() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        impl Diagnostic for Outer {
            fn exit(&self) -> Exit {
                Exit::NotFound
            }
            fn hints(&self) -> Vec<String> {
                vec!["h".into()]
            }
        }
        let f = Failure::from(Outer(std::io::Error::other("inner")));
        assert_eq!(f.exit(), Exit::NotFound);
        assert_eq!(f.hints(), ["h"]);
        assert_eq!(f.to_string(), "outer");
        let source = std::error::Error::source(&*f.0).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("inner"));
    }
}
