//! Start-up cost guards as counts of system calls (never as time), taken
//! with `strace -f -c` around the real binary:
//!
//! - the default policy's `--dry-run` stays under a bound that the old,
//!   one-open-per-path policy build exceeded;
//! - protected paths that no grant comes near cost no system call each:
//!   a home holding every protected name costs what an empty home costs;
//! - the answers are the same either way: the protected list reports the
//!   planted entries as present, and a grant of the home still leaves
//!   them out (checked from outside, by reading through the sandbox).
//!
//! Skipped, with the reason printed, where strace is missing or cannot
//! trace (some containers forbid ptrace).

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Names directly in the home, and in `~/.config`, that the built-in
/// protected list covers (a subset: enough to make a per-path cost show).
const HOME_NAMES: &[&str] = &[
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".oci",
    ".vault-token",
    ".kube",
    ".docker",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".password-store",
    ".pgpass",
    ".my.cnf",
    ".pki",
    ".mozilla",
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".histfile",
    ".sh_history",
    ".history",
    ".python_history",
    ".node_repl_history",
    ".psql_history",
    ".mysql_history",
    ".sqlite_history",
    ".lesshst",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".inputrc",
    ".gitconfig",
    ".vimrc",
    ".vim",
    ".emacs",
    ".emacs.d",
];
const CONFIG_NAMES: &[&str] = &[
    "gcloud",
    "doctl",
    "gh",
    "hub",
    "op",
    "google-chrome",
    "chromium",
    "BraveSoftware",
    "fish",
    "autostart",
    "systemd",
    "environment.d",
    "nono",
    "git",
    "nvim",
];

macro_rules! need_strace {
    () => {
        if let Err(why) = strace_usable() {
            return skip(why);
        }
    };
}

/// A fresh home (with an empty `~/.config`) in a fresh tree; `planted`
/// creates every protected name of [`HOME_NAMES`] and [`CONFIG_NAMES`],
/// half as directories and half as files holding the secret marker.
fn home(root: &Path, planted: bool) -> PathBuf {
    let h = root.join(if planted { "home-full" } else { "home-empty" });
    fs::create_dir_all(h.join(".config")).unwrap();
    if planted {
        let all = HOME_NAMES
            .iter()
            .map(|n| h.join(n))
            .chain(CONFIG_NAMES.iter().map(|n| h.join(".config").join(n)));
        for (i, p) in all.enumerate() {
            if i % 2 == 0 {
                fs::create_dir_all(&p).unwrap();
                fs::write(p.join("secret"), SECRET).unwrap();
            } else {
                fs::write(&p, SECRET).unwrap();
            }
        }
    }
    h
}

/// `nono ARGS` under `strace -f -c`: the total number of system calls.
fn syscalls(env: &TestEnv, home: &Path, args: &[&str]) -> u64 {
    let report = env.root.join("strace.txt");
    let out = Command::new(STRACE)
        .arg("-f")
        .arg("-c")
        .arg("-o")
        .arg(&report)
        .arg(nono_bin())
        .args(args)
        .current_dir(&env.work)
        .env("HOME", home)
        // A fixed PATH: the program directories it names are scanned, and
        // a developer's PATH should not move the count.
        .env("PATH", "/usr/bin:/bin")
        // The policy build is what is counted: the mount layer's probe
        // process and plan (a stat per mask) are its own cost, measured in
        // benches/.
        .env("NONO_TEST_NO_MOUNT_NS", "1")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nono {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&report).unwrap();
    // The last line: "100.00 <seconds> <usecs/call> <calls> [<errors>] total".
    let total = text
        .lines()
        .rev()
        .find(|l| l.trim_end().ends_with("total"))
        .unwrap_or_else(|| panic!("no total in strace's report:\n{text}"));
    total
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the count in {total:?}"))
}

const DRY_RUN: &[&str] = &["run", "--dry-run", "--", "/bin/true"];

#[test]
fn default_dry_run_syscalls_stay_bounded() {
    need_strace!();
    let env = TestEnv::new();
    let h = home(&env.root, true);
    let n = syscalls(&env, &h, DRY_RUN);
    eprintln!("default --dry-run: {n} system calls");
    // With one open per system default and protected path (and an fstat
    // and a close for each one present) this setup took about 1,000, and
    // about 1,700 once the protected list grew to ~450 entries and their
    // expansion bypassed the listings. With every built-in path answered
    // from one listing per shared parent it is about 610 in a debug build
    // (which adds an fcntl per closed descriptor): the dynamic loader,
    // the password database, program-directory scans, the symlinked
    // system defaults and output make the rest. The bound leaves room for
    // other machines, not for a cost per protected path.
    assert!(n < 900, "{n} system calls for the default --dry-run");
}

