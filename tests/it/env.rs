//! Environment hygiene: secrets in nono's environment do not reach the
//! command. Each test plants variables with marker values in nono's
//! environment, runs the real binary, and reads the command's environment
//! as the command itself prints it (`env`, `printenv`); every removal has a
//! control showing the same probe sees the variable without nono, and no
//! marker value may appear in anything nono itself prints.

use crate::common;

use std::collections::BTreeSet;
use std::process::Command;

use common::*;
use serde_json::Value;

/// The planted secrets: name and a value unique to it.
const PLANTED: [(&str, &str); 6] = [
    ("GITHUB_TOKEN", "nono-marker-gh-7f3a9c"),
    ("AWS_SECRET_ACCESS_KEY", "nono-marker-aws-51be02"),
    ("SSH_AUTH_SOCK", "/nono-marker-agent-88d1e4/agent.sock"),
    ("FOO_API_KEY", "nono-marker-foo-c0ffee"),
    ("github_token", "nono-marker-lower-4b4b4b"),
    (
        "DATABASE_URL",
        "postgres://app:nono-marker-dburl-9e9e9e@db.example/x",
    ),
];

/// A variable no pattern matches: passed through, the positive control.
const PLAIN: (&str, &str) = ("NONO_TEST_PLAIN_SETTING", "plain-value-1234");

fn with_planted(mut cmd: Command) -> Run {
    for (k, v) in PLANTED.iter().chain([&PLAIN]) {
        cmd.env(k, v);
    }
    Run::from(cmd)
}

/// `nono ARGS` with the planted variables in its environment.
fn nono(env: &TestEnv, args: &[&str]) -> Run {
    with_planted(env.command(args))
}

/// The same ARGV without nono, same environment: the control.
fn plain(env: &TestEnv, argv: &[&str]) -> Run {
    let mut cmd = env.in_tree(argv[0]);
    cmd.args(&argv[1..]);
    with_planted(cmd)
}

/// The variable names in `env`'s output.
fn names(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
        .collect()
}

fn expect_no_marker(run: &Run) {
    let all = format!("{}{}", run.stdout(), run.stderr());
    for (k, v) in PLANTED {
        assert!(!all.contains(v), "the value of {k} was printed\n{run}");
    }
    assert!(
        !all.contains("nono-marker"),
        "a marker value was printed\n{run}"
    );
}

#[test]
fn planted_secrets_do_not_reach_the_command() {
    let env = TestEnv::new();
    // Control: without nono the command sees every one of them.
    let control = plain(&env, &["/usr/bin/env"]);
    control.expect_ok();
    for (k, v) in PLANTED {
        control.expect_stdout_has(&format!("{k}={v}"));
    }

    let run = nono(&env, &["run", "--", "/usr/bin/env"]);
    run.expect_ok();
    expect_no_marker(&run);
    let seen = names(&run.stdout());
    for (k, _) in PLANTED {
        assert!(!seen.contains(k), "{k} reached the command\n{run}");
    }
    // Everything else still arrives, and TMPDIR is the private directory.
    run.expect_stdout_has(&format!("{}={}", PLAIN.0, PLAIN.1));
    assert!(seen.contains("PATH") && seen.contains("HOME"), "{run}");
    // The private run directory; with the mount layer it is bound at /tmp.
    let private = run.stdout().contains("/run-")
        || (mount_layer_active() && run.stdout().contains("TMPDIR=/tmp\n"));
    assert!(private, "TMPDIR not private\n{run}");

    // printenv through a shell, and every child it starts: the same.
    let script =
        "printenv GITHUB_TOKEN; printenv SSH_AUTH_SOCK; sh -c 'printenv FOO_API_KEY'; echo done";
    let control = plain(&env, &["/bin/sh", "-c", script]);
    control.expect_stdout_has(PLANTED[0].1);
    let run = nono(&env, &["run", "--", "/bin/sh", "-c", script]);
    run.expect_stdout_has("done");
    expect_no_marker(&run);
}

