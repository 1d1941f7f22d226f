//! The mount-namespace layer (on by default where the kernel allows it): masks instead of carving,
//! a read-only tree outside the write grants, private /tmp, /dev/shm and
//! ptys, and the refusal with `--require-isolation` when it is not there.
//! Every denial has a control without nono and a check from outside.
#![cfg(target_os = "linux")]

use crate::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;

/// Whether `nono run` would set the layer up here; prints why
/// not, for the skip.
fn layer_active(env: &TestEnv) -> bool {
    let run = env.nono(["run", "--dry-run", "--json", "--", "true"]);
    run.expect_ok();
    let doc: serde_json::Value = run.json();
    if doc["mount_layer"]["active"] == serde_json::json!(true) {
        return true;
    }
    skip(format!(
        "the mount layer is not available here: {}",
        doc["mount_layer"]["reason"]
    ));
    false
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn home_is_listable_while_protected_entries_are_masked() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    let script = "ls -a ~; cat ~/.ssh/id_ed25519 ~/.bashrc ~/.netrc ~/.aws/credentials; ls -a ~/.ssh; cat ~/notes/todo.txt";
    // Control: the same script reads every marker without nono.
    env.plain_sh(script).expect_stdout_has(SECRET);
    let run = env.sandboxed_sh(&["--allow", "~"], script);
    run.expect_stdout_lacks(SECRET)
        .expect_stdout_has("notes")
        .expect_stdout_has(".ssh")
        .expect_stdout_has("todo");
    // Writing into a masked directory or file fails; nothing lands outside.
    let run = env.sandboxed_sh(
        &["--allow", "~"],
        "echo planted > ~/.ssh/planted; echo planted >> ~/.bashrc; echo ok > ~/notes/new.txt",
    );
    run.expect_stderr_has("Read-only file system");
    assert!(!env.home.join(".ssh/planted").exists());
    assert_eq!(read(&env.home.join(".bashrc")), format!("# {SECRET}\n"));
    assert_eq!(read(&env.home.join(".ssh/id_ed25519")), SECRET);
    // ...while the write grant itself works.
    assert_eq!(read(&env.home.join("notes/new.txt")), "ok\n");
}

#[test]
fn metadata_changes_fail_outside_the_write_grants_and_work_inside() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    let bashrc = env.home.join(".bashrc");
    let marker = env.outside.join("marker.txt");
    let keep = env.work.join("keep.txt");
    for p in [&bashrc, &marker, &keep] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o640)).unwrap();
    }
    let py = |path: &Path| {
        format!(
            "import os\np={:?}\nfor name, f in [('chmod', lambda: os.chmod(p, 0o777)), ('chown', lambda: os.chown(p, os.getuid(), os.getgid())), ('utime', lambda: os.utime(p, (0, 0))), ('setxattr', lambda: os.setxattr(p, 'user.nono', b'x'))]:\n    try:\n        f(); print(name, 'WORKED')\n    except OSError as e:\n        print(name, e.errno)\n",
            path.to_str().unwrap()
        )
    };
    // Control: without nono, chmod of a copy of the outside file works.
    let copy = env.outside.join("copy.txt");
    fs::write(&copy, "x").unwrap();
    Command::new("/usr/bin/python3")
        .args(["-c", &py(&copy)])
        .output()
        .unwrap();
    assert_eq!(mode(&copy), 0o777, "control: chmod works without nono");
    for p in [&bashrc, &marker] {
        let run = env.sandboxed(
            &["--allow", "~", "--allow", "."],
            &["/usr/bin/python3", "-c", &py(p)],
        );
        run.expect_ok()
            .expect_stdout_lacks("WORKED")
            .expect_stdout_has(&format!("chmod {}", libc_erofs()));
        assert_eq!(mode(p), 0o640, "{} keeps its mode", p.display());
    }
    // A system file, as root: the mount is read-only too.
    if is_root() {
        let host = Path::new("/etc/hostname");
        if host.exists() {
            let before = mode(host);
            let script = format!(
                "import os\ntry:\n    os.chmod('/etc/hostname', 0o{before:o}); print('WORKED')\nexcept OSError as e:\n    print('errno', e.errno)\n"
            );
            env.sandboxed(&[], &["/usr/bin/python3", "-c", &script])
                .expect_stdout_has(&format!("errno {}", libc_erofs()));
            assert_eq!(mode(host), before);
        }
    } else {
        skip("the system-file part: it needs root");
    }
    // Inside a write grant chmod keeps working.
    env.sandboxed(
        &["--allow", "."],
        &[
            "/usr/bin/python3",
            "-c",
            "import os; os.chmod('keep.txt', 0o600)",
        ],
    )
    .expect_ok();
    assert_eq!(mode(&keep), 0o600);
}

