//! The Seatbelt backend on a real Mac: what the profile unit tests cannot
//! show (that macOS accepts the profile, and what it then denies). Each
//! denial is checked against the same action without nono, and by its
//! effect. These tests run on the macOS CI job only.
#![cfg(target_os = "macos")]

use crate::common;

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;

/// python3 from PATH (Homebrew's on the CI runners): used for the probes
/// that need a system call no shell tool makes.
fn python3() -> PathBuf {
    in_path("python3").expect("python3 is needed for the macOS tests")
}

fn sandboxed_py(env: &TestEnv, grants: &[&str], script: &str, args: &[&str]) -> Run {
    let py = python3();
    let mut a: Vec<&str> = vec!["run"];
    a.extend_from_slice(grants);
    a.extend_from_slice(&["--", py.to_str().unwrap(), "-c", script]);
    a.extend_from_slice(args);
    env.nono(a)
}

fn plain_py(env: &TestEnv, script: &str, args: &[&str]) -> Run {
    let mut cmd = env.in_tree(python3());
    cmd.arg("-c").arg(script).args(args);
    Run::from(cmd)
}

#[test]
fn macos_accepts_the_profile_and_grants_work() {
    let env = TestEnv::new();
    env.sandboxed_sh(&["--allow", "."], "cat keep.txt && echo new > new.txt")
        .expect_ok()
        .expect_stdout_has("precious");
    assert_eq!(read(&env.work.join("new.txt")), "new\n");
}

#[test]
fn dry_run_names_seatbelt() {
    let env = TestEnv::new();
    env.nono(["run", "--dry-run", "--allow", ".", "--", "/bin/echo"])
        .expect_ok()
        .expect_stdout_has("Seatbelt");
}

#[test]
fn grant_through_tmp_symlink_reaches_private_tmp_and_nothing_else() {
    let env = TestEnv::new();
    let dir = tempfile::Builder::new()
        .prefix("nono-tmp-")
        .tempdir_in("/tmp")
        .unwrap();
    // Named through the /tmp symlink on purpose: Seatbelt sees /private/tmp.
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let granted = format!("/tmp/{name}");
    let sibling = format!("/tmp/{name}-sibling");
    env.sandboxed_sh(&["--allow", &granted], &format!("echo hi > {granted}/f"))
        .expect_ok();
    assert_eq!(read(&dir.path().join("f")), "hi\n");

    env.sandboxed_sh(&["--allow", &granted], &format!("echo x > {sibling}"))
        .expect_fail();
    assert!(!std::path::Path::new(&sibling).exists());
    env.plain_sh(&format!("echo x > {sibling} && rm {sibling}"))
        .expect_ok();
}

#[test]
fn protected_paths_stay_denied_under_a_home_grant() {
    let env = TestEnv::new();
    let script = "cat \"$HOME/.ssh/id_ed25519\"; cat \"$HOME/.aws/credentials\"; cat \"$HOME/notes/todo.txt\"";
    env.plain_sh(script).expect_ok().expect_stdout_has(SECRET);
    let run = env.sandboxed_sh(&["--allow", "~"], script);
    run.expect_stdout_lacks(SECRET).expect_stdout_has("todo");
}

#[test]
fn unlink_and_rename_need_allow_delete() {
    let env = TestEnv::new();
    std::fs::create_dir(env.work.join("sub")).unwrap();
    std::fs::write(env.work.join("sub/f.txt"), "f").unwrap();
    let rename = "perl -e 'rename(\"keep.txt\", \"moved.txt\") or exit 1'";

    // Control: both work without nono (on a copy).
    std::fs::write(env.outside.join("keep.txt"), "x").unwrap();
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &format!("{rename} && unlink moved.txt")])
        .current_dir(&env.outside);
    Run::from(cmd).expect_ok();

    env.sandboxed_sh(&["--allow", "."], "unlink keep.txt")
        .expect_fail();
    env.sandboxed_sh(&["--allow", "."], rename).expect_fail();
    assert_eq!(read(&env.work.join("keep.txt")), "precious\n");
    assert!(!env.work.join("moved.txt").exists());

    // --allow-delete lifts it exactly where it says.
    env.sandboxed_sh(
        &["--allow", ".", "--allow-delete", "sub"],
        "unlink sub/f.txt",
    )
    .expect_ok();
    assert!(!env.work.join("sub/f.txt").exists());
    env.sandboxed_sh(
        &["--allow", ".", "--allow-delete", "sub"],
        "unlink keep.txt",
    )
    .expect_fail();
    assert_eq!(read(&env.work.join("keep.txt")), "precious\n");
}

#[test]
fn programs_outside_the_grants_cannot_be_executed() {
    let env = TestEnv::new();
    let copy = env.outside.join("myecho");
    std::fs::copy("/bin/echo", &copy).unwrap();
    let copy = copy.to_str().unwrap();
    let mut cmd = Command::new(copy);
    cmd.arg("MARK-EXEC");
    Run::from(cmd).expect_ok().expect_stdout_has("MARK-EXEC");
    env.nono(["run", "--allow", ".", "--", copy, "MARK-EXEC"])
        .expect_code(126)
        .expect_stdout_lacks("MARK-EXEC");
}

