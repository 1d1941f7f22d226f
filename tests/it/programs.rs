//! Real programs work under `--allow .`: the system defaults are enough
//! for shells, coreutils, interpreters and build tools, and each test
//! checks their real output, not only their exit status.
//!
//! Programs are named by absolute path where PATH may hold a shim in a home
//! directory (pyenv's python3): the sandbox does not grant that home.

// Linux-only: Debian paths (/usr/bin/python3, sqlite3) and Linux-only
// probes. The macOS suite is tests/it/macos.rs.
#![cfg(target_os = "linux")]

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// Skips (with the reason on stderr) when `program` is not installed.
macro_rules! require {
    ($program:expr) => {
        if !have($program) {
            return skip(format!("{} is not installed", $program));
        }
    };
}

#[test]
fn bash_runs_scripts() {
    require!("/bin/bash");
    let env = TestEnv::new();
    env.sandboxed(
        &["--allow", "."],
        &[
            "bash",
            "-c",
            "set -euo pipefail; declare -A m=([a]=1 [b]=2); \
             for k in \"${!m[@]}\"; do echo \"$k=${m[$k]}\"; done | sort > kv.txt; \
             mapfile -t lines < kv.txt; echo \"${#lines[@]} ${lines[1]}\"; \
             [[ $(cat keep.txt) == precious ]] && echo matched",
        ],
    )
    .expect_ok()
    .expect_stdout_has("2 b=2")
    .expect_stdout_has("matched");
    assert_eq!(read(&env.work.join("kv.txt")), "a=1\nb=2\n");
}

#[test]
fn coreutils_work() {
    let env = TestEnv::new();
    let r = env.sandboxed_sh(
        &["--allow", "."],
        "set -e; mkdir -p d/e; touch d/e/t; printf 'c\\nb\\na\\nb\\n' > l.txt; \
         ls d/e; cat l.txt | wc -l; sort -u l.txt | head -n 2 | tr '\\n' ,; echo; \
         ls -l keep.txt | cut -c1; stat -c %s keep.txt; basename \"$PWD\"; \
         date +%Y >/dev/null; id -u >/dev/null; env | grep -c '^HOME=' ; \
         cat keep.txt | tee copy.txt | md5sum | cut -c1-8; uniq -c l.txt | wc -l",
    );
    r.expect_ok()
        .expect_stdout_has("t\n4\na,b,\n-\n9\nwork\n1\n")
        .expect_stdout_has("\n4\n");
    assert_eq!(read(&env.work.join("copy.txt")), "precious\n");
    assert!(env.work.join("d/e/t").is_file());
}

#[test]
fn grep_sed_find_awk_work() {
    let env = TestEnv::new();
    fs::create_dir_all(env.work.join("src/deep")).unwrap();
    fs::write(env.work.join("src/a.rs"), "fn main() {}\n// TODO one\n").unwrap();
    fs::write(env.work.join("src/deep/b.rs"), "// TODO two\nlet x = 1;\n").unwrap();
    let r = env.sandboxed_sh(
        &["--allow", "."],
        "set -e; grep -rn TODO src | sort; \
         sed -n 's/^let \\(.*\\) = .*/var \\1/p' src/deep/b.rs; \
         find . -name '*.rs' -type f | sort; \
         find src -newer keep.txt -name b.rs | wc -l; \
         awk -F= '/let/ {print \"awk:\" $2}' src/deep/b.rs",
    );
    r.expect_ok()
        .expect_stdout_has("src/a.rs:2:// TODO one\nsrc/deep/b.rs:1:// TODO two\n")
        .expect_stdout_has("var x\n")
        .expect_stdout_has("./src/a.rs\n./src/deep/b.rs\n")
        .expect_stdout_has("awk: 1;");
}

#[test]
fn python3_works() {
    require!(PYTHON);
    let env = TestEnv::new();
    let code = r#"
import json, os, subprocess, sys, tempfile, sqlite3
with open("out.json", "w") as f:
    json.dump({"n": 42}, f)
print("read", json.load(open("out.json"))["n"])
with tempfile.NamedTemporaryFile("w", delete=True) as t:
    t.write("x")
    print("tempfile in TMPDIR", t.name.startswith(os.environ["TMPDIR"]))
print("child", subprocess.run(["/bin/echo", "sub"], capture_output=True, text=True).stdout.strip())
"#;
    env.sandboxed(&["--allow", "."], &[PYTHON, "-c", code])
        .expect_ok()
        .expect_stdout_has("read 42")
        .expect_stdout_has("tempfile in TMPDIR True")
        .expect_stdout_has("child sub");
    assert_eq!(read(&env.work.join("out.json")), "{\"n\": 42}");
}