/// The command cannot fetch them from an outside process either: nono's
/// parent still holds them, and Landlock's ptrace scoping denies reading
/// /proc/PID/environ of a process outside the sandbox.
#[cfg(target_os = "linux")]
#[test]
fn the_parents_environment_is_not_readable_through_proc() {
    let env = TestEnv::new();
    let nono_path = sh_path(&nono_bin());
    // The outer shell stays the command's parent (`; :` keeps it from
    // exec'ing the last command).
    let inner = "cat /proc/$PPID/environ | tr '\\0' '\\n'; cat /proc/self/environ | tr '\\0' '\\n'";
    let control = plain(
        &env,
        &["/bin/sh", "-c", &format!("/bin/sh -c \"{inner}\"; :")],
    );
    control.expect_stdout_has(PLANTED[0].1);
    let run = plain(
        &env,
        &[
            "/bin/sh",
            "-c",
            &format!("{nono_path} run -- /bin/sh -c \"{inner}\"; :"),
        ],
    );
    expect_no_marker(&run);
    // The command's own environ is readable (the probe worked) and clean.
    run.expect_stdout_has(&format!("{}={}", PLAIN.0, PLAIN.1));
}

#[test]
fn allow_env_keeps_a_name_or_a_glob() {
    let env = TestEnv::new();
    let run = nono(
        &env,
        &[
            "run",
            "--allow-env",
            "GITHUB_TOKEN",
            "--allow-env",
            "AWS_*",
            "--",
            "/usr/bin/env",
        ],
    );
    run.expect_ok()
        .expect_stdout_has(&format!("GITHUB_TOKEN={}", PLANTED[0].1))
        .expect_stdout_has(&format!("AWS_SECRET_ACCESS_KEY={}", PLANTED[1].1));
    // Only what was named: the rest stays out, and names match exactly.
    for (k, v) in &PLANTED[2..] {
        assert!(!run.stdout().contains(v), "{k} reached the command\n{run}");
    }
    // A glob that matches nothing planted keeps nothing.
    let run = nono(
        &env,
        &["run", "--allow-env", "NOPE_*", "--", "/usr/bin/env"],
    );
    expect_no_marker(&run);
}

#[test]
fn env_sets_a_variable_and_bad_names_are_refused() {
    let env = TestEnv::new();
    let run = nono(
        &env,
        &[
            "run",
            "--env",
            "NONO_SET_ONE=a=b",
            "--env",
            "GITHUB_TOKEN=replaced",
            "--env",
            "EMPTY=",
            "--",
            "/usr/bin/env",
        ],
    );
    run.expect_ok()
        .expect_stdout_has("NONO_SET_ONE=a=b\n")
        .expect_stdout_has("GITHUB_TOKEN=replaced\n")
        .expect_stdout_has("EMPTY=\n");
    expect_no_marker(&run);

    let ran = env.work.join("ran");
    let touch = format!("touch {}", sh_path(&ran));
    // A mistyped --env may be a bare secret: the refusal never repeats it.
    for (bad, says) in [
        ("1X=nono-marker-v1", "--env: invalid variable name"),
        ("A-B=nono-marker-v2", "--env: invalid variable name"),
        ("nono-marker-v3==", "--env: invalid variable name"),
        ("=nono-marker-v4", "--env: invalid variable name"),
        ("nono-marker-v5", "--env: expected NAME=VALUE"),
        ("TMPDIR=/x", "TMPDIR cannot be set or kept"),
    ] {
        let run = nono(
            &env,
            &[
                "run", "--allow", ".", "--env", bad, "--", "/bin/sh", "-c", &touch,
            ],
        );
        run.expect_nono_error(says);
        expect_no_marker(&run);
        assert!(!ran.exists(), "the command ran despite --env {bad}");
    }
    for bad in ["A=nono-marker-v6", "A B", "", "TEMP"] {
        let run = nono(
            &env,
            &[
                "run",
                "--allow",
                ".",
                "--allow-env",
                bad,
                "--",
                "/bin/sh",
                "-c",
                &touch,
            ],
        );
        run.expect_code(125);
        expect_no_marker(&run);
        assert!(!ran.exists(), "the command ran despite --allow-env {bad:?}");
    }
    // The control: the same command does run.
    nono(
        &env,
        &["run", "--allow", ".", "--", "/bin/sh", "-c", &touch],
    )
    .expect_ok();
    assert!(ran.exists());
}

/// What `--env-clear` keeps, exactly as SPEC.md documents it.
fn minimal_ok(name: &str) -> bool {
    [
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "COLORTERM",
        "NO_COLOR",
        "LANG",
        "TZ",
        "TMPDIR",
        "TMP",
        "TEMP",
    ]
    .contains(&name)
        || name.starts_with("LC_")
}