#[test]
fn device_nodes_stay_usable_but_their_metadata_is_read_only() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    if !is_root() {
        return skip("chmod of /dev/null needs root outside the sandbox too");
    }
    // chmod to the mode it has: a no-op that succeeds on a writable mount
    // and fails with EROFS on a read-only one, so nothing changes either way.
    let before = mode(Path::new("/dev/null"));
    let script = format!(
        "import os\nopen('/dev/null', 'w').write('x'); print('written')\ntry:\n    os.chmod('/dev/null', 0o{before:o}); print('WORKED')\nexcept OSError as e:\n    print('errno', e.errno)\n"
    );
    // Control: without nono, root can chmod it.
    let control = env.plain(&["/usr/bin/python3", "-c", &script]);
    control.expect_ok().expect_stdout_has("WORKED");
    let run = env.sandboxed(&["--allow", "."], &["/usr/bin/python3", "-c", &script]);
    run.expect_ok()
        .expect_stdout_has("written")
        .expect_stdout_has(&format!("errno {}", libc_erofs()));
    assert_eq!(mode(Path::new("/dev/null")), before);
}

/// System V shared memory of a host process, by key: created outside with
/// a marker, looked up inside.
const SHM_PROBE: &str = r#"
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
key = 0x6e6f6e6f
if sys.argv[1] == "make":
    i = libc.shmget(key, 4096, 0o1600)
    p = libc.shmat(i, None, 0)
    ctypes.memmove(p, b"NONO-SHM-MARKER", 15)
    print("made", i)
elif sys.argv[1] == "read":
    i = libc.shmget(key, 0, 0)
    if i < 0:
        print("shmget errno", ctypes.get_errno())
    else:
        p = libc.shmat(i, None, 0)
        print("read", ctypes.string_at(p, 15).decode())
else:
    i = libc.shmget(key, 0, 0)
    if i >= 0:
        libc.shmctl(i, 0, None)  # IPC_RMID
"#;

#[test]
fn host_system_v_ipc_is_not_reachable() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    let probe = |what: &str| {
        Command::new("/usr/bin/python3")
            .args(["-c", SHM_PROBE, what])
            .output()
            .unwrap()
    };
    let _ = probe("remove");
    let made = probe("make");
    assert!(
        String::from_utf8_lossy(&made.stdout).contains("made"),
        "{made:?}"
    );
    // Control: another process outside reads the marker.
    let control = probe("read");
    let text = String::from_utf8_lossy(&control.stdout).to_string();
    let run = env.sandboxed(&[], &["/usr/bin/python3", "-c", SHM_PROBE, "read"]);
    let _ = probe("remove");
    assert!(text.contains("NONO-SHM-MARKER"), "control: {control:?}");
    run.expect_ok()
        .expect_stdout_lacks("NONO-SHM-MARKER")
        .expect_stdout_has("shmget errno");
}

fn libc_erofs() -> i32 {
    30 // EROFS
}

/// /tmp is private only where no grant lies inside it: this test's tree is
/// made under /var/tmp.
#[test]
fn tmp_is_private_and_python_multiprocessing_works() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    let root = tempfile::Builder::new()
        .prefix("nono-mnt-")
        .tempdir_in("/var/tmp")
        .expect("tempdir in /var/tmp");
    let work = fs::canonicalize(root.path()).unwrap();
    let tag = format!("nono-mnt-{}", std::process::id());
    let marker = Path::new("/tmp").join(format!("{tag}-host"));
    fs::write(&marker, SECRET).unwrap();
    let inside = Path::new("/tmp").join(format!("{tag}-inside"));
    let script = format!(
        "cat {m}; ls /tmp; echo made > {i}; echo TMPDIR=$TMPDIR; /usr/bin/python3 -c 'import multiprocessing as m; print(\"pool\", m.Pool(2).map(abs, [-3, -4]))'",
        m = marker.display(),
        i = inside.display()
    );
    // Control: without nono the host marker is there.
    let plain = Command::new("/bin/sh")
        .args(["-c", &script])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).contains(SECRET));
    fs::remove_file(&inside).unwrap();
    let mut cmd = Command::new(nono_bin());
    cmd.args(["run", "--allow", ".", "--", "/bin/sh", "-c", &script])
        .current_dir(&work)
        .env("HOME", &env.home);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let _ = fs::remove_file(&marker);
    assert!(!stdout.contains(SECRET), "host /tmp visible: {stdout}");
    assert!(stdout.contains("TMPDIR=/tmp"), "{stdout}");
    assert!(
        stdout.contains("pool [3, 4]"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !inside.exists(),
        "a file written to the private /tmp is visible outside"
    );
}

