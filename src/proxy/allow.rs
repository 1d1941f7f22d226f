//! The host allowlist: parsing `--allow-host HOST[:PORT]` entries and
//! deciding one request. Pure functions, tested as whole values; the proxy
//! (`server.rs`) and `nono why --host` read the same decision.
//!
//! Rules (SPEC.md, "Host-allowlist mode"):
//! - HOST is a DNS name (matched exactly, case-insensitively, without a
//!   trailing dot), `*.domain` (strict subdomains of `domain`, never
//!   `domain` itself and never an IP address), or an IP literal (`[::1]`
//!   for IPv6).
//! - No PORT means 443 and 80.
//! - `localhost`, `127.0.0.1` and `[::1]` name the host's loopback: such an
//!   entry needs a PORT and exposes that one port inside the sandbox.
//! - A name that resolves to a loopback, link-local, private or otherwise
//!   special address is refused unless an entry names that address
//!   literally (see [`special_range`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What an entry matches.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostPattern {
    /// A DNS name, lower case, no trailing dot.
    Name(String),
    /// `*.suffix`: any name ending in `.suffix`.
    Subdomains(String),
    /// An IP address, matched only by the same literal.
    Ip(IpAddr),
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Name(n) => f.write_str(n),
            HostPattern::Subdomains(s) => write!(f, "*.{s}"),
            HostPattern::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
            HostPattern::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
        }
    }
}

/// One checked allowlist entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostRule {
    pub pattern: HostPattern,
    /// `None`: 443 and 80.
    pub port: Option<u16>,
}

/// The ports an entry without PORT allows.
pub const DEFAULT_PORTS: [u16; 2] = [443, 80];

impl HostRule {
    pub fn ports(&self) -> Vec<u16> {
        match self.port {
            Some(p) => vec![p],
            None => DEFAULT_PORTS.to_vec(),
        }
    }

    fn allows_port(&self, port: u16) -> bool {
        self.ports().contains(&port)
    }

    /// The host's loopback address this entry exposes inside the sandbox,
    /// when it is a loopback entry (`localhost:PORT`, `127.0.0.1:PORT`,
    /// `[::1]:PORT`).
    pub fn exposed(&self) -> Option<(IpAddr, u16)> {
        let port = self.port?;
        match &self.pattern {
            HostPattern::Name(n) if n == "localhost" => Some((Ipv4Addr::LOCALHOST.into(), port)),
            HostPattern::Ip(ip) if ip.is_loopback() => Some((*ip, port)),
            _ => None,
        }
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.pattern),
            None => write!(f, "{}", self.pattern),
        }
    }
}

/// Why an entry cannot be used. The message names the entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--allow-host {given:?}: {why}")]
pub struct HostRuleError {
    pub given: String,
    pub why: String,
}

impl HostRuleError {
    pub fn hints(&self) -> Vec<String> {
        vec![
            "HOST is a DNS name, *.domain (its subdomains) or an IP address ([::1] for IPv6); PORT is 1-65535; no PORT means 443 and 80".into(),
            "for unrestricted network use --net-allow".into(),
        ]
    }
}

