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
    // Without the config: git stops.
    env.sandboxed(&["--allow", "."], &add)
        .expect_fail()
        .expect_stderr_has(".gitconfig");
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
