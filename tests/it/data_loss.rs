//! Data loss around delete protection: fallocate() modes that shorten or
//! shift a file are refused (at every Landlock ABI: scripts/test runs this
//! file with the ABI capped), and a regular file inherited as stdout can be
//! truncated through that descriptor (a documented limitation, pinned here
//! together with nono's warning about it).
//!
//! Linux only: what is pinned here is seccomp's fallocate filter and
//! Landlock's truncate right, per ABI.

#![cfg(target_os = "linux")]

use crate::common;

use std::fs;

use common::*;

const MIB: usize = 1 << 20;

/// fallocate(fd, MODE, 0, LEN) on PATH, printing `errno N` (0: done).
const FALLOCATE: &str = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
fd = os.open(sys.argv[1], os.O_RDWR)
r = libc.fallocate(fd, int(sys.argv[2]), 0, int(sys.argv[3]))
print("errno", ctypes.get_errno() if r else 0)
"#;

fn big_file(env: &TestEnv, rel: &str) -> std::path::PathBuf {
    let p = env.work.join(rel);
    fs::write(&p, vec![b'x'; MIB]).unwrap();
    p
}

fn size(p: &std::path::Path) -> usize {
    fs::metadata(p).unwrap().len() as usize
}

/// The control: outside nono, COLLAPSE_RANGE shrinks the file. None (and
/// says why) where this filesystem does not support the mode.
fn control_shrinks(env: &TestEnv, script: &str) -> bool {
    let f = big_file(env, "control.bin");
    let len = (MIB - 4096).to_string();
    let r = env.plain(&[PYTHON, script, f.to_str().unwrap(), "8", &len]);
    if !r.stdout().contains("errno 0") {
        skip(format!(
            "this filesystem refuses FALLOC_FL_COLLAPSE_RANGE outside nono too\n{r}"
        ));
        return false;
    }
    assert_eq!(size(&f), 4096, "control did not shrink\n{r}");
    true
}

#[test]
fn fallocate_cannot_shrink_or_shift_a_file() {
    if !have(PYTHON) {
        return skip(format!("no {PYTHON}"));
    }
    let env = TestEnv::new();
    let script = env.root.join("fallocate.py");
    fs::write(&script, FALLOCATE).unwrap();
    let script = script.to_str().unwrap().to_string();
    if !control_shrinks(&env, &script) {
        return;
    }
    let len = (MIB - 4096).to_string();
    let delete_ok = abi() >= 3;
    // A directory grant, a file granted on its own, and even --allow-delete
    // (seccomp cannot see the path, so the refusal is global).
    let mut cases: Vec<(&str, Vec<&str>)> = vec![
        ("dir.bin", vec!["--allow", "."]),
        ("alone.bin", vec!["--allow", "./alone.bin"]),
    ];
    if delete_ok {
        cases.push(("deletable.bin", vec!["--allow", ".", "--allow-delete", "."]));
    }
    for (name, mut grants) in cases {
        grants.extend(["--read", script.as_str()]);
        let f = big_file(&env, name);
        for mode in ["8" /* COLLAPSE_RANGE */, "32" /* INSERT_RANGE */] {
            let path = f.to_str().unwrap();
            let r = env.sandboxed(&grants, &[PYTHON, &script, path, mode, &len]);
            r.expect_ok().expect_stdout_has("errno 1\n");
            assert_eq!(size(&f), MIB, "{name} changed length\n{r}");
        }
        // Allocation inside the file and zeroing in place still work.
        let r = env.sandboxed(
            &grants,
            &[PYTHON, &script, f.to_str().unwrap(), "0", "4096"],
        );
        r.expect_ok().expect_stdout_has("errno 0\n");
        assert_eq!(size(&f), MIB);
    }
}

