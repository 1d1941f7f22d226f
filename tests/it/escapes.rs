//! Escape and persistence paths: other terminals, PATH directories, files
//! that run later outside, git configuration, code caches of the built-in
//! profiles, dangling protected symlinks, other names of protected paths
//! through bind mounts, credential files, user-protected paths, AF_VSOCK.
//!
//! Every test attempts the escape through the real binary, checks the
//! effect from outside (file unchanged, nothing created, marker not
//! printed, nothing arrived at the other terminal), runs the same probe
//! without nono as the control, and, where a path decides, asks `why`,
//! which must agree with the kernel.

#![cfg(target_os = "linux")]

use crate::common;
use crate::probe;

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// `nono why --op OP PATH` with `grants`: true when allowed.
fn why_allows(env: &TestEnv, grants: &[&str], op: &str, path: &Path) -> bool {
    let mut args: Vec<String> = vec!["why".into()];
    args.extend(grants.iter().map(|s| s.to_string()));
    args.extend(["--op".into(), op.into(), path.display().to_string()]);
    let run = env.nono(&args);
    match run.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("why failed\n{run}"),
    }
}

fn mkfile(p: &Path, content: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// A pty pair made here, outside any sandbox: (master, slave path).
fn open_pty() -> (OwnedFd, PathBuf) {
    // SAFETY: plain libc calls on a descriptor this function owns; the
    // name buffer is large enough and NUL-terminated by ptsname_r.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()), 0);
        let name = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned();
        let flags = libc::fcntl(m, libc::F_GETFL);
        libc::fcntl(m, libc::F_SETFL, flags | libc::O_NONBLOCK);
        (OwnedFd::from_raw_fd(m), PathBuf::from(name))
    }
}

/// What the master side has received so far (non-blocking).
fn drain(master: &OwnedFd) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: reads into a local buffer from a descriptor we own.
        let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

const PTY_PROBE: &str = r#"
p = sys.argv[1]
def w():
    fd = os.open(p, os.O_RDWR | os.O_NOCTTY)
    os.write(fd, b"INJECTED-INTO-OTHER-TERMINAL")
    os.close(fd)
attempt("other_pty", w)
"#;

#[test]
fn another_terminal_of_the_user_is_unreachable() {
    let env = TestEnv::new();
    let (master, slave) = open_pty();
    let slave_s = slave.display().to_string();
    let code = PTY_PROBE;
    for flags in [&[][..], &["--net-block"][..], &["--allow", "~"][..]] {
        let mut args: Vec<&str> = vec!["run"];
        args.extend_from_slice(flags);
        let script = probe_script(code);
        args.extend_from_slice(&["--", probe::PY, "-c", &script, &slave_s]);
        let run = env.nono(&args);
        // EACCES from Landlock; ENOENT where the mount layer gave the
        // command a devpts of its own, in which the other pty does not exist.
        assert!(
            probe::has(&run, "other_pty ERR EACCES")
                || (mount_layer_active() && probe::has(&run, "other_pty ERR ENOENT")),
            "the other terminal was reachable\n{run}"
        );
        let got = drain(&master);
        assert!(
            !got.contains("INJECTED"),
            "the other terminal received input from the sandbox ({flags:?}): {got:?}\n{run}"
        );
        // With the mount layer /dev/pts is the command's own devpts: `why`
        // answers for the name there, not for the host's pty it hides.
        assert!(
            mount_layer_active() || !why_allows(&env, flags, "write", &slave),
            "why disagrees: says {slave_s} is writable"
        );
    }
    // Control: the same probe without nono reaches it.
    let mut cmd = Command::new(probe::PY);
    cmd.args(["-c", &probe_script(code), &slave_s]);
    let control = Run::from(cmd);
    probe::expect_line(&control, "other_pty OK");
    assert!(
        drain(&master).contains("INJECTED"),
        "control: nothing arrived"
    );
}

fn probe_script(code: &str) -> String {
    probe::with_prelude(code)
}

