//! The orchestration of every subcommand, one module each: what runs in
//! which order. `main` parses and prints the one failure; everything
//! between lives here.

mod completions;
mod error;
mod man;
mod profile;
mod run;
mod setup;
mod undo;
mod why;

use std::process::ExitCode;

pub use error::AppError;

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
        .map_err(|e| AppError::Stdout(e).into())
}

/// Writes a report (`report::write`) to standard output: its JSON document
/// when `json`, else its text. Errors as for [`out`].
pub fn print(
    report: &(impl std::fmt::Display + serde::Serialize),
    json: bool,
) -> Result<(), Failure> {
    report::write(&mut std::io::stdout().lock(), report, json)
        .map_err(|e| AppError::Stdout(e).into())
}

/// Writes a report that has only a text form to standard output.
pub fn print_text(report: &impl std::fmt::Display) -> Result<(), Failure> {
    report::write_text(&mut std::io::stdout().lock(), report)
        .map_err(|e| AppError::Stdout(e).into())
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

/// `nono: 'rm' is blocked (file destruction)`, [`Exit::CannotRun`](crate::error::Exit).
pub fn blocked_failure(invoked: &std::ffi::OsStr, b: &policy::programs::CommandBlock) -> AppError {
    AppError::Blocked {
        message: b.message(invoked),
        allow_flags: b.allow_flags(),
    }
}

/// What this kernel gives the policy, for `--dry-run`.
pub fn kernel_view(policy: &Policy) -> report::dry_run::KernelView {
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
        report::dry_run::KernelView {
            summary,
            backend: "landlock",
            kernel_abi: (s.kernel_abi > 0).then_some(s.kernel_abi),
            abi: s.abi.max(0),
            refusal,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        report::dry_run::KernelView {
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }

    fn ident(s: &str) -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    }

    /// The top-level modules a file names through `crate::`, in paths and
    /// in `use crate::{a, b::c}` groups.
    fn crate_modules(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && !c.is_whitespace() => {
                            found.push(ident(&group[i..]));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                found.push(ident(rest));
            }
        }
        found
    }

    /// Dependencies point down: only `main` imports `app`; only `app`
    /// imports the request stage; clap types stop at `app`, `request` and
    /// the man page; the reports are read by the orchestration only. A
    /// module that reaches up fails here, by name.
    #[test]
    fn nothing_imports_a_layer_above_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        // (module, the files that may name it)
        let rules: [(&str, &[&str]); 4] = [
            ("app", &["main.rs", "app/"]),
            ("request", &["app/"]),
            ("cli", &["main.rs", "app/", "request.rs", "manpage.rs"]),
            ("report", &["app/", "report/"]),
        ];
        let mut bad = Vec::new();
        for f in &files {
            let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            let named = crate_modules(&std::fs::read_to_string(f).unwrap());
            for (module, allowed) in rules {
                let ok = allowed
                    .iter()
                    .any(|a| rel == *a || (a.ends_with('/') && rel.starts_with(a)));
                if !ok && named.iter().any(|n| n == module) {
                    bad.push(format!("{rel} imports {module}"));
                }
            }
        }
        assert!(bad.is_empty(), "imports against the layering: {bad:?}");
        assert!(files.len() > 20, "found only {} source files", files.len());
    }

    #[test]
    fn crate_modules_reads_paths_and_groups() {
        let text = "use crate::a::b;\nuse crate::{c, d::{e, f}, g};\nlet x = crate::h::i();";
        assert_eq!(crate_modules(text), ["a", "c", "d", "g", "h"]);
    }
}
