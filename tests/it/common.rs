//! Shared test harness: every sandbox runs in its own process, through the
//! real binary. Tests build a private tree (a fake HOME with planted
//! secrets, a work directory), run nono in it, and check effects on disk.
//!
//! The binary comes from `NONO_BIN` when set (the unprivileged test run
//! copies it somewhere uid 65534 can reach), else from cargo.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SECRET: &str = "NONO-TEST-SECRET-MARKER";

pub fn nono_bin() -> PathBuf {
    std::env::var_os("NONO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_nono")))
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// A private tree for one test.
pub struct TestEnv {
    _root: tempfile::TempDir,
    pub root: PathBuf,
    /// The HOME nono sees: holds planted secrets under protected names.
    pub home: PathBuf,
    /// The working directory of the command; not granted unless a test says so.
    pub work: PathBuf,
    /// A directory outside every grant, with a marker file.
    pub outside: PathBuf,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("nono-test-")
            .tempdir()
            .expect("tempdir");
        let root = fs::canonicalize(dir.path()).expect("canonicalize");
        let home = root.join("home");
        let work = root.join("work");
        let outside = root.join("outside");
        for d in [&home, &work, &outside] {
            fs::create_dir_all(d).unwrap();
        }
        fs::create_dir_all(home.join(".ssh")).unwrap();
        fs::write(home.join(".ssh/id_ed25519"), SECRET).unwrap();
        fs::create_dir_all(home.join(".aws")).unwrap();
        fs::write(home.join(".aws/credentials"), SECRET).unwrap();
        fs::write(home.join(".bashrc"), format!("# {SECRET}\n")).unwrap();
        fs::write(home.join(".netrc"), SECRET).unwrap();
        fs::create_dir_all(home.join(".config/gh")).unwrap();
        fs::write(home.join(".config/gh/hosts.yml"), SECRET).unwrap();
        fs::create_dir_all(home.join(".config/app")).unwrap();
        fs::write(home.join(".config/app/settings"), "app settings\n").unwrap();
        fs::create_dir_all(home.join("notes")).unwrap();
        fs::write(home.join("notes/todo.txt"), "todo\n").unwrap();
        fs::write(outside.join("marker.txt"), SECRET).unwrap();
        fs::write(work.join("keep.txt"), "precious\n").unwrap();
        TestEnv {
            _root: dir,
            root,
            home,
            work,
            outside,
        }
    }

    /// `nono <args>` in the work directory with HOME set to the fake home.
    pub fn nono<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::from(self.command(args))
    }

    /// `nono run GRANTS -- /bin/sh -c SCRIPT`.
    pub fn sandboxed_sh(&self, grants: &[&str], script: &str) -> Run {
        let mut args: Vec<&str> = vec!["run"];
        args.extend_from_slice(grants);
        args.extend_from_slice(&["--", "/bin/sh", "-c", script]);
        self.nono(args)
    }

    /// The same script without nono: the control for every denial test.
    pub fn plain_sh(&self, script: &str) -> Run {
        self.plain(&["/bin/sh", "-c", script])
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The `nono <args>` command of [`TestEnv::nono`], not yet run, for
    /// tests that need extra environment variables, stdin or a background
    /// process.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.in_tree(nono_bin());
        cmd.args(args);
        cmd
    }

    /// `program` without nono, not yet run, in the work directory with HOME
    /// set to the fake home: where every command of a test starts, so the
    /// control and the sandboxed run see the same tree.
    pub fn in_tree(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.work).env("HOME", &self.home);
        cmd
    }

    /// `nono run GRANTS -- ARGV...` (no shell in between).
    pub fn sandboxed(&self, grants: &[&str], argv: &[&str]) -> Run {
        let mut args: Vec<&str> = vec!["run"];
        args.extend_from_slice(grants);
        args.push("--");
        args.extend_from_slice(argv);
        self.nono(args)
    }

    /// ARGV without nono, in the work directory: the control of [`TestEnv::sandboxed`].
    pub fn plain(&self, argv: &[&str]) -> Run {
        let mut cmd = self.in_tree(argv[0]);
        cmd.args(&argv[1..]);
        Run::from(cmd)
    }

    /// Writes `content` to `rel` (relative to the root) with mode 0755.
    pub fn script(&self, rel: &str, content: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.root.join(rel);
        fs::write(&p, content).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }
}