#[test]
fn own_terminal_works_and_new_ptys_inside_fail_as_documented() {
    let env = TestEnv::new();
    let (master, slave) = open_pty();
    let slave_s = slave.display().to_string();
    let code = r#"
p = sys.argv[1]
def own():
    fd = os.open(p, os.O_WRONLY | os.O_NOCTTY)
    os.write(fd, b"OWN-TERMINAL-WRITE")
    os.close(fd)
attempt("own_pty", own)
def new_pty():
    import pty
    m, s = pty.openpty()
attempt("new_pty", new_pty)
"#;
    let tty = || {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&slave)
            .unwrap()
    };
    let script = probe_script(code);
    let mut cmd = env.command(["run", "--", probe::PY, "-c", &script, &slave_s]);
    cmd.stdin(Stdio::from(tty()))
        .stdout(Stdio::from(tty()))
        .stderr(Stdio::from(tty()));
    let status = cmd.status().unwrap();
    let got = drain(&master);
    assert!(
        status.success(),
        "status {status:?}, terminal output {got:?}"
    );
    assert!(got.contains("own_pty OK"), "{got:?}");
    assert!(got.contains("OWN-TERMINAL-WRITE"), "{got:?}");
    // Documented (SECURITY.md): the new pty's /dev/pts/N has no rule.
    assert!(got.contains("new_pty ERR"), "{got:?}");
    // And `setup` does not call the terminal protection full.
    let setup = env.nono(["setup", "--json"]);
    let doc: serde_json::Value = setup.json();
    let terminals = doc["guarantees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "terminals")
        .unwrap_or_else(|| panic!("no terminals guarantee\n{setup}"));
    assert_ne!(terminals["level"], "full", "{setup}");
}

#[test]
fn path_directories_are_read_only_under_a_broader_grant() {
    let env = TestEnv::new();
    let mybin = env.home.join("mybin");
    let shims = env.home.join(".pyenv/shims");
    mkfile(&mybin.join("git"), "#!/bin/sh\necho real\n");
    mkfile(&shims.join("git"), "#!/bin/sh\necho real\n");
    let path = format!("{}:{}:/usr/bin:/bin", mybin.display(), shims.display());
    let script = format!(
        "printf 'echo planted' >> {m}/git; printf 'echo planted' >> {s}/git; printf x > {m}/python3; printf x > {s}/python3; echo done",
        m = sh_path(&mybin),
        s = sh_path(&shims)
    );
    let mut cmd = env.command(["run", "--allow", "~", "--", "/bin/sh", "-c", &script]);
    cmd.env("PATH", &path);
    let run = Run::from(cmd);
    run.expect_stdout_has("done");
    for d in [&mybin, &shims] {
        assert_eq!(read(&d.join("git")), "#!/bin/sh\necho real\n", "{run}");
        assert!(
            !d.join("python3").exists(),
            "created in {}\n{run}",
            d.display()
        );
        let mut why = env.command([
            "why",
            "--allow",
            "~",
            "--op",
            "write",
            d.join("git").to_str().unwrap(),
        ]);
        why.env("PATH", &path);
        assert_eq!(Run::from(why).code(), Some(1), "why must say denied");
    }
    // A grant that names the directory keeps it writable, and says so.
    let mut cmd = env.command([
        "run",
        "--allow",
        "~",
        "--allow",
        mybin.to_str().unwrap(),
        "--",
        "/bin/sh",
        "-c",
        &format!("printf '#x' >> {}/git && echo appended", sh_path(&mybin)),
    ]);
    cmd.env("PATH", &path);
    Run::from(cmd).expect_ok().expect_stdout_has("appended");
    let mut dry = env.command([
        "run",
        "--dry-run",
        "--allow",
        "~",
        "--allow",
        mybin.to_str().unwrap(),
        "--",
        "/bin/true",
    ]);
    dry.env("PATH", &path);
    Run::from(dry)
        .expect_ok()
        .expect_stdout_has("PATH directories left writable")
        .expect_stdout_has("mybin");
    // A write grant strictly inside a PATH directory is refused, not
    // silently made read-only.
    fs::create_dir_all(mybin.join("sub")).unwrap();
    let mut inner = env.command([
        "run",
        "--allow",
        mybin.join("sub").to_str().unwrap(),
        "--",
        "/bin/true",
    ]);
    inner.env("PATH", &path);
    Run::from(inner).expect_nono_error("read-only");
    // Control.
    let mut control = Command::new("/bin/sh");
    control.args(["-c", &script]).env("HOME", &env.home);
    Run::from(control).expect_ok();
    assert!(read(&mybin.join("git")).contains("planted"));
    assert!(mybin.join("python3").exists());
}

