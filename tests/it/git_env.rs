//! git as typed: `nono run --allow . -- git status` on a machine with a
//! `~/.gitconfig` the policy does not let the command read, and in a
//! repository the command may write but not rename in. Each test checks
//! the effect from outside (git's exit status and output, the lock file
//! on disk, the marker in the configuration not printed) and has a control
//! that shows the failure nono's variables avoid: the same run with the
//! caller's own value, which nono keeps.

use crate::common;

use std::fs;
use std::process::Command;

use common::*;

/// The value planted in the user's git configuration: it must never be
/// printed by a command that was not granted the file.
const NAME_MARKER: &str = "nono-marker-git-user-5d17";

/// A test tree whose home has a `~/.gitconfig` and whose work directory
/// is a repository with one committed file, made without nono.
fn repo() -> Option<TestEnv> {
    if system_program("git").is_none() {
        skip("git is not installed");
        return None;
    }
    let env = TestEnv::new();
    fs::write(
        env.home.join(".gitconfig"),
        format!("[user]\n\tname = {NAME_MARKER}\n\temail = t@example.invalid\n"),
    )
    .unwrap();
    let git = |args: &[&str]| {
        let out = clean(env.in_tree("git")).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "."]);
    git(&["add", "keep.txt"]);
    git(&["commit", "-qm", "first"]);
    Some(env)
}

/// Without the caller's git variables, so that nono decides them.
fn clean(mut cmd: Command) -> Command {
    for v in [
        "GIT_CONFIG_GLOBAL",
        "GIT_OPTIONAL_LOCKS",
        "XDG_CONFIG_HOME",
        "GIT_DIR",
        "GIT_WORK_TREE",
    ] {
        cmd.env_remove(v);
    }
    cmd
}

fn nono(env: &TestEnv, args: &[&str]) -> Run {
    Run::from(clean(env.command(args)))
}

fn nono_with(env: &TestEnv, var: (&str, &str), args: &[&str]) -> Run {
    let mut cmd = clean(env.command(args));
    cmd.env(var.0, var.1);
    Run::from(cmd)
}

const STATUS: &str =
    "git status --porcelain >/dev/null && echo status-ok; git config --global --get user.name; echo \"GCG=[$GIT_CONFIG_GLOBAL]\"";

#[test]
fn git_works_when_the_user_configuration_is_not_granted() {
    let Some(env) = repo() else { return };
    // Control 1: without nono git reads the configuration.
    let control = Run::from({
        let mut c = clean(env.in_tree("/bin/sh"));
        c.args(["-c", STATUS]);
        c
    });
    control
        .expect_ok()
        .expect_stdout_has("status-ok")
        .expect_stdout_has(NAME_MARKER);
    // Control 2: the failure nono avoids. With the caller pointing git at
    // the unreadable file itself (nono keeps the caller's value), git stops.
    let gitconfig = env.home.join(".gitconfig");
    let trap = nono_with(
        &env,
        ("GIT_CONFIG_GLOBAL", gitconfig.to_str().unwrap()),
        &["run", "--allow", ".", "--", "git", "status"],
    );
    assert_ne!(trap.code(), Some(0), "git read an ungranted file?\n{trap}");
    assert!(trap.stderr().contains("unable to access"), "{trap}");

    // Under --allow . git works and reads nothing of the home.
    let run = nono(
        &env,
        &["run", "--allow", ".", "--", "/bin/sh", "-c", STATUS],
    );
    run.expect_stdout_has("status-ok")
        .expect_stdout_has("GCG=[/dev/null]")
        .expect_stdout_lacks(NAME_MARKER)
        .expect_stderr_lacks(NAME_MARKER);
    // The file itself stays unreadable: the variable is not a grant.
    let cat = nono(
        &env,
        &[
            "run",
            "--allow",
            ".",
            "--",
            "/bin/cat",
            gitconfig.to_str().unwrap(),
        ],
    );
    assert_ne!(cat.code(), Some(0), "{cat}");
    cat.expect_stdout_lacks(NAME_MARKER);

    // Granted: git uses it and nono sets nothing.
    let granted = nono(
        &env,
        &[
            "run",
            "--allow",
            ".",
            "--read",
            gitconfig.to_str().unwrap(),
            "--",
            "/bin/sh",
            "-c",
            STATUS,
        ],
    );
    granted
        .expect_stdout_has("status-ok")
        .expect_stdout_has(NAME_MARKER)
        .expect_stdout_has("GCG=[]");
}

