//! The proxy at work: accepting on the listeners made inside the sandbox's
//! network namespace, deciding each request with the allowlist, and
//! connecting out from the host's namespace.
//!
//! One OS thread per connection (two while bytes flow both ways). An agent
//! opens a handful of connections at a time; threads keep the code plain
//! blocking I/O with no runtime to start, and measured throughput is within
//! the budget (BENCHMARKS.md). HTTP heads are parsed with `httparse`.
//!
//! What the proxy sees: the target host and port of every request (the
//! CONNECT authority, or the absolute URI of a plain HTTP request). It never
//! decrypts TLS, so it cannot see which name is inside the TLS handshake or
//! the Host header of an encrypted request (see SECURITY.md).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::allow::{self, Allowlist, RequestHost, Verdict};
use super::log::{Event, Kind, Log};
use super::resolve;

/// Largest request head the proxy reads; real ones are well under 8 KiB.
const MAX_HEAD: usize = 64 * 1024;
/// How long the proxy waits for a request head, and for a connection out.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connection threads copy with small buffers: no deep stacks needed.
const THREAD_STACK: usize = 128 * 1024;
const COPY_BUF: usize = 64 * 1024;

/// What one run's proxy needs.
pub struct Config {
    pub allow: Allowlist,
    pub log: Log,
}

/// The refused targets, for the summary at the end of the run.
#[derive(Default)]
pub struct Refusals {
    /// `host:port` → (attempts, the option that would allow it).
    pub targets: BTreeMap<String, (usize, String)>,
}

pub struct Shared {
    pub cfg: Config,
    pub refused: Mutex<Refusals>,
    /// Connections accepted and not yet done with (their log record and
    /// refusal are written when they end).
    pub active: std::sync::atomic::AtomicUsize,
}