/// Existing files (appended to) and directories (a new file created in
/// them) that run code in the user's next shell, editor or tool.
fn run_later_paths(env: &TestEnv) -> Vec<PathBuf> {
    let h = |r: &str| env.home.join(r);
    let files = [
        ".bash_aliases",
        ".bashrc.d/10-x.sh",
        ".cargo/env",
        ".cargo/config.toml",
        ".nvm/nvm.sh",
        "zdot/.zshrc",
        ".oh-my-zsh/custom/x.zsh",
        ".local/lib/python3.12/site-packages/x.pth",
        ".ipython/profile_default/startup/00.py",
        ".local/share/systemd/user/x.service",
        ".config/emacs/init.el",
        ".local/share/nvim/site/plugin/x.vim",
        ".config/pip/pip.conf",
        ".config/direnv/direnvrc",
        ".tmux.conf",
        ".gdbinit",
        ".profile.d/x.sh",
        ".vim/plugin/x.vim",
        ".config/mise/config.toml",
        ".git-templates/hooks/post-checkout",
        ".xprofile",
        ".config/Code/User/settings.json",
    ];
    let mut out = Vec::new();
    for f in files {
        mkfile(&h(f), "original\n");
        out.push(h(f));
    }
    out
}

#[test]
fn files_that_run_later_are_read_only_under_allow_home() {
    let env = TestEnv::new();
    let paths = run_later_paths(&env);
    let mut script = String::new();
    for p in &paths {
        let dir = p.parent().unwrap();
        script.push_str(&format!(
            "printf evil >> {f} 2>/dev/null; printf evil > {d}/planted 2>/dev/null; ",
            f = sh_path(p),
            d = sh_path(dir)
        ));
    }
    script.push_str("echo done");
    let zdot = env.home.join("zdot");
    let mut cmd = env.command(["run", "--allow", "~", "--", "/bin/sh", "-c", &script]);
    cmd.env("ZDOTDIR", &zdot);
    let run = Run::from(cmd);
    run.expect_ok().expect_stdout_has("done");
    for p in &paths {
        assert_eq!(read(p), "original\n", "{} changed\n{run}", p.display());
        assert!(
            !p.parent().unwrap().join("planted").exists(),
            "created next to {}\n{run}",
            p.display()
        );
        let mut why = env.command(["why", "--allow", "~", "--op", "write", p.to_str().unwrap()]);
        why.env("ZDOTDIR", &zdot);
        let w = Run::from(why);
        assert_eq!(w.code(), Some(1), "why disagrees for {}\n{w}", p.display());
    }
    // Control.
    env.plain_sh(&script).expect_ok();
    for p in &paths {
        assert!(read(p).contains("evil"), "control: {}", p.display());
    }
}

fn git(dir: &Path, args: &[&str]) -> Run {
    let mut c = Command::new("git");
    c.args(args).current_dir(dir);
    git_env(&mut c);
    Run::from(c)
}