#[test]
fn env_clear_keeps_only_the_documented_set() {
    let env = TestEnv::new();
    let mut cmd = env.command([
        "run",
        "--env-clear",
        "--allow-env",
        "FOO_API_KEY",
        "--env",
        "NONO_SET_TWO=2",
        "--",
        "/usr/bin/env",
    ]);
    cmd.env("LC_TIME", "C")
        .env("TERM", "dumb")
        .env("EDITOR", "vi");
    let run = with_planted(cmd);
    run.expect_ok();
    let seen = names(&run.stdout());
    for n in &seen {
        assert!(
            minimal_ok(n) || n == "FOO_API_KEY" || n == "NONO_SET_TWO",
            "{n} survived --env-clear\n{run}"
        );
    }
    for must in [
        "PATH",
        "HOME",
        "LC_TIME",
        "TERM",
        "TMPDIR",
        "FOO_API_KEY",
        "NONO_SET_TWO",
    ] {
        assert!(seen.contains(must), "{must} missing\n{run}");
    }
    assert!(!seen.contains("EDITOR") && !seen.contains(PLAIN.0), "{run}");
    assert!(!run.stdout().contains(PLANTED[0].1), "{run}");
    // Control: without --env-clear the same variables arrive.
    let run = nono(&env, &["run", "--", "/usr/bin/env"]);
    run.expect_stdout_has(PLAIN.0);
}

