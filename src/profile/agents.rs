//! Known agents: which built-in profile a command is, so that
//! `nono run --allow . -- claude` gets Claude Code's profile without `-p`.
//!
//! The data is each built-in profile's `[agent]` table. A command is an
//! agent when, after PATH lookup and symlink resolution:
//!
//! - the program's file name, or the name it was invoked by, is one of the
//!   agent's `commands` (`claude`, `codex`, ...), or
//! - the resolved program lies under one of the agent's `packages`
//!   (`node_modules/@openai/codex`: npm's `bin/codex` symlink resolves to
//!   `.../@openai/codex/bin/codex.js`), or
//! - the program is a JavaScript runtime (`node`, `bun`, `deno`) and its
//!   script, the first argument that is not an option, is such a file or
//!   lies under such a package (`node .../@anthropic-ai/claude-code/cli.js`).
//!
//! A match only decides which profile is offered; what the profile grants
//! goes through the same policy builder as every other grant, so the
//! protected and read-only lists stay out of it.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path};

use super::{format, BUILTIN};

/// The agent a command was recognised as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The built-in profile's name (`claude-code`).
    pub profile: &'static str,
    /// Where the profile's `[agent] args` go in argv: right after the
    /// program, or after the script for `node script.js`.
    pub insert_at: usize,
}

/// Runtimes whose first non-option argument is the program that runs.
const RUNTIMES: &[&str] = &["node", "nodejs", "bun", "deno"];

/// Which known agent `argv` starts, if any. `resolved` is argv[0] after
/// PATH lookup and symlink resolution.
pub fn detect(argv: &[OsString], resolved: &Path, cwd: &Path) -> Option<Detected> {
    let is_runtime = resolved
        .file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|n| RUNTIMES.contains(&n));
    let (invoked, real, insert_at) = if is_runtime {
        // `node [node options] script.js args`: an option's separate value
        // in front of the script is taken for the script, which at worst
        // misses an agent.
        let (i, script) = argv
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, a)| !a.as_encoded_bytes().starts_with(b"-"))?;
        let p = cwd.join(script);
        let real = std::fs::canonicalize(&p).unwrap_or(p);
        (Path::new(script).file_name(), real, i + 1)
    } else {
        (
            argv.first().map(Path::new).and_then(Path::file_name),
            resolved.to_path_buf(),
            1,
        )
    };
    // Only the profiles whose `[agent]` table could name this program are
    // built (from their compiled form): for most commands, none.
    BUILTIN
        .iter()
        .filter(|(_, text)| could_match(text, invoked, &real))
        .filter_map(|(name, _)| Some((*name, super::compiled_builtin(name)?.agent)))
        .find(|(_, agent)| matches(agent, invoked, &real))
        .map(|(profile, _)| Detected { profile, insert_at })
}