#[test]
fn sqlite_needs_allow_delete_for_its_journal() {
    require!(PYTHON);
    let code = |mode: &str| {
        format!(
            "import sqlite3; db = sqlite3.connect('d.db'); db.execute('pragma journal_mode={mode}'); \
             db.execute('create table if not exists t(x)'); db.execute('insert into t values (7)'); \
             db.commit(); print('rows', db.execute('select count(*) from t').fetchone()[0])"
        )
    };
    // The default rollback journal is deleted after each transaction.
    let env = TestEnv::new();
    env.sandboxed(
        &["--allow", ".", "--allow-delete", "."],
        &[PYTHON, "-c", &code("delete")],
    )
    .expect_ok()
    .expect_stdout_has("rows 1");
    let env = TestEnv::new();
    env.sandboxed(&["--allow", "."], &[PYTHON, "-c", &code("delete")])
        .expect_fail()
        .expect_stderr_has("disk I/O error");
    // A journal that is overwritten instead of deleted needs no delete right.
    let env = TestEnv::new();
    for n in ["rows 1", "rows 2"] {
        env.sandboxed(&["--allow", "."], &[PYTHON, "-c", &code("persist")])
            .expect_ok()
            .expect_stdout_has(n);
    }
}

#[test]
fn python3_cannot_reach_the_home() {
    require!(PYTHON);
    let env = TestEnv::new();
    let code = "import os; print(open(os.environ['HOME'] + '/.ssh/id_ed25519').read())";
    env.plain(&[PYTHON, "-c", code])
        .expect_ok()
        .expect_stdout_has(SECRET);
    env.sandboxed(&["--allow", "."], &[PYTHON, "-c", code])
        .expect_fail()
        .expect_stdout_lacks(SECRET)
        .expect_stderr_has("PermissionError");
}

#[test]
fn node_works() {
    let Some(node) = system_program("node") else {
        return skip("node is not installed in a system directory");
    };
    let env = TestEnv::new();
    let code = r#"
const fs = require("fs"), os = require("os"), cp = require("child_process");
fs.writeFileSync("n.txt", "from node\n");
console.log("read", fs.readFileSync("keep.txt", "utf8").trim());
console.log("tmp", os.tmpdir() === process.env.TMPDIR);
fs.writeFileSync(os.tmpdir() + "/t", "t"); fs.unlinkSync(os.tmpdir() + "/t");
console.log("child", cp.execFileSync("/bin/echo", ["sub"]).toString().trim());
try { fs.readFileSync(process.env.HOME + "/.ssh/id_ed25519"); console.log("LEAK"); }
catch (e) { console.log("denied", e.code); }
"#;
    env.sandboxed(&["--allow", "."], &[&node, "-e", code])
        .expect_ok()
        .expect_stdout_has("read precious")
        .expect_stdout_has("tmp true")
        .expect_stdout_has("child sub")
        .expect_stdout_has("denied EACCES")
        .expect_stdout_lacks("LEAK");
    assert_eq!(read(&env.work.join("n.txt")), "from node\n");
}

#[test]
fn git_works_with_allow_delete() {
    let env = TestEnv::new();
    let id = "-c user.name=nono-test -c user.email=test@nono.invalid \
              -c init.defaultBranch=main -c commit.gpgsign=false";
    let r = env.sandboxed_sh(
        &["--allow", ".", "--allow-delete", "."],
        &format!(
            "set -e; git {id} init -q; git add keep.txt; git {id} commit -qm one; \
             git checkout -qb feature; echo two >> keep.txt; git {id} commit -qam two; \
             git checkout -q main; cat keep.txt; git {id} merge -q --ff-only feature; \
             git log --format=%s; git diff HEAD~1 --stat | tail -1; git status --porcelain; \
             git branch --list"
        ),
    );
    r.expect_ok()
        .expect_stdout_has("precious\ntwo\none\n")
        .expect_stdout_has("1 file changed, 1 insertion(+)")
        .expect_stdout_has("  feature\n* main\n");
    assert_eq!(read(&env.work.join("keep.txt")), "precious\ntwo\n");
}

#[test]
fn make_runs_rules() {
    if system_program("make").is_none() {
        return skip("make is not installed");
    }
    let env = TestEnv::new();
    fs::write(
        env.work.join("Makefile"),
        "all: out/result.txt\n\
         out/result.txt: keep.txt | out\n\
         \tcat keep.txt > $@\n\
         \techo built-by-make >> $@\n\
         out:\n\
         \tmkdir -p out\n",
    )
    .unwrap();
    env.sandboxed(&["--allow", "."], &["make"])
        .expect_ok()
        .expect_stdout_has("mkdir -p out");
    assert_eq!(
        read(&env.work.join("out/result.txt")),
        "precious\nbuilt-by-make\n"
    );
    // Up to date the second time: make reads timestamps fine.
    env.sandboxed(&["--allow", "."], &["make"])
        .expect_ok()
        .expect_stdout_has("Nothing to be done");
}

/// The cargo this test suite was started by (not a rustup proxy) and its
/// toolchain directory, when this user can run it.
fn toolchain() -> Option<(PathBuf, PathBuf)> {
    let cargo = PathBuf::from(std::env::var_os("CARGO")?);
    let toolchain = cargo.parent()?.parent()?.to_path_buf();
    let ok = std::process::Command::new(&cargo)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some((cargo, toolchain))
}

