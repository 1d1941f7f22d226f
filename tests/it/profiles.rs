//! Profiles through the real binary: lookup, errors with file:line, the
//! merged policy in `--dry-run` and `profile show`, and every built-in
//! profile against its real program.
//!
//! The agents' CLIs come from npm, installed once by scripts/install-agents
//! into /opt/nono-agents (or $NONO_AGENTS_DIR). When they are missing and
//! this test runs as root it installs them; otherwise the agent tests skip
//! with a loud reason (the unprivileged run cannot install).

// Linux-only: strace, unshare and the agents' npm packages for Linux.
// The macOS suite is tests/it/macos.rs.
#![cfg(target_os = "linux")]

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

// ---------------------------------------------------------------- lookup

#[test]
fn profile_list_shows_builtins_and_user_profiles() {
    let env = TestEnv::new();
    let dir = env.home.join(".config/nono/profiles");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("mine.toml"), "description = \"my own\"\n").unwrap();
    fs::write(dir.join("rust.toml"), "extends = \"rust\"\n").unwrap();
    let run = env.nono(["profile", "list"]);
    run.expect_ok();
    let out = run.stdout();
    for name in [
        "claude-code",
        "codex",
        "opencode",
        "gemini-cli",
        "rust",
        "node",
        "python",
        "go",
        "mine",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} missing\n{run}"
        );
    }
    assert!(out.contains("my own"), "{run}");
    assert!(out.contains("shadows the built-in"), "{run}");
}

#[test]
fn profile_show_names_the_origin_of_each_rule_and_delete_rights() {
    let env = TestEnv::new();
    let run = env.nono(["profile", "show", "claude-code"]);
    run.expect_ok()
        .expect_stdout_has("profile claude-code (filesystem.allow)")
        .expect_stdout_has("profile claude-code (filesystem.allow_delete)")
        .expect_stdout_has("delete rights: this profile lifts delete protection")
        .expect_stdout_has(&env.work.display().to_string());
    // ~/.claude does not exist in the fake home: show says nono run makes it.
    run.expect_stdout_has("created by 'nono run'");
    assert!(
        !env.home.join(".claude").exists(),
        "show must not create it"
    );
}

#[test]
fn dry_run_shows_the_profile_and_its_delete_rights() {
    let env = TestEnv::new();
    let run = env.nono(["run", "--dry-run", "-p", "codex", "--", "/bin/true"]);
    run.expect_ok()
        .expect_stdout_has("profiles: codex")
        .expect_stdout_has("profile codex (filesystem.allow_delete)");
    let out = run.stdout();
    let line = out
        .lines()
        .find(|l| l.starts_with("delete protection:"))
        .unwrap();
    assert!(line.contains(&env.work.display().to_string()), "{run}");
    assert!(
        !env.home.join(".codex").exists(),
        "dry run must not create it"
    );
    run.expect_stdout_has("created (mode 0700) and granted by the profile when nono runs");
}

#[test]
fn user_profiles_are_protected_from_the_sandbox() {
    let env = TestEnv::new();
    let dir = env.home.join(".config/nono/profiles");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("mine.toml"), "description = \"d\"\n").unwrap();
    // A sandboxed program with the whole home granted cannot widen its
    // next sandbox by writing a profile.
    let script = "echo '[filesystem]' >> ~/.config/nono/profiles/mine.toml; \
                  echo x > ~/.config/nono/profiles/evil.toml";
    env.plain_sh("echo x > ~/.config/nono/profiles/control.toml")
        .expect_ok();
    assert!(dir.join("control.toml").exists());
    let run = env.sandboxed_sh(&["--allow", "~"], script);
    run.expect_fail();
    assert_eq!(read(&dir.join("mine.toml")), "description = \"d\"\n");
    assert!(!dir.join("evil.toml").exists());
    env.nono(["run", "--allow", "~/.config/nono", "--", "/bin/true"])
        .expect_code(125)
        .expect_stderr_has("protected");
}

