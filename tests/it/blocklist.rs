//! The command blocklist: refused as COMMAND, and denied by the kernel to
//! every process the command starts.
//!
//! Delete protection alone would also stop `rm`, so every descendant test
//! grants `--allow . --allow-delete .`: then only the blocklist stands
//! between rm and the file. The same script with `--allow-command rm`
//! deletes the file, which proves exactly that.

// Linux-only: the kernel layer is Landlock's per-file execute rules;
// probes use busybox and the Debian program layout. The macOS suite is
// tests/it/macos.rs.
#![cfg(target_os = "linux")]

use crate::common;

use std::os::unix::fs::symlink;
use std::path::PathBuf;

use common::*;

/// Finds a program in PATH like the shell would (None if absent here).
const DELETE_GRANT: [&str; 4] = ["--allow", ".", "--allow-delete", "."];

/// Writes `f` in the work directory and returns its path.
fn victim(env: &TestEnv, name: &str) -> PathBuf {
    let p = env.work.join(name);
    std::fs::write(&p, "data\n").unwrap();
    p
}

/// The whole protocol for one route to rm inside the sandbox: the control
/// deletes a copy without nono; under nono the file survives and the
/// failure is an exec denial; with --allow-command rm the same script
/// deletes it (delete itself was allowed all along).
fn rm_route_is_denied(script: &str, setup: impl Fn(&TestEnv)) {
    let env = TestEnv::new();
    setup(&env);
    let f = victim(&env, "f");
    env.plain_sh(script).expect_ok();
    assert!(
        !f.exists(),
        "control: {script} should delete f without nono"
    );

    let f = victim(&env, "f");
    let run = env.sandboxed_sh(&DELETE_GRANT, script);
    run.expect_fail();
    assert!(f.exists(), "f was deleted under nono by {script}\n{run}");
    assert!(
        run.stderr().contains("Permission denied") || run.code() == Some(126),
        "expected an exec denial\n{run}"
    );

    let mut lifted = vec!["--allow-command", "rm"];
    lifted.extend_from_slice(&DELETE_GRANT);
    env.sandboxed_sh(&lifted, script).expect_ok();
    assert!(
        !f.exists(),
        "--allow-command rm should let {script} delete f"
    );
}

#[test]
fn sh_c_rm_is_denied_by_the_kernel() {
    rm_route_is_denied("rm f", |_| {});
}

#[test]
fn nested_shell_rm_is_denied() {
    rm_route_is_denied("sh -c 'rm f'", |_| {});
}

#[test]
fn xargs_rm_is_denied() {
    rm_route_is_denied("echo f | xargs rm", |_| {});
}

#[test]
fn env_rm_is_denied() {
    rm_route_is_denied("env rm f", |_| {});
}

#[test]
fn find_exec_rm_is_denied() {
    // find reports the failed exec but may still exit 0; the effect decides.
    rm_route_is_denied("find . -name f -exec rm {} \\; && test ! -e f", |_| {});
}

#[test]
fn absolute_path_rm_is_denied() {
    let rm = in_path("rm").expect("rm on PATH");
    let rm = std::fs::canonicalize(rm).unwrap();
    rm_route_is_denied(&format!("{} f", rm.display()), |_| {});
}

#[test]
fn symlink_alias_of_rm_is_denied() {
    let rm = std::fs::canonicalize(in_path("rm").expect("rm on PATH")).unwrap();
    rm_route_is_denied("./zap f", |env| {
        symlink(&rm, env.work.join("zap")).unwrap();
    });
}

#[test]
fn busybox_rm_is_denied() {
    let Some(bb) = in_path("busybox") else {
        return skip("busybox is not installed here (apt-get install busybox)");
    };
    let script = format!("{} rm f", bb.display());
    let env = TestEnv::new();
    let f = victim(&env, "f");
    env.plain_sh(&script).expect_ok();
    assert!(!f.exists(), "control: busybox rm deletes f");
    let f = victim(&env, "f");
    let run = env.sandboxed_sh(&DELETE_GRANT, &script);
    run.expect_fail().expect_stderr_has("Permission denied");
    assert!(f.exists(), "busybox rm deleted f under nono\n{run}");
    // Allowing rm alone leaves busybox blocked: it still runs dd, chmod, ...
    let run = env.nono([
        "run",
        "--allow-command",
        "rm",
        "--",
        bb.to_str().unwrap(),
        "true",
    ]);
    run.expect_code(126).expect_stderr_has("multi-call binary");
    // Allowing busybox itself lifts it.
    let mut lifted = vec!["--allow-command", "busybox"];
    lifted.extend_from_slice(&DELETE_GRANT);
    env.sandboxed_sh(&lifted, &script).expect_ok();
    assert!(!f.exists());
}

