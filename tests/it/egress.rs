//! Host-allowlist mode (`--allow-host`): the command reaches the listed
//! hosts through nono's proxy and nothing else by any socket. Every server
//! here runs in this test process on the host's loopback, outside the
//! sandbox; each denial has a control without nono and is checked by what
//! the server received. Names resolve through the test-only resolver
//! override (NONO_TEST_RESOLVE), never real DNS.

#![cfg(target_os = "linux")]

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const CURL: &str = "/usr/bin/curl";
const BASH: &str = "/usr/bin/bash";
const PY: &str = "/usr/bin/python3";

/// A loopback HTTP server that records every request head it receives and
/// answers `hello`.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn new() -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = Arc::clone(&seen);
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { continue };
                let seen = Arc::clone(&s2);
                std::thread::spawn(move || {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = Vec::new();
                    let mut b = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match c.read(&mut b) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&b[..n]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf).into_owned());
                    let _ = c.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                    );
                });
            }
        });
        Server { port, seen }
    }
    fn requests(&self) -> Vec<String> {
        // Give a request in flight time to be recorded.
        std::thread::sleep(Duration::from_millis(100));
        self.seen.lock().unwrap().clone()
    }
}

/// `nono run ARGS -- bash -c SCRIPT` with extra environment.
fn run_sh(env: &TestEnv, args: &[&str], vars: &[(&str, &str)], script: &str) -> Run {
    let mut a: Vec<&str> = vec!["run"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--", BASH, "-c", script]);
    let mut cmd = env.command(a);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Run::from(cmd)
}

/// Proxies of one run, found from outside: a live `nono-proxy` process
/// whose command line (nono's own) holds `marker`.
fn proxies(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let zombie = status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'));
        if comm.trim() == "nono-proxy"
            && !zombie
            && String::from_utf8_lossy(&cmdline).contains(marker)
        {
            out.push(pid);
        }
    }
    out
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

fn unique(tag: &str) -> String {
    format!(
        "{tag}-{}-{}.test",
        std::process::id(),
        Instant::now().elapsed().as_nanos() % 100000 + rand_ish()
    )
}

fn rand_ish() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_007
}

#[test]
fn an_unlisted_host_loopback_server_receives_nothing_by_any_socket() {
    if !need(&[CURL, BASH, PY]) {
        return;
    }
    let env = TestEnv::new();
    let srv = Server::new();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let uport = udp.local_addr().unwrap().port();
    let p = srv.port;
    let raw = format!(
        r#"{PY} -c 'import socket,struct
try:
    s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_UDP)
    s.sendto(struct.pack("!HHHH",40000,{uport},11,0)+b"raw",("127.0.0.1",0)); print("raw sent")
except OSError as e: print("raw", e)'"#
    );
    let script = format!(
        "curl -s -m 5 -o /dev/null -w 'proxy=%{{http_code}}\\n' -x \"$HTTP_PROXY\" --noproxy '' http://127.0.0.1:{p}/via-proxy
         curl -s -m 3 --noproxy '*' http://127.0.0.1:{p}/direct; echo direct=$?
         (echo GET /devtcp > /dev/tcp/127.0.0.1/{p}) 2>/dev/null; echo devtcp=$?
         echo udp > /dev/udp/127.0.0.1/{uport}; echo udp=$?
         {raw}"
    );
    // Control: the same probes without nono reach the server.
    let control = env.plain(&[
        BASH,
        "-c",
        &script.replace("-x \"$HTTP_PROXY\" --noproxy ''", ""),
    ]);
    control
        .expect_stdout_has("direct=0")
        .expect_stdout_has("devtcp=0");
    let got = srv.requests();
    assert!(got.iter().any(|r| r.starts_with("GET /direct")), "{got:?}");
    assert!(got.iter().any(|r| r.starts_with("GET /devtcp")), "{got:?}");
    let mut b = [0u8; 64];
    assert!(udp.recv(&mut b).is_ok(), "control UDP datagram arrived");
    if is_root() {
        assert!(
            udp.recv(&mut b).is_ok(),
            "control raw datagram arrived (root)"
        );
    }
    while udp.recv(&mut b).is_ok() {}
    let before = srv.requests().len();

    let run = run_sh(&env, &["--allow-host", "allowed.test"], &[], &script);
    run.expect_ok()
        .expect_stdout_has("proxy=403")
        .expect_stdout_lacks("direct=0")
        .expect_stdout_lacks("devtcp=0")
        .expect_stdout_lacks("raw sent");
    assert_eq!(srv.requests().len(), before, "the server received nothing");
    assert!(udp.recv(&mut b).is_err(), "no datagram arrived");
}