#[test]
fn user_profile_from_xdg_config_home_and_flags_add_to_it() {
    let env = TestEnv::new();
    let xdg = env.root.join("xdg");
    fs::create_dir_all(xdg.join("nono/profiles")).unwrap();
    fs::write(
        xdg.join("nono/profiles/notes.toml"),
        "description = \"read notes\"\n[filesystem]\nread = [\"~/notes\"]\n",
    )
    .unwrap();
    let script = "cat ~/notes/todo.txt && cat ~/.config/app/settings";
    env.plain_sh(script).expect_ok();
    let mut cmd = env.command(["run", "-p", "notes", "--", "/bin/sh", "-c", script]);
    cmd.env("XDG_CONFIG_HOME", &xdg);
    let run = Run::from(cmd);
    run.expect_fail().expect_stdout_has("todo");
    assert!(!run.stdout().contains("app settings"), "{run}");
    let mut cmd = env.command(["run", "-p", "notes", "--read", "~/.config/app", "--"]);
    cmd.args(["/bin/sh", "-c", script])
        .env("XDG_CONFIG_HOME", &xdg);
    Run::from(cmd)
        .expect_ok()
        .expect_stdout_has("todo")
        .expect_stdout_has("app settings");
}

#[test]
fn a_profile_file_grants_and_protected_paths_stay_out() {
    let env = TestEnv::new();
    fs::write(
        env.work.join("p.toml"),
        "[filesystem]\nallow = [\"~\", \"$CWD\"]\nallow_delete = [\"$CWD\"]\n",
    )
    .unwrap();
    let script = "cat ~/notes/todo.txt; cat ~/.ssh/id_ed25519; cat ~/.aws/credentials";
    env.plain_sh(script).expect_ok().expect_stdout_has(SECRET);
    let run = env.sandboxed_sh(&["-p", "./p.toml"], script);
    run.expect_fail().expect_stdout_has("todo");
    assert!(!run.stdout().contains(SECRET), "{run}");
}

#[test]
fn profile_errors_name_file_line_and_key() {
    let env = TestEnv::new();
    fs::write(
        env.work.join("bad.toml"),
        "description = \"x\"\n[filesystem]\nallow = [\"$CWD\"]\nraed = [\"/usr\"]\n",
    )
    .unwrap();
    let run = env.sandboxed_sh(&["-p", "bad.toml"], "echo RAN");
    run.expect_code(125)
        .expect_stderr_has("bad.toml:4:1:")
        .expect_stderr_has("raed");
    assert!(!run.stdout().contains("RAN"));

    fs::write(
        env.work.join("port.toml"),
        "[network]\nconnect = [\n  443,\n  99999,\n]\n",
    )
    .unwrap();
    env.sandboxed_sh(&["-p", "./port.toml"], "echo RAN")
        .expect_code(125)
        .expect_stderr_has("port.toml:4:")
        .expect_stderr_has("network.connect");

    env.sandboxed_sh(&["-p", "no-such-profile"], "echo RAN")
        .expect_code(125)
        .expect_stderr_has("profile not found: no-such-profile")
        .expect_stderr_has("hint: 'nono profile list'");

    fs::write(env.work.join("a.toml"), "extends = \"./b.toml\"\n").unwrap();
    fs::write(env.work.join("b.toml"), "extends = [\"./a.toml\"]\n").unwrap();
    env.sandboxed_sh(&["-p", "./a.toml"], "echo RAN")
        .expect_code(125)
        .expect_stderr_has("cycle");
}

#[test]
fn hostile_profile_values_give_one_clean_line() {
    let env = TestEnv::new();
    // A path with a newline and an escape sequence: the error is one line
    // with both escaped, so it cannot forge terminal output.
    fs::write(
        env.work.join("nl.toml"),
        "[filesystem]\nread = [\"/nonexistent\\nnono: fake\\u001b[31m\"]\n",
    )
    .unwrap();
    let run = env.sandboxed_sh(&["-p", "./nl.toml"], "echo RAN");
    run.expect_code(125);
    let err = run.stderr();
    assert_eq!(
        err.lines().filter(|l| l.starts_with("nono:")).count(),
        1,
        "{run}"
    );
    assert!(!err.contains('\u{1b}'), "{run}");
    assert!(err.contains("nl.toml:2:"), "{run}");
    // Escaped exactly once.
    assert!(
        err.contains("/nonexistent\\nnono: fake\\u{1b}[31m"),
        "{run}"
    );

    let big = env.work.join("big.toml");
    fs::write(&big, format!("description = \"{}\"\n", "x".repeat(2 << 20))).unwrap();
    env.sandboxed_sh(&["-p", "./big.toml"], "echo RAN")
        .expect_code(125)
        .expect_stderr_has("larger than");

    // A variable that is not set names itself.
    fs::write(
        env.work.join("var.toml"),
        "[filesystem]\nread = [\"$NONO_SURELY_UNSET/x\"]\n",
    )
    .unwrap();
    env.sandboxed_sh(&["-p", "./var.toml"], "echo RAN")
        .expect_code(125)
        .expect_stderr_has("$NONO_SURELY_UNSET");
}

