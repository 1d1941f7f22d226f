//! Output errors never panic: every subcommand that prints, writing into a
//! pipe whose reader has gone (`nono ... | head -c 1`) ends quietly, the
//! way a program killed by SIGPIPE does; writing into a full device
//! (`/dev/full`) is one `nono:` line and exit 125. A command run by nono
//! gets SIGPIPE's default action back.

use crate::common;

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use common::*;

/// Every subcommand that prints a report on stdout.
fn printing_commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["run", "--dry-run", "--allow", ".", "--", "/bin/true"],
        vec![
            "run",
            "--dry-run",
            "--json",
            "--allow",
            ".",
            "--",
            "/bin/true",
        ],
        vec!["run", "--dry-run", "--", "rm", "x"],
        vec!["why", "/etc/passwd"],
        vec!["why", "--json", "/etc/passwd"],
        vec!["why", "--command", "rm"],
        vec!["why", "--json", "--command", "rm"],
        vec!["why", "--connect", "443"],
        vec!["setup"],
        vec!["setup", "--json"],
        vec!["setup", "--apparmor-profile"],
        vec!["undo", "list"],
        vec!["profile", "list"],
        vec!["profile", "show", "rust"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["completions", "fish"],
        vec!["man"],
        vec!["--help"],
        vec!["run", "--help"],
        vec!["--version"],
    ]
}

#[test]
fn a_closed_pipe_ends_nono_quietly() {
    let env = TestEnv::new();
    for args in printing_commands() {
        let (reader, writer) = std::io::pipe().expect("pipe");
        // The reader is gone before nono writes its first byte.
        drop(reader);
        let mut cmd = env.command(&args);
        cmd.stdout(Stdio::from(writer));
        let r = Run::from(cmd);
        assert_eq!(
            r.out.status.signal(),
            Some(libc::SIGPIPE),
            "expected death by SIGPIPE, like any program whose reader left\n{r}"
        );
        assert!(
            r.stderr().is_empty(),
            "a closed pipe printed a message\n{r}"
        );
    }
}

#[test]
fn a_full_device_is_one_error_line() {
    let env = TestEnv::new();
    for args in printing_commands() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let mut cmd = env.command(&args);
        cmd.stdout(Stdio::from(full));
        Run::from(cmd).expect_nono_error("cannot write to standard output");
    }
}

/// The control for both: the same commands print normally into a pipe
/// that is read.
#[test]
fn the_same_commands_print_when_read() {
    let env = TestEnv::new();
    for args in printing_commands() {
        let r = env.nono(&args);
        assert!(
            matches!(r.code(), Some(0) | Some(1)),
            "unexpected status\n{r}"
        );
        assert!(!r.stdout().is_empty(), "printed nothing\n{r}");
        assert!(!r.stderr().contains("panicked"), "{r}");
    }
}

/// An error message itself cannot be written (stderr is /dev/full): nono
/// still exits 125, without a panic (which would exit 101).
#[test]
fn an_unwritable_stderr_is_not_a_panic() {
    let env = TestEnv::new();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut cmd = env.command(["run", "--allow", "/does/not/exist", "--", "/bin/true"]);
    cmd.stderr(Stdio::from(full));
    let r = Run::from(cmd);
    assert_eq!(r.code(), Some(125), "{r}");
}

/// The command gets SIGPIPE's default action: `yes | head -1` ends `yes`
/// by the signal, silently, as it does outside nono (the control).
#[test]
fn the_command_dies_of_sigpipe_like_outside() {
    let env = TestEnv::new();
    let Some(yes) = system_program("yes") else {
        return skip("no yes(1) in a system directory");
    };
    let outside = env.plain_sh(&format!("{yes} | head -c 2 >/dev/null"));
    assert!(outside.stderr().is_empty(), "control: {outside}");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut cmd = env.command(["run", "--", &yes]);
    cmd.stdout(Stdio::from(writer));
    let r = Run::from(cmd);
    assert_eq!(r.out.status.signal(), Some(libc::SIGPIPE), "{r}");
    assert!(r.stderr().is_empty(), "{r}");
}

/// nono starts with a closed standard input, output or error (a parent
/// that closed it): the descriptor is opened on /dev/null before nono
/// opens anything, so no file of nono's (a rule, a lock, a kept listing)
/// takes its number and the command finds /dev/null there, not one of
/// nono's files. Control: the same script started with the descriptor
/// closed and without nono finds nothing there.
#[test]
fn a_closed_standard_descriptor_is_opened_on_dev_null() {
    use std::os::unix::process::CommandExt;
    let env = TestEnv::new();
    // The shell's own descriptors, tested by builtins: a redirection
    // (`>&2`) would change them for the command it applies to.
    let script = "for fd in 0 1; do if [ /proc/$$/fd/$fd -ef /dev/null ]; then echo null >&2; \
                  elif [ -e /proc/$$/fd/$fd ]; then echo other >&2; else echo closed >&2; fi; done";
    let closed = |cmd: &mut std::process::Command| {
        // SAFETY: close(2) on descriptors 0 and 1 of the child between
        // fork and exec; nothing else runs there.
        unsafe {
            cmd.pre_exec(|| {
                libc::close(0);
                libc::close(1);
                Ok(())
            });
        }
    };
    let mut outside = std::process::Command::new("/bin/sh");
    outside.args(["-c", script]);
    closed(&mut outside);
    let outside = Run::from(outside);
    assert_eq!(
        outside.stderr().matches("closed").count(),
        2,
        "control: {outside}"
    );
    let mut cmd = env.command(["run", "--allow", ".", "--", "/bin/sh", "-c", script]);
    closed(&mut cmd);
    let r = Run::from(cmd);
    assert_eq!(r.code(), Some(0), "{r}");
    let stderr = r.stderr();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("nono:") && !l.starts_with("hint:"))
        .collect();
    assert_eq!(lines, ["null", "null"], "{r}");
}
