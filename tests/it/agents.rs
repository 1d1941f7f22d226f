//! The four agents' real CLIs, driven through a scripted task by a local
//! mock model (tests/support/mock_model.py), under the headline command
//! `nono run --allow . -- AGENT` (the agent's profile applied
//! automatically) and under `-p PROFILE`, with a control run of the same
//! task without nono that shows every probe would succeed.
//!
//! The task, in each agent's own tools: write a file in the project and
//! edit it, `git commit` it, read `~/.ssh/id_ed25519`, append a line to
//! the user's own agent configuration (where hooks and MCP servers live),
//! and `rm -rf ./src`. The effects are checked from outside: the file and
//! the commit are there, the secret never reached the mock (every request
//! body is logged), the configuration and `src` are intact.
//!
//! The agents come from scripts/install-agents (/opt/nono-agents or
//! $NONO_AGENTS_DIR); a missing one is skipped with the reason printed.
//! The mock listens on the host's 127.0.0.1; its port is handed to each
//! agent through its documented base-URL setting ([`Agent::setup`]).

// Linux-only: the agents' npm packages are installed for Linux here.
#![cfg(target_os = "linux")]

use crate::common;

use std::fs;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const MOCK: &str = include_str!("../support/mock_model.py");
/// What the mock answers when the script is done: the agent printing it
/// shows that it finished the task.
const FINAL_TEXT: &str = "NONO-MOCK-TASK-DONE";
/// Appended by the task to the user's own agent configuration.
const PLANTED: &str = "NONO-PLANTED-HOOK";
/// A token in the environment the agent is started with.
const TOKEN: &str = "ghp_NONOPLANTEDTOKEN0123456789";
/// Seconds one agent run may take. About 5-30 s each on an idle machine;
/// generous because a loaded machine (the agents are node and bun
/// programs) makes them many times slower.
const AGENT_TIMEOUT: u32 = 300;

fn agents_dir() -> PathBuf {
    std::env::var_os("NONO_AGENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/nono-agents"))
}

/// One agent and how to point it at the mock.
struct Agent {
    profile: &'static str,
    /// Directory under the agents directory, and program name.
    dir: &'static str,
    bin: &'static str,
    /// The user's own configuration file (relative to HOME) whose contents
    /// make the agent run commands at its next start.
    user_config: &'static str,
    /// The agent reads with its own read tool (Claude) instead of `cat`.
    read_tool: bool,
    /// The rm step (codex refuses `rm -rf` itself, before any sandbox).
    rm: &'static str,
}

const AGENTS: &[Agent] = &[
    Agent {
        profile: "claude-code",
        dir: "claude",
        bin: "claude",
        user_config: ".claude/settings.json",
        read_tool: true,
        rm: "rm -rf ./src",
    },
    Agent {
        profile: "codex",
        dir: "codex",
        bin: "codex",
        user_config: ".codex/config.toml",
        read_tool: false,
        rm: "rm -r ./src",
    },
    Agent {
        profile: "gemini-cli",
        dir: "gemini",
        bin: "gemini",
        user_config: ".gemini/settings.json",
        read_tool: false,
        rm: "rm -rf ./src",
    },
    Agent {
        profile: "opencode",
        dir: "opencode",
        bin: "opencode",
        user_config: ".config/opencode/opencode.json",
        read_tool: false,
        rm: "rm -rf ./src",
    },
];

impl Agent {
    fn program(&self) -> PathBuf {
        agents_dir().join(self.dir).join("bin").join(self.bin)
    }

    fn installed(&self) -> bool {
        self.program().exists()
    }

    /// The directory the profile points the agent's state variables at.
    fn state_dir(&self, env: &TestEnv) -> PathBuf {
        env.home.join(".local/state/nono-agents").join(self.profile)
    }

    /// The one-shot, non-interactive form of the agent with `prompt`.
    fn prompt_args(&self, prompt: &str) -> Vec<String> {
        let p = prompt.to_string();
        match self.profile {
            "claude-code" => vec![
                "-p".into(),
                p,
                "--allowedTools".into(),
                "Bash Write Edit Read".into(),
            ],
            "codex" => vec!["exec".into(), "--skip-git-repo-check".into(), p],
            "gemini-cli" => vec!["--skip-trust".into(), "--yolo".into(), "-p".into(), p],
            _ => vec!["run".into(), p],
        }
    }

    /// nono's options that let the agent reach its mock on the host's
    /// loopback (host-allowlist mode: the agent profiles list hosts) and
    /// keep the mock's key variable.
    fn nono_mock_args(&self, port: u16) -> Vec<std::ffi::OsString> {
        vec![
            "--allow-host".into(),
            format!("127.0.0.1:{port}").into(),
            "--allow-env".into(),
            "NONO_MOCK_API_KEY".into(),
        ]
    }

