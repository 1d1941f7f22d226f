//! Cost guards for applying the sandbox, as counts of system calls (never
//! as time), from an `strace -f` log of a real run:
//!
//! - the capability bounding set is read at most once (the verification
//!   after dropping it), not also to decide about namespaces;
//! - the kernel's Landlock ABI is asked once by nono (plus once by the
//!   `landlock` crate when it creates the ruleset);
//! - no directory is opened twice for the Landlock rules: a directory
//!   kept for its file rules also serves its own rule;
//! - the mount table is read once by the policy build and once by the
//!   mount layer, not once per extension of the protected list.
//!
//! Skipped, with the reason printed, where strace is missing or cannot
//! trace (some containers forbid ptrace).

use crate::common;

use std::collections::HashMap;
use std::fs;
use std::process::Command;

use common::*;

/// `nono run --allow . -- /bin/true` under `strace -f`: the log's lines.
fn trace(env: &TestEnv) -> Result<Vec<String>, String> {
    strace_usable()?;
    let log = env.root.join("strace.log");
    let out = Command::new(STRACE)
        .arg("-f")
        .arg("-o")
        .arg(&log)
        .arg(nono_bin())
        .args(["run", "--allow", ".", "--", "/bin/true"])
        .current_dir(&env.work)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .map_err(|e| format!("strace cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "strace or nono failed here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = fs::read_to_string(&log).map_err(|e| e.to_string())?;
    Ok(text.lines().map(str::to_owned).collect())
}

#[test]
fn applying_the_sandbox_repeats_no_query_and_no_open() {
    let env = TestEnv::new();
    let lines = match trace(&env) {
        Ok(l) => l,
        Err(why) => return skip(why),
    };
    let count = |pat: &str| lines.iter().filter(|l| l.contains(pat)).count();
    // One read of the whole set is 41 calls on Linux 5.9 and later, 64 at
    // most; two reads (the namespace decision read it too) exceed it.
    let bset = count("PR_CAPBSET_READ");
    assert!(bset <= 64, "{bset} PR_CAPBSET_READ calls");
    let tables = count("/proc/self/mountinfo\"");
    assert!(tables <= 2, "/proc/self/mountinfo opened {tables} times");
    let abi = count("LANDLOCK_CREATE_RULESET_VERSION");
    assert!(abi <= 2, "{abi} Landlock ABI queries");
    // The rules' directory opens (absolute, O_PATH|O_DIRECTORY, no
    // symlinks) after the ruleset is created: each path once.
    let start = lines
        .iter()
        .position(|l| l.contains("landlock_create_ruleset({"))
        .unwrap_or(lines.len());
    let mut opened: HashMap<&str, usize> = HashMap::new();
    for l in &lines[start..] {
        if !(l.contains("openat2(AT_FDCWD, \"") && l.contains("O_DIRECTORY")) {
            continue;
        }
        if let Some(path) = l.split('"').nth(1) {
            *opened.entry(path).or_default() += 1;
        }
    }
    let twice: Vec<_> = opened.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "directories opened more than once: {twice:?}"
    );
}