#[test]
fn why_takes_profiles_too() {
    let env = TestEnv::new();
    env.nono(["why", "-p", "node", "--op", "delete", "x"])
        .expect_ok()
        .expect_stdout_has("ALLOWED")
        .expect_stdout_has("profile node (filesystem.allow_delete)");
    // why exits 1 for a denial.
    env.nono(["why", "-p", "node", "~/.npmrc"])
        .expect_code(1)
        .expect_stdout_has("DENIED");
}

// ---------------------------------------------------------------- agents

struct Agent {
    profile: &'static str,
    dir: &'static str,
    bin: &'static str,
    version_has: &'static str,
    /// Environment and arguments of a real, non-interactive start.
    start_env: &'static [(&'static str, &'static str)],
    start_args: &'static [&'static str],
    /// The agent's state directory under HOME, which must stay usable.
    state: &'static [&'static str],
    /// Denied writes that are documented limitations of the profile.
    known_denied_writes: &'static [&'static str],
}

const AGENTS: &[Agent] = &[
    Agent {
        profile: "claude-code",
        dir: "claude",
        bin: "claude",
        version_has: "Claude Code",
        start_env: &[("ANTHROPIC_API_KEY", "sk-ant-nono-test")],
        start_args: &["-p", "say hi"],
        state: &[".local/state/nono-agents/claude-code"],
        known_denied_writes: &[],
    },
    Agent {
        profile: "codex",
        dir: "codex",
        bin: "codex",
        version_has: "codex-cli",
        start_env: &[("OPENAI_API_KEY", "sk-nono-test")],
        start_args: &["exec", "--skip-git-repo-check", "say hi"],
        state: &[".local/state/nono-agents/codex"],
        known_denied_writes: &[],
    },
    Agent {
        profile: "gemini-cli",
        dir: "gemini",
        bin: "gemini",
        version_has: ".",
        start_env: &[("GEMINI_API_KEY", "nono-test")],
        start_args: &["--skip-trust", "-p", "say hi"],
        state: &[".local/state/nono-agents/gemini-cli"],
        known_denied_writes: &[],
    },
    Agent {
        profile: "opencode",
        dir: "opencode",
        bin: "opencode",
        version_has: ".",
        start_env: &[("ANTHROPIC_API_KEY", "sk-ant-nono-test")],
        start_args: &["run", "say hi"],
        state: &[
            ".local/state/nono-agents/opencode/config",
            ".local/state/nono-agents/opencode/data",
            ".local/state/nono-agents/opencode/state",
            ".local/state/nono-agents/opencode/cache",
        ],
        known_denied_writes: &[],
    },
];

fn agents_dir() -> PathBuf {
    std::env::var_os("NONO_AGENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/nono-agents"))
}

/// Installs the agents once per test process when they are missing and we
/// are root. Returns why they are unavailable, if they are.
fn ensure_agents() -> Result<PathBuf, String> {
    static RESULT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            let dir = agents_dir();
            let missing = |d: &Path| {
                AGENTS
                    .iter()
                    .any(|a| !d.join(a.dir).join("bin").join(a.bin).exists())
            };
            if !missing(&dir) {
                return Ok(dir);
            }
            if !is_root() {
                return Err(format!(
                    "agent CLIs missing in {} and this unprivileged run cannot install them \
                     (run scripts/install-agents as root first)",
                    dir.display()
                ));
            }
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-agents");
            let st = Command::new(&script).arg(&dir).status();
            match st {
                Ok(s) if s.success() && !missing(&dir) => Ok(dir),
                other => Err(format!(
                    "{} {} failed ({other:?}): npm registry unreachable?",
                    script.display(),
                    dir.display()
                )),
            }
        })
        .clone()
}

