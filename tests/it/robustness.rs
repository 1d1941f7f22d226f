//! nono never crashes, hangs or reaches outside on what a sandboxed command
//! left behind: the cleanup of old run directories (deep trees, symlinks,
//! mode-000 directories, FIFOs, sockets, mount points) and profile files
//! that are not regular files (FIFOs, devices, directories).

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Runs `cmd` with stdin closed, killing it after `limit`: a hang is a
/// test failure, not a stuck suite.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> Run {
    let desc = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "hung for more than {limit:?}: {desc}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Run { desc, out }
}

// ---------------------------------------------------------------------------
// Cleanup of old run directories
// ---------------------------------------------------------------------------

fn with_tmp(env: &TestEnv, base: &Path, args: &[&str]) -> Command {
    let mut cmd = env.command(args);
    cmd.env("TMPDIR", base);
    cmd
}

/// A TMPDIR base for a deep tree: on tmpfs (/dev/shm) when possible, where
/// removing 100 000 directories takes seconds (on this disk, `rm -rf` of
/// the same tree took minutes), else in the test's own tree with a
/// shallower depth (still far beyond PATH_MAX).
fn deep_base(env: &TestEnv) -> (Option<tempfile::TempDir>, PathBuf, usize) {
    match tempfile::Builder::new()
        .prefix("nono-robust-")
        .tempdir_in("/dev/shm")
    {
        Ok(d) => {
            let p = d.path().to_path_buf();
            (Some(d), p, 100_000)
        }
        Err(e) => {
            eprintln!("/dev/shm not usable ({e}): a 10 000-deep tree on disk instead");
            let p = env.root.join("tmp");
            fs::create_dir_all(&p).unwrap();
            (None, p, 10_000)
        }
    }
}

/// What a hostile command leaves in its TMPDIR: a mode-000 directory holding files (and another 000 directory), a
/// directory without write permission, symlinks to a directory and a file
/// outside, a hard link to a file outside, a FIFO and a listening socket's
/// name. (The 100 000-deep tree is added from outside: inside, Landlock
/// walks up the whole path on every call, so building it takes minutes.)
const PLANT: &str = r#"
import os, sys
tmp, outside = sys.argv[1], sys.argv[2]
os.makedirs(tmp + "/locked/inner")
open(tmp + "/locked/f", "w").write("x")
open(tmp + "/locked/inner/g", "w").write("x")
os.chmod(tmp + "/locked/inner", 0)
os.chmod(tmp + "/locked", 0)
os.makedirs(tmp + "/ro")
open(tmp + "/ro/f", "w").write("x")
os.chmod(tmp + "/ro", 0o500)
os.symlink(outside, tmp + "/to-outside-dir")
os.symlink(outside + "/marker.txt", tmp + "/to-outside-file")
os.mkfifo(tmp + "/fifo")
print("planted")
"#;

#[test]
fn cleanup_survives_whatever_a_run_left_behind() {
    // Seatbelt grants the TMPDIR whole; only Landlock depends on the ABI.
    #[cfg(target_os = "linux")]
    if below_abi(
        3,
        "the TMPDIR grants everything only with Landlock TRUNCATE",
    ) {
        return;
    }
    let env = TestEnv::new();
    let script = env.root.join("plant.py");
    fs::write(&script, PLANT).unwrap();
    fs::write(env.outside.join("keep"), "outside\n").unwrap();
    let (_keep, base, depth) = deep_base(&env);
    let run_dir = make_planted_run(&env, &script, &base);
    deep_tree(&run_dir, depth);
    // A socket's name (Unix sockets are closed inside without a grant).
    let listener = std::os::unix::net::UnixListener::bind(run_dir.join("sock")).unwrap();
    // The hard link is made here (the sandbox cannot link to outside).
    // Its target lies beside the run directories, on the same filesystem.
    let linked = base.join("linked-outside");
    fs::write(&linked, "outside\n").unwrap();
    fs::hard_link(&linked, run_dir.join("hardlink")).unwrap();
    let mount = bind_mount_into(&run_dir, &env.outside);

    // The control: all of it is there, and reached through the planted
    // names before cleanup.
    assert_eq!(read(&run_dir.join("to-outside-dir/keep")), "outside\n");
    assert!(run_dir.join("fifo").exists());
    assert!(run_dir.join("sock").exists());
    assert!(run_dir.join("d/d/d/d").is_dir());

    // Each later start removes what it can within its time budget: a few
    // starts at most, each of them quick and successful.
    let mut starts = 0;
    while run_dir.exists() {
        starts += 1;
        assert!(starts <= 60, "the old run directory is never removed");
        let t = Instant::now();
        let r = run_with_timeout(
            with_tmp(&env, &base, &["run", "--", "/bin/true"]),
            Duration::from_secs(60),
        );
        r.expect_ok();
        assert!(r.stderr().is_empty(), "{r}");
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "a start took {:?}",
            t.elapsed()
        );
        if mount.is_some() && run_dir.join("mnt").exists() && dir_only_holds_mount(&run_dir) {
            break;
        }
    }
    drop(listener);
    eprintln!("removed in {starts} starts");
    // Nothing outside was followed or removed.
    assert_eq!(read(&env.outside.join("keep")), "outside\n");
    assert_eq!(read(&env.outside.join("marker.txt")), SECRET);
    assert_eq!(read(&linked), "outside\n");
    if let Some(m) = mount {
        // A mount inside the run directory is left alone, with its contents.
        assert_eq!(read(&m.join("keep")), "outside\n");
        umount(&m);
        assert_eq!(read(&env.outside.join("keep")), "outside\n");
    }
}