#[test]
fn an_allowed_host_works_over_plain_http_and_connect() {
    if !need(&[CURL, BASH]) {
        return;
    }
    let env = TestEnv::new();
    let srv = Server::new();
    let p = srv.port.to_string();
    let entry = format!("127.0.0.1:{p}");
    let script = format!(
        "curl -s -m 5 http://127.0.0.1:{p}/exposed; echo
         curl -s -m 5 -x \"$HTTP_PROXY\" --noproxy '' -H 'Proxy-Authorization: Basic eDp5' http://127.0.0.1:{p}/plain; echo
         curl -s -m 5 -p -x \"$HTTP_PROXY\" --noproxy '' http://127.0.0.1:{p}/tunnel; echo"
    );
    let run = run_sh(&env, &["--allow-host", &entry], &[], &script);
    run.expect_ok();
    assert_eq!(run.stdout(), "hello\nhello\nhello\n", "{run}");
    let got = srv.requests();
    let plain = got
        .iter()
        .find(|r| r.contains("/plain"))
        .expect("plain request");
    assert!(
        plain.starts_with("GET /plain HTTP/1.1\r\n"),
        "origin-form: {plain:?}"
    );
    assert!(
        !plain.to_ascii_lowercase().contains("proxy-"),
        "proxy headers stripped: {plain:?}"
    );
    assert!(got.iter().any(|r| r.starts_with("GET /tunnel ")), "{got:?}");
    assert!(
        got.iter().any(|r| r.starts_with("GET /exposed ")),
        "{got:?}"
    );

    // A name that resolves to loopback works only with the address named.
    let vars = [("NONO_TEST_RESOLVE", "app.test=127.0.0.1")];
    let named = format!("app.test:{p}");
    let script =
        format!("curl -s -m 5 -w ' %{{http_code}}' -x \"$HTTP_PROXY\" http://app.test:{p}/named");
    let run = run_sh(
        &env,
        &["--allow-host", &named, "--allow-host", &entry],
        &vars,
        &script,
    );
    run.expect_ok().expect_stdout_has("hello 200");
    let run = run_sh(
        &env,
        &["--allow-host", &named],
        &vars,
        &script.replace("/named", "/unnamed"),
    );
    run.expect_ok()
        .expect_stdout_has("it resolves to 127.0.0.1")
        .expect_stdout_has(&format!("--allow-host 127.0.0.1:{p}"))
        .expect_stdout_has(" 403");
    assert!(!srv.requests().iter().any(|r| r.contains("/unnamed")));
}

#[test]
fn names_resolving_to_metadata_or_private_addresses_are_refused() {
    if !need(&[CURL, BASH]) {
        return;
    }
    let env = TestEnv::new();
    let vars = [(
        "NONO_TEST_RESOLVE",
        "meta.test=169.254.169.254;lan.test=10.1.2.3;v6.test=fe80::1",
    )];
    let script = "for h in meta.test lan.test v6.test; do curl -s -m 5 -w ' %{http_code}\\n' -x \"$HTTP_PROXY\" http://$h/; done";
    let run = run_sh(
        &env,
        &[
            "--allow-host",
            "meta.test",
            "--allow-host",
            "lan.test",
            "--allow-host",
            "v6.test",
        ],
        &vars,
        script,
    );
    run.expect_ok()
        .expect_stdout_has("169.254.169.254, in 169.254.0.0/16 (link-local, cloud metadata)")
        .expect_stdout_has("--allow-host 169.254.169.254:80")
        .expect_stdout_has("10.1.2.3, in 10.0.0.0/8")
        .expect_stdout_has("[fe80::1], in fe80::/10");
    assert_eq!(run.stdout().matches(" 403").count(), 3, "{run}");
}