#[test]
fn rm_as_command_is_refused_before_anything_runs() {
    let env = TestEnv::new();
    let f = victim(&env, "f");
    let mut args = vec!["run"];
    args.extend_from_slice(&DELETE_GRANT);
    args.extend_from_slice(&["--", "rm", "f"]);
    env.nono(&args)
        .expect_code(126)
        .expect_stderr_has("nono: 'rm' is blocked (file destruction)")
        .expect_stderr_has("hint: to run it anyway: --allow-command rm");
    assert!(f.exists());
    let rm = std::fs::canonicalize(in_path("rm").unwrap()).unwrap();
    let abs = rm.to_str().unwrap();
    let mut args = vec!["run"];
    args.extend_from_slice(&DELETE_GRANT);
    args.extend_from_slice(&["--", abs, "f"]);
    env.nono(&args).expect_code(126);
    assert!(f.exists());
    symlink(&rm, env.work.join("zap")).unwrap();
    let mut args = vec!["run"];
    args.extend_from_slice(&DELETE_GRANT);
    args.extend_from_slice(&["--", "./zap", "f"]);
    env.nono(&args)
        .expect_code(126)
        .expect_stderr_has("'./zap' is blocked: it resolves to")
        .expect_stderr_has("--allow-command rm");
    assert!(f.exists());
    // Lifted: the command runs and the file goes.
    let mut args = vec!["run", "--allow-command", "rm"];
    args.extend_from_slice(&DELETE_GRANT);
    args.extend_from_slice(&["--", "rm", "f"]);
    env.nono(&args).expect_ok();
    assert!(!f.exists());
}

/// One program per category that exists on this machine, with harmless
/// arguments and a visible effect if it ran.
#[test]
fn one_program_per_category_is_refused_at_top_level() {
    let env = TestEnv::new();
    let cases: [(&str, &str, &[&str]); 8] = [
        ("file destruction", "rmdir", &["--version"]),
        ("disk operations", "dd", &["--version"]),
        ("permission changes", "chmod", &["--version"]),
        ("system modification", "systemctl", &["--version"]),
        ("package managers", "apt-get", &["--version"]),
        ("file operations", "cp", &["--version"]),
        ("privilege escalation", "su", &["--version"]),
        ("network exfiltration", "scp", &["-h"]),
    ];
    let mut tested = 0;
    for (category, name, args) in cases {
        let Some(path) = in_path(name) else {
            skip(format!("{name} ({category}) is not installed here"));
            continue;
        };
        // Control: it exists and runs (prints something) without nono.
        let control = Run::from({
            let mut c = std::process::Command::new(&path);
            c.args(args).current_dir(&env.work);
            c
        });
        assert!(
            !control.stdout().is_empty() || !control.stderr().is_empty(),
            "control: {name} printed nothing\n{control}"
        );
        let mut a = vec!["run", "--allow", ".", "--", name];
        a.extend_from_slice(args);
        let run = env.nono(&a);
        run.expect_code(126)
            .expect_stderr_has(&format!("nono: '{name}' is blocked ({category})"))
            .expect_stderr_has(&format!("--allow-command {name}"));
        assert_eq!(run.stdout(), "", "{name} ran\n{run}");
        tested += 1;
    }
    assert!(tested >= 4, "too few blocked programs exist here to test");
}