    /// Points the agent at the mock on `port`: its configuration in the
    /// state directory, and the environment for the run.
    fn setup(&self, env: &TestEnv, port: u16) -> Vec<(String, String)> {
        let state = self.state_dir(env);
        fs::create_dir_all(&state).unwrap();
        let base = format!("http://127.0.0.1:{port}");
        match self.profile {
            "claude-code" => vec![
                ("ANTHROPIC_BASE_URL".into(), base),
                ("ANTHROPIC_API_KEY".into(), "sk-ant-nono-test".into()),
                ("DISABLE_AUTOUPDATER".into(), "1".into()),
                (
                    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                    "1".into(),
                ),
            ],
            "codex" => {
                fs::write(
                    state.join("config.toml"),
                    format!(
                        "model = \"mock-model\"\nmodel_provider = \"mock\"\n\n\
                         [model_providers.mock]\nname = \"mock\"\nbase_url = \"{base}/v1\"\n\
                         wire_api = \"responses\"\nenv_key = \"NONO_MOCK_API_KEY\"\n"
                    ),
                )
                .unwrap();
                vec![("NONO_MOCK_API_KEY".into(), "nono-test".into())]
            }
            "gemini-cli" => {
                let g = state.join(".gemini");
                fs::create_dir_all(&g).unwrap();
                fs::write(
                    g.join("settings.json"),
                    "{\"security\":{\"auth\":{\"selectedType\":\"gemini-api-key\"}}}\n",
                )
                .unwrap();
                vec![
                    ("GOOGLE_GEMINI_BASE_URL".into(), base),
                    ("GEMINI_API_KEY".into(), "nono-test".into()),
                ]
            }
            _ => {
                let c = state.join("config/opencode");
                fs::create_dir_all(&c).unwrap();
                for d in ["data", "state", "cache", "npm"] {
                    fs::create_dir_all(state.join(d)).unwrap();
                }
                fs::write(
                    c.join("opencode.json"),
                    format!(
                        "{{\"model\":\"anthropic/claude-sonnet-4-5\",\"autoupdate\":false,\
                         \"share\":\"disabled\",\"snapshot\":false,\
                         \"permission\":{{\"edit\":\"allow\",\"bash\":\"allow\",\
                         \"external_directory\":\"allow\",\"webfetch\":\"deny\"}},\
                         \"provider\":{{\"anthropic\":{{\"options\":\
                         {{\"baseURL\":\"{base}/v1\",\"apiKey\":\"sk-ant-nono-test\"}}}}}}}}\n"
                    ),
                )
                .unwrap();
                vec![
                    // Only to keep the test short and local: no fetch of
                    // the model list from the internet, no update check.
                    ("OPENCODE_DISABLE_MODELS_FETCH".into(), "1".into()),
                    ("OPENCODE_DISABLE_AUTOUPDATE".into(), "1".into()),
                    // Its default plugins are installed from the npm
                    // registry at start; tests/it/profiles.rs covers that.
                    ("OPENCODE_DISABLE_DEFAULT_PLUGINS".into(), "1".into()),
                    (
                        "OPENCODE_EXPERIMENTAL_DISABLE_FILEWATCHER".into(),
                        "1".into(),
                    ),
                ]
            }
        }
    }

    /// The variables the profile's `[agent] state_env` sets, for the
    /// control run without nono.
    fn state_env(&self, env: &TestEnv) -> Vec<(String, String)> {
        let s = self.state_dir(env);
        let p = |x: &Path| x.to_str().unwrap().to_string();
        match self.profile {
            "claude-code" => vec![("CLAUDE_CONFIG_DIR".into(), p(&s))],
            "codex" => vec![("CODEX_HOME".into(), p(&s))],
            "gemini-cli" => vec![("GEMINI_CLI_HOME".into(), p(&s))],
            _ => vec![
                ("XDG_CONFIG_HOME".into(), p(&s.join("config"))),
                ("XDG_DATA_HOME".into(), p(&s.join("data"))),
                ("XDG_STATE_HOME".into(), p(&s.join("state"))),
                ("XDG_CACHE_HOME".into(), p(&s.join("cache"))),
                ("npm_config_cache".into(), p(&s.join("npm"))),
            ],
        }
    }

