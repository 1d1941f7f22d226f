//! The command line and exit statuses: usage errors are nono's (125, one
//! `nono:` line), the command's own status passes through, and a command
//! that cannot start is 126 or 127 like in a shell.

use crate::common;

use common::*;

#[test]
fn help_lists_examples() {
    let env = TestEnv::new();
    for args in [&["--help"][..], &["run", "--help"], &["-h"]] {
        let r = env.nono(args);
        r.expect_ok()
            .expect_stdout_has("Usage:")
            .expect_stdout_has("--allow");
        if args[0] != "-h" {
            r.expect_stdout_has("Examples:")
                .expect_stdout_has("nono run --allow . -- ");
        }
        assert!(r.stderr().is_empty(), "help wrote to stderr\n{r}");
    }
    env.nono(["run", "--help"])
        .expect_stdout_has("--allow-delete")
        .expect_stdout_has("--dry-run")
        .expect_stdout_has("--read")
        .expect_stdout_has("--write");
}

#[test]
fn version_prints_the_crate_version() {
    let env = TestEnv::new();
    env.nono(["--version"])
        .expect_ok()
        .expect_stdout_has(&format!("nono {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_are_one_line_and_exit_125() {
    let env = TestEnv::new();
    let cases: &[(&[&str], &str)] = &[
        (&["run"], "<COMMAND>"),
        (&["run", "--allow", "."], "<COMMAND>"),
        (&["run", "--bogus", "--", "true"], "--bogus"),
        (&["run", "--allow"], "--allow"),
        (&["--bogus"], "--bogus"),
        (&["bogus"], "bogus"),
        (&[], "subcommand"),
        (&["run", "--dry-run=yes", "true"], "--dry-run"),
    ];
    for (args, has) in cases {
        env.nono(*args).expect_nono_error(has);
    }
}

#[test]
fn unknown_flag_is_not_taken_for_the_command() {
    // `nono run --bogus -- x` must not try to run a program named --bogus.
    let env = TestEnv::new();
    env.nono(["run", "--bogus", "--", "/bin/echo", "ran"])
        .expect_nono_error("--bogus")
        .expect_stdout_lacks("ran");
}

#[test]
fn flags_after_the_command_belong_to_the_command() {
    let env = TestEnv::new();
    env.nono(["run", "--allow", ".", "/bin/ls", "-a", "--color=never"])
        .expect_ok()
        .expect_stdout_has("keep.txt");
    env.nono(["run", "--", "/bin/echo", "--allow", "-x"])
        .expect_ok()
        .expect_stdout_has("--allow -x");
}

#[test]
fn missing_grant_path_is_named() {
    let env = TestEnv::new();
    let missing = env.outside.join("no-such-dir");
    for flag in ["--allow", "--read", "--write", "--allow-delete"] {
        env.nono(["run", flag, &sh_path(&missing), "--", "/bin/true"])
            .expect_nono_error("no-such-dir");
    }
    env.nono(["run", "--allow", "./nope", "--", "/bin/true"])
        .expect_nono_error("nope");
    // Nothing ran: the command would have created this file.
    env.nono([
        "run",
        "--allow",
        ".",
        "--read",
        "./nope",
        "--",
        "/bin/touch",
        "ran",
    ])
    .expect_nono_error("nope");
    assert!(!env.work.join("ran").exists());
}

#[test]
fn command_not_found_is_127() {
    let env = TestEnv::new();
    env.nono(["run", "--", "nono-no-such-command-xyz"])
        .expect_code(127)
        .expect_one_line_error("nono-no-such-command-xyz");
    env.nono(["run", "--", "./not-here"])
        .expect_code(127)
        .expect_one_line_error("not-here");
}

#[test]
fn non_executable_file_is_126() {
    let env = TestEnv::new();
    std::fs::write(env.work.join("plain.sh"), "echo ran\n").unwrap();
    env.nono(["run", "--allow", ".", "--", "./plain.sh"])
        .expect_code(126)
        .expect_one_line_error("plain.sh")
        .expect_stdout_lacks("ran");
    // A directory is not executable either.
    std::fs::create_dir(env.work.join("adir")).unwrap();
    env.nono(["run", "--allow", ".", "--", "./adir"])
        .expect_code(126)
        .expect_one_line_error("adir");
}

#[test]
fn the_command_status_passes_through() {
    let env = TestEnv::new();
    for code in [0, 1, 7, 100, 124, 125, 126, 127, 255] {
        env.sandboxed_sh(&[], &format!("exit {code}"))
            .expect_code(code);
    }
    // Output streams are the command's own.
    let r = env.sandboxed_sh(&[], "echo out; echo err >&2");
    r.expect_ok().expect_stdout_has("out");
    assert_eq!(r.stderr(), "err\n", "{r}");
}

#[test]
fn killed_command_reports_the_signal() {
    use std::os::unix::process::ExitStatusExt;
    let env = TestEnv::new();
    let r = env.sandboxed_sh(&[], "kill -TERM $$");
    assert_eq!(r.out.status.signal(), Some(15), "{r}");
}

#[test]
fn command_in_an_ungranted_directory_is_126_with_a_hint() {
    let env = TestEnv::new();
    let script = env.script("outside/tool.sh", "#!/bin/sh\necho ran-outside\n");
    let script = sh_path(&script);
    // Control: the script itself runs fine.
    env.plain(&[&script])
        .expect_ok()
        .expect_stdout_has("ran-outside");
    let r = env.sandboxed(&["--allow", "."], &[&script]);
    r.expect_code(126)
        .expect_one_line_error("tool.sh")
        .expect_stdout_lacks("ran-outside")
        .expect_stderr_has("hint: ")
        .expect_stderr_has(&sh_path(&env.outside));
    // Granting the directory read (and so execute) lets it run.
    env.sandboxed(
        &["--allow", ".", "--read", &sh_path(&env.outside)],
        &[&script],
    )
    .expect_ok()
    .expect_stdout_has("ran-outside");
}

#[test]
fn command_found_through_path_with_relative_and_tilde_grants() {
    let env = TestEnv::new();
    std::fs::create_dir(env.home.join("bin")).unwrap();
    env.script("home/bin/hello", "#!/bin/sh\necho hello-from-home\n");
    let path = format!("{}:/usr/bin:/bin", sh_path(&env.home.join("bin")));
    let mut cmd = env.command(["run", "--read", "~/bin", "--", "hello"]);
    cmd.env("PATH", &path);
    Run::from(cmd)
        .expect_ok()
        .expect_stdout_has("hello-from-home");
    // Without the grant the same lookup finds it but may not execute it.
    let mut cmd = env.command(["run", "--", "hello"]);
    cmd.env("PATH", &path);
    Run::from(cmd)
        .expect_code(126)
        .expect_stdout_lacks("hello-from-home");
}

#[test]
fn strange_input_never_panics() {
    let env = TestEnv::new();
    let cases: &[&[&str]] = &[
        &["run", "--allow", "", "--", "/bin/true"],
        &["run", "--allow", "~nobody", "--", "/bin/true"],
        &["run", "--allow", "\u{1b}[31mred", "--", "/bin/true"],
        &["run", "--", ""],
        &["why"],
        &["run", "--allow-delete", ".", "--", "/bin/true"],
    ];
    for args in cases {
        let r = env.nono(*args);
        assert!(
            matches!(r.code(), Some(125..=127)),
            "unexpected status\n{r}"
        );
        r.expect_one_line_error("");
        // Escape sequences from input are never echoed raw to the terminal.
        assert!(!r.stderr().contains('\u{1b}'), "raw escape\n{r}");
    }
}

#[test]
#[cfg(target_os = "linux")]
fn file_executable_only_by_others_is_126_not_blamed_on_the_sandbox() {
    // Needs a file this user may not execute although it has an x bit:
    // made by root for uid 65534.
    if !is_root() || !have("/usr/bin/setpriv") {
        return skip("needs root and setpriv");
    }
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    std::fs::set_permissions(&env.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let nono = env.root.join("nono");
    std::fs::copy(nono_bin(), &nono).unwrap();
    let tool = env.script("outside/owner-only", "#!/bin/sh\necho ran\n");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o744)).unwrap();
    let tmp = env.root.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mut cmd = std::process::Command::new("/usr/bin/setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&nono)
        .args(["run", "--read"])
        .arg(&env.outside)
        .arg("--")
        .arg(&tool)
        .current_dir(&env.root)
        .env("HOME", &env.home)
        .env("TMPDIR", &tmp);
    Run::from(cmd)
        .expect_code(126)
        .expect_one_line_error("not executable")
        .expect_stderr_lacks("sandbox")
        .expect_stdout_lacks("ran");
}

#[test]
fn verbose_logs_are_plain_text_and_escaped() {
    let env = TestEnv::new();
    // A directory name that would colour the terminal if printed raw.
    let odd = env.work.join("a\u{1b}[31mred");
    std::fs::create_dir(&odd).unwrap();
    let r = env.nono([
        "run".as_ref(),
        "-vv".as_ref(),
        "--read".as_ref(),
        odd.as_os_str(),
        "--".as_ref(),
        "/bin/true".as_ref(),
    ] as [&std::ffi::OsStr; 6]);
    r.expect_ok()
        .expect_stderr_has("DEBUG")
        .expect_stderr_has("a\\u{1b}[31mred");
    // stderr is a pipe here: no colour codes, and no raw escape from the name.
    assert!(!r.stderr().contains('\u{1b}'), "raw escape in logs\n{r}");
}

/// `--allow-delete FILE` is refused with a hint naming FILE's directory,
/// also when FILE is written without one (`hello.c`: the current one).
#[test]
fn allow_delete_of_a_file_names_its_directory() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.work.join("src")).unwrap();
    std::fs::write(env.work.join("src/a.c"), "").unwrap();
    for (file, dir) in [("keep.txt", "."), ("./keep.txt", "."), ("src/a.c", "src")] {
        env.nono(["run", "--allow", ".", "--allow-delete", file, "--", "true"])
            .expect_code(125)
            .expect_stderr_has(&format!("e.g. --allow-delete {dir}\n"));
    }
}
