//! Network isolation: `--net-block` is an air gap, port grants open exactly
//! their port, host Unix sockets are unreachable by default. Every listener
//! is run by this test process, outside the sandbox, on loopback only; each
//! denial is checked against a control run without nono and by what the
//! listener received.

#![cfg(target_os = "linux")]

use crate::common;
use crate::probe;

use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;
use std::time::Duration;

use common::*;
use probe::{expect_line, has, plain, sandboxed};

/// A loopback TCP listener that counts the connections that reached it.
struct TcpSink {
    l: TcpListener,
    port: u16,
}

impl TcpSink {
    fn new() -> TcpSink {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        TcpSink { l, port }
    }
    /// Connections completed since the last call (the kernel finishes the
    /// handshake without accept(), so a probe that exited still counts).
    fn accepted(&self) -> usize {
        let mut n = 0;
        loop {
            match self.l.accept() {
                Ok(_) => n += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return n,
                Err(e) => panic!("accept: {e}"),
            }
        }
    }
}

/// A loopback UDP socket that counts datagrams.
struct UdpSink {
    s: UdpSocket,
    port: u16,
}

impl UdpSink {
    fn new() -> UdpSink {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let port = s.local_addr().unwrap().port();
        UdpSink { s, port }
    }
    fn received(&self) -> usize {
        let mut buf = [0u8; 64];
        let mut n = 0;
        while self.s.recv(&mut buf).is_ok() {
            n += 1;
        }
        n
    }
}