/// Parses `HOST[:PORT]`.
pub fn parse_rule(given: &str) -> Result<HostRule, HostRuleError> {
    let err = |why: &str| HostRuleError {
        given: given.to_string(),
        why: why.to_string(),
    };
    let (host, port) = split_host_port(given).map_err(&err)?;
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p).ok_or_else(|| err("PORT must be a number from 1 to 65535"))?),
    };
    let pattern = parse_pattern(host).map_err(&err)?;
    let rule = HostRule { pattern, port };
    let loopback_name = matches!(&rule.pattern, HostPattern::Name(n) if n == "localhost")
        || matches!(&rule.pattern, HostPattern::Ip(ip) if ip.is_loopback());
    if loopback_name && rule.port.is_none() {
        return Err(err(
            "a loopback entry exposes one port of this machine's loopback: give it, e.g. localhost:8080",
        ));
    }
    Ok(rule)
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse::<u16>().ok().filter(|p| *p != 0)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`. A bare IPv6 address (more than
/// one colon, no brackets) is taken whole, without a port.
pub fn split_host_port(s: &str) -> Result<(&str, Option<&str>), &'static str> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return Err("unclosed '[' in an IPv6 address");
        };
        return match after {
            "" => Ok((inner, None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((inner, Some(p))),
                None => Err("expected ':PORT' after ']'"),
            },
        };
    }
    match s.matches(':').count() {
        0 => Ok((s, None)),
        1 => {
            let (h, p) = s.split_once(':').unwrap_or((s, ""));
            Ok((h, Some(p)))
        }
        _ => Ok((s, None)),
    }
}

/// A DNS name as the proxy compares it: lower case, no trailing dot, only
/// letters, digits, `-` and `_` in labels of 1-63 bytes, 253 bytes at most.
pub fn normalize_name(s: &str) -> Option<String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return None;
    }
    let ok = s.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    ok.then(|| s.to_ascii_lowercase())
}

fn parse_pattern(host: &str) -> Result<HostPattern, &'static str> {
    if host.is_empty() {
        return Err("empty host");
    }
    if host == "*" {
        return Err("'*' would allow every host: use --net-allow for unrestricted network");
    }
    if let Some(suffix) = host.strip_prefix("*.") {
        let Some(name) = normalize_name(suffix) else {
            return Err("not a valid domain after '*.'");
        };
        if name.parse::<IpAddr>().is_ok() || name.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err("a wildcard never matches an IP address");
        }
        if !name.contains('.') {
            return Err("'*.' needs a domain with at least two labels (e.g. *.example.com)");
        }
        return Ok(HostPattern::Subdomains(name));
    }
    if host.contains('*') {
        return Err("'*' is allowed only as a whole first label, as in *.example.com");
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(HostPattern::Ip(ip));
    }
    // An all-numeric name is a mistyped or abbreviated IPv4 address
    // ("127.1"), which resolvers would read as an address.
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("not a valid IPv4 address");
    }
    normalize_name(host)
        .map(HostPattern::Name)
        .ok_or("not a valid DNS name or IP address")
}

/// The host of a request, checked: a name or an IP literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestHost {
    Name(String),
    Ip(IpAddr),
}

impl RequestHost {
    /// Parses the host part of a request target (brackets already removed
    /// for IPv6). `None`: not a valid host.
    pub fn parse(host: &str) -> Option<RequestHost> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(RequestHost::Ip(ip));
        }
        if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        normalize_name(host).map(RequestHost::Name)
    }
}

impl fmt::Display for RequestHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestHost::Name(n) => f.write_str(n),
            RequestHost::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
            RequestHost::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
        }
    }
}

/// The checked allowlist of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist {
    pub rules: Vec<HostRule>,
}

/// The allowlist's answer for one host and port, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed by this entry.
    Allowed(HostRule),
    /// No entry matches.
    NotListed,
}

impl Allowlist {
    pub fn new(mut rules: Vec<HostRule>) -> Allowlist {
        rules.sort();
        rules.dedup();
        Allowlist { rules }
    }

    /// The entry that allows `host:port`, if any. An exact name or literal
    /// entry is preferred over a wildcard, for the explanation.
    pub fn decide(&self, host: &RequestHost, port: u16) -> Verdict {
        // Every loopback entry names the same thing, the host's loopback
        // port: `localhost:5432` also allows 127.0.0.1:5432 and [::1]:5432.
        if loopback_host(host) {
            return match self
                .rules
                .iter()
                .find(|r| r.exposed().is_some_and(|(_, p)| p == port))
            {
                Some(r) => Verdict::Allowed(r.clone()),
                None => Verdict::NotListed,
            };
        }
        let matching = |exact: bool| {
            self.rules.iter().find(|r| {
                r.allows_port(port)
                    && match (&r.pattern, host) {
                        (HostPattern::Name(n), RequestHost::Name(h)) => exact && n == h,
                        (HostPattern::Ip(a), RequestHost::Ip(b)) => exact && same_ip(*a, *b),
                        (HostPattern::Subdomains(s), RequestHost::Name(h)) => {
                            !exact
                                && h.len() > s.len() + 1
                                && h.ends_with(s.as_str())
                                && h.as_bytes()[h.len() - s.len() - 1] == b'.'
                        }
                        _ => false,
                    }
            })
        };
        match matching(true).or_else(|| matching(false)) {
            Some(r) => Verdict::Allowed(r.clone()),
            None => Verdict::NotListed,
        }
    }

    /// Whether an entry names `ip` literally for `port`: the only way a
    /// special address may be reached.
    #[cfg(target_os = "linux")]
    pub fn names_ip(&self, ip: IpAddr, port: u16) -> bool {
        self.rules.iter().any(|r| {
            r.allows_port(port) && matches!(r.pattern, HostPattern::Ip(a) if same_ip(a, ip))
        })
    }

    /// The loopback ports exposed inside the sandbox, in order, without
    /// duplicates.
    pub fn exposed(&self) -> Vec<Exposure> {
        let mut v: Vec<Exposure> = Vec::new();
        for r in &self.rules {
            let Some((ip, port)) = r.exposed() else {
                continue;
            };
            let v4 = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
            let v6 = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port);
            let localhost = matches!(&r.pattern, HostPattern::Name(_));
            // `localhost` may be either address to a client (Node tries
            // ::1 first): listen on both, and reach whichever the host's
            // server listens on.
            let (listen, targets) = match (localhost, ip) {
                (true, _) => (vec![v4, v6], vec![v4, v6]),
                (false, IpAddr::V4(_)) => (vec![v4], vec![v4]),
                (false, IpAddr::V6(_)) => (vec![v6], vec![v6]),
            };
            for l in listen {
                match v.iter_mut().find(|e| e.listen == l) {
                    Some(e) => {
                        for t in &targets {
                            if !e.targets.contains(t) {
                                e.targets.push(*t);
                            }
                        }
                    }
                    None => v.push(Exposure {
                        listen: l,
                        targets: targets.clone(),
                    }),
                }
            }
        }
        v.sort_by_key(|e| e.listen);
        v
    }
}

/// One port of the host's loopback made reachable inside the sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// Where the command connects, inside the sandbox.
    pub listen: SocketAddr,
    /// What the proxy connects to on the host, tried in order.
    pub targets: Vec<SocketAddr>,
}

/// `localhost` or a loopback address.
fn loopback_host(h: &RequestHost) -> bool {
    match h {
        RequestHost::Name(n) => n == "localhost",
        RequestHost::Ip(ip) => canonical_ip(*ip).is_loopback(),
    }
}

/// IPv4-mapped IPv6 addresses are the IPv4 address.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    canonical_ip(a) == canonical_ip(b)
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; everything else unchanged.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// The special range `ip` lies in, or `None` for an ordinary public
/// address. A name resolving to one of these is refused unless an entry
/// names the address: it would let an allowed name (or a DNS answer an
/// attacker controls) reach this machine, its network, or cloud metadata.
#[cfg(target_os = "linux")]
pub fn special_range(ip: IpAddr) -> Option<&'static str> {
    match canonical_ip(ip) {
        IpAddr::V4(a) => special_v4(a),
        IpAddr::V6(a) => special_v6(a),
    }
}

#[cfg(target_os = "linux")]
fn special_v4(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    let r = match o {
        [0, ..] => "0.0.0.0/8 (this host)",
        [10, ..] => "10.0.0.0/8 (private)",
        [100, b, ..] if (64..128).contains(&b) => "100.64.0.0/10 (carrier-grade NAT)",
        [127, ..] => "127.0.0.0/8 (loopback)",
        [169, 254, ..] => "169.254.0.0/16 (link-local, cloud metadata)",
        [172, b, ..] if (16..32).contains(&b) => "172.16.0.0/12 (private)",
        [192, 0, 0, _] => "192.0.0.0/24 (IETF protocol assignments)",
        [192, 168, ..] => "192.168.0.0/16 (private)",
        [198, b, ..] if b == 18 || b == 19 => "198.18.0.0/15 (benchmarking)",
        [b, ..] if (224..240).contains(&b) => "224.0.0.0/4 (multicast)",
        [b, ..] if b >= 240 => "240.0.0.0/4 (reserved, broadcast)",
        _ => return None,
    };
    Some(r)
}

#[cfg(target_os = "linux")]
fn special_v6(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    if a.is_unspecified() {
        return Some(":: (unspecified)");
    }
    if a.is_loopback() {
        return Some("::1 (loopback)");
    }
    if s[0] & 0xffc0 == 0xfe80 {
        return Some("fe80::/10 (link-local)");
    }
    if s[0] & 0xfe00 == 0xfc00 {
        return Some("fc00::/7 (unique local, private)");
    }
    if s[0] & 0xff00 == 0xff00 {
        return Some("ff00::/8 (multicast)");
    }
    // Forms that embed an IPv4 address: the IPv4 rules decide.
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[..6] == [0; 6] {
        // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks).
        return special_v4(embedded(s[6], s[7])).or(Some("::/96 (IPv4-compatible)"));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return special_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return special_v4(embedded(s[1], s[2]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> HostRule {
        parse_rule(s).unwrap()
    }
    fn name(s: &str) -> RequestHost {
        RequestHost::parse(s).unwrap()
    }

    #[test]
    fn entries_parse_to_whole_values() {
        assert_eq!(
            rule("API.Example.com."),
            HostRule {
                pattern: HostPattern::Name("api.example.com".into()),
                port: None
            }
        );
        assert_eq!(
            rule("*.example.com:8443"),
            HostRule {
                pattern: HostPattern::Subdomains("example.com".into()),
                port: Some(8443)
            }
        );
        assert_eq!(
            rule("[::1]:5432"),
            HostRule {
                pattern: HostPattern::Ip("::1".parse().unwrap()),
                port: Some(5432)
            }
        );
        assert_eq!(
            rule("2001:db8::1"),
            HostRule {
                pattern: HostPattern::Ip("2001:db8::1".parse().unwrap()),
                port: None
            }
        );
        assert_eq!(rule("10.0.0.5:5432").to_string(), "10.0.0.5:5432");
        assert_eq!(rule("[::1]:1").to_string(), "[::1]:1");
    }

    #[test]
    fn bad_entries_are_refused_with_a_reason() {
        for bad in [
            "",
            "*",
            "*.com",
            "a*.example.com",
            "*.1.2.3.4",
            "host:0",
            "host:65536",
            "host:x",
            "[::1",
            "[::1]x",
            "bad host",
            "127.1",
            "localhost",
            "127.0.0.1",
            "[::1]",
            "-a.com",
        ] {
            let e = parse_rule(bad).unwrap_err();
            assert_eq!(e.given, bad);
            assert!(!e.why.is_empty());
        }
    }

    #[test]
    fn matching_follows_the_rules() {
        let l = Allowlist::new(vec![
            rule("api.example.com"),
            rule("*.cdn.example"),
            rule("10.0.0.5:5432"),
            rule("localhost:8080"),
        ]);
        assert_eq!(
            l.decide(&name("API.example.com"), 443),
            Verdict::Allowed(rule("api.example.com"))
        );
        assert!(matches!(
            l.decide(&name("api.example.com"), 80),
            Verdict::Allowed(_)
        ));
        assert_eq!(l.decide(&name("api.example.com"), 8443), Verdict::NotListed);
        assert_eq!(l.decide(&name("example.com"), 443), Verdict::NotListed);
        assert_eq!(
            l.decide(&name("evilapi.example.com"), 443),
            Verdict::NotListed
        );
        assert!(matches!(
            l.decide(&name("a.b.cdn.example"), 443),
            Verdict::Allowed(_)
        ));
        assert_eq!(
            l.decide(&name("cdn.example"), 443),
            Verdict::NotListed,
            "not the domain itself"
        );
        assert_eq!(l.decide(&name("xcdn.example"), 443), Verdict::NotListed);
        assert!(matches!(
            l.decide(&name("10.0.0.5"), 5432),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            l.decide(&name("::ffff:10.0.0.5"), 5432),
            Verdict::Allowed(_)
        ));
        assert_eq!(l.decide(&name("10.0.0.5"), 443), Verdict::NotListed);
        // What the proxy (Linux only) asks before connecting to a special address.
        #[cfg(target_os = "linux")]
        {
            assert!(l.names_ip("10.0.0.5".parse().unwrap(), 5432));
            assert!(!l.names_ip("10.0.0.6".parse().unwrap(), 5432));
        }
        assert!(matches!(
            l.decide(&name("127.0.0.1"), 8080),
            Verdict::Allowed(_)
        ));
        assert!(matches!(l.decide(&name("::1"), 8080), Verdict::Allowed(_)));
        assert_eq!(l.decide(&name("127.0.0.1"), 8081), Verdict::NotListed);
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let v6: SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(
            l.exposed(),
            vec![
                Exposure {
                    listen: v4,
                    targets: vec![v4, v6]
                },
                Exposure {
                    listen: v6,
                    targets: vec![v4, v6]
                },
            ]
        );
        let lit = Allowlist::new(vec![rule("127.0.0.1:9")]);
        let v4: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            lit.exposed(),
            vec![Exposure {
                listen: v4,
                targets: vec![v4]
            }]
        );
    }

    #[test]
    fn wildcards_never_match_an_ip() {
        let l = Allowlist::new(vec![rule("*.in-addr.arpa"), rule("*.0.0.127.example")]);
        assert_eq!(l.decide(&name("127.0.0.1"), 443), Verdict::NotListed);
        assert_eq!(l.decide(&name("::1"), 443), Verdict::NotListed);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn special_ranges_cover_the_dangerous_addresses() {
        for (ip, special) in [
            ("127.0.0.1", true),
            ("169.254.169.254", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("172.31.255.255", true),
            ("172.32.0.1", false),
            ("192.168.1.1", true),
            ("100.64.0.1", true),
            ("100.128.0.1", false),
            ("0.0.0.0", true),
            ("224.0.0.1", true),
            ("255.255.255.255", true),
            ("8.8.8.8", false),
            ("::", true),
            ("::1", true),
            ("fe80::1", true),
            ("fd00::1", true),
            ("ff02::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:169.254.169.254", true),
            ("::ffff:8.8.8.8", false),
            ("64:ff9b::a9fe:a9fe", true),
            ("2002:a9fe:a9fe::1", true),
            ("2606:4700::1111", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(special_range(ip).is_some(), special, "{ip}");
        }
    }

    #[test]
    fn host_port_splitting() {
        assert_eq!(split_host_port("a:1"), Ok(("a", Some("1"))));
        assert_eq!(split_host_port("[::1]:2"), Ok(("::1", Some("2"))));
        assert_eq!(split_host_port("::1"), Ok(("::1", None)));
        assert!(split_host_port("[::1]2").is_err());
    }
}