/// In the private TMPDIR too: the filter cannot tell it apart.
#[test]
fn fallocate_collapse_is_refused_in_the_tmpdir_too() {
    if !have(PYTHON) {
        return skip(format!("no {PYTHON}"));
    }
    if below_abi(3, "writing a file with '>' in TMPDIR") {
        return;
    }
    let env = TestEnv::new();
    let script = env.root.join("fallocate.py");
    fs::write(&script, FALLOCATE).unwrap();
    if !control_shrinks(&env, script.to_str().unwrap()) {
        return;
    }
    let r = env.sandboxed_sh(
        &["--read", env.root.to_str().unwrap()],
        &format!(
            "head -c {MIB} /dev/zero > \"$TMPDIR/f\" && {PYTHON} {} \"$TMPDIR/f\" 8 {} && wc -c < \"$TMPDIR/f\"",
            sh_path(&script),
            MIB - 4096
        ),
    );
    r.expect_ok()
        .expect_stdout_has("errno 1\n")
        .expect_stdout_has(&MIB.to_string());
}

/// A file given as stdout (`>> log`) was opened before the sandbox:
/// Landlock does not check that descriptor, so the command can truncate the
/// file through it. This pins the documented limitation and nono's warning
/// about it; a pipe (the advice) gets no warning, and a file where the
/// policy allows truncation anyway gets none either.
#[test]
fn a_file_on_stdout_can_be_truncated_and_nono_warns() {
    if !have(PYTHON) {
        return skip(format!("no {PYTHON}"));
    }
    let env = TestEnv::new();
    let log = env.outside.join("log");
    let truncate = [PYTHON, "-c", "import os; os.ftruncate(1, 0)"];
    // Control: outside nono the command empties the file.
    fs::write(&log, "precious\n").unwrap();
    let out = fs::OpenOptions::new().append(true).open(&log).unwrap();
    let mut plain = std::process::Command::new(PYTHON);
    plain.args(&truncate[1..]).stdout(out);
    assert!(plain.status().unwrap().success());
    assert_eq!(read(&log), "");

    fs::write(&log, "precious\n").unwrap();
    let out = fs::OpenOptions::new().append(true).open(&log).unwrap();
    let mut cmd = env.command(["run", "--", PYTHON, "-c", "import os; os.ftruncate(1, 0)"]);
    cmd.stdout(out);
    let r = Run::from(cmd);
    r.expect_stderr_has("nono: warning: standard output is the file")
        .expect_stderr_has(log.to_str().unwrap())
        .expect_stderr_has("hint: ");
    if abi() < 3 {
        // Below ABI 3 seccomp refuses ftruncate everywhere, inherited
        // descriptors included; overwriting in place is what remains.
        r.expect_fail().expect_stderr_has("can overwrite it");
        assert_eq!(read(&log), "precious\n");
    } else {
        r.expect_ok()
            .expect_stderr_has("can truncate or overwrite it");
        // The limitation, as documented in SECURITY.md.
        assert_eq!(
            read(&log),
            "",
            "the inherited descriptor could not truncate"
        );
    }

    // No warning for a pipe, nor where truncation is allowed anyway.
    env.sandboxed(&[], &["/bin/true"])
        .expect_ok()
        .expect_stderr_lacks("is the file");
    if abi() >= 3 {
        let inside = env.work.join("inside.log");
        fs::write(&inside, "x\n").unwrap();
        let out = fs::OpenOptions::new().append(true).open(&inside).unwrap();
        let mut cmd = env.command([
            "run",
            "--allow",
            ".",
            "--allow-delete",
            ".",
            "--",
            "/bin/true",
        ]);
        cmd.stdout(out);
        Run::from(cmd)
            .expect_ok()
            .expect_stderr_lacks("is the file");
    }
}

#[test]
fn below_scoped_truncation_nono_says_that_truncation_is_denied_everywhere() {
    let env = TestEnv::new();
    let out = env.sandboxed(&[], &["/bin/true"]);
    out.expect_ok();
    let warning = "cannot limit truncation to paths";
    if abi() >= 3 {
        // Scoped truncation: nothing to warn about (the ABI-capped runs of
        // the test script take the other branch).
        out.expect_stderr_lacks(warning);
        return;
    }
    out.expect_stderr_has(warning);
    // -q: nothing of nono's own on stderr unless it fails.
    env.sandboxed(&["-q"], &["/bin/true"])
        .expect_ok()
        .expect_stderr_lacks(warning);
}