/// `p` as a string for a shell script. Test paths never contain characters
/// the shell would interpret; this asserts it rather than quoting.
pub fn sh_path(p: &Path) -> String {
    let s = p.display().to_string();
    assert!(
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b)),
        "unsafe path for a shell script: {s}"
    );
    s
}

/// The interpreter used for syscall-level probes. Explicitly /usr/bin: the
/// `python3` on PATH may be a shim under a home directory (pyenv) that the
/// sandbox does not grant.
pub const PYTHON: &str = "/usr/bin/python3";

pub fn have(program: &str) -> bool {
    Path::new(program).exists()
}

/// The first `name` on this process's PATH, as a shell would find it.
pub fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `name` in a system directory that every sandbox may execute from
/// (never a shim in a home directory). GitHub's runners, for example, have
/// node in /usr/local/bin, Debian in /usr/bin.
pub fn system_program(name: &str) -> Option<String> {
    ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| Path::new(p).is_file())
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// A finished command with everything needed to explain a failure.
pub struct Run {
    pub desc: String,
    pub out: Output,
}

impl From<Command> for Run {
    /// Runs the command. A test that writes a script and runs it races with
    /// other test threads: a child forked meanwhile holds the script's write
    /// descriptor until it execs, and exec of the script fails with ETXTBSY
    /// ("Text file busy"), in this process or in nono. That is the test
    /// harness's race, never a sandbox decision: retried.
    fn from(mut cmd: Command) -> Run {
        let desc = format!("{cmd:?}");
        let mut tries = 0;
        loop {
            tries += 1;
            match cmd.output() {
                Err(e) if e.raw_os_error() == Some(26) && tries < 50 => {}
                Err(e) => panic!("cannot spawn {desc}: {e}"),
                Ok(out)
                    if tries < 50
                        && String::from_utf8_lossy(&out.stderr).contains("Text file busy") => {}
                Ok(out) => return Run { desc, out },
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// stdout as a JSON document (`--json`); fails the test, printing the
    /// run, when it is none.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{self}"))
    }
    /// Asserts the exit status, printing the command and its output if not.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code(), Some(code), "unexpected exit status\n{self}");
        self
    }
    pub fn expect_ok(&self) -> &Run {
        self.expect_code(0)
    }
    pub fn expect_fail(&self) -> &Run {
        assert!(!self.out.status.success(), "expected failure\n{self}");
        self
    }
    pub fn expect_stdout_has(&self, s: &str) -> &Run {
        assert!(self.stdout().contains(s), "stdout lacks {s:?}\n{self}");
        self
    }
    pub fn expect_stdout_lacks(&self, s: &str) -> &Run {
        assert!(!self.stdout().contains(s), "stdout has {s:?}\n{self}");
        self
    }
    pub fn expect_stderr_has(&self, s: &str) -> &Run {
        assert!(self.stderr().contains(s), "stderr lacks {s:?}\n{self}");
        self
    }
    pub fn expect_stderr_lacks(&self, s: &str) -> &Run {
        assert!(!self.stderr().contains(s), "stderr has {s:?}\n{self}");
        self
    }
    /// nono's own failure: status 125 and a one-line `nono: ` message
    /// (optionally followed by `hint:` lines) that contains `has`.
    pub fn expect_nono_error(&self, has: &str) -> &Run {
        self.expect_code(125).expect_one_line_error(has)
    }
    /// stderr is exactly one `nono: ` line containing `has`, then only
    /// `hint: ` lines; no panic, no backtrace.
    pub fn expect_one_line_error(&self, has: &str) -> &Run {
        let err = self.stderr();
        let mut lines = err.lines();
        let first = lines.next().unwrap_or("");
        assert!(first.starts_with("nono: "), "no 'nono: ' line\n{self}");
        assert!(first.contains(has), "first line lacks {has:?}\n{self}");
        for l in lines {
            assert!(l.starts_with("hint: "), "extra stderr line {l:?}\n{self}");
        }
        assert!(!err.contains("panicked"), "panic\n{self}");
        assert!(!err.contains("RUST_BACKTRACE"), "backtrace\n{self}");
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command: {}\nstatus: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.desc,
            self.out.status,
            self.stdout(),
            self.stderr()
        )
    }
}