impl Shared {
    pub fn new(cfg: Config) -> Shared {
        Shared {
            cfg,
            refused: Mutex::new(Default::default()),
            active: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Waits, at most `limit`, for every accepted connection to finish
    /// its record: the command has ended, so their clients are gone and
    /// they end at once; without the wait the end-of-run summary could
    /// miss the last of them.
    pub fn settle(&self, limit: Duration) {
        use std::sync::atomic::Ordering;
        let deadline = std::time::Instant::now() + limit;
        while self.active.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Counts a connection as active for as long as it lives.
struct Active<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A listener handed over from inside the sandbox and what it serves.
pub enum Role {
    /// The HTTP proxy the command's proxy variables name.
    Proxy,
    /// A host loopback port exposed at the same address inside: the host
    /// addresses to try, in order.
    Expose(Vec<SocketAddr>),
}

/// Starts one accept thread per listener. Returns immediately.
pub fn spawn(shared: &Arc<Shared>, listeners: Vec<(TcpListener, Role)>) -> io::Result<()> {
    for (l, role) in listeners {
        let shared = Arc::clone(shared);
        std::thread::Builder::new()
            .stack_size(THREAD_STACK)
            .spawn(move || accept_loop(&shared, &l, &role))?;
    }
    Ok(())
}

fn accept_loop(shared: &Arc<Shared>, l: &TcpListener, role: &Role) {
    loop {
        let Ok((client, _)) = l.accept() else {
            // EMFILE and the like: back off instead of spinning.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let shared = Arc::clone(shared);
        let target = match role {
            Role::Proxy => None,
            Role::Expose(a) => Some(a.clone()),
        };
        shared
            .active
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let counted = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .stack_size(THREAD_STACK)
            .spawn(move || {
                let _active = Active(&shared.active);
                match target {
                    None => handle_proxy(&shared, client),
                    Some(t) => handle_expose(&shared, client, &t),
                }
            });
        if spawned.is_err() {
            counted
                .active
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A loopback port of the host, exposed inside: bytes both ways, logged.
fn handle_expose(shared: &Shared, client: TcpStream, targets: &[SocketAddr]) {
    let Some(first) = targets.first() else { return };
    let host = match client.local_addr().map(|a| a.ip()) {
        Ok(IpAddr::V6(a)) => format!("[{a}]"),
        Ok(IpAddr::V4(a)) => a.to_string(),
        Err(_) => first.ip().to_string(),
    };
    let mut ev = Event::new(Kind::Expose, &host, first.port());
    match connect_any(targets) {
        Ok(up) => {
            ev.verdict = "allowed";
            let (a, b) = pump(client, up, &[]);
            ev.bytes_up = a;
            ev.bytes_down = b;
        }
        Err(e) => {
            ev.verdict = "error";
            ev.reason = format!(
                "connect to the host's loopback port {} failed: {e}",
                first.port()
            );
        }
    }
    shared.cfg.log.write(&ev);
}

/// A parsed request head.
struct Head {
    method: String,
    target: String,
    version: u8,
    headers: Vec<(String, Vec<u8>)>,
    /// Bytes after the head (request body, or early TLS bytes).
    rest: Vec<u8>,
}

enum HeadError {
    Closed,
    TooLarge,
    Bad(String),
}

fn read_head(s: &mut TcpStream) -> Result<Head, HeadError> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) if buf.is_empty() => return Err(HeadError::Closed),
            Ok(0) => return Err(HeadError::Bad("the connection closed mid-request".into())),
            Ok(n) => n,
            Err(e) => return Err(HeadError::Bad(e.to_string())),
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let head = Head {
                    method: req.method.unwrap_or("").to_string(),
                    target: req.path.unwrap_or("").to_string(),
                    version: req.version.unwrap_or(1),
                    headers: req
                        .headers
                        .iter()
                        .map(|h| (h.name.to_string(), h.value.to_vec()))
                        .collect(),
                    rest: buf[len..].to_vec(),
                };
                return Ok(head);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => return Err(HeadError::TooLarge),
            Err(e) => return Err(HeadError::Bad(format!("not an HTTP request: {e}"))),
        }
    }
}

fn respond(s: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    // The client may already have gone; the connection closes either way
    // and the verdict is in the log, so a failed write changes nothing.
    if s.write_all(msg.as_bytes()).is_ok() {
        let _ = s.flush();
    }
}

/// Where a request wants to go.
struct Target {
    host: RequestHost,
    port: u16,
    /// For plain HTTP: the origin-form path to send upstream.
    path: Option<String>,
    /// The authority as given (for a missing Host header).
    authority: String,
}

fn parse_target(head: &Head) -> Result<Target, String> {
    if head.method.eq_ignore_ascii_case("CONNECT") {
        let (h, p) = allow::split_host_port(&head.target).map_err(str::to_string)?;
        let port = p
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0)
            .ok_or("CONNECT needs HOST:PORT")?;
        let host = RequestHost::parse(h).ok_or_else(|| format!("{h:?} is not a host name"))?;
        return Ok(Target {
            host,
            port,
            path: None,
            authority: head.target.clone(),
        });
    }
    let lower = head.target.to_ascii_lowercase();
    let Some(after) = lower.strip_prefix("http://").map(|_| &head.target[7..]) else {
        if lower.starts_with("https://") {
            return Err("https:// through this proxy needs CONNECT (the client sends it when HTTPS_PROXY is set)".into());
        }
        return Err("this is an HTTP proxy: requests must use an absolute http:// URI".into());
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    if authority.contains('@') {
        return Err("user information in the URI is not accepted".into());
    }
    let mut path = after[end..].to_string();
    if let Some(i) = path.find('#') {
        path.truncate(i);
    }
    if path.is_empty() || path.starts_with('?') {
        path.insert(0, '/');
    }
    let (h, p) = allow::split_host_port(authority).map_err(str::to_string)?;
    let port = match p {
        None | Some("") => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{p:?} is not a port"))?,
    };
    let host = RequestHost::parse(h).ok_or_else(|| format!("{h:?} is not a host name"))?;
    Ok(Target {
        host,
        port,
        path: Some(path),
        authority: authority.to_string(),
    })
}

fn handle_proxy(shared: &Shared, mut client: TcpStream) {
    let _ = client.set_read_timeout(Some(HEAD_TIMEOUT));
    let head = match read_head(&mut client) {
        Ok(h) => h,
        Err(HeadError::Closed) => return,
        Err(HeadError::TooLarge) => {
            return respond(
                &mut client,
                "431 Request Header Fields Too Large",
                "",
                "nono: request head too large\n",
            )
        }
        Err(HeadError::Bad(why)) => {
            return respond(
                &mut client,
                "400 Bad Request",
                "",
                &format!("nono: {why}\n"),
            )
        }
    };
    let _ = client.set_read_timeout(None);
    let kind = if head.method.eq_ignore_ascii_case("CONNECT") {
        Kind::Connect
    } else {
        Kind::Http
    };
    let target = match parse_target(&head) {
        Ok(t) => t,
        Err(why) => {
            let mut ev = Event::new(kind, "", 0);
            ev.verdict = "error";
            ev.reason = why.clone();
            shared.cfg.log.write(&ev);
            return respond(
                &mut client,
                "400 Bad Request",
                "",
                &format!("nono: {why}\n"),
            );
        }
    };
    let host_text = target.host.to_string();
    let mut ev = Event::new(kind, &host_text, target.port);
    let addrs = match admit(shared, &target) {
        Ok(a) => a,
        Err(refusal) => {
            ev.verdict = "denied";
            ev.reason = refusal.reason.clone();
            shared.cfg.log.write(&ev);
            record_refusal(shared, &host_text, target.port, &refusal.allow_with);
            let body = format!(
                "nono: refused {host_text}:{}: {}\nhint: to allow it: --allow-host {}\n",
                target.port, refusal.reason, refusal.allow_with
            );
            let extra = format!("X-Nono-Refused: {host_text}:{}\r\n", target.port);
            return respond(&mut client, "403 Forbidden", &extra, &body);
        }
    };
    let upstream = match connect_any(&addrs) {
        Ok(s) => s,
        Err(e) => {
            ev.verdict = "error";
            ev.reason = format!("connect failed: {e}");
            shared.cfg.log.write(&ev);
            let body = format!("nono: cannot connect to {host_text}:{}: {e}\n", target.port);
            return respond(&mut client, "502 Bad Gateway", "", &body);
        }
    };
    ev.verdict = "allowed";
    let (up, down) = match &target.path {
        None => {
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .is_err()
            {
                return;
            }
            pump(client, upstream, &head.rest)
        }
        Some(path) => {
            let mut out = forward_head(&head, path, &target.authority);
            out.extend_from_slice(&head.rest);
            pump(client, upstream, &out)
        }
    };
    ev.bytes_up = up;
    ev.bytes_down = down;
    shared.cfg.log.write(&ev);
}

/// The request head sent upstream: origin-form, hop-by-hop and proxy
/// headers removed, one request per connection.
fn forward_head(head: &Head, path: &str, authority: &str) -> Vec<u8> {
    const DROP: [&str; 6] = [
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "connection",
        "keep-alive",
        "te",
    ];
    let mut out = format!("{} {} HTTP/1.{}\r\n", head.method, path, head.version).into_bytes();
    let mut has_host = false;
    for (name, value) in &head.headers {
        let lower = name.to_ascii_lowercase();
        if DROP.contains(&lower.as_str()) {
            continue;
        }
        has_host |= lower == "host";
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if !has_host {
        out.extend_from_slice(format!("Host: {authority}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// Why a request is refused, and the entry that would allow it.
struct Refusal {
    reason: String,
    allow_with: String,
}

/// Decides a target and resolves it: the addresses to connect to, or why
/// not.
fn admit(shared: &Shared, t: &Target) -> Result<Vec<SocketAddr>, Refusal> {
    let allowlist = &shared.cfg.allow;
    let rule = match allowlist.decide(&t.host, t.port) {
        Verdict::Allowed(r) => r,
        Verdict::NotListed => {
            return Err(Refusal {
                reason: "not on this sandbox's host allowlist".into(),
                allow_with: format!("{}:{}", t.host, t.port),
            })
        }
    };
    let ips: Vec<IpAddr> = match &t.host {
        RequestHost::Ip(ip) => vec![*ip],
        RequestHost::Name(n) => match resolve::lookup(n, t.port) {
            Ok(v) if !v.is_empty() => v,
            Ok(_) => {
                return Err(Refusal {
                    reason: "the name has no address".into(),
                    allow_with: format!("{}:{}", t.host, t.port),
                })
            }
            Err(e) => {
                return Err(Refusal {
                    reason: format!("cannot resolve the name: {e}"),
                    allow_with: format!("{}:{}", t.host, t.port),
                })
            }
        },
    };
    // A loopback entry (`localhost:PORT`, `127.0.0.1:PORT`) names the
    // host's loopback port itself, whichever loopback address answers.
    let loopback_entry = rule.exposed().is_some();
    let mut usable = Vec::new();
    let mut special = None;
    for ip in ips {
        let ip = allow::canonical_ip(ip);
        match allow::special_range(ip) {
            None => usable.push(SocketAddr::new(ip, t.port)),
            Some(_) if allowlist.names_ip(ip, t.port) => usable.push(SocketAddr::new(ip, t.port)),
            Some(_) if loopback_entry && ip.is_loopback() => {
                usable.push(SocketAddr::new(ip, t.port))
            }
            Some(range) => {
                special.get_or_insert((ip, range));
            }
        }
    }
    if usable.is_empty() {
        if let Some((ip, range)) = special {
            let lit = match ip {
                IpAddr::V6(a) => format!("[{a}]"),
                IpAddr::V4(a) => a.to_string(),
            };
            return Err(Refusal {
                reason: format!(
                    "it resolves to {lit}, in {range}: names that resolve to such addresses are refused unless an entry names the address"
                ),
                allow_with: format!("{lit}:{}", t.port),
            });
        }
    }
    Ok(usable)
}

fn connect_any(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for a in addrs {
        match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn record_refusal(shared: &Shared, host: &str, port: u16, allow_with: &str) {
    if let Ok(mut r) = shared.refused.lock() {
        let e = r
            .targets
            .entry(format!("{host}:{port}"))
            .or_insert((0, allow_with.to_string()));
        e.0 += 1;
    }
}

/// Copies both ways until both sides are done; `first` goes upstream
/// before anything else. Returns (bytes up, bytes down).
fn pump(client: TcpStream, upstream: TcpStream, first: &[u8]) -> (u64, u64) {
    let _ = client.set_nodelay(true);
    let (Ok(client2), Ok(upstream2)) = (client.try_clone(), upstream.try_clone()) else {
        return (0, 0);
    };
    let first = first.to_vec();
    let up = std::thread::Builder::new()
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let mut up_w = upstream2;
            let mut n = 0u64;
            if up_w.write_all(&first).is_ok() {
                n = first.len() as u64 + copy(client2, &mut up_w);
            }
            let _ = up_w.shutdown(Shutdown::Write);
            n
        });
    let mut client_w = client;
    let down = copy(upstream, &mut client_w);
    let _ = client_w.shutdown(Shutdown::Write);
    let up = match up {
        Ok(h) => h.join().unwrap_or(0),
        Err(_) => 0,
    };
    (up, down)
}

fn copy(mut from: TcpStream, to: &mut TcpStream) -> u64 {
    #[cfg(target_os = "linux")]
    if let Some(n) = splice_copy(&from, to) {
        let _ = from.shutdown(Shutdown::Read);
        return n;
    }
    let mut buf = vec![0u8; COPY_BUF];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        total += n as u64;
    }
    let _ = from.shutdown(Shutdown::Read);
    total
}

/// Socket to socket through a pipe with splice(2): the bytes stay in the
/// kernel (no copy into the proxy and back), which is what keeps a large
/// download through the proxy close to a direct one. `None` when the pipe
/// cannot be made (then the caller copies through a buffer).
///
/// The pipe starts at the default 64 KiB and grows to [`BIG_PIPE`] once
/// the connection has moved [`GROW_AFTER`] bytes: a bulk transfer then
/// moves 1 MiB per pair of splices instead of 64 KiB, which cuts the
/// proxy's CPU time per byte by about a third (wake-ups and per-call work;
/// BENCHMARKS.md). Small requests never grow their pipe, and at most
/// [`BIG_PIPES`] grown pipes exist at once: pipe buffers count against the
/// user's `fs.pipe-user-pages-soft` (64 MiB by default), past which every
/// new pipe of that user, the sandboxed command's included, is made small.
#[cfg(target_os = "linux")]
fn splice_copy(from: &TcpStream, to: &TcpStream) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    // No SPLICE_F_MORE: it corks the socket, and the last chunk would wait
    // for the cork timer (200 ms).
    let flags = libc::SPLICE_F_MOVE;
    let mut chunk = SMALL_PIPE;
    let mut grown: Option<BigPipe> = None;
    let mut total = 0u64;
    loop {
        if grown.is_none() && total >= GROW_AFTER {
            grown = BigPipe::grow(&w);
            if grown.is_some() {
                chunk = BIG_PIPE;
            }
        }
        // SAFETY: splice between descriptors we own, no user memory.
        let n = unsafe {
            libc::splice(
                from.as_raw_fd(),
                std::ptr::null_mut(),
                w.as_raw_fd(),
                std::ptr::null_mut(),
                chunk,
                flags,
            )
        };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return Some(total);
        }
        let mut left = n as usize;
        while left > 0 {
            // SAFETY: as above.
            let m = unsafe {
                libc::splice(
                    r.as_raw_fd(),
                    std::ptr::null_mut(),
                    to.as_raw_fd(),
                    std::ptr::null_mut(),
                    left,
                    flags,
                )
            };
            if m < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if m <= 0 {
                return Some(total);
            }
            left -= m as usize;
            total += m as u64;
        }
    }
}

/// A new pipe's capacity, and the most a user may ask for without
/// privileges (`fs.pipe-max-size`, 1 MiB by default).
#[cfg(target_os = "linux")]
const SMALL_PIPE: usize = 64 * 1024;
#[cfg(target_os = "linux")]
const BIG_PIPE: usize = 1024 * 1024;
#[cfg(target_os = "linux")]
const GROW_AFTER: u64 = 4 * 1024 * 1024;
#[cfg(target_os = "linux")]
const BIG_PIPES: usize = 16;

/// One grown pipe, counted in [`BIG_PIPES`] while it lives.
#[cfg(target_os = "linux")]
struct BigPipe;

#[cfg(target_os = "linux")]
static BIG_PIPES_IN_USE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(target_os = "linux")]
impl BigPipe {
    /// Grows the pipe of `w` to [`BIG_PIPE`], if fewer than [`BIG_PIPES`]
    /// are grown and the kernel agrees; otherwise it stays as it is.
    fn grow(w: &std::os::fd::OwnedFd) -> Option<BigPipe> {
        use std::sync::atomic::Ordering;
        let before = BIG_PIPES_IN_USE.fetch_add(1, Ordering::Relaxed);
        let pipe = BigPipe;
        if before >= BIG_PIPES {
            return None;
        }
        let size = libc::c_int::try_from(BIG_PIPE).ok()?;
        nix::fcntl::fcntl(w, nix::fcntl::FcntlArg::F_SETPIPE_SZ(size)).ok()?;
        Some(pipe)
    }
}

#[cfg(target_os = "linux")]
impl Drop for BigPipe {
    fn drop(&mut self) {
        BIG_PIPES_IN_USE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, target: &str, headers: &[(&str, &str)]) -> Head {
        Head {
            method: method.into(),
            target: target.into(),
            version: 1,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
            rest: vec![],
        }
    }

    #[test]
    fn targets_are_parsed_from_connect_and_absolute_uris() {
        let t = parse_target(&head("CONNECT", "Example.COM:8443", &[]))
            .ok()
            .unwrap();
        assert_eq!(t.host, RequestHost::Name("example.com".into()));
        assert_eq!((t.port, t.path), (8443, None));
        let t = parse_target(&head("GET", "http://[::1]:81/a?b#frag", &[]))
            .ok()
            .unwrap();
        assert_eq!(t.host, RequestHost::Ip("::1".parse().unwrap()));
        assert_eq!((t.port, t.path.as_deref()), (81, Some("/a?b")));
        let t = parse_target(&head("GET", "http://h.test?q", &[]))
            .ok()
            .unwrap();
        assert_eq!((t.port, t.path.as_deref()), (80, Some("/?q")));
        for bad in [
            "/relative",
            "https://h.test/",
            "http://user@evil.test/",
            "http://bad host/",
        ] {
            assert!(parse_target(&head("GET", bad, &[])).is_err(), "{bad}");
        }
        assert!(parse_target(&head("CONNECT", "h.test", &[])).is_err());
    }

    #[test]
    fn forwarded_heads_are_origin_form_without_proxy_headers() {
        let h = head(
            "POST",
            "http://h.test:8080/x",
            &[
                ("Host", "h.test:8080"),
                ("Proxy-Authorization", "Basic c2VjcmV0"),
                ("Proxy-Connection", "keep-alive"),
                ("Connection", "keep-alive"),
                ("Content-Length", "3"),
            ],
        );
        let out = String::from_utf8(forward_head(&h, "/x", "h.test:8080")).unwrap();
        assert_eq!(
            out,
            "POST /x HTTP/1.1\r\nHost: h.test:8080\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
        );
        let out = String::from_utf8(forward_head(&head("GET", "", &[]), "/", "a.test")).unwrap();
        assert_eq!(
            out,
            "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
        );
    }
}