#[test]
fn cp_is_refused_and_copies_nothing() {
    let env = TestEnv::new();
    env.plain_sh("cp keep.txt control.txt").expect_ok();
    assert!(env.work.join("control.txt").exists());
    env.nono(["run", "--allow", ".", "--", "cp", "keep.txt", "copy.txt"])
        .expect_code(126);
    env.sandboxed_sh(&["--allow", "."], "cp keep.txt copy2.txt")
        .expect_fail()
        .expect_stderr_has("Permission denied");
    assert!(!env.work.join("copy.txt").exists());
    assert!(!env.work.join("copy2.txt").exists());
}

#[test]
fn blocked_names_that_do_not_exist_here_are_still_blocked() {
    let env = TestEnv::new();
    let mut tested = 0;
    for (name, category) in [
        ("srm", "file destruction"),
        ("doas", "privilege escalation"),
        ("pacman", "package managers"),
        ("brew", "package managers"),
        ("yum", "package managers"),
    ] {
        if in_path(name).is_some() {
            skip(format!("{name} exists on this machine"));
            continue;
        }
        // Control: an unknown name that is not blocked is "not found".
        env.nono(["run", "--", "nono-no-such-program"])
            .expect_code(127);
        env.nono(["run", "--", name])
            .expect_code(126)
            .expect_stderr_has(&format!("'{name}' is blocked ({category})"));
        tested += 1;
    }
    assert!(tested > 0);
}

/// `--dry-run --json` prints one JSON document whatever COMMAND is: a
/// blocked program that is not installed here gets the whole document,
/// with the refusal in `blocked` and the command as written.
#[test]
fn dry_run_json_of_a_blocked_program_not_installed_here_is_json() {
    let env = TestEnv::new();
    let absent = [
        ("srm", "file destruction"),
        ("doas", "privilege escalation"),
        ("pacman", "package managers"),
    ]
    .into_iter()
    .find(|(name, _)| in_path(name).is_none());
    let Some((name, category)) = absent else {
        skip("srm, doas and pacman are all installed here");
        return;
    };
    let run = env.nono(["run", "--dry-run", "--json", "--", name, "x"]);
    run.expect_ok();
    let doc = run.json();
    assert_eq!(doc["document"], "dry_run", "{run}");
    assert_eq!(
        doc["blocked"],
        format!("'{name}' is blocked ({category})"),
        "{run}"
    );
    assert_eq!(doc["command"]["argv"], serde_json::json!([name, "x"]));
    assert!(doc["rules"].as_array().is_some_and(|r| !r.is_empty()));
    // Control: the text report stays the short one, and an installed
    // blocked program has its refusal in the same key.
    env.nono(["run", "--dry-run", "--", name, "x"])
        .expect_ok()
        .expect_stdout_has(&format!("BLOCKED: '{name}' is blocked ({category})"))
        .expect_stdout_lacks("{");
    let rm = env.nono(["run", "--dry-run", "--json", "--", "rm", "x"]);
    rm.expect_ok();
    let doc = rm.json();
    assert_eq!(doc["blocked"], "'rm' is blocked (file destruction)");
}

#[test]
fn version_suffix_and_family_members_are_blocked() {
    let env = TestEnv::new();
    // By name alone, whether or not installed.
    for name in ["pip3.11", "mkfs.ext4", "mkfs.xfs"] {
        env.nono(["run", "--", name])
            .expect_code(126)
            .expect_stderr_has("is blocked");
    }
}