pub fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Says why the calling test does not run, or runs only in part, and
/// names the test. Written to fd 2 directly: the test harness captures
/// `eprintln!` of passing tests, and a skip must be seen in every run.
/// The one way a test skips: `return skip("no /usr/bin/git");`.
pub fn skip(why: impl fmt::Display) {
    use std::io::Write as _;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    // A test cannot do better than ignore a failing write to its stderr.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Skips (and says why) unless every program exists.
pub fn need(programs: &[&str]) -> bool {
    match programs.iter().find(|p| !have(p)) {
        Some(p) => {
            skip(format_args!("{p} is not installed"));
            false
        }
        None => true,
    }
}

/// The Landlock ABI cap the suite runs under (scripts/test re-runs the
/// kernel-dependent tests with NONO_TEST_ABI_CAP set), if any.
pub fn abi_cap() -> Option<i32> {
    std::env::var("NONO_TEST_ABI_CAP").ok()?.parse().ok()
}

/// The Landlock ABI nono will use: the kernel's, capped at 6 (nono's
/// target) and at NONO_TEST_ABI_CAP when the suite runs capped; 0 without
/// Landlock.
#[cfg(target_os = "linux")]
pub fn abi() -> i32 {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION only queries the version.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    } as i32;
    v.clamp(0, 6).min(abi_cap().unwrap_or(i32::MAX))
}

/// True (and says so) when nono runs below Landlock ABI `abi` here, on
/// this kernel or capped by the suite: the test pins behaviour that needs
/// that ABI. What holds below it is pinned by the tests written for it
/// (tests/it/hardening.rs, the refusal tests).
#[cfg(target_os = "linux")]
pub fn below_abi(abi: i32, what: &str) -> bool {
    let have = self::abi();
    if have < abi {
        skip(format_args!(
            "{what} needs Landlock ABI {abi}, nono uses {have} here{}",
            match abi_cap() {
                Some(cap) => format!(" (capped to {cap})"),
                None => String::new(),
            }
        ));
        return true;
    }
    false
}

/// The shared skip of the tests that pin truncation scoped by path:
/// below ABI 3 Landlock cannot scope truncation, so nono refuses it
/// everywhere (tests/it/hardening.rs pins that).
/// (macOS: Seatbelt scopes truncation with every other write right.)
#[cfg(not(target_os = "linux"))]
pub fn below_scoped_truncation() -> bool {
    false
}

#[cfg(target_os = "linux")]
pub fn below_scoped_truncation() -> bool {
    below_abi(
        3,
        "truncation scoped by path (shell `>`, --allow-delete, TMPDIR)",
    )
}

/// Whether `nono run` sets up the mount-namespace layer here (forced off by
/// NONO_TEST_NO_MOUNT_NS=1). Where it does, some probes legitimately end
/// differently: a masked protected file reads as empty instead of failing,
/// the shared /var/tmp and /dev/shm are private ones.
pub fn mount_layer_active() -> bool {
    static ACTIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ACTIVE.get_or_init(|| {
        let out = Command::new(nono_bin())
            .args(["run", "--dry-run", "--json", "--", "/bin/true"])
            .output()
            .expect("nono runs");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        doc["mount_layer"]["active"] == serde_json::json!(true)
    })
}

/// strace, for the cost guards that count system calls.
pub const STRACE: &str = "/usr/bin/strace";

/// `Ok` if strace is installed and can trace here (some containers forbid
/// ptrace); else why not, for [`skip`].
pub fn strace_usable() -> Result<(), String> {
    if !have(STRACE) {
        return Err(format!("{STRACE} is not installed"));
    }
    let out = Command::new(STRACE)
        .args(["-f", "-c", "-o", "/dev/null", "/bin/true"])
        .output()
        .map_err(|e| format!("strace cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "strace cannot trace here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}