    /// The scripted task, as mock steps.
    fn script(&self, env: &TestEnv, other_port: u16) -> String {
        let w = |rel: &str| env.work.join(rel).to_str().unwrap().to_string();
        let secret = env
            .home
            .join(".ssh/id_ed25519")
            .to_str()
            .unwrap()
            .to_string();
        let home = env.home.to_str().unwrap().to_string();
        // Every shell step starts with `cd` to the project: an agent that
        // takes its directory from somewhere else (opencode reads $PWD)
        // must not run the task in another tree.
        let work = env.work.to_str().unwrap().to_string();
        let read = if self.read_tool {
            serde_json::json!({ "read": secret })
        } else {
            serde_json::json!({ "shell": format!("cat {secret}") })
        };
        serde_json::json!([
            { "write": { "path": w("hello.txt"), "content": "hello from the agent\n" } },
            { "edit": { "path": w("hello.txt"), "old": "hello", "new": "edited" } },
            { "shell": format!("cd {work} && git add hello.txt && git commit -qm agent-commit && echo committed") },
            read,
            // Relative to HOME: Claude Code refuses a command that names
            // its settings file, and the control must show the write works.
            { "shell": format!("cd {home} && printf '%s\\n' {PLANTED} >> {}", self.user_config) },
            { "shell": format!("cd {work} && {}", self.rm) },
            // What leaves through the environment and the network: the
            // planted token must not reach the model, and another server
            // on the host's loopback must not be reachable.
            { "shell": format!("cd {work} && env") },
            { "shell": format!("cd {work} && curl -s -m 5 --noproxy '*' http://127.0.0.1:{other_port}/exfil; curl -s -m 5 http://127.0.0.1:{other_port}/exfil; echo curl-done") },
        ])
        .to_string()
    }
}

/// The mock model, killed when dropped.
struct Mock {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Mock {
    fn start(env: &TestEnv, script: &str) -> Mock {
        let py = env.root.join("mock_model.py");
        fs::write(&py, MOCK).unwrap();
        let script_path = env.root.join("script.json");
        fs::write(&script_path, script).unwrap();
        let log = env.root.join("mock-requests.jsonl");
        fs::write(&log, "").unwrap();
        let mut child = Command::new(PYTHON)
            .arg(&py)
            .arg(&script_path)
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the mock model");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("mock model printed no port: {line:?}")
        });
        Mock { child, port, log }
    }

    /// Every request body the mock received, as text.
    fn requests(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A git repository in the work directory with `src/main.rs` committed,
/// and the user's own agent configuration in the fake home.
fn project(env: &TestEnv, a: &Agent) -> String {
    fs::create_dir_all(env.work.join("src")).unwrap();
    fs::write(env.work.join("src/main.rs"), "fn main() {}\n").unwrap();
    for args in [
        &["init", "-q", "."][..],
        &["add", "-A"],
        &["commit", "-qm", "initial"],
    ] {
        let st = git(env).args(args).status().unwrap();
        assert!(st.success(), "git {args:?}");
    }
    let config = env.home.join(a.user_config);
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    let original = format!("# the user's own {} configuration\n", a.profile);
    fs::write(&config, &original).unwrap();
    original
}

const GIT_IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "nono test"),
    ("GIT_AUTHOR_EMAIL", "test@nono.invalid"),
    ("GIT_COMMITTER_NAME", "nono test"),
    ("GIT_COMMITTER_EMAIL", "test@nono.invalid"),
];

fn git(env: &TestEnv) -> Command {
    let mut c = env.in_tree("git");
    for (k, v) in GIT_IDENTITY {
        c.env(k, v);
    }
    c
}

/// How the agent is started.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// `nono run --allow . -- AGENT`: the profile applied automatically.
    Headline,
    /// `nono run -p PROFILE -- AGENT`.
    Profile,
    /// The agent alone: the control.
    Plain,
}

