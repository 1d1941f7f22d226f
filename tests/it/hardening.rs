//! Process hardening: no signals or ptrace to processes outside, no
//! keystroke injection, no keyring, no io_uring, no x32, no capabilities,
//! truncation protection on every ABI — and ordinary programs still work.

#![cfg(target_os = "linux")]

use crate::common;
use crate::probe;

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command};

use common::*;
use probe::{expect_line, plain, sandboxed};

/// A process outside the sandbox, killed when the test ends.
struct Outside(Child);

impl Outside {
    fn sleep() -> Outside {
        Outside(Command::new("/bin/sleep").arg("30").spawn().unwrap())
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
    fn tracer(&self) -> String {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn signals_do_not_reach_processes_outside() {
    // Documented gap: signal scoping needs Landlock ABI 6 (Linux 6.12)
    // and seccomp cannot filter kill() by target.
    if below_abi(6, "confining signals") {
        return;
    }
    let env = TestEnv::new();
    let mut victim = Outside::sleep();
    let pid = victim.pid();
    env.plain_sh(&format!("kill -0 {pid}")).expect_ok();
    env.sandboxed_sh(&[], &format!("kill -TERM {pid}"))
        .expect_fail();
    env.sandboxed_sh(&[], &format!("kill -KILL {pid}"))
        .expect_fail();
    // The same through a pidfd.
    let code = format!(
        "import signal\nfd = os.pidfd_open({pid})\nattempt('pidfd_signal', lambda: signal.pidfd_send_signal(fd, 0))"
    );
    expect_line(&plain(&env, &code), "pidfd_signal OK");
    let code = code.replace("fd, 0)", "fd, signal.SIGKILL)");
    expect_line(&sandboxed(&env, &[], &code), "pidfd_signal ERR EPERM");
    assert!(victim.alive(), "the outside process must survive");
    // Inside the sandbox signals still work.
    env.sandboxed_sh(&[], "sleep 30 & kill $! && wait $!; echo status=$?")
        .expect_ok()
        .expect_stdout_has("status=143");
}

#[test]
fn ptrace_does_not_reach_processes_outside() {
    let env = TestEnv::new();
    let victim = Outside::sleep();
    // PTRACE_SEIZE does not stop the tracee; the tracer's exit detaches.
    let code = format!(
        "libc.ptrace.restype = ctypes.c_long\ndef p():\n    if libc.ptrace(ctypes.c_long(0x4206), ctypes.c_long({}), None, None) != 0:\n        e = ctypes.get_errno(); raise OSError(e, os.strerror(e))\nattempt('seize', p)",
        victim.pid()
    );
    expect_line(&plain(&env, &code), "seize OK");
    let r = sandboxed(&env, &[], &code);
    expect_line(&r, "seize ERR EPERM");
    // pidfd_getfd (438 on x86_64 and aarch64) would copy the outside
    // process's descriptors (its sockets, its files).
    let getfd = format!(
        "fd = os.pidfd_open({})\nsys_call('getfd', 438, fd, 0, 0)",
        victim.pid()
    );
    expect_line(&plain(&env, &getfd), "getfd OK");
    expect_line(&sandboxed(&env, &[], &getfd), "getfd ERR EPERM");
    assert_eq!(
        victim.tracer(),
        "0",
        "the outside process must not be traced"
    );
    // /proc/PID/environ of an outside process: denied too (Landlock).
    let environ = format!("cat /proc/{}/environ >/dev/null", victim.pid());
    env.plain_sh(&environ).expect_ok();
    env.sandboxed_sh(&[], &environ).expect_fail();
}

// The terminal is made outside and given as stdin (the command's own
// terminal is the one nono grants; a pty made inside cannot be opened).
// The probe makes it its controlling terminal and tries to inject; the
// wrapper, outside, checks whether anything arrived.
const TIOCSTI_PROBE: &str = r#"
import fcntl, termios
pid = os.fork()
if pid == 0:
    os.setsid()
    fd = os.open(os.ttyname(0), os.O_RDWR)  # now our controlling terminal
    for req, name in ((termios.TIOCSTI, 'sti'), (0x541C, 'linux')):
        try:
            fcntl.ioctl(fd, req, b'x' if name == 'sti' else b'\x06')
            os.write(1, (name + ' OK\n').encode())
        except OSError as e:
            os.write(1, (name + ' ERR ' + errno.errorcode[e.errno] + '\n').encode())
    os._exit(0)
os.waitpid(pid, 0)
"#;

const TTY_WRAPPER: &str = r#"
import os, select, subprocess, sys, tty
m, s = os.openpty()
tty.setraw(s)
r = subprocess.run(sys.argv[1:], stdin=s, stdout=subprocess.PIPE)
sys.stdout.write(r.stdout.decode())
ready, _, _ = select.select([s], [], [], 0.5)
print('injected' if ready and os.read(s, 16) == b'x' else 'nothing injected')
"#;

/// `argv` with a fresh pty (made here, outside) as its stdin.
fn on_a_tty(env: &TestEnv, argv: &[&str]) -> Run {
    let mut cmd = env.in_tree(probe::PY);
    cmd.args(["-c", TTY_WRAPPER]).args(argv);
    Run::from(cmd)
}

#[test]
fn keystroke_injection_into_the_terminal_is_denied() {
    let env = TestEnv::new();
    let code = probe::with_prelude(TIOCSTI_PROBE);
    let c = on_a_tty(&env, &[probe::PY, "-c", &code]);
    if c.stdout().contains("sti ERR") {
        // dev.tty.legacy_tiocsti=0: the kernel already refuses; the
        // sandboxed run below still must not inject.
        skip(format!(
            "the control: TIOCSTI is disabled by this kernel\n{c}"
        ));
    } else {
        expect_line(&c, "sti OK");
        expect_line(&c, "injected");
    }
    let nono = nono_bin();
    let r = on_a_tty(
        &env,
        &[nono.to_str().unwrap(), "run", "--", probe::PY, "-c", &code],
    );
    expect_line(&r, "sti ERR EPERM");
    // TIOCLINUX is for virtual consoles (ENOTTY on a pty): the filter
    // answers first.
    expect_line(&r, "linux ERR EPERM");
    expect_line(&r, "nothing injected");
}

#[test]
fn capabilities_are_dropped_when_started_as_root() {
    let env = TestEnv::new();
    let caps = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status";
    let zero = |out: &str| {
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        lines.iter().all(|l| l.ends_with("0000000000000000"))
    };
    let inside = env.sandboxed_sh(&[], caps);
    inside.expect_ok();
    let out = inside.stdout();
    if !is_root() {
        // Nothing to drop for uid 65534; the bounding set is not droppable
        // without CAP_SETPCAP, and grants nothing under no_new_privs.
        assert!(
            out.contains("CapEff:\t0000000000000000") && out.contains("CapPrm:\t0000000000000000")
        );
        return;
    }
    let control = env.plain_sh(caps);
    assert!(
        !zero(&control.stdout()),
        "root must have capabilities\n{control}"
    );
    assert!(zero(&out), "every capability set must be empty\n{inside}");
    // A root-only action that capabilities would allow: chown to another user.
    let f = env.work.join("owned");
    std::fs::write(&f, "x").unwrap();
    env.sandboxed_sh(&["--allow", "."], "chown 1:1 owned 2>&1; echo rc=$?")
        .expect_stdout_has("rc=1");
    let kept = env.nono(["run", "--keep-caps", "--", "/bin/sh", "-c", caps]);
    assert!(!zero(&kept.stdout()), "--keep-caps keeps them\n{kept}");
}

#[test]
fn ambient_capabilities_of_a_non_root_caller_are_dropped() {
    // Root-only setup: setpriv gives uid 65534 an ambient CAP_NET_RAW, the
    // way a service manager can. That caller cannot narrow its bounding
    // set (no CAP_SETPCAP); nono must still run and clear the rest.
    if !is_root() || !std::path::Path::new("/usr/bin/setpriv").exists() {
        return skip("needs root and /usr/bin/setpriv");
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("nono");
    std::fs::copy(nono_bin(), &bin).unwrap();
    let setpriv = |tail: &[&str]| {
        let mut cmd = Command::new("/usr/bin/setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=+net_raw",
            "--ambient-caps=+net_raw",
        ])
        .args(tail)
        .current_dir(dir.path())
        .env("HOME", dir.path());
        Run::from(cmd)
    };
    let grep = ["/bin/grep", "-E", "^Cap(Amb|Eff|Prm)", "/proc/self/status"];
    let control = setpriv(&grep);
    control
        .expect_ok()
        .expect_stdout_has("CapAmb:\t0000000000002000");
    let mut args = vec![bin.to_str().unwrap(), "run", "--"];
    args.extend_from_slice(&grep);
    let r = setpriv(&args);
    r.expect_ok();
    for set in ["CapAmb", "CapEff", "CapPrm"] {
        r.expect_stdout_has(&format!("{set}:\t0000000000000000"));
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn keyring_and_io_uring_are_denied() {
    let env = TestEnv::new();
    let code = r#"
sys_call('keyctl', 250, 0, -3, 1)    # KEYCTL_GET_KEYRING_ID(session, create)
sys_call('add_key', 248, 0, 0, 0, 0, -3)
params = ctypes.create_string_buffer(120)
sys_call('io_uring', 425, 4, ctypes.addressof(params))
"#;
    let c = plain(&env, code);
    expect_line(&c, "keyctl OK");
    expect_line(&c, "io_uring OK");
    let r = sandboxed(&env, &[], code);
    expect_line(&r, "keyctl ERR EPERM");
    expect_line(&r, "add_key ERR EPERM");
    expect_line(&r, "io_uring ERR EPERM");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_system_calls_kill_the_process() {
    let env = TestEnv::new();
    // getpid with the x32 bit: ENOSYS on kernels without x32, a bypass of
    // every deny rule on kernels with it.
    let code = "sys_call('x32', 0x40000000 | 39)\nprint('survived')";
    let c = plain(&env, code);
    assert!(c.stdout().contains("survived"), "{c}");
    let r = sandboxed(&env, &[], code);
    assert_eq!(r.out.status.signal(), Some(libc::SIGSYS), "{r}");
    r.expect_stdout_lacks("survived");
}

#[test]
fn truncation_is_denied_on_every_abi() {
    let env = TestEnv::new();
    let code = r#"
def ft():
    fd = os.open('keep.txt', os.O_WRONLY)
    try: os.ftruncate(fd, 0)
    finally: os.close(fd)
attempt('truncate', lambda: os.truncate('keep.txt', 0))
attempt('ftruncate', ft)
attempt('o_trunc', lambda: os.close(os.open('keep.txt', os.O_WRONLY | os.O_TRUNC)))
attempt('rdonly_trunc', lambda: os.close(os.open('keep.txt', os.O_RDONLY | os.O_TRUNC)))
def app():
    with open('keep.txt', 'a') as f: f.write('more\n')
attempt('append', app)
attempt('create', lambda: os.close(os.open('new.txt', os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC)))
sys_call('openat2', 437, -100, 0, 0, 0)
"#;
    let r = sandboxed(&env, &["--allow", "."], code);
    // Landlock answers EACCES; the seccomp fallback (ABI < 3) EPERM.
    let denied = if abi() >= 3 { "EACCES" } else { "EPERM" };
    for step in ["truncate", "ftruncate", "o_trunc", "rdonly_trunc"] {
        expect_line(&r, &format!("{step} ERR {denied}"));
    }
    expect_line(&r, "append OK");
    expect_line(&r, "create OK");
    assert_eq!(read(&env.work.join("keep.txt")), "precious\nmore\n");
    // openat2 hides its flags and mode behind a pointer: it is never
    // available, which forces libc's fallback to openat(), whose flags and
    // mode the filter sees.
    expect_line(&r, "openat2 ERR ENOSYS");
    // The control: the same steps truncate without nono.
    std::fs::write(env.work.join("copy.txt"), "data\n").unwrap();
    expect_line(
        &plain(
            &env,
            "attempt('truncate', lambda: os.truncate('copy.txt', 0))",
        ),
        "truncate OK",
    );
    assert_eq!(read(&env.work.join("copy.txt")), "");
}

#[test]
fn below_abi_3_o_trunc_fails_everywhere() {
    // The documented cost of truncation protection without Landlock
    // TRUNCATE: seccomp cannot see the path, so O_TRUNC fails even on
    // /dev/null and on new files; '>>' works.
    let env = TestEnv::new();
    let script = "echo a >> new.txt && echo appended; echo b > /dev/null && echo redirected";
    let r = env.sandboxed_sh(&["--allow", "."], script);
    r.expect_stdout_has("appended");
    if abi() < 3 {
        r.expect_stdout_lacks("redirected")
            .expect_stderr_has("Operation not permitted");
    } else {
        r.expect_stdout_has("redirected");
    }
    assert_eq!(read(&env.work.join("new.txt")), "a\n");
}

#[test]
fn allow_delete_truncates_only_where_the_kernel_can_scope_it() {
    let env = TestEnv::new();
    let code = "attempt('truncate', lambda: os.truncate('keep.txt', 0))";
    let r = sandboxed(&env, &["--allow", ".", "--allow-delete", "."], code);
    if abi() >= 3 {
        expect_line(&r, "truncate OK");
        assert_eq!(read(&env.work.join("keep.txt")), "");
    } else {
        r.expect_code(125).expect_stderr_has("Linux 6.2");
        assert_eq!(read(&env.work.join("keep.txt")), "precious\n");
    }
}

#[test]
fn ordinary_programs_still_work_under_the_default_filter() {
    let env = TestEnv::new();
    // socketpair, pipes, multiprocessing (Pipe is a socketpair), name
    // lookup through /etc/hosts with nscd's Unix socket denied, syslog()
    // whose socket is denied. --net-block so that nothing leaves loopback.
    let code = r#"
import multiprocessing, syslog
attempt('socketpair', lambda: socket.socketpair())
attempt('pipe', lambda: os.pipe())
def mp():
    a, b = multiprocessing.Pipe()
    p = multiprocessing.Process(target=b.send, args=('from child',))
    p.start(); assert a.recv() == 'from child'; p.join()
attempt('multiprocessing', mp)
attempt('localhost', lambda: socket.getaddrinfo('localhost', 80))
syslog.syslog('nono test'); print('syslog OK')
"#;
    let r = sandboxed(&env, &["--net-block"], code);
    for step in [
        "socketpair",
        "pipe",
        "multiprocessing",
        "localhost",
        "syslog",
    ] {
        expect_line(&r, &format!("{step} OK"));
    }
    // User and group lookups try nscd's Unix socket first (denied), then
    // fall back to the files; make and bash need nothing more.
    std::fs::write(env.work.join("Makefile"), "all:\n\t@echo made\n").unwrap();
    let make = if std::path::Path::new("/usr/bin/make").exists() {
        "make && "
    } else {
        ""
    };
    // In the mount layer's user namespace (unprivileged callers) files of
    // unmapped owners such as root show as the overflow user, "nobody":
    // the name lookup works either way.
    let owner = if mount_layer_active() && !is_root() {
        "nobody"
    } else {
        "root"
    };
    env.sandboxed_sh(
        &["--net-block", "--allow", "."],
        &format!("{make}id -un && ls -ld / | grep -q {owner} && echo nss-ok"),
    )
    .expect_ok()
    .expect_stdout_has("nss-ok");
    if std::path::Path::new("/usr/bin/node").exists() {
        let js = "const cp = require('child_process'); \
                  process.stdout.write(cp.execSync('echo child-ok').toString()); \
                  const c = cp.spawn('/bin/cat', [], {stdio: ['pipe', 'pipe', 'inherit', 'ipc']}); \
                  c.stdout.on('data', d => console.log('piped ' + d)); c.stdin.end('data'); \
                  c.on('exit', () => console.log('node-done'));";
        env.nono(["run", "--net-block", "--", "/usr/bin/node", "-e", js])
            .expect_ok()
            .expect_stdout_has("child-ok")
            .expect_stdout_has("piped data")
            .expect_stdout_has("node-done");
    } else {
        skip("the node part: no /usr/bin/node");
    }
    let git = ["/usr/bin/git", "/usr/local/bin/git"]
        .into_iter()
        .find(|g| std::path::Path::new(g).exists());
    // Below ABI 3 --allow-delete (which git's index.lock rename needs) is
    // refused: see allow_delete_truncates_only_where_the_kernel_can_scope_it.
    match git {
        None => skip("the git part: git is not installed"),
        Some(_) if below_abi(3, "the git part (--allow-delete)") => {}
        Some(git) => {
            let script = format!(
                "{git} init -q repo && cd repo && echo a > a && {git} add a && \
                 {git} -c user.name=t -c user.email=t@t commit -qm one && {git} log --oneline | wc -l"
            );
            env.sandboxed_sh(&["--allow", ".", "--allow-delete", "."], &script)
                .expect_ok()
                .expect_stdout_has("1");
        }
    }
}

// Landlock does not mediate chmod or the mode of new files: seccomp
// refuses the setuid and setgid bits, so no program with privilege can be
// left behind for later. Other mode changes keep working.
#[test]
fn setuid_and_setgid_bits_cannot_be_set() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let f = env.work.join("tool");
    std::fs::write(&f, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let probe = "import os, sys\n\
                 try:\n    os.chmod('tool', 0o4755); print('SUID-SET')\n\
                 except PermissionError: print('SUID-DENIED')\n\
                 try:\n    os.chmod('tool', 0o2755); print('SGID-SET')\n\
                 except PermissionError: print('SGID-DENIED')\n\
                 try:\n    fd = os.open('new', os.O_CREAT | os.O_WRONLY, 0o4755); os.close(fd)\n\
                 except PermissionError: print('CREATE-DENIED')\n\
                 os.chmod('tool', 0o755); print('PLAIN-OK')\n";
    // Control: without nono the bit lands.
    let ctl = TestEnv::new();
    std::fs::write(ctl.work.join("tool"), "x").unwrap();
    let r = Run::from({
        let mut c = Command::new(PYTHON);
        c.args(["-c", probe]).current_dir(&ctl.work);
        c
    });
    r.expect_ok().expect_stdout_has("SUID-SET");
    let mode = std::fs::metadata(ctl.work.join("tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755, "control ends with the plain chmod");

    env.nono(["run", "--allow", ".", "--", PYTHON, "-c", probe])
        .expect_ok()
        .expect_stdout_has("SUID-DENIED")
        .expect_stdout_has("SGID-DENIED")
        .expect_stdout_has("CREATE-DENIED")
        .expect_stdout_has("PLAIN-OK");
    let mode = std::fs::metadata(&f).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o755, "only the plain mode change landed");
    assert!(!env.work.join("new").exists());
}