#[test]
fn the_readable_user_file_is_used_when_the_other_is_not() {
    let Some(env) = repo() else { return };
    let xdg = env.home.join(".config/git");
    fs::create_dir_all(&xdg).unwrap();
    fs::write(xdg.join("config"), "[user]\n\tname = from-xdg\n").unwrap();
    let run = nono(
        &env,
        &[
            "run",
            "--allow",
            ".",
            "--read",
            xdg.to_str().unwrap(),
            "--",
            "/bin/sh",
            "-c",
            STATUS,
        ],
    );
    run.expect_stdout_has("status-ok")
        .expect_stdout_has("from-xdg")
        .expect_stdout_lacks(NAME_MARKER)
        .expect_stdout_has(&format!("GCG=[{}]", xdg.join("config").display()));
}

#[test]
fn the_callers_own_value_is_kept_and_reported() {
    let Some(env) = repo() else { return };
    let run = nono_with(
        &env,
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        &[
            "run",
            "--allow",
            ".",
            "--",
            "/bin/sh",
            "-c",
            "echo \"GCG=[$GIT_CONFIG_GLOBAL]\"",
        ],
    );
    run.expect_ok().expect_stdout_has("GCG=[/dev/null]");
    // --dry-run and why say what nono sets, and why.
    let dry = nono(
        &env,
        &["run", "--allow", ".", "--dry-run", "--", "git", "status"],
    );
    dry.expect_ok()
        .expect_stdout_has("GIT_CONFIG_GLOBAL: set by nono to /dev/null")
        .expect_stdout_has("GIT_OPTIONAL_LOCKS: set by nono to 0")
        .expect_stdout_lacks(NAME_MARKER);
    let why = nono(
        &env,
        &[
            "why",
            "--env",
            "GIT_CONFIG_GLOBAL",
            "--allow",
            ".",
            "--json",
        ],
    );
    assert_eq!(why.json()["reason"]["code"], "git_config", "{why}");
    let why = nono(
        &env,
        &[
            "why",
            "--env",
            "GIT_OPTIONAL_LOCKS",
            "--allow",
            ".",
            "--json",
        ],
    );
    assert_eq!(why.json()["reason"]["code"], "git_optional_locks", "{why}");
    // With delete rights over the repository git can write its index:
    // no lock variable. (Below Landlock ABI 3 --allow-delete is refused.)
    if below_scoped_truncation() {
        return;
    }
    let dry = nono(
        &env,
        &[
            "run",
            "--allow",
            ".",
            "--allow-delete",
            ".",
            "--dry-run",
            "--",
            "git",
            "status",
        ],
    );
    dry.expect_ok().expect_stdout_lacks("GIT_OPTIONAL_LOCKS");
}

#[test]
fn git_status_leaves_no_index_lock_without_delete_rights() {
    let Some(env) = repo() else { return };
    let lock = env.work.join(".git/index.lock");
    // Make the index stale, so that `git status` wants to refresh it: the
    // file's times change, its content does not.
    let stale = || {
        let out = Command::new("touch")
            .args([
                "-d",
                "2001-01-01",
                env.work.join("keep.txt").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    // Control: with the caller's GIT_OPTIONAL_LOCKS=1 (kept by nono) the
    // refresh runs, cannot rename its lock over the index, and leaves it.
    stale();
    let trap = nono_with(
        &env,
        ("GIT_OPTIONAL_LOCKS", "1"),
        &["run", "--allow", ".", "--", "git", "status", "--porcelain"],
    );
    trap.expect_ok();
    assert!(
        lock.exists(),
        "the refresh did not take its lock: the control proves nothing\n{trap}"
    );
    // And that lock breaks the user's next git command outside.
    let outside = clean(env.in_tree("git"))
        .args(["add", "keep.txt"])
        .output()
        .unwrap();
    assert!(
        !outside.status.success(),
        "git worked with the lock in place"
    );
    fs::remove_file(&lock).unwrap();

    // nono's own choice: no optional lock, nothing left behind.
    stale();
    let run = nono(
        &env,
        &["run", "--allow", ".", "--", "git", "status", "--porcelain"],
    );
    run.expect_ok();
    assert!(
        !lock.exists(),
        "git status left {} behind\n{run}",
        lock.display()
    );
    let after = clean(env.in_tree("git"))
        .args(["add", "keep.txt"])
        .output()
        .unwrap();
    assert!(after.status.success(), "{after:?}");
}