#[test]
fn profiles_keep_their_own_keys_and_nothing_else() {
    let env = TestEnv::new();
    let probe =
        "printenv ANTHROPIC_API_KEY; printenv OPENAI_API_KEY; printenv GITHUB_TOKEN; echo done";
    for (profile, kept, removed) in [
        ("claude-code", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"),
        ("codex", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
    ] {
        let mut cmd = env.command(["run", "-p", profile, "--", "/bin/sh", "-c", probe]);
        cmd.env("ANTHROPIC_API_KEY", "nono-marker-anthropic-1")
            .env("OPENAI_API_KEY", "nono-marker-openai-2");
        let run = with_planted(cmd);
        run.expect_ok().expect_stdout_has("done");
        let value = |n: &str| {
            if n == "ANTHROPIC_API_KEY" {
                "nono-marker-anthropic-1"
            } else {
                "nono-marker-openai-2"
            }
        };
        run.expect_stdout_has(value(kept))
            .expect_stdout_lacks(value(removed))
            .expect_stdout_lacks(PLANTED[0].1);
        assert!(!run.stderr().contains("nono-marker"), "{run}");
    }

    env.nono(["profile", "show", "codex"])
        .expect_ok()
        .expect_stdout_has("environment kept: OPENAI_API_KEY, CODEX_API_KEY");

    // A user profile: allow, set and clear, with errors naming file and line.
    let p = env.root.join("mine.toml");
    std::fs::write(
        &p,
        "[env]\nallow = [\"GITHUB_*\"]\nset = { NONO_FROM_PROFILE = \"yes\" }\nclear = true\n",
    )
    .unwrap();
    let run = nono(
        &env,
        &["run", "-p", p.to_str().unwrap(), "--", "/usr/bin/env"],
    );
    run.expect_ok()
        .expect_stdout_has(&format!("GITHUB_TOKEN={}", PLANTED[0].1))
        .expect_stdout_has("NONO_FROM_PROFILE=yes\n")
        .expect_stdout_lacks(PLAIN.0)
        .expect_stdout_lacks(PLANTED[1].1);
    std::fs::write(&p, "[env]\nset = { \"BAD-NAME\" = \"x\" }\n").unwrap();
    nono(&env, &["run", "-p", p.to_str().unwrap(), "--", "true"])
        .expect_nono_error("mine.toml:2:")
        .expect_stderr_has("BAD-NAME");
    std::fs::write(&p, "[env]\nallow = [\"OK\", \"A=B\"]\n").unwrap();
    nono(&env, &["run", "-p", p.to_str().unwrap(), "--", "true"])
        .expect_nono_error("mine.toml:2:")
        .expect_stderr_has("env.allow");
    // A secret is never expanded into a rule path (which --dry-run prints).
    std::fs::write(&p, "[filesystem]\nread = [\"/tmp/${GITHUB_TOKEN}?\"]\n").unwrap();
    for args in [
        vec!["run", "-p", p.to_str().unwrap(), "--", "true"],
        vec!["run", "--dry-run", "-p", p.to_str().unwrap(), "--", "true"],
    ] {
        let run = nono(&env, &args);
        run.expect_nono_error("mine.toml:2:")
            .expect_stderr_has("$GITHUB_TOKEN is not expanded");
        expect_no_marker(&run);
    }
    std::fs::write(
        &p,
        "[filesystem]\nread = [\"/tmp/$NONO_TEST_PLAIN_SETTING?\"]\n",
    )
    .unwrap();
    nono(&env, &["run", "-p", p.to_str().unwrap(), "--", "true"]).expect_ok();
    std::fs::write(&p, "[env]\nkeep = [\"X\"]\n").unwrap();
    nono(&env, &["run", "-p", p.to_str().unwrap(), "--", "true"]).expect_nono_error("keep");
}

#[test]
fn dry_run_lists_names_and_reasons_never_values() {
    let env = TestEnv::new();
    let args = [
        "run",
        "--dry-run",
        "--allow-env",
        "FOO_*",
        "--env",
        "NONO_SET_THREE=nono-marker-set-3",
        "--",
        "true",
    ];
    let run = nono(&env, &args);
    run.expect_ok()
        .expect_stdout_has("environment (names only; values are never shown):")
        .expect_stdout_has("removed  GITHUB_TOKEN: its name matches the secret pattern *TOKEN* (tokens)")
        .expect_stdout_has("removed  SSH_AUTH_SOCK: its name matches the secret pattern SSH_AUTH_SOCK (agent sockets)")
        .expect_stdout_has("removed  DATABASE_URL: its value is a URL with a password in it")
        .expect_stdout_has("kept     FOO_API_KEY: kept by --allow-env FOO_*")
        .expect_stdout_has("set      NONO_SET_THREE: set by --env");
    expect_no_marker(&run);

    let mut json_args = args.to_vec();
    json_args.insert(2, "--json");
    let run = nono(&env, &json_args);
    run.expect_ok();
    expect_no_marker(&run);
    let doc: Value = run.json();
    let vars = doc["env"]["vars"].as_array().unwrap();
    let get = |n: &str| {
        vars.iter()
            .find(|v| v["name"] == n)
            .unwrap_or_else(|| panic!("{n} not listed\n{run}"))
    };
    assert_eq!(get("GITHUB_TOKEN")["action"], "removed");
    assert_eq!(get("GITHUB_TOKEN")["reason"]["code"], "secret_name");
    assert_eq!(get("GITHUB_TOKEN")["reason"]["pattern"], "*TOKEN*");
    assert_eq!(get("DATABASE_URL")["reason"]["code"], "secret_value");
    assert_eq!(get("FOO_API_KEY")["action"], "kept");
    assert_eq!(get("FOO_API_KEY")["reason"]["overrides"], "secret_name");
    assert_eq!(get("NONO_SET_THREE")["action"], "set");
    assert_eq!(get("NONO_SET_THREE")["inherited"], false);
    assert_eq!(get("TMPDIR")["reason"]["code"], "temp_dir");
    assert_eq!(get(PLAIN.0)["reason"]["code"], "inherited");
    assert_eq!(doc["env"]["clear"], false);
}

#[test]
fn why_env_answers_like_run_does() {
    let env = TestEnv::new();
    let policy: &[&str] = &["--allow-env", "AWS_*", "--env", "NONO_SET_FOUR=4"];
    let mut run_args = vec!["run"];
    run_args.extend_from_slice(policy);
    run_args.extend_from_slice(&["--", "/usr/bin/env"]);
    let inside = names(&nono(&env, &run_args).stdout());
    let asked: Vec<&str> = PLANTED
        .iter()
        .map(|(k, _)| *k)
        .chain([PLAIN.0, "NONO_SET_FOUR", "TMPDIR"])
        .collect();
    for name in asked {
        let mut why = vec!["why"];
        why.extend_from_slice(policy);
        why.extend_from_slice(&["--env", name]);
        let run = nono(&env, &why);
        expect_no_marker(&run);
        let reaches = inside.contains(name);
        run.expect_code(if reaches { 0 } else { 1 });
        let head = if reaches { "KEPT: " } else { "REMOVED: " };
        let head = if name == "NONO_SET_FOUR" || name == "TMPDIR" {
            "SET: "
        } else {
            head
        };
        assert!(run.stdout().starts_with(head), "{name}\n{run}");
        if !reaches {
            run.expect_stdout_has(&format!("add --allow-env {name}"));
        }

        why.insert(1, "--json");
        let run = nono(&env, &why);
        expect_no_marker(&run);
        let doc: Value = run.json();
        assert_eq!(doc["subject"], "env");
        assert_eq!(doc["allowed"], reaches, "{name}\n{run}");
        assert_eq!(doc["env"]["name"], name);
    }

    // A profile's key, and a name that is not set: judged by the name.
    let run = env.nono(["why", "-p", "claude-code", "--env", "ANTHROPIC_API_KEY"]);
    run.expect_ok()
        .expect_stdout_has("kept by profile claude-code (env.allow)")
        .expect_stdout_has("not set in nono's environment now");
    env.nono(["why", "--env", "SOME_PASSWORD"])
        .expect_code(1)
        .expect_stdout_has("*PASSWORD*");
    // One question at a time; a bad --env NAME=VALUE is refused like run.
    env.nono(["why", "--env", "A", "--command", "ls"])
        .expect_nono_error("one question at a time");
    env.nono(["why", "--env", "1X=2", "--env", "A"])
        .expect_nono_error("--env: invalid variable name");
}

#[test]
fn no_value_appears_in_any_output_even_at_trace_level() {
    let env = TestEnv::new();
    let set = "NONO_SET_FIVE=nono-marker-set-5";
    let cases: Vec<Vec<&str>> = vec![
        vec!["-vvv", "run", "--env", set, "--", "true"],
        vec!["-vvv", "run", "--env-clear", "--env", set, "--", "true"],
        vec!["-vvv", "run", "--dry-run", "--env", set, "--", "true"],
        vec![
            "-vvv",
            "run",
            "--dry-run",
            "--json",
            "--env",
            set,
            "--",
            "true",
        ],
        vec!["-vvv", "why", "--env", set, "--env", "GITHUB_TOKEN"],
        vec!["-vvv", "why", "--json", "--env", "DATABASE_URL"],
        vec!["-vvv", "why", "--env", set, "/"],
        // Failures: not found, blocked, bad option.
        vec!["-vvv", "run", "--env", set, "--", "/nonexistent-nono-cmd"],
        vec!["-vvv", "run", "--env", set, "--", "rm", "x"],
        vec!["-vvv", "run", "--env", "1=nono-marker-bad-6", "--", "true"],
        vec!["-vvv", "profile", "show", "claude-code"],
        vec!["-vvv", "setup"],
    ];
    for args in cases {
        let run = nono(&env, &args);
        expect_no_marker(&run);
        assert!(
            !run.stdout().contains("nono-marker") && !run.stderr().contains("nono-marker"),
            "{run}"
        );
        let mut cmd = env.command(&args);
        cmd.env("NONO_LOG", "trace");
        let run = with_planted(cmd);
        expect_no_marker(&run);
    }
    // The trace logs were written (the check above saw real logs).
    nono(&env, &["-vvv", "run", "--", "true"]).expect_stderr_has("environment");
}

#[test]
fn path_set_with_env_is_where_the_command_is_looked_up() {
    let env = TestEnv::new();
    let bin = env.root.join("bin");
    std::fs::create_dir(&bin).unwrap();
    env.script("bin/only-here", "#!/bin/sh\necho found-it\n");
    let path = format!("PATH={}:/usr/bin:/bin", sh_path(&bin));
    let run = env.nono([
        "run",
        "--read",
        bin.to_str().unwrap(),
        "--env",
        &path,
        "--",
        "only-here",
    ]);
    run.expect_ok().expect_stdout_has("found-it");
    // Control: with nono's PATH it is not found.
    env.nono(["run", "--read", bin.to_str().unwrap(), "--", "only-here"])
        .expect_code(127);
    // why --command looks where run looks.
    env.nono(["why", "--env", &path, "--command", "only-here"])
        .expect_ok()
        .expect_stdout_has(&format!("found: {}", sh_path(&bin.join("only-here"))));
    env.nono(["why", "--command", "only-here"])
        .expect_stdout_has("not found in PATH");
}