#[test]
fn protected_names_far_from_every_grant_cost_no_syscall_each() {
    need_strace!();
    let env = TestEnv::new();
    let empty = home(&env.root, false);
    let full = home(&env.root, true);
    let planted = (HOME_NAMES.len() + CONFIG_NAMES.len()) as u64;
    // The default policy grants nothing near the home. Same number of
    // directories in both homes; only the protected entries differ.
    let a = syscalls(&env, &empty, DRY_RUN);
    let b = syscalls(&env, &full, DRY_RUN);
    eprintln!("empty home: {a} system calls, {planted} protected entries present: {b}");
    // With one listing per parent both homes cost the same: a present
    // entry is answered from its parent's listing like an absent one
    // (the margin is for a longer listing taking another getdents).
    assert!(
        b <= a + 6,
        "{planted} present protected entries cost {} more system calls ({a} -> {b})",
        b.saturating_sub(a)
    );

    // Same answers: the planted entries are listed as present...
    let run = env
        .command(["run", "--dry-run", "--json", "--", "/bin/true"])
        .env("HOME", &full)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    assert!(run.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let listed = doc["protected"].as_array().unwrap();
    for n in HOME_NAMES {
        let p = full.join(n);
        let e = listed
            .iter()
            .find(|e| e["path"].as_str() == p.to_str())
            .unwrap_or_else(|| panic!("{} not in the protected list", p.display()));
        assert_eq!(e["exists"], true, "{}", p.display());
    }
    // ...and absent from the empty home.
    let run = env
        .command(["run", "--dry-run", "--json", "--", "/bin/true"])
        .env("HOME", &empty)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    assert!(run.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let listed = doc["protected"].as_array().unwrap();
    for n in HOME_NAMES {
        let p = empty.join(n);
        let e = listed
            .iter()
            .find(|e| e["path"].as_str() == p.to_str())
            .unwrap_or_else(|| panic!("{} not in the protected list", p.display()));
        assert_eq!(e["exists"], false, "{}", p.display());
    }
    // ...and a grant of the home keeps them out, from outside: the
    // secret is readable without nono and not through it.
    let secret = full.join(".ssh/secret");
    let probe = format!("cat {}", sh_path(&secret));
    let plain = Command::new("/bin/sh")
        .args(["-c", &probe])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).contains(SECRET));
    let boxed = env
        .command([
            "run",
            "--read",
            full.to_str().unwrap(),
            "--",
            "/bin/sh",
            "-c",
            &probe,
        ])
        .env("HOME", &full)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&boxed.stdout).contains(SECRET),
        "secret read through --read of the home"
    );
    assert!(!boxed.status.success());
}

#[test]
fn a_protected_symlink_still_protects_its_target_under_a_grant() {
    // The shortcut answers "canonical" only for entries that are not
    // symlinks: a ~/.ssh that points into a granted tree must still be
    // carved out of that tree.
    let env = TestEnv::new();
    let h = home(&env.root, true);
    fs::remove_dir_all(h.join(".ssh")).unwrap();
    let target = env.outside.join("keys");
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("id"), SECRET).unwrap();
    std::os::unix::fs::symlink(&target, h.join(".ssh")).unwrap();
    let probe = format!("cat {}", sh_path(&target.join("id")));
    let plain = Command::new("/bin/sh")
        .args(["-c", &probe])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).contains(SECRET));
    let boxed = env
        .command([
            "run",
            "--read",
            env.outside.to_str().unwrap(),
            "--",
            "/bin/sh",
            "-c",
            &probe,
        ])
        .env("HOME", &h)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&boxed.stdout).contains(SECRET),
        "the target of a symlinked ~/.ssh was readable through a grant of its tree"
    );
    // Control inside the same grant: a neighbour of the target is readable.
    fs::write(env.outside.join("open.txt"), "open\n").unwrap();
    let ok = env
        .command([
            "run",
            "--read",
            env.outside.to_str().unwrap(),
            "--",
            "/bin/cat",
            env.outside.join("open.txt").to_str().unwrap(),
        ])
        .env("HOME", &h)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "open\n");
}
