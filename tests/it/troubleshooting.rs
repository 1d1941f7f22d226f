//! The troubleshooting advice (README.md, `--dry-run`'s "known to fail
//! here, and the fix") is true: each failure happens in the sandbox as
//! described, the advised option fixes it, the dry run gives the advice,
//! and the same command works without nono (the control).

use crate::common;

use std::fs;
use std::process::Command;

use common::*;

fn dry_run_advises(env: &TestEnv, grants: &[&str], argv: &[&str], has: &str) {
    let mut args = vec!["run", "--dry-run"];
    args.extend(grants);
    args.push("--");
    args.extend(argv);
    env.nono(&args)
        .expect_ok()
        .expect_stdout_has("known to fail here, and the fix")
        .expect_stdout_has(has);
    let mut json = vec!["run", "--dry-run", "--json"];
    json.extend(grants);
    json.push("--");
    json.extend(argv);
    let r = env.nono(&json);
    let doc: serde_json::Value = r.json();
    let advice = doc["advice"].as_array().expect("advice");
    assert!(
        advice
            .iter()
            .any(|a| a.as_str().unwrap_or("").contains(has)),
        "{r}"
    );
}

fn git(env: &TestEnv, args: &[&str]) {
    let out = env.in_tree("/usr/bin/git").args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
fn git_needs_its_config_and_delete_rights() {
    if !have("/usr/bin/git") {
        return skip("no /usr/bin/git");
    }
    let env = TestEnv::new();
    fs::write(
        env.home.join(".gitconfig"),
        "[user]\n\tname = T\n\temail = t@example.com\n",
    )
    .unwrap();
    git(&env, &["init", "-q"]);
    fs::write(env.work.join("a"), "a\n").unwrap();
    let add = ["/usr/bin/git", "add", "a"];
    // Without the config git runs without it (GIT_CONFIG_GLOBAL, see
    // git_env.rs) and stops only at the index update; the advice names
    // the grant that gives it the user's configuration.
    let r = env.sandboxed(&["--allow", "."], &add);
    r.expect_fail()
        .expect_stderr_has("index.lock")
        .expect_stderr_lacks(".gitconfig");
    let _ = fs::remove_file(env.work.join(".git/index.lock"));
    dry_run_advises(&env, &["--allow", "."], &add, "--read ~/.gitconfig");
    // With it, delete protection stops the index update.
    let r = env.sandboxed(&["--allow", ".", "--read", "~/.gitconfig"], &add);
    r.expect_fail().expect_stderr_has("index.lock");
    dry_run_advises(
        &env,
        &["--allow", ".", "--read", "~/.gitconfig"],
        &add,
        "--allow-delete .",
    );
    // The advice: remove the stale lock, add --allow-delete .
    let _ = fs::remove_file(env.work.join(".git/index.lock"));
    env.sandboxed(
        &[
            "--allow",
            ".",
            "--allow-delete",
            ".",
            "--read",
            "~/.gitconfig",
        ],
        &add,
    )
    .expect_ok();
    let ls = Command::new("/usr/bin/git")
        .args(["ls-files"])
        .current_dir(&env.work)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ls.stdout), "a\n");
}

#[test]
fn sqlite_needs_delete_for_its_journal() {
    let Some(sqlite) = system_program("sqlite3") else {
        return skip("no sqlite3 in a system directory");
    };
    let env = TestEnv::new();
    // Control: outside nono.
    env.plain(&[
        &sqlite,
        "t.db",
        "create table x(a); insert into x values(1);",
    ])
    .expect_ok();
    let insert = [sqlite.as_str(), "t.db", "insert into x values(2);"];
    env.sandboxed(&["--allow", "."], &insert).expect_fail();
    dry_run_advises(&env, &["--allow", "."], &insert, "--allow-delete");
    env.sandboxed(&["--allow", ".", "--allow-delete", "."], &insert)
        .expect_ok();
    env.plain(&[&sqlite, "t.db", "select count(*) from x;"])
        .expect_ok()
        .expect_stdout_has("2");
}

#[test]
fn python_multiprocessing_needs_dev_shm() {
    if !have(PYTHON) {
        return skip(format!("no {PYTHON}"));
    }
    let env = TestEnv::new();
    let lock = [
        PYTHON,
        "-c",
        "import multiprocessing as m; m.Lock(); print('locked')",
    ];
    let control = env.plain(&lock);
    if !control.stdout().contains("locked") {
        return skip(format!(
            "multiprocessing does not work here without nono either\n{control}"
        ));
    }
    if mount_layer_active() {
        // The mount layer gives every run a private /dev/shm.
        env.sandboxed(&[], &lock)
            .expect_ok()
            .expect_stdout_has("locked");
        return;
    }
    env.sandboxed(&[], &lock)
        .expect_fail()
        .expect_stderr_has("PermissionError");
    dry_run_advises(&env, &[], &lock, "--allow /dev/shm --allow-delete /dev/shm");
    env.sandboxed(
        &["--allow", "/dev/shm", "--allow-delete", "/dev/shm"],
        &lock,
    )
    .expect_ok()
    .expect_stdout_has("locked");
}