/// A command with the test's environment: fake HOME, no inherited agent
/// or XDG locations, git identity, the given variables; under `timeout`.
fn agent_command(env: &TestEnv, vars: &[(String, String)], argv: &[std::ffi::OsString]) -> Command {
    let mut cmd = env.in_tree("timeout");
    cmd.args(["-s", "KILL", &AGENT_TIMEOUT.to_string()])
        .args(argv)
        .env("PWD", &env.work)
        .stdin(Stdio::null());
    for k in [
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
        "CODEX_HOME",
        "CLAUDE_CONFIG_DIR",
        "GEMINI_CLI_HOME",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in GIT_IDENTITY {
        cmd.env(k, v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the task; returns a description of what went wrong, if anything.
fn scripted_task(a: &Agent, mode: Mode) -> Result<(), String> {
    let env = TestEnv::new();
    let original = project(&env, a);
    // Another server on the host's loopback, not on any allow list.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let other_port = other.local_addr().unwrap().port();
    let mock = Mock::start(&env, &a.script(&env, other_port));
    let mut vars = a.setup(&env, mock.port);
    vars.push(("GITHUB_TOKEN".into(), TOKEN.into()));
    let before = files_under(&a.state_dir(&env));
    let mut argv: Vec<std::ffi::OsString> = Vec::new();
    match mode {
        Mode::Headline => {
            argv.extend([
                nono_bin().into(),
                "run".into(),
                "--allow".into(),
                ".".into(),
            ]);
            argv.extend(a.nono_mock_args(mock.port));
            argv.push("--".into());
        }
        Mode::Profile => {
            argv.extend([
                nono_bin().into(),
                "run".into(),
                "-p".into(),
                a.profile.into(),
            ]);
            argv.extend(a.nono_mock_args(mock.port));
            argv.push("--".into());
        }
        Mode::Plain => vars.extend(a.state_env(&env)),
    }
    argv.push(a.program().into());
    if mode == Mode::Plain && a.profile == "codex" {
        // What the profile inserts: without it codex builds its own
        // sandbox, which the control does not want either.
        argv.extend(["-c".into(), "sandbox_mode=\"danger-full-access\"".into()]);
    }
    argv.extend(
        a.prompt_args("do the scripted task")
            .into_iter()
            .map(Into::into),
    );
    let started = Instant::now();
    let run = Run::from(agent_command(&env, &vars, &argv));
    let took = started.elapsed();
    let requests = mock.requests();
    let mut reached_other = 0;
    while other.accept().is_ok() {
        reached_other += 1;
    }
    let ctx = format!(
        "{} ({mode:?}, {:.1}s): {run}\n--- mock requests: {} bytes ---",
        a.profile,
        took.as_secs_f64(),
        requests.len()
    );
    let mut bad: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: &str| {
        if !ok {
            bad.push(what.to_string());
        }
    };
    check(run.code() == Some(0), "exit status is not 0");
    check(
        run.stdout().contains(FINAL_TEXT),
        "the agent did not print the final answer (task not finished)",
    );
    let hello = fs::read_to_string(env.work.join("hello.txt")).unwrap_or_default();
    check(
        hello == "edited from the agent\n",
        &format!("hello.txt not written and edited: {hello:?}"),
    );
    let subject = git(&env)
        .args(["log", "-1", "--format=%s"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    check(
        subject == "agent-commit",
        &format!("no agent commit (last: {subject:?})"),
    );
    // The probe ran: the tool result about the key went back to the model.
    check(
        requests.contains("id_ed25519"),
        "the read of ~/.ssh/id_ed25519 never happened",
    );
    let config = fs::read_to_string(env.home.join(a.user_config)).unwrap_or_default();
    let src = env.work.join("src/main.rs").exists();
    if mode == Mode::Plain {
        check(
            requests.contains(SECRET),
            "control: the secret did not reach the mock without nono",
        );
        check(
            config.contains(PLANTED),
            "control: the user's configuration was not changed without nono",
        );
        check(!src, "control: src survived rm without nono");
        check(
            requests.contains(TOKEN),
            "control: the planted token did not reach the mock without nono",
        );
        check(
            reached_other > 0,
            "control: the other loopback server was not reached without nono",
        );
    } else {
        check(
            !requests.contains(TOKEN),
            "THE PLANTED TOKEN REACHED THE MODEL under nono",
        );
        check(requests.contains("curl-done"), "the curl step never ran");
        check(
            reached_other == 0,
            &format!("the other loopback server was reached {reached_other} times under nono"),
        );
        check(
            !requests.contains(SECRET),
            "SECRET REACHED THE MODEL under nono",
        );
        check(
            config == original,
            &format!("the user's {} was changed: {config:?}", a.user_config),
        );
        check(src, "src was deleted under nono");
        let after = files_under(&a.state_dir(&env));
        check(
            after > before,
            &format!("no state written in the profile's directory ({before} files before, {after} after)"),
        );
    }
    if mode == Mode::Headline {
        check(
            run.stderr()
                .contains(&format!("applying its profile {}", a.profile)),
            "nono did not say it applied the profile",
        );
    }
    eprintln!("{} ({mode:?}): {:.1}s", a.profile, took.as_secs_f64());
    if bad.is_empty() {
        Ok(())
    } else {
        let tail: String = {
            let start = requests.len().saturating_sub(3000);
            let start = (start..requests.len())
                .find(|i| requests.is_char_boundary(*i))
                .unwrap_or(requests.len());
            requests[start..].to_string()
        };
        Err(format!("{}\n{ctx}\n...{tail}", bad.join("\n")))
    }
}

/// The agent, or `None` (and why, printed) when it cannot be tested here.
fn agent_or_skip(profile: &str) -> Option<&'static Agent> {
    let a = AGENTS.iter().find(|a| a.profile == profile)?;
    if !a.installed() {
        skip(format!(
            "{} is not installed (scripts/install-agents installs it)",
            a.program().display()
        ));
        return None;
    }
    if !have(PYTHON) {
        skip(format!("{PYTHON} (for the mock model) is missing"));
        return None;
    }
    Some(a)
}

/// The scripted task under the headline command, under the profile, and
/// the control without nono; fails with every mode's failure.
fn scripted_task_all_modes(profile: &str) {
    let Some(a) = agent_or_skip(profile) else {
        return;
    };
    // In parallel: each mode has its own tree and mock.
    let handles: Vec<_> = [Mode::Headline, Mode::Profile, Mode::Plain]
        .into_iter()
        .map(|m| std::thread::spawn(move || scripted_task(a, m)))
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n========\n\n"));
}

#[test]
fn claude_code_does_the_scripted_task() {
    scripted_task_all_modes("claude-code");
}

#[test]
fn codex_does_the_scripted_task() {
    scripted_task_all_modes("codex");
}

#[test]
fn gemini_cli_does_the_scripted_task() {
    scripted_task_all_modes("gemini-cli");
}

#[test]
fn opencode_does_the_scripted_task() {
    scripted_task_all_modes("opencode");
}

// ------------------------------------------------- state across runs

#[test]
fn claude_code_state_survives_a_second_run() {
    let Some(a) = agent_or_skip("claude-code") else {
        return;
    };
    let env = TestEnv::new();
    project(&env, a);
    let mock = Mock::start(&env, "[]");
    let vars = a.setup(&env, mock.port);
    let run = |prompt: &str, extra: &[&str]| {
        let mut argv: Vec<std::ffi::OsString> = vec![
            nono_bin().into(),
            "run".into(),
            "--allow".into(),
            ".".into(),
        ];
        argv.extend(a.nono_mock_args(mock.port));
        argv.extend(["--".into(), a.program().into()]);
        argv.extend(extra.iter().map(Into::into));
        argv.extend(["-p".into(), prompt.into()]);
        Run::from(agent_command(&env, &vars, &argv))
    };
    let first = run("NONO-FIRST-RUN-PROMPT", &[]);
    first.expect_ok().expect_stdout_has(FINAL_TEXT);
    let state = a.state_dir(&env).join(".claude.json");
    let user_id = |s: &str| -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(s).ok()?;
        v["userID"].as_str().map(str::to_string)
    };
    let id1 = user_id(&fs::read_to_string(&state).unwrap_or_default());
    assert!(id1.is_some(), "first run saved no .claude.json\n{first}");
    let before = mock.requests().len();
    // --continue loads the first run's conversation from the state
    // directory and sends it along: the mock sees the first prompt again.
    let second = run("NONO-SECOND-RUN-PROMPT", &["--continue"]);
    second.expect_ok();
    let sent = &mock.requests()[before..];
    assert!(
        sent.contains("NONO-SECOND-RUN-PROMPT") && sent.contains("NONO-FIRST-RUN-PROMPT"),
        "the second run did not see the first run's session\n{second}"
    );
    let id2 = user_id(&fs::read_to_string(&state).unwrap_or_default());
    assert_eq!(id1, id2, "the second run started from fresh state");
    // Nothing was saved in the user's own places.
    assert!(!env.home.join(".claude.json").exists());
    assert!(!env.home.join(".claude/projects").exists());
}

// -------------------------------------------------- interactive start

/// Each agent's interactive start under its profile, in a tmux pane:
/// reaches its prompt with no error on screen.
fn interactive_start(profile: &str, ready: &str) {
    let Some(a) = agent_or_skip(profile) else {
        return;
    };
    if Command::new("tmux").arg("-V").output().is_err() {
        skip("tmux is not installed");
        return;
    }
    let env = TestEnv::new();
    project(&env, a);
    let mock = Mock::start(&env, "[]");
    let mut vars = a.setup(&env, mock.port);
    let state = a.state_dir(&env);
    let work = env.work.to_str().unwrap().to_string();
    // First-start dialogs the user answers once (theme, folder trust, the
    // API key), answered in the agent's own state, as after that once.
    match profile {
        "claude-code" => {
            let key = "sk-ant-nono-test";
            fs::write(
                state.join(".claude.json"),
                serde_json::json!({
                    "hasCompletedOnboarding": true,
                    "theme": "dark",
                    "customApiKeyResponses": { "approved": [key], "rejected": [] },
                    "projects": { work.clone(): { "hasTrustDialogAccepted": true } },
                })
                .to_string(),
            )
            .unwrap();
        }
        "codex" => {
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(state.join("config.toml"))
                .unwrap();
            writeln!(f, "\n[projects.\"{work}\"]\ntrust_level = \"trusted\"").unwrap();
        }
        "gemini-cli" => {
            fs::write(
                state.join(".gemini/settings.json"),
                "{\"security\":{\"auth\":{\"selectedType\":\"gemini-api-key\"},\
                 \"folderTrust\":{\"enabled\":false}}}\n",
            )
            .unwrap();
        }
        _ => {}
    }
    vars.push(("TERM".into(), "xterm-256color".into()));
    // tmux runs the pane's command with $SHELL, else the login shell, which
    // for uid 65534 is nologin.
    vars.push(("SHELL".into(), "/bin/sh".into()));
    vars.push(("TMUX_TMPDIR".into(), env.root.to_str().unwrap().to_string()));
    let socket = format!("nono-{}-{}", std::process::id(), profile);
    let shell_cmd = format!(
        "{} run -q -p {profile} -- {}; echo NONO-AGENT-EXITED $?; sleep 600",
        sh_path(&nono_bin()),
        sh_path(&a.program())
    );
    let mut new = agent_command(
        &env,
        &vars,
        &[
            "tmux".into(),
            "-L".into(),
            socket.clone().into(),
            "new-session".into(),
            "-d".into(),
            "-x".into(),
            "160".into(),
            "-y".into(),
            "45".into(),
            shell_cmd.into(),
        ],
    );
    // Agents that see CI in their environment skip their interactive UI
    // (Gemini CLI answers "No input provided via stdin"): a user's
    // terminal has no CI variable.
    for v in [
        "CI",
        "CONTINUOUS_INTEGRATION",
        "GITHUB_ACTIONS",
        "BUILD_NUMBER",
        "RUN_ID",
    ] {
        new.env_remove(v);
    }
    let st = new.status().unwrap();
    assert!(st.success(), "tmux new-session failed");
    let tmux = |args: &[&str]| {
        let mut c = Command::new("tmux");
        c.env("TMUX_TMPDIR", &env.root)
            .arg("-L")
            .arg(&socket)
            .args(args);
        c
    };
    let screen = || -> String {
        tmux(&["capture-pane", "-p"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let mut last = String::new();
    let reached = wait_for(Duration::from_secs(240), || {
        last = screen();
        last.contains(ready) || last.contains("NONO-AGENT-EXITED")
    });
    // Give a late error a moment to be drawn.
    std::thread::sleep(Duration::from_secs(2));
    let last = if reached { screen() } else { last };
    let _ = tmux(&["kill-server"]).status();
    let shown: String = last
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        reached && last.contains(ready),
        "{profile}: the prompt ({ready:?}) did not appear\n--- screen ---\n{shown}"
    );
    for bad in [
        "EACCES",
        "EPERM",
        "ermission denied",
        "Error",
        "error:",
        "nono:",
        "NONO-AGENT-EXITED",
    ] {
        assert!(
            !last.contains(bad),
            "{profile}: {bad:?} on screen\n--- screen ---\n{shown}"
        );
    }
    eprintln!("{profile}: interactive start reached {ready:?}\n{shown}");
}

#[test]
fn claude_code_interactive_start_reaches_its_prompt() {
    interactive_start("claude-code", "? for shortcuts");
}

#[test]
fn codex_interactive_start_reaches_its_prompt() {
    interactive_start("codex", "? for shortcuts");
}

#[test]
fn gemini_cli_interactive_start_reaches_its_prompt() {
    interactive_start("gemini-cli", "Type your message");
}

#[test]
fn opencode_interactive_start_reaches_its_prompt() {
    interactive_start("opencode", "ctrl+p commands");
}

/// How many files are in the tree under `dir`.
fn files_under(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => files_under(&e.path()),
            _ => 1,
        })
        .sum()
}

fn wait_for(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

// ---------------------------------------------- the automatic profile
//
// With stand-in agents (shell scripts under the agents' names and install
// paths), so that these run everywhere and fast.

/// A stand-in `claude` on PATH that reports what it can reach.
const FAKE_AGENT: &str = r#"#!/bin/sh
exec 2>&1
echo "config_dir=${CLAUDE_CONFIG_DIR:-unset}"
echo "codex_home=${CODEX_HOME:-unset}"
echo "args=$*"
if [ -n "$CLAUDE_CONFIG_DIR" ]; then
  echo state > "$CLAUDE_CONFIG_DIR/state.json" && echo state-saved
fi
cat "$HOME/.ssh/id_ed25519"
printf 'PLANTED\n' >> "$HOME/.claude/settings.json" && echo settings-written
printf 'PLANTED\n' >> "$HOME/.gitconfig" && echo gitconfig-written
echo project >> ./from-agent.txt && echo project-written
"#;

struct Fake {
    env: TestEnv,
    bin: PathBuf,
    path: String,
}

fn fake_agents() -> Fake {
    let env = TestEnv::new();
    let bin = env.root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    // An npm-style install: the program is a symlink into the package.
    let pkg = env
        .root
        .join("prefix/lib/node_modules/@anthropic-ai/claude-code");
    fs::create_dir_all(&pkg).unwrap();
    env.script(
        "prefix/lib/node_modules/@anthropic-ai/claude-code/cli.js",
        FAKE_AGENT,
    );
    std::os::unix::fs::symlink(pkg.join("cli.js"), bin.join("claude")).unwrap();
    std::os::unix::fs::symlink(pkg.join("cli.js"), bin.join("my-assistant")).unwrap();
    env.script("bin/codex", FAKE_AGENT);
    env.script("bin/not-an-agent", FAKE_AGENT);
    fs::create_dir_all(env.home.join(".claude")).unwrap();
    fs::write(env.home.join(".claude/settings.json"), "{}\n").unwrap();
    fs::write(env.home.join(".gitconfig"), "[user]\n").unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    Fake { env, bin, path }
}

impl Fake {
    /// `nono SUBCOMMAND --read BIN --read PREFIX ARGS...`: the stand-ins'
    /// directories are readable, as a real install's are.
    fn nono(&self, args: &[&str]) -> Run {
        let bin = self.bin.to_str().unwrap().to_string();
        let prefix = self.env.root.join("prefix").to_str().unwrap().to_string();
        let mut all: Vec<&str> = vec![args[0], "--read", &bin, "--read", &prefix];
        all.extend_from_slice(&args[1..]);
        let mut c = self.env.command(&all);
        c.env("PATH", &self.path)
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CODEX_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_CONFIG_HOME");
        Run::from(c)
    }

    fn state(&self) -> PathBuf {
        self.env.home.join(".local/state/nono-agents/claude-code")
    }
}

#[test]
fn a_known_agent_gets_its_profile_and_nothing_protected() {
    let f = fake_agents();
    // Control: the stand-in reaches everything without nono.
    let mut plain = f.env.in_tree(f.bin.join("claude"));
    plain.env("CLAUDE_CONFIG_DIR", f.env.root.join("outside"));
    let plain = Run::from(plain);
    plain
        .expect_stdout_has(SECRET)
        .expect_stdout_has("settings-written")
        .expect_stdout_has("gitconfig-written");
    fs::write(f.env.home.join(".claude/settings.json"), "{}\n").unwrap();
    fs::write(f.env.home.join(".gitconfig"), "[user]\n").unwrap();

    // The headline, through npm's symlink into the package.
    let run = f.nono(&["run", "--allow", ".", "--", "claude"]);
    run.expect_ok()
        .expect_stderr_has("is a known agent: applying its profile claude-code")
        .expect_stdout_has(&format!("config_dir={}", f.state().display()))
        .expect_stdout_has("state-saved")
        .expect_stdout_has("project-written")
        .expect_stdout_lacks(SECRET)
        .expect_stdout_lacks("settings-written")
        .expect_stdout_lacks("gitconfig-written");
    assert_eq!(read(&f.state().join("state.json")), "state\n", "{run}");
    assert_eq!(read(&f.env.home.join(".claude/settings.json")), "{}\n");
    assert_eq!(read(&f.env.home.join(".gitconfig")), "[user]\n");
    // The profile's line, and the snapshot summary (the agent profiles
    // take snapshots); nothing else of nono's own.
    assert_eq!(
        run.stderr()
            .lines()
            .filter(|l| !l.starts_with("nono snapshot "))
            .count(),
        1,
        "one line of nono's own\n{run}"
    );

    // Any name, when the program resolves into the package.
    f.nono(&["run", "--allow", ".", "--", "my-assistant"])
        .expect_ok()
        .expect_stderr_has("applying its profile claude-code");

    // Even with the home granted, protected and read-only paths stay so.
    let wide = f.nono(&["run", "--allow", "~", "--", "claude"]);
    wide.expect_ok()
        .expect_stdout_lacks(SECRET)
        .expect_stdout_lacks("gitconfig-written");
    assert_eq!(read(&f.env.home.join(".gitconfig")), "[user]\n");
}

#[test]
fn the_automatic_profile_is_quiet_with_q_and_off_with_no_profile() {
    let f = fake_agents();
    let quiet = f.nono(&["run", "-q", "--allow", ".", "--", "claude"]);
    quiet
        .expect_ok()
        .expect_stdout_has("state-saved")
        .expect_stderr_lacks("nono:");
    assert!(quiet.stderr().is_empty(), "{quiet}");

    let _ = fs::remove_file(f.state().join("state.json"));
    let off = f.nono(&["run", "--no-profile", "--allow", ".", "--", "claude"]);
    off.expect_ok()
        .expect_stderr_lacks("known agent")
        .expect_stdout_has("config_dir=unset")
        .expect_stdout_has("project-written")
        .expect_stdout_lacks(SECRET);
    assert!(!f.state().join("state.json").exists());

    // A named profile replaces the automatic choice.
    let named = f.nono(&["run", "-p", "node", "--", "claude"]);
    named
        .expect_ok()
        .expect_stderr_lacks("known agent")
        .expect_stdout_has("config_dir=unset");

    // Not an agent: nothing changes.
    f.nono(&["run", "--allow", ".", "--", "not-an-agent"])
        .expect_ok()
        .expect_stderr_lacks("known agent")
        .expect_stdout_has("config_dir=unset");
}

#[test]
fn dry_run_and_why_say_the_profile_was_applied_automatically() {
    let f = fake_agents();
    let dry = f.nono(&["run", "--dry-run", "--allow", ".", "--", "claude"]);
    dry.expect_ok()
        .expect_stdout_has("profiles: claude-code (auto)")
        .expect_stdout_has("profile claude-code (auto) (filesystem.allow)")
        .expect_stdout_has("agent:    claude-code: its profile is applied automatically")
        .expect_stdout_has("sets CLAUDE_CONFIG_DIR=");
    assert!(!f.state().exists(), "a dry run creates nothing");

    let json = f.nono(&["run", "--dry-run", "--json", "--allow", ".", "--", "claude"]);
    json.expect_ok();
    let v: serde_json::Value = json.json();
    assert_eq!(v["agent"]["profile"], "claude-code", "{json}");
    assert_eq!(v["agent"]["auto"], true);
    assert_eq!(v["profiles"], serde_json::json!(["claude-code (auto)"]));
    assert_eq!(v["agent"]["env"][0]["name"], "CLAUDE_CONFIG_DIR");
    assert_eq!(
        v["agent"]["env"][0]["value"],
        f.state().to_str().unwrap(),
        "{json}"
    );

    let off = f.nono(&[
        "run",
        "--dry-run",
        "--json",
        "--no-profile",
        "--allow",
        ".",
        "--",
        "claude",
    ]);
    let v: serde_json::Value = off.json();
    assert_eq!(v["agent"]["profile"], "claude-code");
    assert_eq!(v["agent"]["auto"], false);
    assert_eq!(v["profiles"], serde_json::json!([]));

    // why answers for the sandbox `run -- claude` would build.
    fs::create_dir_all(f.state()).unwrap();
    let target = f.state().join("x");
    let t = target.to_str().unwrap();
    f.nono(&["why", "--op", "write", "--allow", ".", t, "--", "claude"])
        .expect_ok()
        .expect_stdout_has("ALLOWED")
        .expect_stdout_has("profile claude-code (auto)")
        .expect_stdout_has("applied automatically");
    f.nono(&[
        "why",
        "--op",
        "write",
        "--no-profile",
        "--allow",
        ".",
        t,
        "--",
        "claude",
    ])
    .expect_code(1)
    .expect_stdout_has("DENIED");
    f.nono(&["why", "--op", "write", "--allow", ".", t])
        .expect_code(1)
        .expect_stdout_has("DENIED");
    let key = f.env.home.join(".ssh/id_ed25519");
    f.nono(&["why", "--allow", "~", key.to_str().unwrap(), "--", "claude"])
        .expect_code(1)
        .expect_stdout_has("DENIED");
}

#[test]
fn profile_show_names_the_agent_and_what_its_start_gets() {
    let f = fake_agents();
    let mut c = f.env.command(["profile", "show", "codex"]);
    c.env_remove("XDG_STATE_HOME").env_remove("XDG_CONFIG_HOME");
    Run::from(c)
        .expect_ok()
        .expect_stdout_has("agent:    applied automatically to: codex")
        .expect_stdout_has(&format!(
            "sets CODEX_HOME={}",
            f.env.home.join(".local/state/nono-agents/codex").display()
        ))
        .expect_stdout_has("inserts after the program when it is codex: -c sandbox_mode=");
}

#[test]
fn codex_is_told_it_is_sandboxed_only_when_the_command_is_codex() {
    let f = fake_agents();
    let run = f.nono(&["run", "--allow", ".", "--", "codex", "exec", "x"]);
    run.expect_ok()
        .expect_stderr_has("applying its profile codex")
        .expect_stdout_has("args=-c sandbox_mode=\"danger-full-access\" exec x")
        .expect_stdout_has(&format!(
            "codex_home={}",
            f.env.home.join(".local/state/nono-agents/codex").display()
        ));
    // The profile on another program sets the state variable (a codex it
    // starts finds its state) but changes no arguments.
    f.nono(&["run", "-p", "codex", "--", "not-an-agent", "exec"])
        .expect_ok()
        .expect_stdout_has("args=exec\n")
        .expect_stdout_has("codex_home=/");
    // Through node: the arguments go after the script.
    if let Some(node) = system_program("node") {
        let script = f.env.root.join("prefix/lib/node_modules/@openai/codex/bin");
        fs::create_dir_all(&script).unwrap();
        fs::write(script.join("codex.js"), "").unwrap();
        let s = script.join("codex.js");
        let dry = f.nono(&[
            "run",
            "--dry-run",
            "--json",
            "--",
            &node,
            s.to_str().unwrap(),
            "exec",
        ]);
        let v: serde_json::Value = dry.json();
        assert_eq!(v["agent"]["profile"], "codex", "{dry}");
        assert_eq!(
            v["command"]["argv"],
            serde_json::json!([
                node,
                s.to_str().unwrap(),
                "-c",
                "sandbox_mode=\"danger-full-access\"",
                "exec"
            ]),
            "{dry}"
        );
    } else {
        skip("the node part: node is not installed in a system directory");
    }
}