#[test]
fn ptys_made_inside_work_and_other_terminals_are_unreachable() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    // Another terminal of the same user, opened outside.
    let mut other = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import os, pty, sys, time\nm, s = pty.openpty()\nprint(os.ttyname(s), flush=True)\ntime.sleep(20)",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    {
        use std::io::BufRead;
        let stdout = other.stdout.as_mut().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
    }
    let tty = line.trim().to_string();
    let probe = format!("import os\ntry:\n    os.close(os.open({tty:?}, os.O_RDWR | os.O_NOCTTY)); print('OPENED')\nexcept OSError as e:\n    print('denied', e.errno)\n");
    // Control: without nono the other terminal opens.
    let plain = Command::new("/usr/bin/python3")
        .args(["-c", &probe])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).contains("OPENED"));
    let run = env.sandboxed(&[], &["/usr/bin/python3", "-c", &probe]);
    let _ = other.kill();
    let _ = other.wait();
    run.expect_ok().expect_stdout_lacks("OPENED");
    // A pty made inside works both ways.
    let spawn = "import os, pty\nm, s = pty.openpty()\nos.write(m, b'ping\\n')\nprint(os.ttyname(s), os.read(s, 10))\n";
    env.sandboxed(&[], &["/usr/bin/python3", "-c", spawn])
        .expect_ok()
        .expect_stdout_has("/dev/pts/")
        .expect_stdout_has("ping");
}

#[test]
fn another_mount_of_the_home_is_masked_too() {
    if !is_root() {
        return skip("making a bind mount needs root");
    }
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    let alias = env.path("alias");
    fs::create_dir(&alias).unwrap();
    let script = |nono: bool| {
        let inner = format!(
            "cat {}/.ssh/id_ed25519 {}/.bashrc",
            alias.display(),
            alias.display()
        );
        let cmd = if nono {
            format!(
                "{} run --allow {} --read {} -- /bin/sh -c '{inner}'",
                nono_bin().display(),
                env.home.display(),
                alias.display()
            )
        } else {
            inner
        };
        format!(
            "mount --bind {} {} && {cmd}",
            env.home.display(),
            alias.display()
        )
    };
    // In a mount namespace of the test's own, so nothing stays mounted.
    let run = |nono: bool| {
        env.in_tree("unshare")
            .args([
                "-m",
                "--propagation",
                "private",
                "/bin/sh",
                "-c",
                &script(nono),
            ])
            .output()
            .unwrap()
    };
    let plain = run(false);
    if !plain.status.success() {
        return skip(format!(
            "cannot bind-mount here: {}",
            String::from_utf8_lossy(&plain.stderr)
        ));
    }
    assert!(String::from_utf8_lossy(&plain.stdout).contains(SECRET));
    let out = run(true);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(SECRET),
        "alias exposed the secret: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn require_isolation_refuses_when_the_layer_is_unavailable() {
    let env = TestEnv::new();
    // The test switch forces the fallback (honoured in test builds only).
    let mut cmd = env.command(["run", "--require-isolation", "--", "true"]);
    cmd.env("NONO_TEST_NO_MOUNT_NS", "1");
    let run = Run::from(cmd);
    run.expect_code(125)
        .expect_one_line_error("mount-namespace layer is not available");
    // Control: without --require-isolation it falls back and runs.
    let mut cmd = env.command(["run", "--", "true"]);
    cmd.env("NONO_TEST_NO_MOUNT_NS", "1");
    Run::from(cmd).expect_ok();
}

#[test]
fn dry_run_describes_the_plan_per_path() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    let run = env.nono(["run", "--dry-run", "--json", "--allow", "~", "--", "true"]);
    let doc: serde_json::Value = run.json();
    let plan = doc["mount_layer"]["plan"].as_array().unwrap();
    let has = |what: &str, path: &Path| {
        plan.iter()
            .any(|e| e["what"] == what && e["path"] == path.to_str().unwrap())
    };
    assert!(has("masked", &env.home.join(".ssh")), "{plan:?}");
    assert!(has("masked", &env.home.join(".bashrc")), "{plan:?}");
    assert!(has("listable", &env.home), "{plan:?}");
    assert!(has("writable", &env.home), "{plan:?}");
    assert!(has("read_only", Path::new("/")), "{plan:?}");
    // why answers for the same sandbox: the home is listable.
    env.nono(["why", "--allow", "~", "~"]).expect_ok();
    env.nono(["why", "--allow", "~", "~/.ssh/id_ed25519"])
        .expect_code(1);
}