fn agent_run(env: &TestEnv, a: &Agent, args: &[&str]) -> Run {
    let dir = match ensure_agents() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let bin = dir.join(a.dir).join("bin").join(a.bin);
    let mut cmd = env.command(["run", "-p", a.profile, "--"]);
    cmd.arg(&bin)
        .args(args)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("CODEX_HOME")
        .env_remove("CLAUDE_CONFIG_DIR")
        .stdin(std::process::Stdio::null());
    Run::from(cmd)
}

fn agents_or_skip() -> bool {
    match ensure_agents() {
        Ok(_) => true,
        Err(e) => {
            skip(&e);
            false
        }
    }
}

#[test]
fn agents_version_and_help_work_under_their_profiles() {
    if !agents_or_skip() {
        return;
    }
    for a in AGENTS {
        // A fresh home (first start): the profile creates the state dir.
        let env = TestEnv::new();
        agent_run(&env, a, &["--version"])
            .expect_ok()
            .expect_stdout_has(a.version_has);
        let help = agent_run(&env, a, &["--help"]);
        help.expect_ok();
        assert!(
            format!("{}{}", help.stdout(), help.stderr())
                .to_lowercase()
                .contains("usage")
                || help.stdout().contains("Commands"),
            "{}: no usage text\n{help}",
            a.profile
        );
        for s in a.state {
            assert!(env.home.join(s).is_dir(), "{}: {s} not created", a.profile);
        }
        // The secrets planted in the fake home stay unreadable.
        assert!(!help.stdout().contains(SECRET) && !help.stderr().contains(SECRET));
    }
}

/// One denied file operation from an strace log.
#[derive(Debug)]
struct Denial {
    line: String,
    path: String,
    write: bool,
}

fn denials(log: &str) -> Vec<Denial> {
    let mut out = Vec::new();
    for line in log.lines() {
        if !(line.contains("= -1 EACCES") || line.contains("= -1 EPERM")) {
            continue;
        }
        let Some(start) = line.find('"') else {
            continue;
        };
        let rest = &line[start + 1..];
        let Some(end) = rest.find('"') else {
            continue;
        };
        let path = rest[..end].to_string();
        let call = line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .split('(')
            .next()
            .unwrap_or("");
        let write = matches!(
            call,
            "mkdir"
                | "mkdirat"
                | "unlink"
                | "unlinkat"
                | "rmdir"
                | "rename"
                | "renameat"
                | "renameat2"
                | "link"
                | "linkat"
                | "symlink"
                | "symlinkat"
                | "truncate"
        ) || line.contains("O_WRONLY")
            || line.contains("O_RDWR")
            || line.contains("O_CREAT")
            || line.contains("O_TRUNC");
        out.push(Denial {
            line: line.to_string(),
            path,
            write,
        });
    }
    out
}