#[test]
fn cargo_builds_and_runs_a_crate() {
    let Some((cargo, toolchain)) = toolchain() else {
        return skip(
            "no cargo runnable by this user (CARGO unset or not executable, \
             e.g. the toolchain lives under /root and this is uid 65534)",
        );
    };
    let rustc = toolchain.join("bin/rustc");
    let make_crate = |env: &TestEnv| {
        fs::write(
            env.work.join("Cargo.toml"),
            "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .unwrap();
        fs::create_dir(env.work.join("src")).unwrap();
        fs::write(
            env.work.join("src/main.rs"),
            "fn main() { println!(\"hello from {}\", std::env::args().nth(1).unwrap()); }\n",
        )
        .unwrap();
        fs::create_dir(env.work.join("target")).unwrap();
        fs::create_dir(env.root.join("cargo-home")).unwrap();
    };
    // A private CARGO_HOME and the toolchain's own rustc: no rustup proxy,
    // no registry, nothing from the invoking user's home.
    let cargo_env = |cmd: &mut std::process::Command, env: &TestEnv| {
        cmd.env("CARGO_HOME", env.root.join("cargo-home"))
            .env("RUSTC", &rustc)
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .env_remove("RUSTC_WRAPPER");
    };
    let cargo_cmd = |env: &TestEnv, args: &[&str]| {
        let mut cmd = env.command(args);
        cargo_env(&mut cmd, env);
        cmd
    };
    let cargo_s = cargo.to_str().unwrap();

    // Control: the same build without nono, which also writes Cargo.lock.
    let ctl = TestEnv::new();
    make_crate(&ctl);
    let mut plain = std::process::Command::new(cargo_s);
    plain
        .args(["run", "--offline", "-q", "--", "control"])
        .current_dir(&ctl.work)
        .env("HOME", &ctl.home);
    cargo_env(&mut plain, &ctl);
    Run::from(plain)
        .expect_ok()
        .expect_stdout_has("hello from control");

    // cargo writes Cargo.lock by opening and then ftruncate()ing it, which
    // delete protection denies; a project that has one only needs delete
    // under target/.
    let env = TestEnv::new();
    make_crate(&env);
    fs::copy(ctl.work.join("Cargo.lock"), env.work.join("Cargo.lock")).unwrap();
    let tc = toolchain.to_str().unwrap().to_string();
    let cargo_home = env.root.join("cargo-home");
    let cargo_home = cargo_home.to_str().unwrap();
    let args = [
        "run",
        "--allow",
        ".",
        "--allow-delete",
        "./target",
        "--read",
        &tc,
        "--allow",
        cargo_home,
        "--",
        cargo_s,
        "run",
        "--offline",
        "-q",
        "--",
        "sandbox",
    ];
    Run::from(cargo_cmd(&env, &args))
        .expect_ok()
        .expect_stdout_has("hello from sandbox");
    assert!(env.work.join("target/debug/hello").is_file());
    // A rebuild replaces files under target/: that is what --allow-delete is for.
    fs::write(
        env.work.join("src/main.rs"),
        "fn main() { println!(\"rebuilt\"); }\n",
    )
    .unwrap();
    Run::from(cargo_cmd(&env, &args))
        .expect_ok()
        .expect_stdout_has("rebuilt");
    // Without --allow-delete the build fails, and the old binary survives.
    fs::write(
        env.work.join("src/main.rs"),
        "fn main() { println!(\"third\"); }\n",
    )
    .unwrap();
    let no_delete: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--allow-delete" && *a != "./target")
        .collect();
    Run::from(cargo_cmd(&env, &no_delete))
        .expect_fail()
        .expect_stdout_lacks("third");
    assert!(Path::new(&env.work.join("target/debug/hello")).is_file());
}

#[test]
fn interactive_bash_under_a_terminal() {
    // script(1) gives the sandboxed shell a real pty: job control and
    // terminal ioctls (stty, tcsetpgrp) must work, the home must not.
    require!("/usr/bin/script");
    require!("/bin/bash");
    let env = TestEnv::new();
    let nono = sh_path(&nono_bin());
    let o = sh_path(&env.outside);
    let inner = format!(
        "{nono} run --allow . -- bash -i -c 'tty; stty -echo; stty echo; sleep 0.1 & wait; \
         echo job-control-ok; cat keep.txt; cat {o}/marker.txt'"
    );
    // Control: the same pty session without nono reads the marker.
    let control = format!("bash -i -c 'cat {o}/marker.txt'");
    env.plain(&["/usr/bin/script", "-qec", &control, "/dev/null"])
        .expect_stdout_has(SECRET);
    let r = env.plain(&["/usr/bin/script", "-qec", &inner, "/dev/null"]);
    r.expect_stdout_has("/dev/pts/")
        .expect_stdout_has("job-control-ok")
        .expect_stdout_has("precious")
        .expect_stdout_lacks(SECRET)
        .expect_stdout_lacks("Inappropriate ioctl");
}