/// Runs the planting script inside a sandbox with TMPDIR as its target and
/// returns the run directory it filled.
fn make_planted_run(env: &TestEnv, script: &Path, base: &Path) -> PathBuf {
    let r = run_with_timeout(
        with_tmp(
            env,
            base,
            &[
                "run",
                "--read",
                env.root.to_str().unwrap(),
                "--",
                "/bin/sh",
                "-c",
                &format!(
                    "{PYTHON} {} \"$TMPDIR\" {} && echo \"$TMPDIR\"",
                    sh_path(script),
                    sh_path(&env.outside)
                ),
            ],
        ),
        Duration::from_secs(180),
    );
    r.expect_ok().expect_stdout_has("planted");
    let dir = PathBuf::from(r.stdout().lines().last().unwrap_or("").trim());
    assert!(dir.starts_with(base), "{r}");
    assert!(dir.join("fifo").exists(), "{r}");
    dir
}

/// `depth` nested directories `d` under `dir`, with a file at the bottom,
/// made with descriptor-relative calls (the path is far beyond PATH_MAX).
fn deep_tree(dir: &Path, depth: usize) {
    use nix::fcntl::{open, openat, OFlag};
    use nix::sys::stat::{mkdirat, Mode};
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let mut fd = open(dir, flags, Mode::empty()).expect("open");
    for _ in 0..depth {
        mkdirat(&fd, "d", Mode::S_IRWXU).expect("mkdirat");
        fd = openat(&fd, "d", flags, Mode::empty()).expect("openat");
    }
    let leaf = openat(
        &fd,
        "leaf",
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_CLOEXEC,
        Mode::S_IRUSR | Mode::S_IWUSR,
    )
    .expect("leaf");
    drop(leaf);
}

/// As root, bind-mounts `target` at `run_dir/mnt`; None (and says why)
/// where that is not possible.
fn bind_mount_into(run_dir: &Path, target: &Path) -> Option<PathBuf> {
    if !is_root() {
        skip("the bind mount part: it needs root");
        return None;
    }
    let m = run_dir.join("mnt");
    fs::create_dir(&m).unwrap();
    let ok = Command::new("mount")
        .arg("--bind")
        .arg(target)
        .arg(&m)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        skip("the bind mount part: mount --bind failed here");
        let _ = fs::remove_dir(&m);
        return None;
    }
    Some(m)
}

fn umount(m: &Path) {
    let _ = Command::new("umount").arg(m).status();
}

fn dir_only_holds_mount(run_dir: &Path) -> bool {
    fs::read_dir(run_dir)
        .map(|es| es.flatten().all(|e| e.file_name() == "mnt"))
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------
// Profile files that are not regular files
// ---------------------------------------------------------------------------

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
}

/// A FIFO given as a profile, met through `extends`, or lying in the user
/// profile directory is refused at once (opening it would block until a
/// writer comes, forever); `profile list` lists it as unreadable.
#[test]
fn a_fifo_profile_never_blocks() {
    let env = TestEnv::new();
    let fifo = env.work.join("fifo.toml");
    mkfifo(&fifo);
    let user_dir = env.home.join(".config/nono/profiles");
    fs::create_dir_all(&user_dir).unwrap();
    mkfifo(&user_dir.join("piped.toml"));
    fs::write(env.work.join("ext.toml"), "extends = [\"./fifo.toml\"]\n").unwrap();
    let limit = Duration::from_secs(20);
    for args in [
        vec!["profile", "show", "./fifo.toml"],
        vec!["profile", "show", "piped"],
        vec!["profile", "show", "./ext.toml"],
        vec!["run", "-p", "./fifo.toml", "--", "/bin/true"],
        vec!["run", "-p", "piped", "--", "/bin/true"],
        vec!["run", "-p", "./ext.toml", "--", "/bin/true"],
        vec!["run", "--dry-run", "-p", "./ext.toml", "--", "/bin/true"],
        vec!["why", "-p", "piped", "/etc/passwd"],
    ] {
        run_with_timeout(env.command(&args), limit).expect_nono_error("not a regular file");
    }
    let r = run_with_timeout(env.command(["profile", "list"]), limit);
    r.expect_ok()
        .expect_stdout_has("piped")
        .expect_stdout_has("not a regular file");
    // The control: the same names as regular files load.
    fs::remove_file(&fifo).unwrap();
    fs::write(&fifo, "description = \"plain\"\n").unwrap();
    run_with_timeout(env.command(["profile", "show", "./ext.toml"]), limit).expect_ok();
    run_with_timeout(
        env.command(["run", "-p", "./ext.toml", "--", "/bin/true"]),
        limit,
    )
    .expect_ok();
}

