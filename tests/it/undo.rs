//! Snapshots and `nono undo`: each destruction a sandboxed command can do
//! under a write grant, undone by `nono undo restore`, checked from outside
//! against a record of the tree made before (contents, modes, symlink
//! targets). Also: what a second run costs, a crash in the middle of a
//! snapshot, the store out of the sandbox's reach, fail-closed snapshots.
//!
//! HOME and XDG_STATE_HOME point into each test's private tree.

#![cfg(target_os = "linux")]

use crate::common;
use crate::json_doc;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A test tree with its own snapshot store.
struct Undo {
    env: TestEnv,
    state: PathBuf,
}

impl Undo {
    fn new() -> Undo {
        let env = TestEnv::new();
        let state = env.root.join("state");
        fs::create_dir_all(&state).unwrap();
        let u = Undo { env, state };
        u.populate();
        u
    }

    fn store(&self) -> PathBuf {
        self.state.join("nono/undo")
    }

    fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = self.env.command(args);
        c.env("XDG_STATE_HOME", &self.state);
        c
    }

    fn nono<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Run::from(self.cmd(args))
    }

    /// `nono run --snapshot GRANTS -- python3 -c CODE`.
    fn agent(&self, grants: &[&str], code: &str) -> Run {
        let mut args = vec!["run", "--snapshot"];
        args.extend_from_slice(grants);
        args.extend_from_slice(&["--", PYTHON, "-c", code]);
        self.nono(args)
    }

    /// A project with nested directories, modes, a symlink, an empty and
    /// a binary file, and a git-ignored `.env`.
    fn populate(&self) {
        let w = &self.env.work;
        for d in ["src/sub/deep", "docs", "bin"] {
            fs::create_dir_all(w.join(d)).unwrap();
        }
        fs::write(w.join("src/main.rs"), "fn main() {}\n").unwrap();
        fs::write(
            w.join("src/lib.rs"),
            "pub fn f() -> u32 { 42 }\n".repeat(50),
        )
        .unwrap();
        fs::write(w.join("src/sub/mod.rs"), "mod deep;\n").unwrap();
        fs::write(
            w.join("src/sub/deep/data.bin"),
            (0..=255u8).cycle().take(70_000).collect::<Vec<u8>>(),
        )
        .unwrap();
        fs::write(w.join("src/sub/deep/empty"), "").unwrap();
        fs::write(w.join("docs/README.md"), "# docs\n").unwrap();
        fs::write(w.join("bin/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(w.join("bin/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(w.join("secret.key"), "k\n").unwrap();
        fs::set_permissions(w.join("secret.key"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(w.join("docs"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(w.join(".gitignore"), ".env\n").unwrap();
        fs::write(w.join(".env"), "API_KEY=precious\n").unwrap();
        symlink("src/main.rs", w.join("main-link")).unwrap();
        symlink("../nowhere", w.join("src/dangling")).unwrap();
    }

    fn record(&self) -> Tree {
        record(&self.env.work)
    }
}

/// Path -> (kind, mode, contents or symlink target), read from outside.
type Tree = BTreeMap<String, (char, u32, Vec<u8>)>;

fn record(root: &Path) -> Tree {
    let mut out = Tree::new();
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let mode = m.mode() & 0o7777;
            if m.file_type().is_symlink() {
                let t = fs::read_link(&p).unwrap();
                out.insert(rel, ('l', 0, t.as_os_str().as_encoded_bytes().to_vec()));
            } else if m.is_dir() {
                out.insert(rel, ('d', mode, vec![]));
                walk(root, &p, out);
            } else {
                out.insert(rel, ('f', mode, fs::read(&p).unwrap()));
            }
        }
    }
    walk(root, root, &mut out);
    out
}

fn assert_same(before: &Tree, after: &Tree) {
    let a: BTreeSet<&String> = before.keys().collect();
    let b: BTreeSet<&String> = after.keys().collect();
    assert_eq!(a, b, "the tree's entries differ from the snapshot");
    for (k, v) in before {
        assert_eq!(&after[k], v, "{k} differs (kind, mode, contents)");
    }
}

const DESTRUCTIVE: &[&str] = &["--allow", ".", "--allow-delete", "."];

/// Runs `code` sandboxed under a snapshot, checks that it changed the tree
/// (so that the restore has something to do), restores, and compares.
fn destroy_and_restore(grants: &[&str], code: &str) -> Undo {
    let u = Undo::new();
    let before = u.record();
    u.agent(grants, code).expect_ok();
    assert_ne!(
        u.record(),
        before,
        "the command changed nothing: the test proves nothing"
    );
    let diff = u.nono(["undo", "diff"]);
    diff.expect_code(1);
    u.nono(["undo", "restore", "--remove-new"]).expect_ok();
    assert_same(&before, &u.record());
    u.nono(["undo", "diff"])
        .expect_code(0)
        .expect_stdout_has("no differences");
    u
}

#[test]
fn find_delete_is_undone() {
    let u = destroy_and_restore(
        DESTRUCTIVE,
        "import subprocess; subprocess.run(['find', '.', '-delete'], check=False)",
    );
    let _ = u;
}

#[test]
fn python_rmtree_is_undone() {
    destroy_and_restore(
        DESTRUCTIVE,
        "import shutil, os\nshutil.rmtree('src')\nshutil.rmtree('docs')\nos.unlink('.env')",
    );
}

#[test]
fn rename_over_is_undone() {
    destroy_and_restore(
        DESTRUCTIVE,
        "import os\nopen('evil', 'w').write('pwned')\nos.rename('evil', 'src/main.rs')\nos.rename('src/lib.rs', 'lib-moved.rs')",
    );
}

#[test]
fn truncation_is_undone_and_reported_as_such() {
    let u = Undo::new();
    let before = u.record();
    u.agent(
        DESTRUCTIVE,
        "import os\nopen('src/lib.rs', 'w').close()\nos.truncate('src/sub/deep/data.bin', 1000)",
    )
    .expect_ok();
    assert_eq!(
        fs::metadata(u.env.work.join("src/lib.rs")).unwrap().len(),
        0
    );
    let doc = u.nono(["undo", "diff", "--json"]).json();
    assert_eq!(doc["counts"]["truncated"], 2, "{doc:#}");
    u.nono(["undo", "restore"]).expect_ok();
    assert_same(&before, &u.record());
}

#[test]
fn in_place_overwrite_without_delete_rights_is_undone() {
    let u = Undo::new();
    let before = u.record();
    // No --allow-delete: no truncation, but writing over the contents in
    // place is allowed by any write grant.
    u.agent(
        &["--allow", "."],
        "f = open('src/main.rs', 'r+b'); f.write(b'XXXXXXXX'); f.close()\nopen('.env', 'a').write('more')",
    )
    .expect_ok();
    assert!(read(&u.env.work.join("src/main.rs")).starts_with("XXXXXXXX"));
    u.nono(["undo", "diff"])
        .expect_code(1)
        .expect_stdout_has("modified")
        .expect_stdout_has("src/main.rs");
    u.nono(["undo", "restore"]).expect_ok();
    assert_same(&before, &u.record());
}

#[test]
fn chmod_000_is_undone() {
    let u = Undo::new();
    let before = u.record();
    u.agent(
        &["--allow", "."],
        "import os\nos.chmod('src', 0)\nos.chmod('secret.key', 0)\nos.chmod('bin/run.sh', 0o644)",
    )
    .expect_ok();
    assert_eq!(
        fs::metadata(u.env.work.join("src")).unwrap().mode() & 0o777,
        0
    );
    u.nono(["undo", "diff"])
        .expect_code(1)
        .expect_stdout_has("mode");
    u.nono(["undo", "restore"]).expect_ok();
    assert_same(&before, &u.record());
}

#[test]
fn a_deleted_then_recreated_directory_is_undone() {
    let u = Undo::new();
    let before = u.record();
    u.agent(
        DESTRUCTIVE,
        "import shutil, os\nshutil.rmtree('src')\nos.makedirs('src/sub')\nopen('src/main.rs', 'w').write('other')\nopen('src/new.rs', 'w').write('new')",
    )
    .expect_ok();
    // Without --remove-new the new file stays, everything else comes back.
    u.nono(["undo", "restore"])
        .expect_ok()
        .expect_stdout_has("src/new.rs");
    assert_eq!(read(&u.env.work.join("src/new.rs")), "new");
    let mut expected = before.clone();
    expected.insert(
        "src/new.rs".into(),
        (
            'f',
            fs::metadata(u.env.work.join("src/new.rs")).unwrap().mode() & 0o7777,
            b"new".to_vec(),
        ),
    );
    assert_same(&expected, &u.record());
    // --dry-run changes nothing, then --remove-new removes it.
    u.nono(["undo", "restore", "--remove-new", "--dry-run"])
        .expect_ok()
        .expect_stdout_has("remove");
    assert!(u.env.work.join("src/new.rs").exists());
    u.nono(["undo", "restore", "--remove-new"]).expect_ok();
    assert_same(&before, &u.record());
}

#[test]
fn restore_of_one_path_leaves_the_rest() {
    let u = Undo::new();
    u.agent(
        DESTRUCTIVE,
        "import os, shutil\nos.unlink('docs/README.md')\nshutil.rmtree('src/sub')",
    )
    .expect_ok();
    u.nono(["undo", "restore", "src/sub/deep/data.bin"])
        .expect_ok();
    assert_eq!(
        fs::read(u.env.work.join("src/sub/deep/data.bin"))
            .unwrap()
            .len(),
        70_000
    );
    assert!(
        !u.env.work.join("docs/README.md").exists(),
        "restored more than asked"
    );
    assert!(
        !u.env.work.join("src/sub/mod.rs").exists(),
        "restored more than asked"
    );
    // The run id can be given explicitly too.
    let list = u.nono(["undo", "list"]);
    let id = list
        .stdout()
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    u.nono(["undo", "restore", &id, "docs"]).expect_ok();
    assert_eq!(read(&u.env.work.join("docs/README.md")), "# docs\n");
    assert!(!u.env.work.join("src/sub/mod.rs").exists());
}

#[test]
fn a_symlink_planted_in_place_of_a_directory_does_not_redirect_restore() {
    let u = Undo::new();
    let before = u.record();
    let outside = sh_path(&u.env.outside);
    u.agent(
        DESTRUCTIVE,
        &format!("import shutil, os\nshutil.rmtree('src')\nos.symlink('{outside}', 'src')"),
    )
    .expect_ok();
    let outside_before = record(&u.env.outside);
    // Without --remove-new the symlink is reported, not followed.
    let r = u.nono(["undo", "restore"]);
    r.expect_code(1).expect_stdout_has("could not restore");
    assert_eq!(
        record(&u.env.outside),
        outside_before,
        "restore wrote through the planted symlink"
    );
    u.nono(["undo", "restore", "--remove-new"]).expect_ok();
    assert_eq!(record(&u.env.outside), outside_before);
    assert_same(&before, &u.record());
}

#[test]
fn a_second_run_on_an_unchanged_tree_copies_and_hashes_nothing() {
    let u = Undo::new();
    // File times are coarse: entries changed within two seconds before a
    // snapshot are read again by the next one. Let the new tree settle.
    std::thread::sleep(Duration::from_millis(2100));
    u.agent(&["--allow", "."], "pass").expect_ok();
    let first = u.nono(["undo", "diff", "--json"]).json();
    assert!(
        first["run"]["grants"][0]["copied"].as_u64().unwrap() >= 8,
        "{first:#}"
    );
    let r = u.agent(&["--allow", "."], "pass");
    r.expect_ok().expect_stderr_has("0 copied");
    let second = u.nono(["undo", "diff", "--json"]).json();
    let g = &second["run"]["grants"][0];
    assert_eq!(g["hashed"], 0, "{second:#}");
    assert_eq!(g["copied"], 0, "{second:#}");
    assert_eq!(
        g["reused"], first["run"]["grants"][0]["files"],
        "{second:#}"
    );
    // The control: one change is read and copied.
    std::thread::sleep(Duration::from_millis(2100));
    fs::write(u.env.work.join("docs/README.md"), "# changed\n").unwrap();
    u.agent(&["--allow", "."], "pass").expect_ok();
    let third = u.nono(["undo", "diff", "--json"]).json();
    assert_eq!(third["run"]["grants"][0]["copied"], 1, "{third:#}");
}

#[test]
fn kill_9_in_the_middle_of_a_snapshot_leaves_no_snapshot() {
    let u = Undo::new();
    for i in 0..60 {
        fs::write(u.env.work.join(format!("f{i}")), format!("{i}\n")).unwrap();
    }
    let marker = u.env.work.join("command-ran");
    let mut c = u.cmd([
        "run",
        "--snapshot",
        "--allow",
        ".",
        "--",
        "/bin/sh",
        "-c",
        "echo > command-ran",
    ]);
    c.env("NONO_TEST_SNAPSHOT_DELAY_MS", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let tmp_objects = u.store().join("objects");
    let deadline = Instant::now() + Duration::from_secs(20);
    // Wait until the snapshot is under way: a .tmp- run and some objects.
    loop {
        let pending = fs::read_dir(u.store().join("runs"))
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            })
            .unwrap_or(false);
        let objects = fs::read_dir(&tmp_objects)
            .map(|d| d.flatten().count())
            .unwrap_or(0);
        if pending && objects > 3 {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            return skip("the snapshot finished before it could be killed (binary built without test-abi-cap?)");
        }
        assert!(Instant::now() < deadline, "snapshot never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !marker.exists(),
        "the command ran before the snapshot was complete"
    );
    let complete: Vec<String> = fs::read_dir(u.store().join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(
        complete.is_empty(),
        "a half snapshot is visible: {complete:?}"
    );
    u.nono(["undo", "list"])
        .expect_ok()
        .expect_stdout_has("no snapshots");
    u.nono(["undo", "restore"])
        .expect_nono_error("no snapshot covers");
    // The next snapshot cleans up and works.
    u.agent(&["--allow", "."], "pass").expect_ok();
    let left: Vec<String> = fs::read_dir(u.store().join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(!left[0].starts_with('.'), "{left:?}");
}

#[test]
fn the_sandbox_cannot_read_or_write_the_store() {
    // Default location (~/.local/state/nono/undo) and XDG_STATE_HOME
    // inside the home: both under --allow ~.
    for xdg in [None, Some("xdg-state")] {
        let env = TestEnv::new();
        fs::create_dir_all(env.work.join("p")).unwrap();
        fs::write(env.work.join("p/file"), "content\n").unwrap();
        let state = match xdg {
            Some(d) => env.home.join(d),
            None => env.home.join(".local/state"),
        };
        let store = state.join("nono/undo");
        let with_state = |args: &[&str]| {
            let mut c = env.command(args);
            match xdg {
                Some(_) => c.env("XDG_STATE_HOME", &state),
                None => c.env_remove("XDG_STATE_HOME"),
            };
            Run::from(c)
        };
        with_state(&["run", "--snapshot", "--allow", ".", "--", "/bin/true"]).expect_ok();
        assert!(store.join("runs").is_dir());
        let s = sh_path(&store);
        let script = format!(
            "cat {s}/runs/*/run.json; cat {s}/runs/*/0.manifest; ls {s}/objects; echo planted > {s}/planted; mkdir {s}/runs/fake"
        );
        let control = env.plain_sh(&script);
        assert!(
            control.stdout().contains("started_ms"),
            "control could not read the store\n{control}"
        );
        let _ = fs::remove_file(store.join("planted"));
        let _ = fs::remove_dir(store.join("runs/fake"));
        let r = with_state(&["run", "--allow", "~", "--", "/bin/sh", "-c", &script]);
        r.expect_fail();
        assert!(
            !r.stdout().contains("started_ms"),
            "the sandbox read a run\n{r}"
        );
        assert!(
            !r.stdout().contains("nono-manifest"),
            "the sandbox read a manifest\n{r}"
        );
        assert!(
            !store.join("planted").exists(),
            "the sandbox wrote into the store"
        );
        assert!(!store.join("runs/fake").exists(), "the sandbox made a run");
        // Naming it directly is refused as a protected path.
        with_state(&["run", "--allow", &s, "--", "/bin/true"]).expect_nono_error("protected");
    }
}

#[test]
fn an_incomplete_snapshot_refuses_to_run_unless_best_effort() {
    let u = Undo::new();
    let marker = u.env.work.join("ran");
    let run = |mode: &str| {
        let mut c = u.cmd([
            "run",
            mode,
            "--allow",
            ".",
            "--",
            "/bin/sh",
            "-c",
            "echo > ran",
        ]);
        c.env("NONO_UNDO_MAX_ENTRIES", "5");
        Run::from(c)
    };
    run("--snapshot").expect_nono_error("cannot take a complete snapshot");
    assert!(!marker.exists(), "the command ran without its snapshot");
    // Control: the same command without the limit runs.
    let r = run("--snapshot=best-effort");
    r.expect_ok().expect_stderr_has("snapshot incomplete");
    assert!(marker.exists());
    fs::remove_file(&marker).unwrap();

    // An unreadable file (not for root: root reads everything).
    if is_root() {
        return skip("the unreadable-file case: root can read a mode 000 file");
    }
    let locked = u.env.work.join("locked");
    fs::write(&locked, "x").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    u.nono([
        "run",
        "--snapshot",
        "--allow",
        ".",
        "--",
        "/bin/sh",
        "-c",
        "echo > ran",
    ])
    .expect_nono_error("unreadable");
    assert!(!marker.exists());
    u.nono([
        "run",
        "--snapshot=best-effort",
        "--allow",
        ".",
        "--",
        "/bin/sh",
        "-c",
        "echo > ran",
    ])
    .expect_ok()
    .expect_stderr_has("locked");
    assert!(marker.exists());
}

#[test]
fn skipped_entries_are_listed_and_git_ignored_files_are_kept() {
    let u = Undo::new();
    let w = &u.env.work;
    fs::create_dir_all(w.join("node_modules/pkg")).unwrap();
    fs::write(w.join("node_modules/pkg/index.js"), "x").unwrap();
    fs::write(w.join("big.iso"), vec![7u8; 4096]).unwrap();
    let mut c = u.cmd([
        "run",
        "--dry-run",
        "--snapshot",
        "--allow",
        ".",
        "--",
        "/bin/true",
    ]);
    c.env("NONO_UNDO_MAX_FILE_SIZE", "1K");
    Run::from(c)
        .expect_ok()
        .expect_stdout_has("node_modules")
        .expect_stdout_has("big.iso")
        .expect_stdout_has("rebuildable");
    let mut c = u.cmd([
        "run",
        "--snapshot",
        "--allow",
        ".",
        "--allow-delete",
        ".",
        "--",
        PYTHON,
        "-c",
        "import os\nos.unlink('.env')\nos.unlink('big.iso')",
    ]);
    c.env("NONO_UNDO_MAX_FILE_SIZE", "1K");
    Run::from(c).expect_ok();
    let diff = u.nono(["undo", "diff"]);
    diff.expect_code(1)
        .expect_stdout_has("not copied")
        .expect_stdout_has("node_modules")
        .expect_stdout_has("large");
    // big.iso was not copied: listed, and the status says not everything
    // came back.
    let r = u.nono(["undo", "restore"]);
    r.expect_code(1).expect_stdout_has("big.iso");
    assert_eq!(
        read(&w.join(".env")),
        "API_KEY=precious\n",
        "a git-ignored file was not restored"
    );
    assert!(!w.join("big.iso").exists());
}

#[test]
fn the_agent_profile_takes_a_snapshot_and_off_turns_it_off() {
    let u = Undo::new();
    let before = u.record();
    // The built-in profile gives delete rights on the project.
    let r = u.nono([
        "run",
        "-p",
        "claude-code",
        "--",
        "/bin/sh",
        "-c",
        "find ./src -delete; find . -name '*.md' -delete",
    ]);
    r.expect_ok().expect_stderr_has("nono snapshot ");
    assert!(!u.env.work.join("src").exists());
    u.nono(["undo", "restore"]).expect_ok();
    assert_same(&before, &u.record());
    let runs = |u: &Undo| fs::read_dir(u.store().join("runs")).unwrap().count();
    let n = runs(&u);
    u.nono([
        "run",
        "-p",
        "claude-code",
        "--snapshot=off",
        "--",
        "/bin/true",
    ])
    .expect_ok();
    assert_eq!(runs(&u), n, "--snapshot=off took a snapshot");
}

#[test]
fn concurrent_runs_on_the_same_tree_do_not_corrupt_the_store() {
    let u = Undo::new();
    let children: Vec<_> = (0..4)
        .map(|i| {
            let mut c = u.cmd([
                "run",
                "--snapshot",
                "--allow",
                ".",
                "--",
                "/bin/sh",
                "-c",
                &format!("echo {i} > out{i}"),
            ]);
            c.stdout(Stdio::null()).stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = u.nono(["undo", "list"]);
    list.expect_ok();
    let ids: Vec<String> = list
        .stdout()
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4, "{list}");
    for id in &ids {
        let r = u.nono(["undo", "diff", id, "--json"]);
        assert!(matches!(r.code(), Some(0 | 1)), "{r}");
        r.json();
    }
    for i in 0..4 {
        fs::remove_file(u.env.work.join(format!("out{i}"))).unwrap();
    }
    let before = u.record();
    fs::remove_file(u.env.work.join("src/main.rs")).unwrap();
    u.nono(["undo", "restore", ids.last().unwrap()]).expect_ok();
    assert_same(&before, &u.record());
}

#[test]
fn prune_keeps_the_newest_runs_and_removes_unused_objects() {
    let u = Undo::new();
    for i in 0..3 {
        fs::write(u.env.work.join("changing"), format!("version {i}\n")).unwrap();
        u.agent(&["--allow", "."], "pass").expect_ok();
    }
    let objects = |u: &Undo| -> usize {
        fs::read_dir(u.store().join("objects"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().len() == 2)
            .map(|e| fs::read_dir(e.path()).unwrap().count())
            .sum()
    };
    let n = objects(&u);
    let mut c = u.cmd(["undo", "prune"]);
    c.env("NONO_UNDO_KEEP_RUNS", "1");
    Run::from(c).expect_ok().expect_stdout_has("removed 2 runs");
    assert_eq!(
        objects(&u),
        n - 2,
        "the two old versions of 'changing' should be gone"
    );
    let list = u.nono(["undo", "list"]);
    assert_eq!(
        list.stdout()
            .lines()
            .filter(|l| l.starts_with("20"))
            .count(),
        1,
        "{list}"
    );
    // The kept run still restores everything.
    let before = u.record();
    fs::remove_dir_all(u.env.work.join("src")).unwrap();
    u.nono(["undo", "restore"]).expect_ok();
    assert_same(&before, &u.record());
}

#[test]
fn undo_errors_are_one_line() {
    let u = Undo::new();
    u.nono(["undo", "diff"])
        .expect_nono_error("no snapshot covers");
    u.agent(&["--allow", "."], "pass").expect_ok();
    u.nono(["undo", "diff", "19990101-000000-000"])
        .expect_nono_error("no snapshot run");
    u.nono(["undo", "restore", "/"])
        .expect_nono_error("no snapshot covers");
    let mut c = u.cmd(["run", "--snapshot", "--allow", ".", "--", "/bin/true"]);
    c.env("NONO_UNDO_MAX_FILE_SIZE", "lots");
    Run::from(c).expect_nono_error("NONO_UNDO_MAX_FILE_SIZE");
}

// ---------------------------------------------------------------------------
// `nono undo diff --json` against docs/json.md (both ways)

#[test]
fn diff_json_matches_the_documentation() {
    let u = Undo::new();
    fs::create_dir_all(u.env.work.join("node_modules/x")).unwrap();
    u.agent(
        DESTRUCTIVE,
        "import os, shutil\nos.rename('src/lib.rs', 'lib.rs')\nshutil.rmtree('docs')\nos.chmod('bin/run.sh', 0o600)\nopen('src/main.rs', 'a').write('x')\nos.truncate('src/sub/deep/data.bin', 10)\nos.unlink('main-link')\nos.mkdir('main-link')",
    )
    .expect_ok();
    let doc = u.nono(["undo", "diff", "--json"]).json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["document"], "undo_diff");
    for c in [
        "deleted",
        "modified",
        "truncated",
        "renamed",
        "mode",
        "replaced",
    ] {
        assert!(
            doc["counts"][c].as_u64().unwrap() > 0,
            "no {c} change\n{doc:#}"
        );
    }
    let present = json_doc::check_keys("nono undo diff --json", &doc);
    for spec in json_doc::documented_keys("nono undo diff --json") {
        // Unreadable entries need a tree nono cannot read (not as root).
        if spec.path.starts_with("unreadable[].") {
            continue;
        }
        assert!(
            present.contains(&spec.path),
            "documented key {} never printed",
            spec.path
        );
    }
}

#[test]
fn dry_run_snapshot_json_matches_the_documentation() {
    let u = Undo::new();
    fs::create_dir_all(u.env.work.join("node_modules/x")).unwrap();
    let r = u.nono([
        "run",
        "--dry-run",
        "--json",
        "--snapshot",
        "--allow",
        ".",
        "--",
        "/bin/true",
    ]);
    r.expect_ok();
    let doc = r.json();
    let plan = &doc["snapshot"];
    assert_eq!(plan["mode"], "strict", "{doc:#}");
    assert_eq!(plan["grants"][0]["root"], u.env.work.display().to_string());
    json_doc::check_nested_keys("Snapshot plan", "snapshot", plan);
    // Nothing was written: a dry run takes no snapshot.
    assert!(!u.store().join("runs").exists());
    // Without a snapshot the key is null.
    let r = u.nono([
        "run",
        "--dry-run",
        "--json",
        "--allow",
        ".",
        "--",
        "/bin/true",
    ]);
    assert!(r.json()["snapshot"].is_null());
}

#[test]
fn an_interrupted_restore_can_be_run_again() {
    let u = Undo::new();
    let before = u.record();
    u.agent(DESTRUCTIVE, "import shutil\nshutil.rmtree('src')")
        .expect_ok();
    // What a restore killed half-way leaves: some files back, a temporary
    // file of the one it was writing.
    fs::create_dir_all(u.env.work.join("src/sub")).unwrap();
    fs::write(u.env.work.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(u.env.work.join("src/sub/.nono-restore-99999-mod.rs"), "mod").unwrap();
    u.nono(["undo", "diff"])
        .expect_code(1)
        .expect_stdout_lacks(".nono-restore");
    u.nono(["undo", "restore"]).expect_ok();
    assert_same(&before, &u.record());
}

#[test]
fn a_grant_of_a_single_file_is_restored() {
    let u = Undo::new();
    let before = u.record();
    u.agent(
        &["--allow", "secret.key", "--allow", "docs/README.md"],
        "import os\nf = open('secret.key', 'r+'); f.write('X'); f.close()\nos.chmod('docs/README.md', 0o000)",
    )
    .expect_ok();
    assert_eq!(read(&u.env.work.join("secret.key")), "X\n");
    u.nono(["undo", "diff", "secret.key"])
        .expect_code(1)
        .expect_stdout_has("modified");
    u.nono(["undo", "restore", "secret.key"]).expect_ok();
    assert_eq!(read(&u.env.work.join("secret.key")), "k\n");
    u.nono(["undo", "restore", "docs/README.md"]).expect_ok();
    assert_same(&before, &u.record());
}

/// The first run in a home makes nono's state directory before its policy
/// is built, so that the mount layer masks it: a process of that run left
/// behind must not read a later run's snapshot of a write-only grant.
#[test]
fn the_store_made_during_a_first_run_is_not_readable_by_it() {
    let env = TestEnv::new();
    let state = env.home.join(".local/state/nono");
    assert!(!state.exists());
    let script = format!(
        "i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; cat {s}/undo/objects/*/* 2>/dev/null; ls -A {s}",
        s = sh_path(&state)
    );
    // The first run reads the home; a second one snapshots a write-only
    // grant meanwhile (its contents reach the store, never the sandbox).
    let wo = env.root.join("write-only");
    fs::create_dir_all(&wo).unwrap();
    fs::write(wo.join("s.txt"), "NONO-LATER-SNAPSHOT-MARKER\n").unwrap();
    let mut first = env.command([
        "run", "--read", "~", "--allow", ".", "--", "/bin/sh", "-c", &script,
    ]);
    first.env_remove("XDG_STATE_HOME").stdout(Stdio::piped());
    let child = first.spawn().unwrap();
    let mut second = env.command([
        "run",
        "--snapshot",
        "--write",
        wo.to_str().unwrap(),
        "--",
        "/bin/true",
    ]);
    second.env_remove("XDG_STATE_HOME");
    Run::from(second).expect_ok();
    // Only now may the first run look: the snapshot is complete.
    fs::write(env.work.join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        state.join("undo").is_dir(),
        "the second run made no snapshot"
    );
    assert!(
        !text.contains("NONO-LATER-SNAPSHOT-MARKER"),
        "the first run read the later snapshot: {text}"
    );
    // Control: outside, the object is there to read.
    let control = env.plain_sh(&format!("cat {}/undo/objects/*/*", sh_path(&state)));
    control.expect_stdout_has("NONO-LATER-SNAPSHOT-MARKER");
}

/// A PATH given to `undo restore` is not resolved through a symlink the
/// command planted inside the grant: `sub -> OTHER` must not restore (or,
/// with --remove-new, remove) anything in OTHER, another snapshotted tree.
#[test]
fn undo_restore_of_a_path_does_not_follow_a_planted_symlink() {
    let u = Undo::new();
    // Another project with a snapshot and later work of the user's.
    let other = u.env.root.join("other");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("a.txt"), "a\n").unwrap();
    let mut c = u.cmd([
        "run",
        "--snapshot",
        "--allow",
        ".",
        "--allow-delete",
        ".",
        "--",
        "/bin/sh",
        "-c",
        "echo changed > a.txt",
    ]);
    c.current_dir(&other);
    Run::from(c).expect_ok();
    fs::write(other.join("userwork.txt"), "later work\n").unwrap();
    let other_before = record(&other);
    let before = u.record();
    let o = sh_path(&other);
    u.agent(
        DESTRUCTIVE,
        &format!("import shutil, os\nshutil.rmtree('docs')\nos.symlink('{o}', 'docs')"),
    )
    .expect_ok();
    u.nono(["undo", "restore", "--remove-new", "docs"])
        .expect_ok();
    assert_eq!(
        record(&other),
        other_before,
        "restore reached the other project"
    );
    assert_same(&before, &u.record());
}

/// A huge sparse file the command creates is not read when the diff looks
/// for moved files (only a created file as large as a deleted one is), and
/// restore as root brings back a set-user-ID bit.
#[test]
fn a_huge_created_file_is_not_hashed_and_setuid_bits_come_back() {
    let u = Undo::new();
    let before = u.record();
    let setuid = is_root();
    if setuid {
        fs::set_permissions(
            u.env.work.join("bin/run.sh"),
            fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
    }
    let before_mode = mode_of(&u.env.work.join("bin/run.sh"));
    let r = u.agent(
        DESTRUCTIVE,
        "import os\nf=open('big','wb')\ntry:\n    f.truncate((1<<44)-(1<<16))\nexcept OSError:\n    f.truncate(1<<40)\nf.close()\nos.unlink('docs/README.md')\nopen('bin/run.sh','r+b').write(b'#!')\n",
    );
    r.expect_ok();
    // Hashing 16 TiB (or 1 TiB) takes minutes to an hour: the diff must
    // not even open the file (strace shows the opens; without strace the
    // diff's result is still checked).
    match strace_usable() {
        Ok(()) => {
            let trace = u.env.root.join("diff.trace");
            let c = u.cmd(["undo", "diff"]);
            let mut s = Command::new(STRACE);
            s.args(["-f", "-e", "trace=open,openat,openat2", "-o"])
                .arg(&trace)
                .arg(c.get_program())
                .args(c.get_args())
                .current_dir(&u.env.work)
                .env("HOME", &u.env.home)
                .env("XDG_STATE_HOME", &u.state);
            let out = s.output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{out:?}");
            let t = fs::read_to_string(&trace).unwrap();
            assert!(
                !t.contains("/big\""),
                "undo diff opened the huge file:\n{t}"
            );
        }
        Err(why) => skip(format!("the open check: {why}")),
    }
    let diff = u.nono(["undo", "diff"]);
    diff.expect_code(1)
        .expect_stdout_has("deleted    docs/README.md");
    u.nono(["undo", "restore"]).expect_ok();
    fs::remove_file(u.env.work.join("big")).unwrap();
    assert_eq!(mode_of(&u.env.work.join("bin/run.sh")), before_mode);
    if !setuid {
        assert_same(&before, &u.record());
    }
}

fn mode_of(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}