#[test]
fn hard_and_symlinked_aliases_in_program_dirs_are_blocked_by_identity() {
    // mkfs.ext4 -> mke2fs on Debian: mke2fs is the same file, so it is
    // blocked too, at top level and in the kernel.
    // uid 65534's PATH has no sbin: look there too.
    let sbin = ["/usr/sbin/mke2fs", "/sbin/mke2fs"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    let Some(mke2fs) = in_path("mke2fs").or(sbin) else {
        return skip("no mke2fs here");
    };
    let env = TestEnv::new();
    let run = env.nono(["run", "--", mke2fs.to_str().unwrap(), "-V"]);
    run.expect_code(126)
        .expect_stderr_has("is the same file as mkfs.ext");
    env.plain_sh(&format!("{} -V", mke2fs.display()))
        .expect_ok();
    env.sandboxed_sh(&[], &format!("{} -V", mke2fs.display()))
        .expect_code(126)
        .expect_stderr_has("Permission denied");
}

#[test]
fn block_command_adds_to_both_layers() {
    let env = TestEnv::new();
    env.plain_sh("date").expect_ok();
    env.sandboxed_sh(&[], "date").expect_ok();
    env.nono(["run", "--block-command", "date", "--", "date"])
        .expect_code(126)
        .expect_stderr_has("'date' is blocked (added with --block-command)");
    env.sandboxed_sh(&["--block-command", "date"], "date; echo status=$?")
        .expect_stdout_has("status=126")
        .expect_stdout_lacks("UTC");
    // --block-command wins over --allow-command of the same name.
    env.nono([
        "run",
        "--allow-command",
        "date",
        "--block-command",
        "date",
        "--",
        "date",
    ])
    .expect_code(126);
}

#[test]
fn block_command_reaches_programs_in_granted_directories() {
    let env = TestEnv::new();
    std::fs::create_dir(env.work.join("tools")).unwrap();
    let tool = env.work.join("tools/mytool");
    std::fs::write(&tool, "#!/bin/sh\necho TOOL-RAN\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(env.work.join("tools/other"), "#!/bin/sh\necho OTHER-RAN\n").unwrap();
    std::fs::set_permissions(
        env.work.join("tools/other"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    env.plain_sh("./tools/mytool").expect_stdout_has("TOOL-RAN");
    env.sandboxed_sh(&["--allow", "."], "./tools/mytool")
        .expect_ok()
        .expect_stdout_has("TOOL-RAN");
    let run = env.sandboxed_sh(
        &["--allow", ".", "--block-command", "mytool"],
        "./tools/mytool; ./tools/other",
    );
    run.expect_stdout_lacks("TOOL-RAN")
        .expect_stdout_has("OTHER-RAN")
        .expect_stderr_has("Permission denied");
    env.nono([
        "run",
        "--allow",
        ".",
        "--block-command",
        "mytool",
        "--",
        "./tools/mytool",
    ])
    .expect_code(126)
    .expect_stdout_lacks("TOOL-RAN");
}

#[test]
fn ordinary_programs_still_run() {
    let env = TestEnv::new();
    env.sandboxed_sh(
        &["--allow", "."],
        "ls /usr/bin >/dev/null && env true && /usr/bin/env true && cat keep.txt && echo ok",
    )
    .expect_ok()
    .expect_stdout_has("precious")
    .expect_stdout_has("ok");
}

#[test]
fn dry_run_lists_the_blocklist_with_resolved_files() {
    let env = TestEnv::new();
    let rm = std::fs::canonicalize(in_path("rm").unwrap()).unwrap();
    let run = env.nono(["run", "--dry-run", "--", "true"]);
    run.expect_ok()
        .expect_stdout_has("command blocklist")
        .expect_stdout_has("file destruction: rm, rmdir, shred, srm")
        .expect_stdout_has("disk operations: dd, mkfs, mkfs.*")
        .expect_stdout_has(&format!("    {}\n", rm.display()))
        // Each mode says how the kernel denies it: the fallback grants
        // execute per file, the mount layer masks the blocked programs.
        .expect_stdout_has(if mount_layer_active() {
            "execute is granted as a whole in"
        } else {
            "execute is granted per file in"
        });
    let run = env.nono(["run", "--dry-run", "--allow-command", "rm", "--", "true"]);
    run.expect_ok()
        .expect_stdout_has("file destruction: rmdir, shred, srm")
        .expect_stdout_has("lifted with --allow-command: rm")
        .expect_stdout_lacks(&format!("    {}\n", rm.display()));
    env.nono(["run", "--dry-run", "--", "rm"])
        .expect_ok()
        .expect_stdout_has("BLOCKED: 'rm' is blocked (file destruction)");
}

#[test]
fn why_command_answers_for_the_same_sandbox() {
    let env = TestEnv::new();
    // Like every why: exit 0 allowed (not blocked), 1 denied (blocked).
    env.nono(["why", "--command", "rm"])
        .expect_code(1)
        .expect_stdout_has("BLOCKED: 'rm' is blocked (file destruction)")
        .expect_stdout_has("--allow-command rm")
        .expect_stdout_has("is denied inside the sandbox");
    env.nono(["why", "--command", "ls"])
        .expect_ok()
        .expect_stdout_has("NOT BLOCKED")
        .expect_stdout_has("is granted inside the sandbox");
    env.nono(["why", "--allow-command", "rm", "--command", "rm"])
        .expect_ok()
        .expect_stdout_has("NOT BLOCKED")
        .expect_stdout_has("is granted inside the sandbox");
    env.nono(["why", "--command", "srm"])
        .expect_code(1)
        .expect_stdout_has("BLOCKED: 'srm'");
    // A path question about executing a blocked program gives the same answer.
    let rm = std::fs::canonicalize(in_path("rm").unwrap()).unwrap();
    env.nono(["why", "--op", "exec", rm.to_str().unwrap()])
        .expect_code(1)
        .expect_stdout_has("DENIED: exec")
        .expect_stdout_has("(file destruction)")
        .expect_stdout_has("--allow-command rm lifts it");
    let doc: serde_json::Value = serde_json::from_str(
        &env.nono(["why", "--command", "rm", "--json"])
            .expect_code(1)
            .stdout(),
    )
    .unwrap();
    assert_eq!(doc["subject"], "command");
    assert_eq!(doc["reason"]["code"], "blocked");
    assert_eq!(doc["command"]["blocked"], true);
    assert_eq!(doc["command"]["kernel_exec"], false);
    let ls = std::fs::canonicalize(in_path("ls").unwrap()).unwrap();
    env.nono(["why", "--op", "exec", ls.to_str().unwrap()])
        .expect_ok()
        .expect_stdout_has("ALLOWED: exec");
}

#[test]
fn bad_command_names_are_refused() {
    let env = TestEnv::new();
    for bad in ["/usr/bin/rm", "", "a b", "r*"] {
        env.nono(["run", "--block-command", bad, "--", "true"])
            .expect_code(125)
            .expect_stderr_has("--block-command");
    }
}

#[test]
fn path_directories_inside_grants_are_covered() {
    // A directory of the project on PATH (an activated venv's bin, say)
    // holding a program with a blocked name: blocked in the kernel too,
    // while its other programs still run.
    let env = TestEnv::new();
    let bin = env.work.join("venv-bin");
    std::fs::create_dir(&bin).unwrap();
    for (name, out) in [("pip", "PIP-RAN"), ("black", "BLACK-RAN")] {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho {out}\n")).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        let mut c = env.command(args);
        c.env("PATH", &path);
        Run::from(c)
    };
    // Control: without nono both run.
    let mut c = std::process::Command::new("/bin/sh");
    c.args(["-c", "pip; black"]).env("PATH", &path);
    Run::from(c)
        .expect_ok()
        .expect_stdout_has("PIP-RAN")
        .expect_stdout_has("BLACK-RAN");
    let r = run(&["run", "--allow", ".", "--", "/bin/sh", "-c", "pip; black"]);
    r.expect_stdout_lacks("PIP-RAN")
        .expect_stdout_has("BLACK-RAN")
        .expect_stderr_has("Permission denied");
    run(&[
        "run",
        "--allow",
        ".",
        "--allow-command",
        "pip",
        "--",
        "/bin/sh",
        "-c",
        "pip",
    ])
    .expect_ok()
    .expect_stdout_has("PIP-RAN");
}

#[test]
fn kernel_layer_holds_at_older_abis() {
    // The rules go in through landlock_add_rule directly; rights must be
    // limited to what each ABI handles or the kernel rejects them.
    for cap in ["3", "4", "5"] {
        let env = TestEnv::new();
        let f = victim(&env, "f");
        let mut c = env.command(["run", "--allow", ".", "--allow-delete", ".", "--"]);
        c.args(["/bin/sh", "-c", "rm f; echo rc=$?; cat keep.txt"])
            .env("NONO_TEST_ABI_CAP", cap);
        Run::from(c)
            .expect_ok()
            .expect_stdout_has("rc=126")
            .expect_stdout_has("precious");
        assert!(f.exists(), "ABI {cap}: rm deleted f");
    }
}

/// The kernel side of the blocklist costs per blocked program, not per
/// file of its directory, where the mount layer masks the blocked ones: a
/// PATH directory of 1,000 or 4,000 programs plus a blocked one gives the
/// same number of Landlock rules. The Landlock-only fallback still grants
/// execute per file (its count grows: the control that the directory is
/// scanned at all). In both, the blocked program does not run and the
/// others do.
#[test]
fn blocklist_rule_count_does_not_grow_with_the_directory_under_the_mount_layer() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let dir = env.path("pbin");
    std::fs::create_dir(&dir).unwrap();
    let make = |from: usize, to: usize| {
        for i in from..to {
            let p = dir.join(format!("tool{i}"));
            std::fs::write(&p, "#!/bin/sh\necho tool-ran\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    };
    env.script("pbin/shred", "#!/bin/sh\necho SHRED-RAN\n");
    let path = format!("{}:/usr/bin:/bin", dir.display());
    let grant = ["--read", dir.to_str().unwrap()];
    let script = "shred; echo rc=$?; tool0 && tool3999";
    let with_path = |args: &[&str]| {
        let mut cmd = env.command(args);
        cmd.env("PATH", &path);
        Run::from(cmd)
    };
    let count = || {
        let mut args = vec!["run", "--dry-run", "--json"];
        args.extend_from_slice(&grant);
        args.extend_from_slice(&["--", "/bin/true"]);
        let run = with_path(&args);
        run.expect_ok();
        let doc: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        let masked = doc["blocklist"]["masked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str() == Some(dir.join("shred").to_str().unwrap()));
        (
            doc["rules"].as_array().unwrap().len(),
            doc["blocklist"]["kernel"].as_str().unwrap().to_string(),
            masked,
        )
    };
    make(0, 1000);
    let (small, kernel, masked) = count();
    make(1000, 4000);
    let (large, _, _) = count();
    if mount_layer_active() {
        assert_eq!(kernel, "masked");
        assert!(masked, "the blocked program is not in the masked list");
        assert_eq!(small, large, "rule count grew with the directory");
    } else {
        assert_eq!(kernel, "per_file");
        assert!(
            large >= small + 3000,
            "fallback: per-file rules expected ({small} -> {large})"
        );
    }

    // Control: without nono both run.
    let mut plain = std::process::Command::new("/bin/sh");
    plain
        .args(["-c", script])
        .current_dir(&env.work)
        .env("PATH", &path);
    let plain = Run::from(plain);
    plain
        .expect_ok()
        .expect_stdout_has("SHRED-RAN")
        .expect_stdout_has("tool-ran");
    // Under nono: the blocked one is denied by the kernel, the others run.
    let mut args = vec!["run"];
    args.extend_from_slice(&grant);
    args.extend_from_slice(&["--", "/bin/sh", "-c", script]);
    with_path(&args)
        .expect_ok()
        .expect_stdout_lacks("SHRED-RAN")
        .expect_stdout_has("rc=126")
        .expect_stdout_has("tool-ran");
    // `why` agrees with the kernel in both modes.
    let mut why = vec!["why"];
    why.extend_from_slice(&grant);
    let mut q = why.clone();
    q.extend_from_slice(&["--command", "shred"]);
    with_path(&q)
        .expect_code(1)
        .expect_stdout_has("is denied inside the sandbox");
    let shred = dir.join("shred");
    let mut q = why.clone();
    q.extend_from_slice(&["--op", "exec", shred.to_str().unwrap()]);
    with_path(&q).expect_code(1).expect_stdout_has("DENIED");
    let tool = dir.join("tool3999");
    let mut q = why;
    q.extend_from_slice(&["--op", "exec", tool.to_str().unwrap()]);
    with_path(&q).expect_code(0).expect_stdout_has("ALLOWED");
}

/// Under the mount layer a masked program inside a write grant (with
/// delete allowed) cannot be renamed, removed or rewritten: it is a
/// read-only mount point. The control does all three without nono.
#[test]
fn a_masked_program_cannot_be_moved_away_or_rewritten() {
    if !mount_layer_active() {
        return skip("the mount layer is not active (the fallback has no masks)");
    }
    if !have("/usr/bin/python3") {
        return skip("no /usr/bin/python3 for the probe");
    }
    let env = TestEnv::new();
    let dir = env.path("pbin");
    std::fs::create_dir(&dir).unwrap();
    env.script("pbin/shred", "#!/bin/sh\necho SHRED-RAN\n");
    env.script("pbin/other", "#!/bin/sh\necho other\n");
    let path = format!("{}:/usr/bin:/bin", dir.display());
    let d = dir.to_str().unwrap();
    let probe = format!(
        "import os\n\
         d = {d:?}\n\
         for what, f in [('rename', lambda: os.rename(d + '/shred', d + '/moved')),\n\
                         ('unlink', lambda: os.unlink(d + '/shred')),\n\
                         ('write', lambda: open(d + '/shred', 'w').write('x'))]:\n\
         \x20   try:\n\
         \x20       f(); print(what, 'ok')\n\
         \x20   except OSError as e:\n\
         \x20       print(what, 'denied', e.errno)\n"
    );
    let mut args = vec!["run", "--allow", d, "--allow-delete", d, "--"];
    args.extend_from_slice(&["/usr/bin/python3", "-c", &probe]);
    let mut cmd = env.command(&args);
    cmd.env("PATH", &path);
    let run = Run::from(cmd);
    run.expect_ok()
        .expect_stdout_has(&format!("rename denied {}", libc_ebusy()))
        .expect_stdout_has(&format!("unlink denied {}", libc_ebusy()))
        .expect_stdout_has("write denied");
    assert_eq!(
        std::fs::read_to_string(dir.join("shred")).unwrap(),
        "#!/bin/sh\necho SHRED-RAN\n"
    );
    // Control: without nono the rename succeeds (then the file is gone,
    // so the other two find nothing to remove and create a new file).
    let mut plain = std::process::Command::new("/usr/bin/python3");
    plain.args(["-c", &probe]).current_dir(&env.work);
    Run::from(plain)
        .expect_ok()
        .expect_stdout_has("rename ok")
        .expect_stdout_has("write ok");
}

/// EBUSY on Linux.
fn libc_ebusy() -> i32 {
    16
}

/// Another mount of a program directory (a bind mount made before nono
/// starts) shows the blocked program under a second path: under the mount
/// layer that name is covered too, in the fallback the per-file split
/// leaves it without execute. The control runs it through the alias
/// without nono; an unblocked program runs through the alias under nono.
#[test]
fn a_blocked_program_behind_another_mount_is_denied_too() {
    if !is_root() {
        return skip("making a bind mount needs root");
    }
    let env = TestEnv::new();
    let dir = env.path("pbin");
    let alias = env.path("alias");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(&alias).unwrap();
    env.script("pbin/shred", "#!/bin/sh\necho SHRED-RAN\n");
    env.script("pbin/other", "#!/bin/sh\necho OTHER-RAN\n");
    let inner = format!("{a}/shred; echo rc=$?; {a}/other", a = sh_path(&alias));
    let run = |nono: bool| {
        let cmd = if nono {
            // `why` answers for the alias as the kernel does.
            format!(
                "{n} run --read {d} -- /bin/sh -c '{inner}'; \
                 {n} why --read {d} --op exec {a}/shred; echo why=$?",
                n = sh_path(&nono_bin()),
                d = sh_path(&dir),
                a = sh_path(&alias)
            )
        } else {
            inner.clone()
        };
        let mut c = env.in_tree("unshare");
        c.args([
            "-m",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            &format!(
                "mount --bind {} {} && {cmd}",
                sh_path(&dir),
                sh_path(&alias)
            ),
        ])
        .env("PATH", format!("{}:/usr/bin:/bin", dir.display()));
        Run::from(c)
    };
    let plain = run(false);
    if plain.code() != Some(0) || !plain.stdout().contains("SHRED-RAN") {
        return skip(format!("cannot bind-mount here: {}", plain.stderr()));
    }
    run(true)
        .expect_ok()
        .expect_stdout_lacks("SHRED-RAN")
        .expect_stdout_has("rc=126")
        .expect_stdout_has("OTHER-RAN")
        .expect_stdout_has("DENIED")
        .expect_stdout_has("why=1");
}