#[test]
fn python_venv_needs_delete_rights() {
    if !have(PYTHON) {
        return skip(format!("no {PYTHON}"));
    }
    let env = TestEnv::new();
    let control = env.plain(&[PYTHON, "-m", "venv", "control-venv"]);
    if control.code() != Some(0) {
        return skip(format!(
            "python -m venv does not work here without nono either\n{control}"
        ));
    }
    let venv = [PYTHON, "-m", "venv", "v"];
    env.sandboxed(&["--allow", "."], &venv).expect_fail();
    dry_run_advises(&env, &["--allow", "."], &venv, "--allow-delete");
    fs::remove_dir_all(env.work.join("v")).unwrap();
    env.sandboxed(&["--allow", ".", "--allow-delete", "."], &venv)
        .expect_ok();
    assert!(env.work.join("v/bin/pip").exists());
}

/// A program in the home that no grant covers: `run` ends with 126 and
/// `--dry-run` says so beforehand (text and JSON), from the same decision.
#[test]
fn dry_run_says_when_the_command_itself_cannot_be_executed() {
    let env = TestEnv::new();
    let tools = env.home.join("tools");
    fs::create_dir_all(&tools).unwrap();
    let prog = tools.join("hello");
    fs::write(&prog, "#!/bin/sh\necho hello-ran\n").unwrap();
    fs::set_permissions(&prog, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let p = prog.to_str().unwrap();
    // Control: it runs without nono.
    env.plain(&[p]).expect_ok().expect_stdout_has("hello-ran");
    let run = env.sandboxed(&["--allow", "."], &[p]);
    run.expect_code(126)
        .expect_stdout_lacks("hello-ran")
        .expect_stderr_has("permission denied by the sandbox");
    let dry = env.nono(["run", "--allow", ".", "--dry-run", "--", p]);
    dry.expect_ok()
        .expect_stdout_has("DENIED: cannot execute")
        .expect_stdout_has("nono run would exit 126");
    let json = env.nono(["run", "--allow", ".", "--dry-run", "--json", "--", p]);
    let denied = json.json()["exec_denied"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(denied.contains(p), "{json}");
    // Granted, it runs, and the dry run has nothing to say.
    env.sandboxed(&["--allow", ".", "--read", tools.to_str().unwrap()], &[p])
        .expect_ok()
        .expect_stdout_has("hello-ran");
    let json = env.nono([
        "run",
        "--allow",
        ".",
        "--read",
        tools.to_str().unwrap(),
        "--dry-run",
        "--json",
        "--",
        p,
    ]);
    assert!(json.json()["exec_denied"].is_null(), "{json}");
}

/// `git init` saves `.git/config` and `HEAD` by rename: without delete
/// rights it fails and leaves a `.git/*.lock`; the dry run says so beforehand and
/// `--allow-delete .` is the fix.
#[test]
fn git_init_needs_delete_rights() {
    if !have("/usr/bin/git") {
        return skip("no /usr/bin/git");
    }
    let env = TestEnv::new();
    let init = ["/usr/bin/git", "init", "-q", "."];
    dry_run_advises(&env, &["--allow", "."], &init, "--allow-delete .");
    let r = env.sandboxed(&["--allow", "."], &init);
    r.expect_fail();
    // The lock it could not rename or remove (`config.lock` or, with
    // older git, `HEAD.lock`) stays.
    let locks: Vec<_> = fs::read_dir(env.work.join(".git"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".lock"))
        .collect();
    assert!(!locks.is_empty(), "no lock left: {r}");
    fs::remove_dir_all(env.work.join(".git")).unwrap();
    env.sandboxed(&["--allow", ".", "--allow-delete", "."], &init)
        .expect_ok();
    assert!(env.work.join(".git/config").exists());
}

/// python saves bytecode by renaming a temporary file into place: where
/// the project has no delete rights each run would leave one temporary
/// file per module in `__pycache__`. nono sets PYTHONDONTWRITEBYTECODE
/// there; with the caller's own (empty) value kept, the litter appears.
#[test]
fn python_leaves_no_bytecode_litter_without_delete_rights() {
    let py = "/usr/bin/python3";
    if !have(py) {
        return skip("no /usr/bin/python3");
    }
    let env = TestEnv::new();
    fs::write(env.work.join("m.py"), "def f():\n    return 7\n").unwrap();
    fs::write(env.work.join("main.py"), "import m\nprint(m.f())\n").unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--allow", "."];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", py, "main.py"]);
        let mut cmd = env.command(&args);
        cmd.env_remove("PYTHONDONTWRITEBYTECODE");
        Run::from(cmd)
    };
    let cache = env.work.join("__pycache__");
    let litter = || -> Vec<String> {
        fs::read_dir(&cache)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.ends_with(".pyc"))
                    .collect()
            })
            .unwrap_or_default()
    };
    // Control: python told to write bytecode leaves its temporary file.
    run(&["--env", "PYTHONDONTWRITEBYTECODE="])
        .expect_ok()
        .expect_stdout_has("7");
    assert!(
        !litter().is_empty(),
        "the control left nothing: it proves nothing"
    );
    fs::remove_dir_all(&cache).unwrap();
    // nono's choice: the program works and nothing is left.
    run(&[]).expect_ok().expect_stdout_has("7");
    assert!(litter().is_empty(), "left behind: {:?}", litter());
    // With delete rights python saves its bytecode as usual.
    if !below_scoped_truncation() {
        run(&["--allow-delete", "."]).expect_ok();
        assert!(cache.exists(), "no bytecode saved with delete rights");
        assert!(litter().is_empty(), "left behind: {:?}", litter());
    }
}