fn connect_probe(port: u16) -> String {
    format!(
        "def c():\n    s = socket.socket(); s.settimeout(3); s.connect(('127.0.0.1', {port})); s.close()\nattempt('connect', c)"
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn net_block_denies_tcp_connect_to_loopback() {
    let env = TestEnv::new();
    let sink = TcpSink::new();
    expect_line(&plain(&env, &connect_probe(sink.port)), "connect OK");
    assert_eq!(sink.accepted(), 1, "control must reach the listener");
    let r = sandboxed(&env, &["--net-block"], &connect_probe(sink.port));
    expect_line(&r, "connect ERR EPERM");
    assert_eq!(sink.accepted(), 0, "the listener must receive nothing");
}

#[test]
fn net_block_denies_tcp_bind() {
    let env = TestEnv::new();
    let port = free_port();
    let code = format!(
        "def b():\n    s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\nattempt('bind', b)"
    );
    expect_line(&plain(&env, &code), "bind OK");
    let r = sandboxed(&env, &["--net-block"], &code);
    expect_line(&r, "bind ERR EPERM");
    // The effect: nothing listened there while the probe ran (it printed
    // no OK), and the port is still free afterwards.
    TcpListener::bind(("127.0.0.1", port)).unwrap();
}

#[test]
fn net_block_sends_no_udp() {
    let env = TestEnv::new();
    let sink = UdpSink::new();
    let code = format!(
        "def u():\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'leak', ('127.0.0.1', {}))\nattempt('udp', u)",
        sink.port
    );
    expect_line(&plain(&env, &code), "udp OK");
    assert_eq!(sink.received(), 1, "control datagram must arrive");
    let r = sandboxed(&env, &["--net-block"], &code);
    expect_line(&r, "udp ERR EPERM");
    assert_eq!(sink.received(), 0, "no datagram may leave the sandbox");
    // Inherited by every descendant: a forked grandchild of the command.
    let script = "/bin/sh -c '/usr/bin/python3 -c \"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\" && echo created; true'";
    env.plain_sh(script)
        .expect_ok()
        .expect_stdout_has("created");
    env.sandboxed_sh(&["--net-block"], script)
        .expect_stdout_lacks("created")
        .expect_stderr_has("Operation not permitted");
}

#[test]
fn net_block_denies_dns_at_the_socket() {
    let env = TestEnv::new();
    // There is no DNS server here, so a failed lookup alone proves
    // nothing: check that the resolver's UDP socket cannot even be created,
    // for IPv4 and IPv6, and that the lookup fails.
    let sockets = r#"
attempt('udp4', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC))
attempt('udp6', lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
"#;
    // The control only creates the sockets: a real lookup would send a
    // query to this machine's resolver, off loopback.
    let c = plain(&env, sockets);
    expect_line(&c, "udp4 OK");
    expect_line(&c, "udp6 OK");
    let lookup = r#"
try:
    socket.getaddrinfo('nono-test-unresolvable.invalid', 80)
    print('lookup OK')
except socket.gaierror as e:
    print('lookup FAILED')
"#;
    let r = sandboxed(&env, &["--net-block"], &format!("{sockets}{lookup}"));
    expect_line(&r, "udp4 ERR EPERM");
    expect_line(&r, "udp6 ERR EPERM");
    expect_line(&r, "lookup FAILED");

    // What the resolver itself does, seen by strace inside the sandbox
    // (ptrace within the sandbox is allowed): every IP socket() is EPERM.
    if std::path::Path::new("/usr/bin/strace").exists() {
        let r = env.nono([
            "run",
            "--net-block",
            "--",
            "/usr/bin/strace",
            "-f",
            "-e",
            "trace=socket,connect,sendto,sendmmsg",
            "/usr/bin/getent",
            "ahosts",
            "nono-test-unresolvable.invalid",
        ]);
        let err = r.stderr();
        let inet: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("socket(AF_INET"))
            .collect();
        assert!(!inet.is_empty(), "the resolver tried no IP socket?\n{r}");
        assert!(
            inet.iter().all(|l| l.contains("EPERM")),
            "an IP socket was created\n{r}"
        );
        assert!(!err.contains("sendto("), "something was sent\n{r}");
    } else {
        skip("the strace part: no /usr/bin/strace");
    }
}

#[test]
fn mptcp_and_sctp_are_denied_even_with_a_tcp_port_grant() {
    // Port grants are refused below ABI 4 (tested below).
    if below_abi(4, "a TCP port grant") {
        return;
    }
    let env = TestEnv::new();
    let sink = TcpSink::new();
    let code = format!(
        "def m():\n    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262); s.settimeout(3); s.connect(('127.0.0.1', {port}))\nattempt('mptcp', m)\nattempt('sctp', lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132))\n{tcp}",
        port = sink.port,
        tcp = connect_probe(sink.port)
    );
    let c = plain(&env, &code);
    expect_line(&c, "mptcp OK");
    expect_line(&c, "connect OK");
    assert_eq!(sink.accepted(), 2);
    let port = sink.port.to_string();
    let r = sandboxed(&env, &["--allow-connect", &port], &code);
    expect_line(&r, "mptcp ERR EPERM");
    expect_line(&r, "sctp ERR EPERM");
    expect_line(&r, "connect OK");
    assert_eq!(sink.accepted(), 1, "only the plain TCP connection");
    let r = sandboxed(&env, &["--net-block"], &code);
    expect_line(&r, "mptcp ERR EPERM");
    assert_eq!(sink.accepted(), 0);
}

#[test]
fn raw_icmp_packet_and_netlink_sockets_are_denied() {
    let env = TestEnv::new();
    let code = r#"
attempt('raw', lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
attempt('packet', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
attempt('netlink', lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
attempt('vsock', lambda: socket.socket(40, socket.SOCK_STREAM, 0))
"#;
    let c = plain(&env, code);
    // Raw and packet sockets need CAP_NET_RAW: only a root run proves the
    // filter denies them (as uid 65534 the kernel already does).
    if is_root() {
        expect_line(&c, "raw OK");
        expect_line(&c, "packet OK");
    }
    expect_line(&c, "netlink OK");
    let r = sandboxed(&env, &["--net-block"], code);
    for step in ["raw", "packet", "netlink", "vsock"] {
        expect_line(&r, &format!("{step} ERR EPERM"));
    }
    if is_root() {
        // Without --net-block raw sockets still fail: root's CAP_NET_RAW
        // was dropped.
        let r = sandboxed(&env, &[], code);
        expect_line(&r, "raw ERR EPERM");
        expect_line(&r, "netlink OK");
    }
}

#[test]
fn without_net_block_loopback_client_and_server_work() {
    let env = TestEnv::new();
    let code = r#"
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
def c():
    s = socket.create_connection(srv.getsockname(), timeout=3); s.sendall(b'hi')
    a, _ = srv.accept(); assert a.recv(2) == b'hi'
attempt('loopback', c)
attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
"#;
    let r = sandboxed(&env, &[], code);
    expect_line(&r, "loopback OK");
    expect_line(&r, "udp OK");
}

#[test]
fn allow_connect_opens_that_port_only() {
    let env = TestEnv::new();
    let allowed = TcpSink::new();
    let other = TcpSink::new();
    let port = allowed.port.to_string();
    if abi() < 4 {
        sandboxed(&env, &["--allow-connect", &port], "print('ran')")
            .expect_code(125)
            .expect_stderr_has("Linux 6.7")
            .expect_stdout_lacks("ran");
        return;
    }
    let r = sandboxed(
        &env,
        &["--allow-connect", &port],
        &connect_probe(allowed.port),
    );
    expect_line(&r, "connect OK");
    assert_eq!(allowed.accepted(), 1);

    expect_line(&plain(&env, &connect_probe(other.port)), "connect OK");
    assert_eq!(other.accepted(), 1);
    let r = sandboxed(
        &env,
        &["--allow-connect", &port],
        &connect_probe(other.port),
    );
    expect_line(&r, "connect ERR EACCES"); // Landlock's answer
    assert_eq!(other.accepted(), 0, "the other port must receive nothing");
}

#[test]
fn tcp_fast_open_cannot_connect_around_a_port_grant() {
    if below_abi(4, "a TCP port grant") {
        return;
    }
    let env = TestEnv::new();
    let allowed = TcpSink::new();
    let other = TcpSink::new();
    // sendto(MSG_FASTOPEN) connects without connect(); Landlock's port
    // check sits on connect() only. Without the seccomp rule this reached
    // `other` (measured on Linux 6.18).
    let code = format!(
        "def f():\n    s = socket.socket(); s.sendto(b'leak', socket.MSG_FASTOPEN, ('127.0.0.1', {}))\nattempt('fastopen', f)",
        other.port
    );
    expect_line(&plain(&env, &code), "fastopen OK");
    assert_eq!(other.accepted(), 1, "control must connect");
    let port = allowed.port.to_string();
    let r = sandboxed(&env, &["--allow-connect", &port], &code);
    expect_line(&r, "fastopen ERR EPERM");
    assert_eq!(other.accepted(), 0, "the other port must receive nothing");
}

#[test]
fn listen_without_bind_cannot_open_an_ephemeral_port() {
    if below_abi(4, "Landlock's TCP bind rule") {
        return;
    }
    let env = TestEnv::new();
    let allowed = TcpSink::new();
    // listen() on an unbound socket binds a random port without bind().
    let code = "s = socket.socket()\nattempt('listen', lambda: s.listen())\nprint('port', s.getsockname()[1])";
    expect_line(&plain(&env, code), "listen OK");
    let port = allowed.port.to_string();
    let r = sandboxed(&env, &["--allow-connect", &port], code);
    expect_line(&r, "listen ERR EPERM");
    expect_line(&r, "port 0"); // never bound
}

#[test]
fn allow_bind_opens_that_port_only() {
    // Refused below ABI 4, see allow_connect_opens_that_port_only.
    if below_abi(4, "a TCP port grant") {
        return;
    }
    let env = TestEnv::new();
    let (p1, p2) = (free_port(), free_port());
    let code = format!(
        "def b(p):\n    s = socket.socket(); s.bind(('127.0.0.1', p)); s.listen()\nattempt('bind1', lambda: b({p1}))\nattempt('bind2', lambda: b({p2}))"
    );
    let c = plain(&env, &code);
    expect_line(&c, "bind1 OK");
    expect_line(&c, "bind2 OK");
    let r = sandboxed(&env, &["--allow-bind", &p1.to_string()], &code);
    expect_line(&r, "bind1 OK");
    expect_line(&r, "bind2 ERR EACCES");
}

#[test]
fn host_unix_socket_is_unreachable_unless_granted() {
    let env = TestEnv::new();
    // A stand-in for /var/run/docker.sock, outside every grant.
    let path = env.outside.join("docker.sock");
    let l = UnixListener::bind(&path).unwrap();
    l.set_nonblocking(true).unwrap();
    let pending = || {
        let mut n = 0;
        while l.accept().is_ok() {
            n += 1;
        }
        n
    };
    let code = format!(
        "def c():\n    s = socket.socket(socket.AF_UNIX); s.connect({:?}); s.sendall(b'GET /containers')\nattempt('connect', c)",
        path.to_str().unwrap()
    );
    expect_line(&plain(&env, &code), "connect OK");
    assert_eq!(pending(), 1);
    for flags in [&["--allow", "."][..], &["--net-block"], &["--allow", ".."]] {
        let r = sandboxed(&env, flags, &code);
        expect_line(&r, "connect ERR EPERM");
        assert_eq!(pending(), 0, "the socket server must receive nothing");
    }
    // A stream socketpair is the Unix socket that stays allowed: it cannot
    // be re-connected elsewhere, even after its peer is gone.
    let pair = format!(
        "def c():\n    a, b = socket.socketpair(); b.close(); a.connect({:?})\nattempt('pair', c)",
        path.to_str().unwrap()
    );
    // With the mount layer the ungranted directory is not even there (the
    // private /tmp): the lookup fails first.
    let refused = if mount_layer_active() {
        "pair ERR ENOENT"
    } else {
        "pair ERR EISCONN"
    };
    expect_line(&sandboxed(&env, &[], &pair), refused);
    assert_eq!(pending(), 0);
    let p = path.to_str().unwrap();
    let r = sandboxed(&env, &["--allow-unix-socket", p], &code);
    expect_line(&r, "connect OK");
    assert_eq!(pending(), 1);
}

#[test]
fn abstract_unix_socket_outside_is_unreachable() {
    use std::os::linux::net::SocketAddrExt;
    let env = TestEnv::new();
    let name = format!("nono-test-{}-{}", std::process::id(), free_port());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    l.set_nonblocking(true).unwrap();
    let pending = || {
        let mut n = 0;
        while l.accept().is_ok() {
            n += 1;
        }
        n
    };
    let code = format!(
        "def c():\n    s = socket.socket(socket.AF_UNIX); s.connect('\\0{name}')\nattempt('connect', c)"
    );
    expect_line(&plain(&env, &code), "connect OK");
    assert_eq!(pending(), 1);
    // Default: no Unix socket at all.
    expect_line(&sandboxed(&env, &[], &code), "connect ERR EPERM");
    assert_eq!(pending(), 0);
    // With some Unix socket granted, the Landlock scope (ABI 6) still keeps
    // abstract sockets created outside unreachable.
    let granted = env.outside.join("granted.sock");
    let _g = UnixListener::bind(&granted).unwrap();
    let r = sandboxed(
        &env,
        &["--allow-unix-socket", granted.to_str().unwrap()],
        &code,
    );
    if abi() >= 6 {
        expect_line(&r, "connect ERR EPERM");
        assert_eq!(pending(), 0);
    } else {
        // Documented gap: below ABI 6 a Unix socket grant opens abstract
        // sockets too.
        expect_line(&r, "connect OK");
        assert_eq!(pending(), 1);
    }
}

#[test]
fn dry_run_says_which_layer_enforces_the_network() {
    let env = TestEnv::new();
    let r = env.nono(["run", "--dry-run", "--net-block", "--", "/bin/true"]);
    r.expect_ok()
        .expect_stdout_has("network")
        .expect_stdout_has("seccomp refuses every IP socket");
    if abi() >= 4 {
        r.expect_stdout_has("Landlock also denies every TCP bind and connect");
    } else {
        r.expect_stdout_has("seccomp alone");
    }
    let sock = env.outside.join("s.sock");
    let _l = UnixListener::bind(&sock).unwrap();
    env.nono([
        "run",
        "--dry-run",
        "--allow-unix-socket",
        sock.to_str().unwrap(),
        "--",
        "/bin/true",
    ])
    .expect_ok()
    .expect_stdout_has("ALL Unix sockets allowed");
}

#[test]
fn a_datagram_socket_pair_cannot_reach_a_host_datagram_socket() {
    use std::os::unix::net::UnixDatagram;
    let env = TestEnv::new();
    // A stand-in for /dev/log or the journal socket, outside every grant.
    let path = env.outside.join("log.sock");
    let host = UnixDatagram::bind(&path).unwrap();
    host.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let received = || {
        let mut buf = [0u8; 64];
        let mut n = 0;
        while host.recv(&mut buf).is_ok() {
            n += 1;
        }
        n
    };
    // socketpair() of datagram sockets, then sendto() another address:
    // no socket() call, so the family rule alone would not see it.
    let code = format!(
        "def d(t):\n    a, b = socket.socketpair(socket.AF_UNIX, t); a.sendto(b'x', {:?})\nattempt('dgram', lambda: d(socket.SOCK_DGRAM))\nattempt('raw', lambda: d(socket.SOCK_RAW))\nattempt('stream', lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM))",
        path.to_str().unwrap()
    );
    let c = plain(&env, &code);
    expect_line(&c, "dgram OK");
    expect_line(&c, "raw OK");
    assert_eq!(received(), 2, "control datagrams must arrive");
    for flags in [&[][..], &["--net-block"]] {
        let r = sandboxed(&env, flags, &code);
        expect_line(&r, "dgram ERR EPERM");
        expect_line(&r, "raw ERR EPERM");
        expect_line(&r, "stream OK");
        assert_eq!(received(), 0, "the host socket must receive nothing");
    }
}

// A socket grant is a path grant: agent sockets in protected directories
// (gpg-agent, an ssh-agent socket under ~/.ssh) hand out keys.
#[test]
fn unix_socket_grant_in_a_protected_directory_is_refused() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home.join(".gnupg")).unwrap();
    let sock = env.home.join(".gnupg/S.gpg-agent");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    env.nono([
        "run",
        "--allow-unix-socket",
        sock.to_str().unwrap(),
        "--",
        "/bin/true",
    ])
    .expect_code(125)
    .expect_stderr_has("protected");
}

// `why --connect` answers for the same sandbox `run` builds: for each
// policy, the prediction matches what a real connect does.
#[test]
fn why_connect_agrees_with_reality() {
    let env = TestEnv::new();
    let sink = TcpSink::new();
    let port = sink.port.to_string();
    let mut cases: Vec<(Vec<&str>, bool)> = vec![(vec![], true), (vec!["--net-block"], false)];
    if abi() >= 4 {
        cases.push((vec!["--allow-connect", &port], true));
        cases.push((vec!["--net-block", "--allow-bind", &port], false));
    }
    for (flags, expected) in cases {
        let mut why = vec!["why", "--connect", &port];
        why.extend_from_slice(&flags);
        let w = env.nono(&why);
        assert_eq!(w.code(), Some(if expected { 0 } else { 1 }), "{w}");
        let r = sandboxed(&env, &flags, &connect_probe(sink.port));
        let reached = has(&r, "connect OK");
        assert_eq!(
            reached, expected,
            "flags {flags:?}: why said {expected}\n{r}"
        );
        assert_eq!(sink.accepted(), usize::from(expected), "flags {flags:?}");
    }
}