#[test]
fn an_overlaid_cache_keeps_the_real_one_unchanged() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    let cache = env.home.join("cache");
    fs::create_dir_all(cache.join("pkg")).unwrap();
    fs::write(cache.join("pkg/lib.rs"), "real\n").unwrap();
    fs::write(cache.join("pkg/gone.rs"), "real\n").unwrap();
    let profile = env.path("ovl.toml");
    fs::write(
        &profile,
        "[filesystem]\nallow = [\"~/cache\"]\nallow_delete = [\"~/cache\"]\noverlay = [\"~/cache\"]\n",
    )
    .unwrap();
    let script = "cat ~/cache/pkg/lib.rs && echo 'fn main() {}' > ~/cache/pkg/build.rs && echo changed > ~/cache/pkg/lib.rs && /usr/bin/python3 -c 'import os; os.unlink(os.path.expanduser(\"~/cache/pkg/gone.rs\"))' && cat ~/cache/pkg/lib.rs && ls ~/cache/pkg";
    let run = env.sandboxed_sh(&["-p", profile.to_str().unwrap()], script);
    // Inside: the real content, then the command's own changes.
    run.expect_ok()
        .expect_stdout_has("real\nchanged\n")
        .expect_stdout_has("build.rs")
        .expect_stdout_lacks("gone.rs");
    // Outside: the real cache is as it was; the changes are in nono's
    // upper directory.
    assert!(
        !cache.join("pkg/build.rs").exists(),
        "planted build.rs reached the real cache"
    );
    assert_eq!(read(&cache.join("pkg/lib.rs")), "real\n");
    assert_eq!(read(&cache.join("pkg/gone.rs")), "real\n");
    let upper = env.home.join(".local/state/nono/overlay");
    assert!(
        upper.is_dir(),
        "upper directories under {}",
        upper.display()
    );
    // Control: without the overlay the same write lands in the cache.
    env.plain_sh("echo x > ~/cache/pkg/control.rs").expect_ok();
    assert!(cache.join("pkg/control.rs").exists());
}

#[test]
fn the_rust_and_node_profiles_overlay_their_code_caches() {
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    let cargo = env.home.join(".cargo");
    fs::create_dir_all(cargo.join("registry/src/index/dep-1.0")).unwrap();
    fs::write(cargo.join("registry/src/index/dep-1.0/lib.rs"), "real\n").unwrap();
    let npm = env.home.join(".npm");
    fs::create_dir_all(npm.join("_npx")).unwrap();
    let mut cmd = env.command([
        "run",
        "-p",
        "rust",
        "-p",
        "node",
        "--",
        "/bin/sh",
        "-c",
        "cat $CARGO_HOME/registry/src/index/dep-1.0/lib.rs && echo 'fn main() { evil() }' > $CARGO_HOME/registry/src/index/dep-1.0/build.rs && mkdir -p $npm_config_cache/_npx/abc/node_modules/evil && echo '{}' > $npm_config_cache/_npx/abc/node_modules/evil/package.json && echo planted",
    ]);
    cmd.env("CARGO_HOME", &cargo).env("npm_config_cache", &npm);
    Run::from(cmd)
        .expect_ok()
        .expect_stdout_has("real\nplanted");
    assert!(!cargo.join("registry/src/index/dep-1.0/build.rs").exists());
    assert!(!npm.join("_npx/abc").exists());
    assert_eq!(
        read(&cargo.join("registry/src/index/dep-1.0/lib.rs")),
        "real\n"
    );
}

#[test]
fn host_sockets_in_a_write_grant_stay_closed_unless_granted() {
    use std::os::unix::net::UnixListener;
    let env = TestEnv::new();
    if !layer_active(&env) {
        return;
    }
    // A stand-in for an agent socket inside the write-granted project.
    let path = env.work.join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let probe = format!(
        "import socket\ntry:\n    s = socket.socket(socket.AF_UNIX); s.connect({:?}); s.sendall(b'hello'); print('CONNECTED')\nexcept OSError as e:\n    print('refused', e.errno)\n",
        path.to_str().unwrap()
    );
    let accepted = || {
        let mut n = 0;
        while listener.accept().is_ok() {
            n += 1;
        }
        n
    };
    // Control: without nono the connection is made.
    Command::new("/usr/bin/python3")
        .args(["-c", &probe])
        .output()
        .unwrap();
    assert_eq!(accepted(), 1, "control: the listener receives a connection");
    env.sandboxed(&["--allow", "."], &["/usr/bin/python3", "-c", &probe])
        .expect_ok()
        .expect_stdout_lacks("CONNECTED");
    assert_eq!(accepted(), 0, "the host socket received a connection");
    // Granted: it works.
    env.sandboxed(
        &[
            "--allow",
            ".",
            "--allow-unix-socket",
            path.to_str().unwrap(),
        ],
        &["/usr/bin/python3", "-c", &probe],
    )
    .expect_ok()
    .expect_stdout_has("CONNECTED");
    assert_eq!(accepted(), 1);
}