#[test]
fn a_hard_link_is_no_way_to_a_protected_file() {
    let env = TestEnv::new();
    let key = env.home.join(".ssh/id_ed25519");
    let script = format!("ln '{}' stolen; cat stolen", key.display());
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &script]).current_dir(&env.outside);
    Run::from(cmd).expect_stdout_has(SECRET);
    env.sandboxed_sh(&["--allow", "."], &script)
        .expect_stdout_lacks(SECRET);
}

#[test]
fn signals_to_processes_outside_the_sandbox_are_denied() {
    let env = TestEnv::new();
    let mut victim = Command::new("/bin/sleep").arg("60").spawn().unwrap();
    let pid = victim.id();
    env.plain_sh(&format!("kill -0 {pid}")).expect_ok();
    env.sandboxed_sh(&["--allow", "."], &format!("kill -TERM {pid}"))
        .expect_fail();
    std::thread::sleep(Duration::from_millis(300));
    let alive = victim.try_wait().unwrap().is_none();
    let _ = victim.kill();
    let _ = victim.wait();
    assert!(alive, "the sandbox killed a process outside it");
}

const LOOKUP: &str = r#"
import ctypes, sys
libc = ctypes.CDLL("/usr/lib/libSystem.B.dylib")
bp = ctypes.c_uint.in_dll(libc, "bootstrap_port")
for name in sys.argv[1:]:
    port = ctypes.c_uint(0)
    kr = libc.bootstrap_look_up(bp, name.encode(), ctypes.byref(port))
    print(name, kr)
"#;

fn lookups(run: &Run) -> Vec<(String, i64)> {
    run.stdout()
        .lines()
        .filter_map(|l| {
            let (n, kr) = l.rsplit_once(' ')?;
            Some((n.to_string(), kr.parse().ok()?))
        })
        .collect()
}

#[test]
fn keychain_launch_services_and_clipboard_services_are_unreachable() {
    let env = TestEnv::new();
    let forbidden = [
        "com.apple.SecurityServer",
        "com.apple.securityd.xpc",
        "com.apple.coreservices.launchservicesd",
        "com.apple.pasteboard.1",
        "com.apple.cfprefsd.agent",
    ];
    let allowed = "com.apple.system.opendirectoryd.libinfo";
    let mut names: Vec<&str> = forbidden.to_vec();
    names.push(allowed);

    let plain = plain_py(&env, LOOKUP, &names);
    plain.expect_ok();
    let reachable: Vec<String> = lookups(&plain)
        .into_iter()
        .filter(|(_, kr)| *kr == 0)
        .map(|(n, _)| n)
        .collect();
    assert!(
        reachable.iter().any(|n| n != allowed),
        "control: no forbidden service is reachable even without nono\n{plain}"
    );

    let boxed = sandboxed_py(&env, &["--allow", "."], LOOKUP, &names);
    boxed.expect_ok();
    let results = lookups(&boxed);
    for (name, kr) in &results {
        if name == allowed {
            assert_eq!(*kr, 0, "the sandbox must still reach {name}\n{boxed}");
        } else if reachable.contains(name) {
            assert_ne!(*kr, 0, "{name} is reachable from the sandbox\n{boxed}");
        }
    }
    assert_eq!(results.len(), names.len(), "{boxed}");
}

#[test]
fn host_unix_sockets_are_denied_even_inside_a_write_grant() {
    let env = TestEnv::new();
    let listener = UnixListener::bind(env.work.join("h.sock")).unwrap();
    listener.set_nonblocking(true).unwrap();
    let connect =
        "import socket; s = socket.socket(socket.AF_UNIX); s.connect('h.sock'); s.sendall(b'x')";

    plain_py(&env, connect, &[]).expect_ok();
    let (mut conn, _) = listener.accept().expect("control connection");
    let mut b = [0u8; 1];
    conn.set_nonblocking(false).unwrap();
    conn.read_exact(&mut b).unwrap();

    sandboxed_py(&env, &["--allow", "."], connect, &[]).expect_fail();
    assert!(
        listener.accept().is_err(),
        "the listener received a connection from the sandbox"
    );
}

#[test]
fn unix_sockets_in_the_private_tmpdir_work() {
    let env = TestEnv::new();
    let script = "import os, socket\n\
p = os.path.join(os.environ['TMPDIR'], 's')\n\
l = socket.socket(socket.AF_UNIX); l.bind(p); l.listen(1)\n\
c = socket.socket(socket.AF_UNIX); c.connect(p); c.sendall(b'ping')\n\
a, _ = l.accept(); print(a.recv(4).decode())";
    sandboxed_py(&env, &["--allow", "."], script, &[])
        .expect_ok()
        .expect_stdout_has("ping");
}

#[test]
fn tcp_to_loopback_works_by_default() {
    let env = TestEnv::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "import socket; s = socket.create_connection(('127.0.0.1', {port})); s.sendall(b'hello')"
    );
    sandboxed_py(&env, &["--allow", "."], &script, &[]).expect_ok();
    listener.set_nonblocking(false).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = String::new();
    conn.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello");
}