#[test]
fn localhost_port_entries_expose_that_port_and_no_other() {
    if !need(&[CURL, BASH]) {
        return;
    }
    let env = TestEnv::new();
    let open = Server::new();
    let closed = Server::new();
    let script = format!(
        "curl -s -m 5 http://127.0.0.1:{}/a; echo \" rc=$?\"; curl -s -m 3 http://127.0.0.1:{}/b; echo \" rc=$?\"",
        open.port, closed.port
    );
    // Control: both are reachable without nono.
    env.plain_sh(&script)
        .expect_stdout_has("hello rc=0\nhello rc=0");
    let before = closed.requests().len();
    let entry = format!("localhost:{}", open.port);
    let run = run_sh(&env, &["--allow-host", &entry], &[], &script);
    run.expect_ok()
        .expect_stdout_has("hello rc=0\n")
        .expect_stdout_lacks("hello rc=0\nhello");
    assert_eq!(
        closed.requests().len(),
        before,
        "the other port received nothing"
    );
    assert_eq!(
        open.requests().iter().filter(|r| r.contains("/a ")).count(),
        2
    );
}

#[test]
fn wildcards_match_subdomains_only() {
    if !need(&[CURL, BASH]) {
        return;
    }
    let env = TestEnv::new();
    let srv = Server::new();
    let p = srv.port;
    let vars = [(
        "NONO_TEST_RESOLVE",
        "a.wild.test=127.0.0.1;wild.test=127.0.0.1",
    )];
    let script = format!(
        "for h in a.wild.test wild.test; do curl -s -m 5 -o /dev/null -w \"$h %{{http_code}}\\n\" -x \"$HTTP_PROXY\" http://$h:{p}/$h; done"
    );
    let w = format!("*.wild.test:{p}");
    let lit = format!("127.0.0.1:{p}");
    let run = run_sh(
        &env,
        &["--allow-host", &w, "--allow-host", &lit],
        &vars,
        &script,
    );
    run.expect_ok()
        .expect_stdout_has("a.wild.test 200")
        .expect_stdout_has("wild.test 403");
    let body = run_sh(
        &env,
        &["--allow-host", &w, "--allow-host", &lit],
        &vars,
        &format!("curl -s -m 5 -x \"$HTTP_PROXY\" http://wild.test:{p}/"),
    );
    body.expect_stdout_has(&format!(
        "nono: refused wild.test:{p}: not on this sandbox's host allowlist\nhint: to allow it: --allow-host wild.test:{p}"
    ));
    let got = srv.requests();
    assert!(got.iter().any(|r| r.starts_with("GET /a.wild.test ")));
    assert!(!got.iter().any(|r| r.starts_with("GET /wild.test ")));
}