fn git_env(c: &mut Command) {
    for (k, v) in [
        ("GIT_AUTHOR_NAME", "t"),
        ("GIT_AUTHOR_EMAIL", "t@example.invalid"),
        ("GIT_COMMITTER_NAME", "t"),
        ("GIT_COMMITTER_EMAIL", "t@example.invalid"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ] {
        c.env(k, v);
    }
}

/// A repository in the work directory with one commit, and a bare remote
/// outside it with one more.
fn repo(env: &TestEnv) -> PathBuf {
    let w = &env.work;
    git(w, &["init", "-q", "-b", "main"]).expect_ok();
    git(w, &["add", "keep.txt"]).expect_ok();
    git(w, &["commit", "-qm", "one"]).expect_ok();
    let remote = env.outside.join("remote.git");
    git(w, &["clone", "-q", "--bare", ".", remote.to_str().unwrap()]).expect_ok();
    git(w, &["remote", "add", "origin", remote.to_str().unwrap()]).expect_ok();
    w.join(".git")
}

#[test]
fn git_config_and_hooks_are_read_only_unless_allowed() {
    if !have("/usr/bin/git") && !have("/usr/local/bin/git") {
        return skip("git is not installed");
    }
    let env = TestEnv::new();
    let dot_git = repo(&env);
    let config_before = fs::read(dot_git.join("config")).unwrap();
    let attack = "printf '[core]\\n\\tfsmonitor = touch /tmp/pwned\\n' >> .git/config; printf '#!/bin/sh\\n' > .git/hooks/pre-commit; echo done";
    if !mount_layer_active() {
        // The Landlock-only fallback cannot keep them read-only and let git
        // work (SPEC 3.4): it says so, and --require-isolation refuses.
        env.sandboxed(&["--allow", "."], &["/bin/true"])
            .expect_ok()
            .expect_stderr_has("stay writable");
        let run = env.sandboxed_sh(&["--require-isolation", "--allow", "."], attack);
        run.expect_nono_error("mount-namespace layer");
        assert_eq!(
            fs::read(dot_git.join("config")).unwrap(),
            config_before,
            "{run}"
        );
        assert!(!dot_git.join("hooks/pre-commit").exists(), "{run}");
        return;
    }
    for grants in [
        &["--allow", "."][..],
        &["-p", "rust"][..],
        &["-p", "node"][..],
        &["-p", "python"][..],
    ] {
        let run = env.sandboxed_sh(grants, attack);
        run.expect_ok().expect_stdout_has("done");
        assert_eq!(
            fs::read(dot_git.join("config")).unwrap(),
            config_before,
            "{run}"
        );
        assert!(!dot_git.join("hooks/pre-commit").exists(), "{run}");
        assert!(!why_allows(&env, grants, "write", &dot_git.join("config")));
        // Reading still works.
        let run = env.sandboxed(grants, &["git", "status", "--short"]);
        run.expect_ok();
    }
    // Without the mount layer, git cannot create its lock files next to
    // the read-only configuration, so commit fails (and why says so). With
    // it, config and hooks are read-only mounts and commit works.
    let head_before = read(&dot_git.join("refs/heads/main"));
    let layer = mount_layer_active();
    // The git commands above ran without delete rights: with the mount
    // layer git could create index.lock but not rename or remove it
    // (delete protection), so a stale one is left, as outside with a
    // crashed git.
    let _ = fs::remove_file(dot_git.join("index.lock"));
    let mut cmd = env.command([
        "run",
        "-p",
        "rust",
        "--",
        "git",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    git_env(&mut cmd);
    if layer {
        Run::from(cmd).expect_ok();
        assert_ne!(read(&dot_git.join("refs/heads/main")), head_before);
        assert!(why_allows(
            &env,
            &["-p", "rust"],
            "write",
            &dot_git.join("index.lock")
        ));
        assert!(!why_allows(
            &env,
            &["-p", "rust"],
            "write",
            &dot_git.join("config")
        ));
    } else {
        Run::from(cmd).expect_fail();
        assert_eq!(read(&dot_git.join("refs/heads/main")), head_before);
        assert!(!why_allows(
            &env,
            &["-p", "rust"],
            "write",
            &dot_git.join("index.lock")
        ));
    }
    assert!(why_allows(
        &env,
        &["-p", "rust", "--allow-git-config"],
        "write",
        &dot_git.join("index.lock")
    ));
    // --dry-run names the repository.
    env.nono(["run", "--dry-run", "--allow", ".", "--", "/bin/true"])
        .expect_ok()
        .expect_stdout_has(".git");

    // Opted in: git's everyday writes work under a built-in profile.
    let flags = [
        "-p",
        "rust",
        "--allow-git-config",
        "--read",
        env.outside.to_str().unwrap(),
    ];
    for g in [
        &["commit", "-q", "--allow-empty", "-m", "two"][..],
        &["checkout", "-q", "-b", "feature"][..],
        &["stash", "-q", "--include-untracked"][..],
        &["fetch", "-q", "origin"][..],
    ] {
        if g[0] == "stash" {
            fs::write(env.work.join("keep.txt"), "changed\n").unwrap();
        }
        let mut args: Vec<&str> = vec!["run"];
        args.extend_from_slice(&flags);
        args.push("--");
        args.push("git");
        args.extend_from_slice(g);
        let mut cmd = env.command(&args);
        git_env(&mut cmd);
        Run::from(cmd).expect_ok();
    }
    let log = git(&env.work, &["log", "--format=%s", "-1", "main"]);
    log.expect_stdout_has("two");
    git(&env.work, &["rev-parse", "--verify", "feature"]).expect_ok();
    git(&env.work, &["rev-parse", "--verify", "stash@{0}"]).expect_ok();
    assert!(dot_git.join("FETCH_HEAD").exists());
    // ... and the opt-in leaves the configuration writable (and says so).
    let run = env.sandboxed_sh(&["--allow", ".", "--allow-git-config"], attack);
    run.expect_ok();
    assert_ne!(fs::read(dot_git.join("config")).unwrap(), config_before);
    // Control without nono for the default case: the attack works.
    let env2 = TestEnv::new();
    let d2 = repo(&env2);
    env2.plain_sh(attack).expect_ok();
    assert!(read(&d2.join("config")).contains("fsmonitor"));
    assert!(d2.join("hooks/pre-commit").exists());
}

#[test]
fn profiles_leave_no_code_cache_writable() {
    let env = TestEnv::new();
    let build_rs = env
        .home
        .join(".cargo/registry/src/index.crates.io-0000/foo-1.0.0/build.rs");
    let git_dep = env.home.join(".cargo/git/checkouts/bar-0000/abc/build.rs");
    let npx = env.home.join(".npm/_npx/0000/node_modules/pkg/index.js");
    let gomod = env.home.join("go/pkg/mod/example.com/m_v1.0.0/m.go");
    for p in [&build_rs, &git_dep, &npx, &gomod] {
        mkfile(p, "original\n");
    }
    for (profile, files) in [
        ("rust", vec![&build_rs, &git_dep]),
        ("node", vec![&npx]),
        ("go", vec![&gomod]),
    ] {
        for f in files {
            let script = format!(
                "printf evil >> {f}; printf evil > {d}/planted.rs; echo done",
                f = sh_path(f),
                d = sh_path(f.parent().unwrap())
            );
            let mut cmd = env.command(["run", "-p", profile, "--", "/bin/sh", "-c", &script]);
            for v in [
                "CARGO_HOME",
                "RUSTUP_HOME",
                "npm_config_cache",
                "GOPATH",
                "GOMODCACHE",
            ] {
                cmd.env_remove(v);
            }
            let run = Run::from(cmd);
            run.expect_ok().expect_stdout_has("done");
            assert_eq!(read(f), "original\n", "{profile}: {}\n{run}", f.display());
            assert!(!f.parent().unwrap().join("planted.rs").exists(), "{run}");
            assert!(!why_allows(&env, &["-p", profile], "write", f));
            let control = env.plain_sh(&script);
            control.expect_ok();
            assert!(read(f).contains("evil"), "control {}", f.display());
            fs::write(f, "original\n").unwrap();
            let _ = fs::remove_file(f.parent().unwrap().join("planted.rs"));
        }
    }
    // pip's cache under -p python is read-only too.
    let wheel = env.home.join(".cache/pip/wheels/00/x.whl");
    mkfile(&wheel, "original\n");
    let script = format!("printf evil >> {}; echo done", sh_path(&wheel));
    env.sandboxed_sh(&["-p", "python"], &script)
        .expect_ok()
        .expect_stdout_has("done");
    assert_eq!(read(&wheel), "original\n");
}

#[test]
fn a_dangling_protected_symlink_protects_its_target() {
    let env = TestEnv::new();
    fs::remove_dir_all(env.home.join(".aws")).unwrap();
    fs::create_dir_all(env.home.join("stuff")).unwrap();
    std::os::unix::fs::symlink("stuff/aws", env.home.join(".aws")).unwrap();
    // A missing protected path below a symlinked directory, too.
    fs::create_dir_all(env.home.join("dotfiles/config")).unwrap();
    fs::remove_dir_all(env.home.join(".config")).unwrap();
    std::os::unix::fs::symlink("dotfiles/config", env.home.join(".config")).unwrap();
    let target = env.home.join("stuff/aws");
    let gh = env.home.join("dotfiles/config/gh");
    let script = format!(
        "mkdir -p {t} ; printf '[default]\\ncredential_process = evil\\n' > {h}/.aws/config; mkdir {g}; echo done",
        t = sh_path(&target),
        h = sh_path(&env.home),
        g = sh_path(&gh)
    );
    let run = env.sandboxed_sh(&["--allow", "~"], &script);
    run.expect_ok().expect_stdout_has("done");
    assert!(!target.exists(), "target created\n{run}");
    assert!(!gh.exists(), "gh created\n{run}");
    for p in [&target, &target.join("config"), &gh] {
        assert!(
            !why_allows(&env, &["--allow", "~"], "write", p),
            "{}",
            p.display()
        );
    }
    // Naming the would-be target is refused like the protected path.
    env.nono(["run", "--allow", "~/stuff/aws", "--", "/bin/true"])
        .expect_nono_error("protected");
    env.plain_sh(&script).expect_ok();
    assert!(target.join("config").exists() && gh.exists(), "control");
}

/// Runs `inner` (a shell script) in a private mount namespace: as root
/// `unshare -m`, otherwise `unshare -rm` (a user namespace where the
/// bind mount is allowed). `None` when this machine allows neither.
fn in_mount_ns(env: &TestEnv, inner: &str) -> Option<Run> {
    let ns = if is_root() { "-m" } else { "-rm" };
    let probe = Command::new("unshare").args([ns, "true"]).output().ok()?;
    if !probe.status.success() {
        return None;
    }
    let mut c = env.in_tree("unshare");
    c.args([ns, "/bin/sh", "-c", inner]).env("NONO", nono_bin());
    Some(Run::from(c))
}

#[test]
fn a_bind_mount_of_the_home_does_not_expose_protected_paths() {
    let env = TestEnv::new();
    let alias = env.root.join("alias");
    fs::create_dir_all(&alias).unwrap();
    let a = sh_path(&alias);
    let h = sh_path(&env.home);
    let attack = format!("cat {a}/.ssh/id_ed25519; printf evil >> {a}/.bashrc; echo done");
    let inner = format!(
        "mount --bind {h} {a} || exit 99; \
         \"$NONO\" run --allow {a} -- /bin/sh -c '{attack}'; \
         \"$NONO\" why --allow {a} --op read {a}/.ssh/id_ed25519 >/dev/null; echo why=$?; \
         \"$NONO\" why --allow {a} --op write {a}/.bashrc >/dev/null; echo whyw=$?"
    );
    let Some(run) = in_mount_ns(&env, &inner) else {
        return skip("no mount namespace here (unshare failed)");
    };
    if run.code() == Some(99) {
        return skip(format!("bind mount refused here\n{run}"));
    }
    run.expect_ok().expect_stdout_has("done");
    assert!(!run.stdout().contains(SECRET), "secret read\n{run}");
    assert_eq!(
        read(&env.home.join(".bashrc")),
        format!("# {SECRET}\n"),
        "{run}"
    );
    run.expect_stdout_has("why=1").expect_stdout_has("whyw=1");
    // Naming the alias of a protected path is refused.
    let inner = format!("mount --bind {h} {a} && \"$NONO\" run --read {a}/.ssh -- /bin/true");
    let refused = in_mount_ns(&env, &inner).unwrap();
    refused.expect_nono_error("protected");
    // Control: the same attack without nono.
    let inner = format!("mount --bind {h} {a} && /bin/sh -c '{attack}'");
    let control = in_mount_ns(&env, &inner).unwrap();
    control.expect_ok().expect_stdout_has(SECRET);
}

#[test]
fn credential_files_are_protected() {
    let env = TestEnv::new();
    let files = [
        ".terraformrc",
        ".cache/huggingface/token",
        ".m2/settings.xml",
        ".gradle/gradle.properties",
        ".s3cfg",
        ".boto",
        ".config/rclone/rclone.conf",
        ".config/sops/age/keys.txt",
        ".local/share/kwalletd/kdewallet.kwl",
        ".thunderbird/p.default/logins.json",
        ".config/glab-cli/config.yml",
        ".pulumi/credentials.json",
        ".kaggle/kaggle.json",
        ".databrickscfg",
        ".mozilla/firefox/p/logins.json",
        ".config/google-chrome/Default/Cookies",
        ".config/hub",
        ".cargo/credentials.toml",
        ".vault-token",
        ".config/containers/auth.json",
        ".config/composer/auth.json",
        ".nuget/NuGet/NuGet.Config",
        ".dockercfg",
        ".local/share/keyrings/login.keyring",
        ".config/gh-copilot/hosts.json",
    ];
    let mut script = String::new();
    for f in files {
        mkfile(&env.home.join(f), SECRET);
        script.push_str(&format!("cat {} 2>/dev/null; ", sh_path(&env.home.join(f))));
    }
    script.push_str("echo done");
    let run = env.sandboxed_sh(&["--allow", "~"], &script);
    run.expect_ok().expect_stdout_has("done");
    assert!(
        !run.stdout().contains(SECRET),
        "a credential was read\n{run}"
    );
    for f in files {
        assert!(
            !why_allows(&env, &["--allow", "~"], "read", &env.home.join(f)),
            "{f}"
        );
    }
    let control = env.plain_sh(&script);
    assert_eq!(
        control.stdout().matches(SECRET).count(),
        files.len(),
        "{control}"
    );
}

#[test]
fn a_profile_can_protect_more_paths() {
    let env = TestEnv::new();
    let token = env.home.join("notes/token");
    mkfile(&token, SECRET);
    let profile = env.work.join("mine.toml");
    fs::write(
        &profile,
        "[filesystem]\nallow = [\"~\"]\nprotect = [\"~/notes/token\", \"~/not-there-yet\"]\n",
    )
    .unwrap();
    let p = profile.to_str().unwrap();
    let script = format!(
        "cat {t}; printf x >> {t}; mkdir {h}/not-there-yet; cat {h}/notes/todo.txt; echo done",
        t = sh_path(&token),
        h = sh_path(&env.home)
    );
    let run = env.sandboxed_sh(&["-p", p], &script);
    run.expect_ok()
        .expect_stdout_has("done")
        .expect_stdout_has("todo");
    assert!(!run.stdout().contains(SECRET), "{run}");
    assert_eq!(read(&token), SECRET);
    assert!(!env.home.join("not-there-yet").exists());
    assert!(!why_allows(&env, &["-p", p], "read", &token));
    // Named directly: refused, like a built-in protected path.
    env.nono([
        "run",
        "-p",
        p,
        "--read",
        token.to_str().unwrap(),
        "--",
        "/bin/true",
    ])
    .expect_nono_error("protected");
    // Shown in --dry-run.
    env.nono(["run", "--dry-run", "-p", p, "--", "/bin/true"])
        .expect_ok()
        .expect_stdout_has("protected by profile")
        .expect_stdout_has("notes/token");
    let control = env.plain_sh(&script);
    control.expect_stdout_has(SECRET);
}

/// A profile's own protected path gets its other names too (they are
/// looked up when the list is extended, for the added entries): through a
/// bind mount of the home it is neither read nor written, and naming it
/// there is refused. Control: the same script without nono reads it.
#[test]
fn a_profile_protected_path_stays_protected_through_a_bind_mount() {
    let env = TestEnv::new();
    let token = env.home.join("notes/token");
    mkfile(&token, SECRET);
    let alias = env.root.join("alias");
    fs::create_dir_all(&alias).unwrap();
    let profile = env.work.join("mine.toml");
    fs::write(
        &profile,
        format!(
            "[filesystem]\nallow = [\"{}\"]\nprotect = [\"~/notes/token\"]\n",
            alias.display()
        ),
    )
    .unwrap();
    let (a, h, p) = (sh_path(&alias), sh_path(&env.home), sh_path(&profile));
    let attack = format!("cat {a}/notes/token; printf x >> {a}/notes/token; echo done");
    let inner = format!(
        "mount --bind {h} {a} || exit 99; \
         \"$NONO\" run -p {p} -- /bin/sh -c '{attack}'; \
         \"$NONO\" run -p {p} --read {a}/notes/token -- /bin/true; echo named=$?"
    );
    let Some(run) = in_mount_ns(&env, &inner) else {
        return skip("no mount namespace here (unshare failed)");
    };
    if run.code() == Some(99) {
        return skip(format!("bind mount refused here\n{run}"));
    }
    run.expect_ok()
        .expect_stdout_has("done")
        .expect_stdout_has("named=125");
    assert!(!run.stdout().contains(SECRET), "secret read\n{run}");
    assert_eq!(read(&token), SECRET, "{run}");
    let inner = format!("mount --bind {h} {a} && /bin/sh -c '{attack}'");
    let control = in_mount_ns(&env, &inner).unwrap();
    control.expect_ok().expect_stdout_has(SECRET);
}

#[test]
fn vsock_sockets_are_refused() {
    let env = TestEnv::new();
    let code = "attempt('vsock', lambda: socket.socket(40, socket.SOCK_STREAM))";
    let control = probe::plain(&env, code);
    if !probe::has(&control, "vsock OK") {
        return skip(format!("this kernel has no AF_VSOCK sockets\n{control}"));
    }
    for flags in [&[][..], &["--net-block"][..]] {
        let run = probe::sandboxed(&env, flags, code);
        probe::expect_line(&run, "vsock ERR EPERM");
    }
    // Other families are unaffected (the filter is not "all sockets").
    let run = probe::sandboxed(&env, &[], "attempt('inet', lambda: socket.socket())");
    probe::expect_line(&run, "inet OK");
}

/// `~/.local/lib/python*` is protected by pattern: a new match made by the
/// command (`python3.12/site-packages/usercustomize.py`, which python 3.12
/// runs at start-up outside) must fail like a write into an existing
/// match, although every existing match is masked.
#[test]
fn a_new_match_of_a_protected_pattern_cannot_be_planted() {
    let env = TestEnv::new();
    let lib = env.home.join(".local/lib");
    fs::create_dir_all(lib.join("python3.11/site-packages")).unwrap();
    let script = "mkdir -p ~/.local/lib/python3.12/site-packages && echo 'import os' > ~/.local/lib/python3.12/site-packages/usercustomize.py && echo planted";
    // Control: without nono the plant succeeds (then is removed).
    env.plain_sh(script)
        .expect_ok()
        .expect_stdout_has("planted");
    fs::remove_dir_all(lib.join("python3.12")).unwrap();
    let run = env.sandboxed_sh(&["--allow", "~"], script);
    run.expect_stdout_lacks("planted");
    assert!(
        !lib.join("python3.12").exists(),
        "the command created a new python* directory\n{run}"
    );
    // The existing match is read-only too.
    let run = env.sandboxed_sh(
        &["--allow", "~"],
        "echo x > ~/.local/lib/python3.11/site-packages/x.py && echo planted",
    );
    run.expect_stdout_lacks("planted");
    assert!(!lib.join("python3.11/site-packages/x.py").exists());
    // why agrees with the kernel.
    let why = env.nono([
        "why",
        "--allow",
        "~",
        "--op",
        "write",
        lib.join("python3.12/site-packages/usercustomize.py")
            .to_str()
            .unwrap(),
    ]);
    why.expect_code(1);
}

/// An agent started in the home directory gets the home as its project
/// (the profile grants the current directory): its own configuration there,
/// whose hooks and MCP servers run at its next start outside nono, must
/// stay unwritable all the same.
#[test]
fn an_agent_started_in_the_home_cannot_plant_its_own_hooks() {
    let env = TestEnv::new();
    let files = [
        ".claude/settings.json",
        ".claude.json",
        ".codex/config.toml",
        ".gemini/settings.json",
    ];
    for f in files {
        let p = env.home.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, "{}").unwrap();
    }
    let bin = env.root.join("agent-bin");
    fs::create_dir_all(&bin).unwrap();
    let plant = files
        .iter()
        .map(|f| format!("printf HOOK > \"$HOME/{f}\" && echo wrote {f};"))
        .collect::<String>();
    let claude = bin.join("claude");
    fs::write(&claude, format!("#!/bin/sh\n{plant}\nexit 0\n")).unwrap();
    fs::set_permissions(&claude, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    // Control: without nono the script writes every one of them.
    let out = Command::new(&claude)
        .current_dir(&env.home)
        .env("HOME", &env.home)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("wrote")
            .count(),
        files.len()
    );
    for f in files {
        fs::write(env.home.join(f), "{}").unwrap();
    }
    let mut cmd = env.command(["run", "--read", bin.to_str().unwrap(), "--", "claude"]);
    cmd.current_dir(&env.home).env("PATH", &path);
    let run = Run::from(cmd);
    run.expect_stderr_has("claude-code")
        .expect_stdout_lacks("wrote");
    for f in files {
        assert_eq!(read(&env.home.join(f)), "{}", "{f} was written\n{run}");
    }
}

/// A PATH entry that does not exist, written with `..`: the directory it
/// would be created at is protected, not only the name as written.
#[test]
fn a_missing_path_entry_written_with_dotdot_cannot_be_created() {
    let env = TestEnv::new();
    fs::create_dir_all(env.home.join("x")).unwrap();
    fs::create_dir_all(env.home.join("t5")).unwrap();
    let entry = format!("{}/x/../t5/bin", env.home.display());
    let script = "mkdir \"$HOME/t5/bin\" && echo made";
    // Control: without nono it can be made.
    env.plain_sh(script).expect_stdout_has("made");
    fs::remove_dir(env.home.join("t5/bin")).unwrap();
    let mut cmd = env.command(["run", "--allow", "~", "--", "/bin/sh", "-c", script]);
    cmd.env("PATH", format!("/usr/bin:/bin:{entry}"));
    let run = Run::from(cmd);
    run.expect_stdout_lacks("made");
    assert!(!env.home.join("t5/bin").exists(), "{run}");
}