#[test]
fn agents_real_start_fails_only_for_lack_of_network() {
    if !agents_or_skip() {
        return;
    }
    // The agents are killed after 45 s: long enough to reach the network
    // on a loaded 2-core machine with four of them starting at once.
    // No network: nono's --net-block, inside a new network namespace (a
    // user namespace for the unprivileged run) whose only loopback is down,
    // so that no traffic could leave this machine even if the air gap
    // failed.
    let probe = Command::new("unshare").args(["-rn", "true"]).status();
    if !matches!(probe, Ok(s) if s.success()) {
        skip("unshare -rn (a private network namespace) is not available");
        return;
    }
    if Command::new("strace").arg("-V").output().is_err() {
        skip("strace is not installed");
        return;
    }
    let dir = ensure_agents().unwrap();
    let handles: Vec<_> = AGENTS
        .iter()
        .map(|a| {
            let dir = dir.clone();
            std::thread::spawn(move || real_start(a, &dir))
        })
        .collect();
    let mut failures = Vec::new();
    for h in handles {
        if let Err(e) = h.join().unwrap() {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn real_start(a: &Agent, dir: &Path) -> Result<(), String> {
    let env = TestEnv::new();
    let log = env.root.join("strace.log");
    let bin = dir.join(a.dir).join("bin").join(a.bin);
    let mut cmd = env.in_tree("timeout");
    cmd.args(["-s", "KILL", "45", "strace", "-f", "-qq", "-s", "200"])
        .args(["-e", "trace=%file,%network", "-o"])
        .arg(&log)
        .args(["unshare", "-rn"])
        .arg(nono_bin())
        .args(["run", "--net-block", "-p", a.profile, "--", "env"]);
    for (k, v) in a.start_env {
        cmd.arg(format!("{k}={v}"));
    }
    cmd.arg(&bin)
        .args(a.start_args)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("CODEX_HOME")
        .env_remove("CLAUDE_CONFIG_DIR")
        .stdin(std::process::Stdio::null());
    let run = Run::from(cmd);
    let trace = fs::read_to_string(&log).unwrap_or_default();
    let ctx = format!("{}: {run}", a.profile);

    // It got as far as the network: a DNS or HTTPS attempt that failed,
    // i.e. under --net-block an IP socket refused with EPERM.
    let net: Vec<&str> = trace
        .lines()
        .filter(|l| {
            ((l.contains("connect(") || l.contains("sendto(") || l.contains("sendmmsg("))
                && (l.contains("htons(53)") || l.contains("htons(443)")))
                || ((l.contains("socket(AF_INET,") || l.contains("socket(AF_INET6,"))
                    && l.contains("EPERM"))
        })
        .collect();
    if net.is_empty() {
        return Err(format!("{ctx}\nno DNS or HTTPS attempt in the trace"));
    }
    if run.code() == Some(125) || run.stderr().contains("nono:") {
        return Err(format!("{ctx}\nnono itself failed"));
    }

    // No file access the agent needs was denied: nothing under its state
    // directories or the project, and no write anywhere but the documented
    // limitations.
    let mut bad = Vec::new();
    let mut tolerated = Vec::new();
    let home = env.home.display().to_string();
    for d in denials(&trace) {
        // Component-wise: ~/.claude.json is not inside ~/.claude.
        let path = Path::new(&d.path);
        let in_state = a.state.iter().any(|s| path.starts_with(env.home.join(s)));
        let in_work = path.starts_with(&env.work);
        let known = a
            .known_denied_writes
            .iter()
            .any(|k| d.path.starts_with(&format!("{home}/{k}")));
        // The agents' own sandboxes (codex: user namespaces) and other
        // processes' /proc entries are denied by design, not by a profile.
        let by_design = d.path.starts_with("/proc/")
            || d.path == "uid_map"
            || d.path == "gid_map"
            || d.path == "setgroups";
        if in_state || in_work || (d.write && !known && !by_design) {
            bad.push(d.line);
        } else {
            tolerated.push(d.path);
        }
    }
    tolerated.sort();
    tolerated.dedup();
    eprintln!(
        "{}: network attempts {}, tolerated denials (reads outside the grants, documented limits): {:?}",
        a.profile,
        net.len(),
        tolerated
    );
    if !bad.is_empty() {
        return Err(format!(
            "{ctx}\nfile accesses denied that the agent needs:\n{}",
            bad.join("\n")
        ));
    }
    let all = format!("{}{}", run.stdout(), run.stderr());
    if all.contains(SECRET) {
        return Err(format!("{ctx}\nsecret leaked"));
    }
    Ok(())
}

// ---------------------------------------------------------- toolchains

#[test]
fn rust_profile_builds_a_crate() {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root/.rustup"));
    if !cargo_home.join("bin/cargo").is_file() {
        skip(format!(
            "no cargo in {} (the unprivileged run cannot reach root's toolchain)",
            cargo_home.display()
        ));
        return;
    }
    let env = TestEnv::new();
    let krate = env.work.join("hello");
    fs::create_dir_all(krate.join("src")).unwrap();
    fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    fs::write(
        krate.join("src/main.rs"),
        "fn main() { println!(\"hello from the sandbox\"); }\n",
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        cargo_home.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let build = |extra: &[&str]| {
        let mut cmd = Command::new(nono_bin());
        cmd.args(["run", "-p", "rust"])
            .args(extra)
            .args(["--", "cargo", "build", "--offline", "--quiet"])
            .current_dir(&krate)
            .env("HOME", &env.home)
            .env("CARGO_HOME", &cargo_home)
            .env("RUSTUP_HOME", &rustup_home)
            .env("PATH", &path)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTC")
            .env_remove("RUSTC_WRAPPER");
        Run::from(cmd)
    };
    build(&[]).expect_ok();
    let out = Command::new(krate.join("target/debug/hello"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from the sandbox\n"
    );
    // A rebuild after a change replaces outputs: needs the delete right the
    // profile grants in the project.
    fs::write(
        krate.join("src/main.rs"),
        "fn main() { println!(\"rebuilt\"); }\n",
    )
    .unwrap();
    build(&[]).expect_ok();
    let out = Command::new(krate.join("target/debug/hello"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "rebuilt\n");
}

#[test]
fn node_profile_runs_npm_test_and_keeps_npmrc_out() {
    if in_path("npm").is_none() || in_path("node").is_none() {
        skip("node/npm are not installed");
        return;
    }
    let env = TestEnv::new();
    // A token in ~/.npmrc: npm must work without it, and it must not leak.
    fs::write(
        env.home.join(".npmrc"),
        format!("//registry.example/:_authToken={SECRET}\n"),
    )
    .unwrap();
    fs::write(
        env.work.join("package.json"),
        "{\"name\":\"t\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"node test.js\"}}\n",
    )
    .unwrap();
    fs::write(
        env.work.join("test.js"),
        "const fs = require('fs');\n\
         fs.writeFileSync('out.txt', 'node ran');\n\
         try { console.log(fs.readFileSync(process.env.HOME + '/.npmrc', 'utf8')); }\n\
         catch (e) { console.log('npmrc: ' + e.code); }\n",
    )
    .unwrap();
    let mut cmd = env.command(["run", "-p", "node", "--", "npm", "test"]);
    cmd.env("npm_config_update_notifier", "false")
        .env_remove("npm_config_cache");
    let run = Run::from(cmd);
    run.expect_ok().expect_stdout_has("npmrc: EACCES");
    assert!(
        !run.stdout().contains(SECRET) && !run.stderr().contains(SECRET),
        "{run}"
    );
    assert_eq!(read(&env.work.join("out.txt")), "node ran");
    assert!(
        env.home.join(".npm").is_dir(),
        "npm's cache dir was created"
    );
}

#[test]
fn python_profile_makes_a_venv_and_runs_a_script() {
    let python = Path::new("/usr/bin/python3");
    if !python.is_file() {
        skip("/usr/bin/python3 is not installed");
        return;
    }
    let env = TestEnv::new();
    fs::write(
        env.work.join("s.py"),
        "import json, sys, tempfile\n\
         with tempfile.TemporaryFile() as f: f.write(b'x')\n\
         open('out.txt', 'w').write(json.dumps({'venv': sys.prefix != sys.base_prefix}))\n\
         print('python ran')\n",
    )
    .unwrap();
    let mut cmd = env.command(["run", "-p", "python", "--", "/bin/sh", "-c"]);
    cmd.arg("/usr/bin/python3 -m venv v && v/bin/python s.py && v/bin/python -m pip --version")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    let run = Run::from(cmd);
    run.expect_ok()
        .expect_stdout_has("python ran")
        .expect_stdout_has("pip ");
    assert_eq!(read(&env.work.join("out.txt")), "{\"venv\": true}");
}

#[test]
fn go_profile_builds_a_program() {
    if in_path("go").is_none() {
        skip("go is not installed (apt-get install golang-go)");
        return;
    }
    let env = TestEnv::new();
    fs::write(
        env.work.join("go.mod"),
        "module example.com/hello\n\ngo 1.19\n",
    )
    .unwrap();
    fs::write(
        env.work.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from go\") }\n",
    )
    .unwrap();
    let mut cmd = env.command(["run", "-p", "go", "--", "go", "build", "-o", "hello", "."]);
    cmd.env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env_remove("GOPATH")
        .env_remove("GOCACHE")
        .env_remove("GOMODCACHE");
    Run::from(cmd).expect_ok();
    let out = Command::new(env.work.join("hello")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from go\n");
    assert!(env.home.join(".cache/go-build").is_dir());
}