#[test]
fn refusals_are_summarised_and_logged_without_payload() {
    if !need(&[CURL, BASH]) {
        return;
    }
    let env = TestEnv::new();
    let srv = Server::new();
    let p = srv.port;
    let log = env.root.join("net.log");
    let script = format!(
        "curl -s -m 5 -o /dev/null -x \"$HTTP_PROXY\" --noproxy '' -d '{SECRET}' http://127.0.0.1:{p}/post
         curl -s -m 5 -o /dev/null https://evil.test/; echo https=$?"
    );
    let entry = format!("127.0.0.1:{p}");
    let logs = log.to_string_lossy().into_owned();
    let run = run_sh(
        &env,
        &["--allow-host", &entry, "--net-log", &logs],
        &[],
        &script,
    );
    run.expect_ok()
        .expect_stdout_lacks("https=0")
        .expect_stderr_has("nono: refused 1 connection: evil.test:443\nhint: to allow them: --allow-host evil.test:443\n");
    let text = read(&log);
    assert!(!text.contains(SECRET), "no payload in the log: {text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let allowed = lines
        .iter()
        .find(|l| l["verdict"] == "allowed")
        .expect(&text);
    assert_eq!(allowed["kind"], "http");
    assert_eq!(allowed["port"], p);
    assert!(allowed["bytes_up"].as_u64().unwrap() > SECRET.len() as u64);
    assert!(allowed["bytes_down"].as_u64().unwrap() > 5);
    let denied = lines
        .iter()
        .find(|l| l["verdict"] == "denied")
        .expect(&text);
    assert_eq!(
        (denied["host"].as_str(), denied["port"].as_u64()),
        (Some("evil.test"), Some(443))
    );
    assert!(denied["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn a_net_log_that_cannot_be_written_is_reported() {
    if !need(&[CURL, BASH]) {
        return;
    }
    let env = TestEnv::new();
    let srv = Server::new();
    let p = srv.port;
    let entry = format!("127.0.0.1:{p}");
    let script = format!("curl -s -m 5 -o /dev/null -x \"$HTTP_PROXY\" http://127.0.0.1:{p}/full");
    // Control: a writable log gets the record and nothing is reported.
    let ok = env.root.join("ok.log");
    let oks = ok.to_string_lossy().into_owned();
    run_sh(
        &env,
        &["--allow-host", &entry, "--net-log", &oks],
        &[],
        &script,
    )
    .expect_ok()
    .expect_stderr_lacks("could not be written");
    assert_eq!(read(&ok).lines().count(), 1);
    // /dev/full refuses every write: the lost record is said, not hidden.
    run_sh(
        &env,
        &["--allow-host", &entry, "--net-log", "/dev/full"],
        &[],
        &script,
    )
    .expect_ok()
    .expect_stderr_has("nono: warning: --net-log: 1 connection record(s) could not be written");
}

#[test]
fn no_proxy_is_left_after_a_normal_exit() {
    let env = TestEnv::new();
    let marker = unique("normal");
    env.sandboxed(&["--allow-host", &marker], &["/bin/true"])
        .expect_ok();
    wait_until("the proxy to end", 5, || proxies(&marker).is_empty());
}

#[test]
fn no_proxy_is_left_after_kill_9_of_the_command() {
    let env = TestEnv::new();
    let marker = unique("kill");
    let mut child = env
        .command(["run", "--allow-host", &marker, "--", "/bin/sleep", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the proxy to start", 5, || !proxies(&marker).is_empty());
    // The command has nono's PID.
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("the proxy to end", 5, || proxies(&marker).is_empty());
}

#[test]
fn the_proxy_outlives_nono_exactly_as_long_as_a_daemonised_child() {
    if !need(&[BASH]) {
        return;
    }
    let env = TestEnv::new();
    let marker = unique("daemon");
    let flag = env.work.join("daemon-done");
    // The daemon leaves the session and closes every inherited descriptor
    // (the lifetime pipe included), then lives on for a while.
    let daemon = env.script(
        "daemon.sh",
        &format!(
            "#!{BASH}\nfor f in /proc/$$/fd/*; do n=${{f##*/}}; [ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done\nexec </dev/null >/dev/null 2>&1\nsleep 2\necho > {}\n",
            sh_path(&flag)
        ),
    );
    let script = format!("setsid {} & exit 0", sh_path(&daemon));
    let work = env.work.to_string_lossy().into_owned();
    let root = env.root.to_string_lossy().into_owned();
    let status = env
        .command([
            "run",
            "--allow",
            &work,
            "--read",
            &root,
            "--allow-host",
            &marker,
            "--",
            BASH,
            "-c",
            &script,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !proxies(&marker).is_empty(),
        "the proxy serves the daemon still running"
    );
    wait_until("the daemon to finish", 10, || flag.exists());
    wait_until("the proxy to end after the daemon", 5, || {
        proxies(&marker).is_empty()
    });
}

#[test]
fn the_sandbox_cannot_signal_or_inspect_the_proxy() {
    if !need(&[BASH]) {
        return;
    }
    let env = TestEnv::new();
    let marker = unique("signal");
    let pidfile = env.work.join("proxy.pid");
    let script = format!(
        "while [ ! -s {f} ]; do sleep 0.05; done; p=$(cat {f})
         kill -9 $p 2>/dev/null; echo kill=$?
         cat /proc/$p/environ >/dev/null 2>&1; echo environ=$?
         touch {a}; sleep 1",
        f = sh_path(&pidfile),
        a = sh_path(&env.work.join("attempted"))
    );
    let work = env.work.to_string_lossy().into_owned();
    let child = env
        .command([
            "run",
            "--allow",
            &work,
            "--allow-host",
            &marker,
            "--",
            BASH,
            "-c",
            &script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the proxy to start", 5, || !proxies(&marker).is_empty());
    let pid = proxies(&marker)[0];
    // Control: a process of the same user outside any sandbox is
    // signalled by a plain shell.
    let mut victim = Command::new("/bin/sleep").arg("30").spawn().unwrap();
    env.plain_sh(&format!("kill -9 {}; echo kill=$?", victim.id()))
        .expect_stdout_has("kill=0");
    victim.wait().unwrap();
    std::fs::write(&pidfile, pid.to_string()).unwrap();
    wait_until("the kill attempt", 10, || {
        env.work.join("attempted").exists()
    });
    let survived = proxies(&marker).contains(&pid);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("environ=1"), "{stdout}");
    if !below_abi(6, "signal scoping") {
        assert!(stdout.contains("kill=1"), "{stdout}");
        assert!(survived, "the proxy survived the kill attempt");
    }
}

#[test]
fn without_namespaces_host_mode_refuses_to_run() {
    let env = TestEnv::new();
    let ran = env.work.join("ran");
    let work = env.work.to_string_lossy().into_owned();
    let mut cmd = env.command([
        "run",
        "--allow",
        &work,
        "--allow-host",
        "api.example.com",
        "--",
        "/usr/bin/touch",
    ]);
    cmd.arg(&ran).env("NONO_TEST_NO_USERNS", "1");
    let run = Run::from(cmd);
    run.expect_code(125)
        .expect_stderr_has("nono: host-allowlist mode needs a network namespace")
        .expect_stderr_has("hint: ");
    assert!(!ran.exists(), "the command did not run");
    // Control: with namespaces the same command runs.
    env.sandboxed(
        &["--allow", &work, "--allow-host", "api.example.com"],
        &["/usr/bin/touch", &ran.to_string_lossy()],
    )
    .expect_ok();
    assert!(ran.exists());
}

#[test]
fn node_reaches_an_allowed_loopback_mock_and_nothing_else() {
    let Some(node) = system_program("node") else {
        return skip("node is not installed");
    };
    let env = TestEnv::new();
    let mock = Server::new();
    let other = Server::new();
    let js = format!(
        "const go=u=>fetch(u).then(r=>r.text()).then(t=>console.log(u,t),e=>console.log(u,'failed'));\
         go('http://127.0.0.1:{}/v1/messages').then(()=>go('http://127.0.0.1:{}/other'))",
        mock.port, other.port
    );
    let entry = format!("127.0.0.1:{}", mock.port);
    let run = env.sandboxed(&["--allow-host", &entry], &[&node, "-e", &js]);
    run.expect_ok()
        .expect_stdout_has("/v1/messages hello")
        .expect_stdout_has("/other failed");
    assert!(mock
        .requests()
        .iter()
        .any(|r| r.starts_with("POST") || r.starts_with("GET /v1/messages")));
    assert!(other.requests().is_empty());
}

#[test]
fn contradictory_network_options_are_refused() {
    let env = TestEnv::new();
    for args in [
        vec!["--allow-host", "a.test", "--net-block"],
        vec!["--allow-host", "a.test", "--net-allow"],
        vec!["--allow-host", "a.test", "--allow-connect", "443"],
        vec!["--allow-host", "a.test", "--keep-caps"],
        vec!["--allow-host", "*"],
        vec!["--net-log", "/dev/null"],
    ] {
        env.sandboxed(&args, &["/bin/true"])
            .expect_code(125)
            .expect_stderr_has("nono: ");
    }
}

#[test]
fn profiles_put_the_run_in_host_mode_and_net_allow_lifts_it() {
    if !need(&[CURL, BASH]) {
        return;
    }
    let env = TestEnv::new();
    let srv = Server::new();
    let prof = env.root.join("p.toml");
    std::fs::write(
        &prof,
        format!(
            "[network]\nallow_hosts = [\"@github\", \"127.0.0.1:{}\"]\n",
            srv.port
        ),
    )
    .unwrap();
    let prof = prof.to_string_lossy().into_owned();
    let script = format!(
        "curl -s -m 5 http://127.0.0.1:{}/ok; echo; curl -s -m 5 -o /dev/null -w '%{{http_code}}\\n' http://evil.test/",
        srv.port
    );
    let run = run_sh(&env, &["-p", &prof], &[], &script);
    run.expect_ok().expect_stdout_has("hello\n403\n");
    let dry = env.nono(["run", "-p", &prof, "--dry-run", "--json", "--", "true"]);
    let doc: serde_json::Value = dry.json();
    let entries = doc["host_allowlist"]["entries"].as_array().unwrap();
    assert!(entries
        .iter()
        .any(|e| e["entry"] == "github.com" && e["group"] == "github"));
    let lifted = env.nono([
        "run",
        "-p",
        &prof,
        "--net-allow",
        "--dry-run",
        "--json",
        "--",
        "true",
    ]);
    let doc: serde_json::Value = lifted.json();
    assert!(doc["host_allowlist"].is_null(), "{lifted}");
    // why answers from the same list.
    env.nono(["why", "-p", &prof, "--host", "api.github.com"])
        .expect_code(0);
    env.nono(["why", "-p", &prof, "--host", "evil.test"])
        .expect_code(1)
        .expect_stdout_has("--allow-host evil.test:443");
    // A bad entry names the file and line.
    std::fs::write(
        env.root.join("bad.toml"),
        "[network]\nallow_hosts = [\"*\"]\n",
    )
    .unwrap();
    let bad = env.root.join("bad.toml").to_string_lossy().into_owned();
    env.nono(["run", "-p", &bad, "--", "true"])
        .expect_code(125)
        .expect_stderr_has("bad.toml:2");
}

#[test]
fn net_block_also_gets_an_empty_network_namespace_as_root() {
    let env = TestEnv::new();
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    let run = env.sandboxed(
        &["--net-block"],
        &["/usr/bin/readlink", "/proc/self/ns/net"],
    );
    run.expect_ok();
    if is_root() {
        assert_ne!(run.stdout().trim(), host.to_string_lossy(), "{run}");
    } else {
        // Not as a normal user: it would need a user namespace, which
        // changes how file owners look; seccomp and Landlock block anyway.
        eprintln!("not root: --net-block keeps the host's network namespace (by design)");
        assert_eq!(run.stdout().trim(), host.to_string_lossy(), "{run}");
    }
    // Control: without a network option the command shares the host's.
    let open = env.sandboxed(&[], &["/usr/bin/readlink", "/proc/self/ns/net"]);
    assert_eq!(open.stdout().trim(), host.to_string_lossy(), "{open}");
}

#[test]
fn setup_and_dry_run_report_host_mode() {
    let env = TestEnv::new();
    let doc: serde_json::Value = env.nono(["setup", "--json"]).json();
    assert_eq!(doc["host_allowlist"]["available"], true, "{doc:#}");
    let mut cmd = env.command(["setup", "--json"]);
    cmd.env("NONO_TEST_NO_USERNS", "1");
    let off: serde_json::Value = Run::from(cmd).json();
    assert_eq!(off["host_allowlist"]["available"], false);
    assert!(off["host_allowlist"]["unavailable_reason"]
        .as_str()
        .unwrap()
        .contains("user namespaces unavailable"));
    let mut cmd = env.command(["setup"]);
    cmd.env("NONO_TEST_NO_USERNS", "1");
    Run::from(cmd).expect_stdout_has("host-allowlist mode (--allow-host): NOT available");
    env.nono([
        "run",
        "--dry-run",
        "--allow-host",
        "*.example.com",
        "--allow-host",
        "localhost:5432",
        "--",
        "true",
    ])
    .expect_ok()
    .expect_stdout_has("host allowlist (2 entries)")
    .expect_stdout_has("*.example.com  ports 443,80")
    .expect_stdout_has("localhost  ports 5432, exposes")
    .expect_stdout_has("http://127.0.0.1:41080");
}

#[test]
fn an_ipv6_loopback_entry_exposes_that_port_on_v6() {
    if !need(&[CURL]) {
        return;
    }
    let Ok(l) = TcpListener::bind("[::1]:0") else {
        return skip("no IPv6 loopback here");
    };
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut b = [0u8; 1024];
            let _ = c.read(&mut b);
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nv6");
        }
    });
    let env = TestEnv::new();
    let entry = format!("[::1]:{port}");
    let url = format!("http://[::1]:{port}/");
    env.sandboxed(&["--allow-host", &entry], &[CURL, "-s", "-m", "5", &url])
        .expect_ok()
        .expect_stdout_has("v6");
    // Control for the denial: another entry leaves the port unreachable.
    env.sandboxed(
        &["--allow-host", "other.test"],
        &[CURL, "-s", "-m", "3", "--noproxy", "*", &url],
    )
    .expect_fail();
}

#[test]
fn a_run_refused_after_the_proxy_started_leaves_nothing_behind() {
    // The proxy and the namespace helper start while the policy is built,
    // before nono knows the command is blocked or missing.
    let env = TestEnv::new();
    let marker = unique("refused");
    env.sandboxed(&["--allow-host", &marker], &["rm", "-rf", "/nonexistent"])
        .expect_code(126);
    let missing = unique("missing");
    env.sandboxed(&["--allow-host", &missing], &["/nonexistent/program"])
        .expect_code(127);
    wait_until("the proxies of refused runs to end", 5, || {
        proxies(&marker).is_empty() && proxies(&missing).is_empty()
    });
    // Control: the same check finds a proxy while a run is alive.
    let live = unique("live");
    let mut child = env
        .command(["run", "--allow-host", &live, "--", "/bin/sleep", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the live run's proxy", 5, || !proxies(&live).is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("the live run's proxy to end", 5, || {
        proxies(&live).is_empty()
    });
}

#[test]
fn the_command_inherits_no_child_from_the_set_up() {
    if !need(&[BASH]) {
        return;
    }
    // The helper that made the network namespace is reaped before the
    // command starts: a shell that waits for every child must not see it.
    let env = TestEnv::new();
    let script = "read -r c < /proc/$$/task/$$/children; echo \"children=[$c]\"";
    run_sh(&env, &["--allow-host", "a.test"], &[], script)
        .expect_ok()
        .expect_stdout_has("children=[]");
    // Control: the same check sees a child the command started.
    let with_child = format!("sleep 1 & {script}");
    let run = run_sh(&env, &["--allow-host", "a.test"], &[], &with_child);
    run.expect_ok();
    assert!(!run.stdout().contains("children=[]"), "{run}");
}