/// Devices and directories are refused without being opened: a profile
/// named /dev/zero would otherwise be read until the size cap, one on a
/// tape or serial device rewound or hung up.
#[test]
fn a_device_or_directory_profile_is_refused() {
    let env = TestEnv::new();
    fs::create_dir(env.work.join("dir.toml")).unwrap();
    for p in ["/dev/zero", "/dev/null", "./dir.toml"] {
        run_with_timeout(env.command(["profile", "show", p]), Duration::from_secs(20))
            .expect_nono_error("not a regular file");
    }
    // A symlink to a regular profile is followed (dotfile managers).
    fs::write(env.work.join("real.toml"), "description = \"x\"\n").unwrap();
    std::os::unix::fs::symlink("real.toml", env.work.join("link.toml")).unwrap();
    env.nono(["profile", "show", "./link.toml"]).expect_ok();
}

// ---------------------------------------------------------------------------
// Nothing is created inside a protected path
// ---------------------------------------------------------------------------

fn create_profile(env: &TestEnv, dir: &str) -> String {
    let p = env.work.join("create.toml");
    fs::write(
        &p,
        format!("[filesystem]\ncreate = [\"{dir}\"]\nallow = [\"{dir}\"]\n"),
    )
    .unwrap();
    p.to_str().unwrap().to_string()
}

/// `filesystem.create` through a symlink or `..` into ~/.ssh is refused
/// before anything is made; the same profile through a harmless symlink
/// creates the directory (the control).
#[test]
fn profile_create_never_makes_a_directory_in_a_protected_path() {
    let env = TestEnv::new();
    std::os::unix::fs::symlink(env.home.join(".ssh"), env.home.join("link")).unwrap();
    for dir in ["~/link/planted", "~/nope/../.ssh/planted", "~/.ssh/planted"] {
        let profile = create_profile(&env, dir);
        let r = env.nono(["run", "-p", &profile, "--", "/bin/true"]);
        r.expect_code(125).expect_stderr_has("nono: ");
        assert!(
            !env.home.join(".ssh/planted").exists(),
            "{dir}: created inside ~/.ssh\n{r}"
        );
        assert!(!env.home.join("nope").exists(), "{dir}: made ~/nope\n{r}");
    }
    // Control: a symlink to an ordinary directory is followed and created.
    std::os::unix::fs::symlink(env.home.join("notes"), env.home.join("okay")).unwrap();
    let profile = create_profile(&env, "~/okay/made");
    env.nono(["run", "-p", &profile, "--", "/bin/true"])
        .expect_ok();
    assert!(env.home.join("notes/made").is_dir());
}

/// TMPDIR inside a protected directory: refused, and no run directory is
/// created (or granted) there. Control: an ordinary TMPDIR works.
#[test]
fn tmpdir_inside_a_protected_path_is_refused() {
    let env = TestEnv::new();
    for tmp in [env.home.join(".ssh"), env.home.join(".aws/sub")] {
        let mut cmd = env.command(["run", "--", "/bin/true"]);
        cmd.env("TMPDIR", &tmp);
        let r = Run::from(cmd);
        r.expect_nono_error("protected");
        let entries: Vec<_> = fs::read_dir(env.home.join(".ssh"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(entries, ["id_ed25519"], "{r}");
        assert!(!env.home.join(".aws/sub").exists(), "{r}");
    }
    let mut cmd = env.command(["run", "--", "/bin/sh", "-c", "echo \"$TMPDIR\""]);
    cmd.env("TMPDIR", env.home.join("notes"));
    // With the mount layer the run directory is the private /tmp.
    let expected = if mount_layer_active() {
        "/tmp".to_string()
    } else {
        env.home.join("notes").to_str().unwrap().to_string()
    };
    Run::from(cmd).expect_ok().expect_stdout_has(&expected);
}
