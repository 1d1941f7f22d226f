//! The filesystem sandbox: grants, protected paths, delete protection.

mod common;

use common::*;

#[test]
fn granted_directory_is_readable_and_writable() {
    let env = TestEnv::new();
    env.sandboxed_sh(&["--allow", "."], "cat keep.txt && echo new > new.txt")
        .expect_ok()
        .expect_stdout_has("precious");
    assert_eq!(read(&env.work.join("new.txt")), "new\n");
}

#[test]
fn ungranted_directory_is_unreadable() {
    let env = TestEnv::new();
    let script = format!("cat {}/marker.txt", env.outside.display());
    env.plain_sh(&script).expect_ok().expect_stdout_has(SECRET);
    env.sandboxed_sh(&["--allow", "."], &script)
        .expect_fail()
        .expect_stdout_lacks(SECRET);
}

// Linux only: it probes with truncation, which Seatbelt cannot deny apart
// from writing (see src/sandbox/seatbelt.rs); tests/macos.rs checks unlink
// and rename there.
#[cfg(target_os = "linux")]
#[test]
fn delete_is_denied_by_the_kernel_in_a_write_grant() {
    let env = TestEnv::new();
    // `rm` is the obvious probe, but any program would do: use the shell's
    // own redirection to truncate and python-free tools only.
    env.sandboxed_sh(&["--allow", "."], ": > keep.txt")
        .expect_fail();
    assert_eq!(read(&env.work.join("keep.txt")), "precious\n");
    env.plain_sh("cp keep.txt copy.txt && : > copy.txt")
        .expect_ok();
    assert_eq!(read(&env.work.join("copy.txt")), "");
}
