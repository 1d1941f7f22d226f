//! Probes for the network and hardening tests: small Python programs run
//! once without nono (the control) and once inside the sandbox. Each probe
//! step prints `NAME OK` or `NAME ERR ERRNO`, so a test can tell "denied by
//! the filter" (EPERM) from "failed for another reason".

#![allow(dead_code)]

use crate::common::{nono_bin, Run, TestEnv};

pub const PY: &str = "/usr/bin/python3";

const PRELUDE: &str = r#"
import ctypes, errno, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def attempt(name, f):
    try:
        f()
        print(name, "OK", flush=True)
    except OSError as e:
        print(name, "ERR", errno.errorcode.get(e.errno, e.errno), flush=True)
def sys_call(name, nr, *args):
    def f():
        r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
        if r < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    attempt(name, f)
"#;

fn script(code: &str) -> String {
    format!("{PRELUDE}\n{code}")
}

/// `code` with the probe prelude (`attempt`, `sys_call`), for callers
/// that run it their own way.
pub fn with_prelude(code: &str) -> String {
    script(code)
}

/// The probe without nono.
pub fn plain(env: &TestEnv, code: &str) -> Run {
    let mut cmd = env.in_tree(PY);
    cmd.args(["-c", &script(code)]);
    Run::from(cmd)
}

/// The probe under `nono run FLAGS -- python3 -c CODE`.
pub fn sandboxed(env: &TestEnv, flags: &[&str], code: &str) -> Run {
    let code = script(code);
    let mut args: Vec<&str> = vec!["run"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["--", PY, "-c", &code]);
    env.nono(args)
}

/// A step's result line, e.g. `has(&run, "connect OK")`.
pub fn has(run: &Run, line: &str) -> bool {
    run.stdout().lines().any(|l| l.trim() == line)
}

pub fn expect_line(run: &Run, line: &str) {
    assert!(has(run, line), "expected line {line:?}\n{run}");
}

pub fn nono_path() -> std::path::PathBuf {
    nono_bin()
}
