//! The blocklist's scan cache (`~/.local/state/nono/scan`): a program
//! directory's listing is kept from one run to the next, and never
//! trusted once the directory changed, nor writable by a sandbox.
//!
//! Every test checks the effect from outside: the blocked program's marker
//! was not written, the cache file's bytes are intact; the control runs
//! the same program without nono. Whether a listing was reused is read
//! from an `strace -f -y` log (getdents64 on the directory or not).

#![cfg(target_os = "linux")]

use crate::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Test builds only: a directory made by the test is kept at once
/// (normally it must have been unchanged for two seconds).
const QUIET_NOW: (&str, &str) = ("NONO_TEST_SCAN_QUIET_MS", "0");

/// A PATH directory of the work tree with one ordinary program.
fn bin_dir(env: &TestEnv) -> PathBuf {
    let bin = env.work.join("bin");
    fs::create_dir(&bin).unwrap();
    // Markers go to a directory of their own: without the mount layer a
    // directory holding a PATH directory is carved, and nothing can be
    // created directly in it.
    fs::create_dir(env.work.join("out")).unwrap();
    program(&bin, "tool", "TOOL-RAN");
    bin
}

/// A script `dir/name` that prints `out` and leaves a marker file.
fn program(dir: &Path, name: &str, out: &str) {
    let p = dir.join(name);
    let marker = dir
        .parent()
        .unwrap()
        .join("out")
        .join(format!("{name}.ran"));
    fs::write(
        &p,
        format!("#!/bin/sh\necho {out}\necho ran > {}\n", sh_path(&marker)),
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

fn search_path(bin: &Path) -> String {
    format!("{}:/usr/bin:/bin", bin.display())
}

/// `nono run --allow . -- /bin/sh -c SCRIPT` with `bin` first on PATH.
fn run(env: &TestEnv, bin: &Path, script: &str, quiet_now: bool) -> Run {
    let mut c = env.command(["run", "--allow", ".", "--", "/bin/sh", "-c", script]);
    c.env("PATH", search_path(bin));
    if quiet_now {
        c.env(QUIET_NOW.0, QUIET_NOW.1);
    }
    Run::from(c)
}

fn cache_dir(env: &TestEnv) -> PathBuf {
    env.home.join(".local/state/nono/scan")
}

fn cache_files(env: &TestEnv) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(cache_dir(env))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Whether `nono run` listed `dir` (getdents64 on a descriptor of it),
/// from an `strace -f -y` log; `Err` where strace cannot trace here.
fn lists(env: &TestEnv, bin: &Path, dir: &Path, quiet_now: bool) -> Result<bool, String> {
    strace_usable()?;
    let log = env.root.join("strace.log");
    let mut c = Command::new(STRACE);
    c.args(["-f", "-y", "-e", "trace=getdents64", "-o"])
        .arg(&log)
        .arg(nono_bin())
        .args(["run", "--allow", ".", "--", "/bin/true"])
        .current_dir(&env.work)
        .env("HOME", &env.home)
        .env("PATH", search_path(bin));
    if quiet_now {
        c.env(QUIET_NOW.0, QUIET_NOW.1);
    }
    let out = c.output().map_err(|e| format!("strace cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "strace or nono failed here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = fs::read_to_string(&log).map_err(|e| e.to_string())?;
    let needle = format!("<{}>", dir.display());
    Ok(text
        .lines()
        .any(|l| l.contains("getdents64(") && l.contains(&needle)))
}

#[test]
fn a_kept_listing_is_reused_until_the_directory_changes() {
    let env = TestEnv::new();
    let bin = bin_dir(&env);
    run(&env, &bin, "tool", true)
        .expect_ok()
        .expect_stdout_has("TOOL-RAN");
    assert!(
        !cache_files(&env).is_empty(),
        "nono run keeps the listings in {}",
        cache_dir(&env).display()
    );
    match lists(&env, &bin, &bin, true) {
        Ok(listed) => assert!(!listed, "an unchanged directory is not listed again"),
        Err(why) => skip(why),
    }

    // A blocked program appears in the directory after its listing was
    // kept: the control runs it; under nono it must not run.
    program(&bin, "rm", "RM-RAN");
    let marker = env.work.join("out/rm.ran");
    let mut c = env.in_tree("/bin/sh");
    c.args(["-c", "rm"]).env("PATH", search_path(&bin));
    Run::from(c).expect_ok().expect_stdout_has("RM-RAN");
    fs::remove_file(&marker).unwrap();

    let r = run(&env, &bin, "rm; tool", true);
    r.expect_stdout_lacks("RM-RAN")
        .expect_stdout_has("TOOL-RAN")
        .expect_stderr_has("Permission denied");
    assert!(!marker.exists(), "the new rm ran under nono\n{r}");
    // The same with the changed directory's listing now kept in turn.
    let r = run(&env, &bin, "rm; tool", true);
    r.expect_stdout_lacks("RM-RAN")
        .expect_stdout_has("TOOL-RAN");
    assert!(
        !marker.exists(),
        "rm ran under nono on the kept listing\n{r}"
    );

    // Replacing an ordinary program by a hard link of the blocked one
    // changes the directory as well.
    fs::remove_file(bin.join("tool")).unwrap();
    fs::hard_link(bin.join("rm"), bin.join("tool")).unwrap();
    let r = run(&env, &bin, "tool", true);
    r.expect_stdout_lacks("RM-RAN");
    assert!(!marker.exists(), "a hard link of rm ran under nono\n{r}");
}

#[test]
fn a_directory_changed_just_now_is_listed_every_time() {
    // Without the test switch: the directory was made a moment ago, so a
    // change within the same clock tick could still follow; its listing
    // is not kept.
    let env = TestEnv::new();
    let bin = bin_dir(&env);
    run(&env, &bin, "tool", false).expect_ok();
    // Changed again right before the traced run, so that it is recent
    // however slow the first run was.
    program(&bin, "tool2", "TOOL2-RAN");
    match lists(&env, &bin, &bin, false) {
        Ok(listed) => assert!(listed, "a directory changed just now is listed again"),
        Err(why) => skip(why),
    }
    // A directory unchanged for a long time (/usr/bin) is kept: the
    // control that the cache is on at all in this run.
    let usr_bin = fs::canonicalize("/usr/bin").unwrap();
    match lists(&env, &bin, &usr_bin, false) {
        Ok(listed) => assert!(!listed, "/usr/bin is listed although it did not change"),
        Err(why) => skip(why),
    }
}

#[test]
fn the_sandbox_cannot_change_the_kept_listings() {
    let env = TestEnv::new();
    let bin = bin_dir(&env);
    run(&env, &bin, "tool", true).expect_ok();
    let files = cache_files(&env);
    let Some(file) = files.first() else {
        panic!("no listing kept in {}", cache_dir(&env).display());
    };
    let before: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).unwrap()).collect();
    let file_before = before[0].clone();
    let f = sh_path(file);
    let d = sh_path(&cache_dir(&env));
    let script = format!(
        "echo forged > {f}; : > {f}; rm -f {f}; mv {f} {f}.x; ln -sf /dev/null {d}/x; ls {d}"
    );
    // Control: the same script changes a copy that is not protected.
    let copy = env.work.join("copy");
    fs::create_dir(&copy).unwrap();
    fs::write(copy.join("c"), &file_before).unwrap();
    let control = script
        .replace(&f, &sh_path(&copy.join("c")))
        .replace(&d, &sh_path(&copy));
    env.plain_sh(&control);
    assert!(
        !copy.join("c").exists() || fs::read(copy.join("c")).unwrap() != file_before,
        "control: the script changes an unprotected copy"
    );

    for grant in [&["--allow", "."][..], &["--allow", ".", "--allow", "~"][..]] {
        let mut g: Vec<&str> = grant.to_vec();
        g.extend_from_slice(&["--allow-command", "rm", "--allow-command", "mv"]);
        let r = env.sandboxed_sh(&g, &script);
        for (f, bytes) in files.iter().zip(&before) {
            assert_eq!(
                &fs::read(f).unwrap(),
                bytes,
                "{} changed under nono {grant:?}\n{r}",
                f.display()
            );
        }
        // (nono itself keeps new listings for this other blocklist, made
        // before the sandbox; the command's names must not appear.)
        let planted: Vec<PathBuf> = cache_files(&env)
            .into_iter()
            .filter(|p| p.ends_with("x") || p.extension().is_some())
            .collect();
        assert!(planted.is_empty(), "planted under nono: {planted:?}\n{r}");
    }
    // Granting nono's state directory itself is refused.
    env.nono([
        "run",
        "--allow",
        &cache_dir(&env).display().to_string(),
        "--",
        "/bin/true",
    ])
    .expect_code(125);
}

#[test]
fn dry_run_and_why_keep_nothing() {
    let env = TestEnv::new();
    let bin = bin_dir(&env);
    let mut c = env.command(["run", "--dry-run", "--allow", ".", "--", "/bin/true"]);
    c.env("PATH", search_path(&bin))
        .env(QUIET_NOW.0, QUIET_NOW.1);
    Run::from(c).expect_ok();
    let mut c = env.command(["why", "--allow", ".", "--op", "exec", "/usr/bin/rm"]);
    c.env("PATH", search_path(&bin))
        .env(QUIET_NOW.0, QUIET_NOW.1);
    let _ = Run::from(c);
    assert!(
        !env.home.join(".local").exists(),
        "--dry-run and why wrote into the home"
    );
    // Control: a real run keeps them.
    run(&env, &bin, "true", true).expect_ok();
    assert!(!cache_files(&env).is_empty());
}

#[test]
fn a_listing_file_others_can_write_is_not_trusted() {
    let env = TestEnv::new();
    let bin = bin_dir(&env);
    run(&env, &bin, "tool", true).expect_ok();
    for f in cache_files(&env) {
        fs::set_permissions(&f, fs::Permissions::from_mode(0o666)).unwrap();
    }
    match lists(&env, &bin, &bin, true) {
        Ok(listed) => assert!(listed, "a listing writable by others was used"),
        Err(why) => return skip(why),
    }
    // Listed again, and kept again privately.
    for f in cache_files(&env) {
        let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is kept with mode {mode:o}", f.display());
    }
}