/// The `[agent]` table of a built-in profile's text, with its sub-tables:
/// from its header to the next header of another table.
fn agent_section(text: &str) -> Option<&str> {
    let start = text.find("\n[agent]")? + 1;
    let rest = &text[start..];
    let end = rest
        .match_indices("\n[")
        .map(|(i, _)| i)
        .find(|i| !rest[i + 1..].starts_with("[agent."))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// A pure first check before parsing: `matches` can hold only if the
/// invoked name, the program's name or one of its path components is
/// written in the profile's `[agent]` table, since every command name and
/// every component of a package path there is a string written in it (no
/// escapes: a test checks both for every built-in profile).
fn could_match(text: &str, invoked: Option<&OsStr>, real: &Path) -> bool {
    let Some(section) = agent_section(text) else {
        return false;
    };
    let written = |s: &OsStr| s.to_str().is_some_and(|s| section.contains(s));
    invoked.is_some_and(written)
        || real.components().any(|c| match c {
            Component::Normal(n) => written(n),
            _ => false,
        })
}

/// The built-in profiles that describe an agent.
#[cfg(test)]
fn builtin_agents() -> Vec<(&'static str, format::Agent)> {
    BUILTIN
        .iter()
        .filter_map(|(name, text)| {
            let file = format::parse(text).ok()?;
            (!file.agent.commands.is_empty() || !file.agent.packages.is_empty())
                .then_some((*name, file.agent))
        })
        .collect()
}

fn matches(agent: &format::Agent, invoked: Option<&OsStr>, real: &Path) -> bool {
    let name_is = |n: Option<&OsStr>| {
        n.and_then(OsStr::to_str)
            .is_some_and(|n| agent.commands.iter().any(|c| c == n))
    };
    name_is(invoked)
        || name_is(real.file_name())
        || agent.packages.iter().any(|p| under_package(real, p))
}

fn normal_components(p: &Path) -> Vec<&OsStr> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Whether `path` has the components of `package`
/// (`node_modules/@openai/codex`) in a row somewhere, followed by at least
/// one more: the package directory itself is not a program.
fn under_package(path: &Path, package: &str) -> bool {
    let parts = normal_components(path);
    let want = normal_components(Path::new(package));
    if want.is_empty() || parts.len() <= want.len() {
        return false;
    }
    parts
        .windows(want.len())
        .enumerate()
        .any(|(i, w)| w == want.as_slice() && i + want.len() < parts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn d(argv: &[&str], resolved: &str) -> Option<&'static str> {
        detect(
            &os(argv),
            Path::new(resolved),
            Path::new("/nonexistent-cwd"),
        )
        .map(|d| d.profile)
    }

    /// The first check never drops a match: every command name and every
    /// package path component of a built-in agent is written, unescaped,
    /// in its `[agent]` table.
    #[test]
    fn the_first_check_sees_every_agent_name() {
        for (name, text) in BUILTIN {
            let agent = format::parse(text).unwrap().agent;
            if agent.commands.is_empty() && agent.packages.is_empty() {
                continue;
            }
            let section = agent_section(text).unwrap_or_else(|| panic!("{name}: no [agent]"));
            assert!(!section.contains('\\'), "{name}: escapes in [agent]");
            for c in &agent.commands {
                assert!(section.contains(c.as_str()), "{name}: {c}");
                assert!(could_match(text, Some(OsStr::new(c)), Path::new("/x")));
            }
            for p in &agent.packages {
                for part in normal_components(Path::new(p)) {
                    assert!(section.contains(part.to_str().unwrap()), "{name}: {p}");
                }
                let real = Path::new("/opt").join(p).join("cli.js");
                assert!(could_match(text, None, &real), "{name}: {p}");
            }
        }
        // And a program no agent names parses nothing.
        for (_, text) in BUILTIN {
            assert!(!could_match(
                text,
                Some(OsStr::new("true")),
                Path::new("/usr/bin/true")
            ));
        }
    }

    #[test]
    fn names_select_their_profile() {
        assert_eq!(d(&["claude"], "/usr/bin/claude"), Some("claude-code"));
        assert_eq!(d(&["codex"], "/usr/local/bin/codex"), Some("codex"));
        assert_eq!(d(&["opencode"], "/x/opencode"), Some("opencode"));
        assert_eq!(d(&["gemini"], "/x/gemini"), Some("gemini-cli"));
        assert_eq!(
            d(&["/opt/x/bin/claude"], "/opt/x/bin/claude"),
            Some("claude-code")
        );
        assert_eq!(d(&["bash"], "/usr/bin/bash"), None);
        assert_eq!(d(&["claudette"], "/usr/bin/claudette"), None);
    }

    #[test]
    fn resolved_package_paths_select_their_profile() {
        let lib = "/opt/a/lib/node_modules";
        let cases = [
            ("@anthropic-ai/claude-code/bin/claude.exe", "claude-code"),
            ("@anthropic-ai/claude-code/cli.js", "claude-code"),
            ("@openai/codex/bin/codex.js", "codex"),
            ("@google/gemini-cli/bundle/gemini.js", "gemini-cli"),
            ("opencode-ai/bin/opencode.exe", "opencode"),
        ];
        for (rel, want) in cases {
            assert_eq!(d(&["ai"], &format!("{lib}/{rel}")), Some(want), "{rel}");
        }
        // The native installer's versioned binaries.
        assert_eq!(
            d(&["x"], "/home/u/.local/share/claude/versions/2.1.0"),
            Some("claude-code")
        );
        // A package name that starts like another is not that package.
        assert_eq!(d(&["x"], &format!("{lib}/@openai/codex-tools/x.js")), None);
        assert!(!under_package(
            Path::new("/l/node_modules/@openai/codex"),
            "node_modules/@openai/codex"
        ));
        assert!(under_package(
            Path::new("/l/node_modules/@openai/codex/bin/codex.js"),
            "node_modules/@openai/codex"
        ));
    }

    #[test]
    fn node_scripts_are_recognised_and_args_go_after_the_script() {
        let argv = os(&[
            "node",
            "--no-warnings",
            "/opt/a/lib/node_modules/@openai/codex/bin/codex.js",
            "exec",
        ]);
        let got = detect(&argv, Path::new("/usr/bin/node"), Path::new("/")).unwrap();
        assert_eq!(
            got,
            Detected {
                profile: "codex",
                insert_at: 3
            }
        );
        assert_eq!(
            d(
                &["node", "/x/node_modules/@anthropic-ai/claude-code/cli.js"],
                "/usr/bin/node"
            ),
            Some("claude-code")
        );
        assert_eq!(d(&["node", "/srv/app/server.js"], "/usr/bin/node"), None);
        assert_eq!(d(&["node"], "/usr/bin/node"), None);
        let plain = detect(
            &os(&["codex", "exec"]),
            Path::new("/x/codex"),
            Path::new("/"),
        );
        assert_eq!(plain.map(|d| d.insert_at), Some(1));
    }

    #[test]
    fn every_agent_profile_has_detection_data() {
        let names: Vec<&str> = builtin_agents().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["claude-code", "codex", "gemini-cli", "opencode"]);
    }
}
