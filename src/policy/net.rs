//! The network and IPC part of the policy: platform-neutral, so that the
//! Landlock/seccomp backend, the Seatbelt backend, `--dry-run` and `nono why`
//! all read the same decision.
//!
//! Semantics (see SPEC.md):
//! - With no network option the sandbox may use the network freely.
//! - `--net-block` is an air gap: no socket reaches any network, loopback
//!   included.
//! - `--allow-connect PORT` / `--allow-bind PORT` restrict the network to
//!   TCP on those ports. Giving one implies `--net-block` for everything else
//!   (UDP and so DNS included): a port grant asks for "a little network", and
//!   nono fails closed rather than guess that the rest should stay open.
//! - Host Unix sockets (pathname and abstract) are never reachable unless
//!   `--allow-unix-socket PATH` is given; what that grant means depends on
//!   what the kernel can check (see `unix_scope` in the backends).

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::paths::{self, Context};
use super::spec::{PolicySpec, Source};
use super::PolicyError;
use crate::proxy::allow::{self, Allowlist, HostRule, RequestHost, Verdict};

/// A Unix socket the user allowed the command to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSocketGrant {
    /// Canonical path of the socket.
    pub path: PathBuf,
    /// As the user wrote it.
    pub given: PathBuf,
    pub source: Source,
}

/// The checked network policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetPolicy {
    /// `--net-block` was given.
    pub block: bool,
    /// TCP ports the command may connect to (`--allow-connect`).
    pub connect: BTreeSet<u16>,
    /// TCP ports the command may bind (`--allow-bind`).
    pub bind: BTreeSet<u16>,
    /// Host Unix sockets the command may connect to.
    pub unix_sockets: Vec<UnixSocketGrant>,
    /// Host-allowlist mode when not empty: the command runs in its own
    /// network namespace and reaches only these hosts, through the proxy.
    pub hosts: Vec<HostEntry>,
}

/// One allowlist entry with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostEntry {
    pub rule: HostRule,
    pub source: Source,
    /// The built-in group (`@name`) it came from, if any.
    pub group: Option<String>,
}

// Until the Seatbelt backend reads them, only Linux uses the predicates.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl NetPolicy {
    /// Builds the network policy from the request. Unix socket paths must
    /// exist: a grant that names nothing is a typo, not a policy.
    pub fn build(
        block: bool,
        connect: &[u16],
        bind: &[u16],
        unix_sockets: &[(PathBuf, Source)],
        ctx: &Context,
    ) -> Result<NetPolicy, PolicyError> {
        let mut grants = Vec::new();
        for (given, source) in unix_sockets {
            let resolved = paths::resolve(given, ctx)?;
            if !grants
                .iter()
                .any(|g: &UnixSocketGrant| g.path == resolved.canonical)
            {
                grants.push(UnixSocketGrant {
                    path: resolved.canonical,
                    given: given.clone(),
                    source: source.clone(),
                });
            }
        }
        Ok(NetPolicy {
            block,
            connect: connect.iter().copied().collect(),
            bind: bind.iter().copied().collect(),
            unix_sockets: grants,
            hosts: Vec::new(),
        })
    }

    /// Host-allowlist mode: some `--allow-host` entry is in force.
    pub fn host_mode(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// The allowlist the proxy enforces.
    pub fn allowlist(&self) -> Allowlist {
        Allowlist::new(self.hosts.iter().map(|h| h.rule.clone()).collect())
    }

    /// True when IP networking is restricted at all: `--net-block` or any
    /// port grant.
    pub fn restricted(&self) -> bool {
        self.block || self.has_port_grants()
    }

    /// True when some TCP port is granted.
    pub fn has_port_grants(&self) -> bool {
        !self.connect.is_empty() || !self.bind.is_empty()
    }

    /// True when the command may create Unix sockets of its own (beyond
    /// socketpair) because some host socket was granted.
    pub fn unix_granted(&self) -> bool {
        !self.unix_sockets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::ctx_in as ctx;

    #[test]
    fn port_grants_imply_restriction() {
        let d = tempfile::tempdir().unwrap();
        let n = NetPolicy::build(false, &[443, 443], &[], &[], &ctx(d.path())).unwrap();
        assert!(n.restricted());
        assert!(!n.block);
        assert_eq!(n.connect.iter().copied().collect::<Vec<_>>(), vec![443]);
        let open = NetPolicy::build(false, &[], &[], &[], &ctx(d.path())).unwrap();
        assert!(!open.restricted());
        assert!(!open.unix_granted());
    }

    #[test]
    fn unix_socket_grants_resolve_and_must_exist() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        let sock = root.join("agent.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let src = Source::Flag("--allow-unix-socket");
        let n = NetPolicy::build(
            false,
            &[],
            &[],
            &[
                (PathBuf::from("agent.sock"), src.clone()),
                (sock.clone(), src.clone()),
            ],
            &ctx(&root),
        )
        .unwrap();
        assert_eq!(n.unix_sockets.len(), 1, "duplicates merge");
        assert_eq!(n.unix_sockets[0].path, sock);
        let missing = NetPolicy::build(
            false,
            &[],
            &[],
            &[(PathBuf::from("nope.sock"), src)],
            &ctx(&root),
        );
        assert!(matches!(missing, Err(PolicyError::NotFound(_))));
    }
}

/// A network question for `nono why`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetOp {
    Connect(u16),
    Bind(u16),
}

impl NetOp {
    pub fn name(self) -> &'static str {
        match self {
            NetOp::Connect(_) => "connect",
            NetOp::Bind(_) => "bind",
        }
    }

    pub fn port(self) -> u16 {
        match self {
            NetOp::Connect(p) | NetOp::Bind(p) => p,
        }
    }
}

/// The answer to a network question, from the same [`NetPolicy`] the
/// backends enforce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDecision {
    pub op: NetOp,
    pub allowed: bool,
    /// `not_restricted`, `port_granted` or `not_granted`.
    pub code: &'static str,
    pub text: String,
    /// The option that would allow it, when one would.
    pub suggestion: Option<String>,
}

/// Decides a TCP connect or bind under `net`.
pub fn decide(net: &NetPolicy, op: NetOp) -> NetDecision {
    let port = op.port();
    let (flag, granted) = match op {
        NetOp::Connect(p) => ("--allow-connect", net.connect.contains(&p)),
        NetOp::Bind(p) => ("--allow-bind", net.bind.contains(&p)),
    };
    if !net.restricted() {
        return NetDecision {
            op,
            allowed: true,
            code: "not_restricted",
            text: "no network option was given: TCP, UDP and DNS work, loopback included".into(),
            suggestion: None,
        };
    }
    if granted {
        return NetDecision {
            op,
            allowed: true,
            code: "port_granted",
            text: format!(
                "{flag} {port}: TCP only, to any address; other ports, UDP (so DNS) and other protocols stay blocked"
            ),
            suggestion: None,
        };
    }
    // As seccomp's socket rule does: Unix sockets only with a grant.
    let why = if net.block && net.unix_granted() {
        "--net-block refuses every socket but Unix ones (granted with --allow-unix-socket)"
            .to_string()
    } else if net.block {
        "--net-block refuses every socket, Unix ones included (socketpair() pairs private to the sandbox still work)"
            .to_string()
    } else {
        "port grants block everything else".to_string()
    };
    NetDecision {
        op,
        allowed: false,
        code: "not_granted",
        text: format!("{why}; TCP {} {port} is not granted", op.name()),
        suggestion: Some(format!("{flag} {port}")),
    }
}

#[cfg(test)]
mod decide_tests {
    use super::*;

    #[test]
    fn answers_follow_the_policy() {
        let open = NetPolicy::default();
        assert!(decide(&open, NetOp::Connect(443)).allowed);
        let mut blocked = NetPolicy {
            block: true,
            ..Default::default()
        };
        let d = decide(&blocked, NetOp::Connect(443));
        assert!(!d.allowed);
        // seccomp refuses socket(AF_UNIX) under --net-block without a grant.
        assert!(d.text.contains("Unix ones included"), "{}", d.text);
        assert_eq!(d.suggestion.as_deref(), Some("--allow-connect 443"));
        blocked.connect.insert(443);
        assert!(decide(&blocked, NetOp::Connect(443)).allowed);
        assert!(!decide(&blocked, NetOp::Connect(80)).allowed);
        assert!(!decide(&blocked, NetOp::Bind(443)).allowed);
        let ports_only = NetPolicy {
            bind: [8080].into_iter().collect(),
            ..Default::default()
        };
        assert!(decide(&ports_only, NetOp::Bind(8080)).allowed);
        assert_eq!(decide(&ports_only, NetOp::Connect(80)).code, "not_granted");
    }
}

fn conflict(message: &str, hints: &[&str]) -> PolicyError {
    PolicyError::NetConflict {
        message: message.to_string(),
        hints: hints.iter().map(|h| h.to_string()).collect(),
    }
}

/// The host allowlist of a request, with the combination rules (SPEC.md,
/// "Host-allowlist mode"): `--net-allow` drops profiles' host lists;
/// `--net-block` (the stricter) drops them too; a host list given on the
/// command line together with either, or with a port grant, is a
/// contradiction and refused.
pub fn hosts_from(spec: &PolicySpec) -> Result<Vec<HostEntry>, PolicyError> {
    let flag_hosts = spec
        .allow_hosts
        .iter()
        .any(|(_, s)| matches!(s, Source::Flag(_)));
    let ports = !spec.allow_connect.is_empty() || !spec.allow_bind.is_empty();
    if spec.net_allow {
        if flag_hosts {
            return Err(conflict(
                "--net-allow and --allow-host contradict each other: one allows every host, the other a list",
                &["drop one of them"],
            ));
        }
        if spec.net_block || ports {
            return Err(conflict(
                "--net-allow contradicts --net-block and port grants (--allow-connect, --allow-bind)",
                &["drop one of them"],
            ));
        }
        return Ok(Vec::new());
    }
    let mut out: Vec<HostEntry> = Vec::new();
    for (entry, source) in &spec.allow_hosts {
        let mut push = |rule: HostRule, group: Option<String>| {
            if !out.iter().any(|e| e.rule == rule) {
                out.push(HostEntry {
                    rule,
                    source: source.clone(),
                    group,
                });
            }
        };
        if let Some(name) = entry.strip_prefix('@') {
            let groups = crate::proxy::groups::all().map_err(PolicyError::BuiltinData)?;
            let Some(g) = groups.iter().find(|g| g.name == name) else {
                let known: Vec<String> = groups.iter().map(|g| format!("@{}", g.name)).collect();
                return Err(PolicyError::HostRule(allow::HostRuleError {
                    given: entry.clone(),
                    why: format!("no such host group (built-in groups: {})", known.join(", ")),
                }));
            };
            for h in &g.hosts {
                let rule = allow::parse_rule(&h.host).map_err(PolicyError::HostRule)?;
                push(rule, Some(g.name.clone()));
            }
        } else {
            push(
                allow::parse_rule(entry).map_err(PolicyError::HostRule)?,
                None,
            );
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    if spec.net_block {
        if flag_hosts {
            return Err(conflict(
                "--allow-host contradicts --net-block (or a profile's network.block): one allows some hosts, the other none",
                &["drop --net-block to reach the listed hosts, or drop --allow-host for no network at all"],
            ));
        }
        return Ok(Vec::new());
    }
    if ports {
        return Err(conflict(
            "--allow-host cannot be combined with --allow-connect or --allow-bind: a port grant opens that port on every address, which the host allowlist exists to prevent",
            &[
                "name the host and port instead: --allow-host HOST:PORT",
                "in host-allowlist mode the command may bind and connect on its own loopback freely; --allow-bind is not needed",
            ],
        ));
    }
    Ok(out)
}

/// The answer to `nono why --host HOST[:PORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostDecision {
    pub host: String,
    pub port: u16,
    pub allowed: bool,
    /// `not_restricted`, `host_listed`, `host_not_listed`, `net_blocked`,
    /// `port_granted`, `port_not_granted`.
    pub code: &'static str,
    pub text: String,
    /// The entry that allows it.
    pub entry: Option<String>,
    pub source: Option<String>,
    pub suggestion: Option<String>,
    pub notes: Vec<String>,
}

/// Parses `HOST[:PORT]` for `why --host`; no PORT means 443.
pub fn parse_query(q: &str) -> Result<(RequestHost, u16), PolicyError> {
    let bad = |why: &str| {
        PolicyError::HostRule(allow::HostRuleError {
            given: q.to_string(),
            why: why.to_string(),
        })
    };
    let (h, p) = allow::split_host_port(q).map_err(bad)?;
    let port = match p {
        None => 443,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("PORT must be a number from 1 to 65535"))?,
    };
    let host = RequestHost::parse(h).ok_or_else(|| bad("not a valid DNS name or IP address"))?;
    Ok((host, port))
}

/// Decides a connection to `host:port` under `net`, as the proxy and the
/// namespace would (before name resolution).
pub fn decide_host(net: &NetPolicy, host: &RequestHost, port: u16) -> HostDecision {
    let mut d = HostDecision {
        host: host.to_string(),
        port,
        allowed: false,
        code: "host_not_listed",
        text: String::new(),
        entry: None,
        source: None,
        suggestion: None,
        notes: Vec::new(),
    };
    if net.block {
        d.code = "net_blocked";
        d.text = "--net-block: no network at all".into();
        return d;
    }
    if net.has_port_grants() {
        d.allowed = net.connect.contains(&port);
        d.code = if d.allowed {
            "port_granted"
        } else {
            "port_not_granted"
        };
        d.text = if d.allowed {
            format!("--allow-connect {port} allows TCP to this port on every address")
        } else {
            format!("port grants block everything else; TCP connect {port} is not granted")
        };
        if !d.allowed {
            d.suggestion = Some(format!("--allow-connect {port}"));
        }
        return d;
    }
    if !net.host_mode() {
        d.allowed = true;
        d.code = "not_restricted";
        d.text = "no network option was given: every host is reachable".into();
        return d;
    }
    match net.allowlist().decide(host, port) {
        Verdict::Allowed(rule) => {
            d.allowed = true;
            d.code = "host_listed";
            let e = net.hosts.iter().find(|e| e.rule == rule);
            d.source = e.map(|e| match &e.group {
                Some(g) => format!("{} (@{g})", e.source),
                None => e.source.to_string(),
            });
            d.entry = Some(rule.to_string());
            d.text = format!("allowed by the host allowlist entry {rule}, through the proxy");
            if rule.exposed().is_some() {
                d.text = format!(
                    "allowed by {rule}: that port of this machine's loopback is exposed inside the sandbox at the same address"
                );
            } else if let RequestHost::Name(_) = host {
                d.notes.push("the proxy resolves the name when connecting: an address in a loopback, link-local or private range is refused unless an entry names it".into());
            }
        }
        Verdict::NotListed => {
            d.text = "host-allowlist mode: the host and port are not on the list; the proxy answers 403 and no socket reaches anything outside the sandbox".into();
            d.suggestion = Some(format!("--allow-host {host}:{port}"));
        }
    }
    d
}

#[cfg(test)]
mod host_tests {
    use super::*;

    fn spec(hosts: &[(&str, Source)]) -> PolicySpec {
        PolicySpec {
            allow_hosts: hosts
                .iter()
                .map(|(h, s)| (h.to_string(), s.clone()))
                .collect(),
            ..Default::default()
        }
    }
    const FLAG: Source = Source::Flag("--allow-host");
    fn prof() -> Source {
        Source::Profile {
            name: "p".into(),
            key: "network.allow_hosts",
        }
    }

    #[test]
    fn combinations_are_defined() {
        let s = spec(&[("a.test", FLAG), ("a.test", prof())]);
        assert_eq!(hosts_from(&s).unwrap().len(), 1, "duplicates merge");
        let mut s = spec(&[("a.test", FLAG)]);
        s.net_allow = true;
        assert!(matches!(
            hosts_from(&s),
            Err(PolicyError::NetConflict { .. })
        ));
        let mut s = spec(&[("a.test", prof())]);
        s.net_allow = true;
        assert_eq!(
            hosts_from(&s).unwrap(),
            vec![],
            "--net-allow drops a profile's list"
        );
        s.net_allow = false;
        s.net_block = true;
        assert_eq!(
            hosts_from(&s).unwrap(),
            vec![],
            "--net-block wins over a profile's list"
        );
        let mut s = spec(&[("a.test", FLAG)]);
        s.net_block = true;
        assert!(matches!(
            hosts_from(&s),
            Err(PolicyError::NetConflict { .. })
        ));
        let mut s = spec(&[("a.test", prof())]);
        s.allow_connect = vec![443];
        assert!(matches!(
            hosts_from(&s),
            Err(PolicyError::NetConflict { .. })
        ));
    }

    #[test]
    fn groups_expand_and_unknown_ones_are_refused() {
        let got = hosts_from(&spec(&[("@github", prof())])).unwrap();
        assert!(got.iter().any(|e| e.rule.to_string() == "github.com"));
        assert!(got.iter().all(|e| e.group.as_deref() == Some("github")));
        assert!(matches!(
            hosts_from(&spec(&[("@nope", FLAG)])),
            Err(PolicyError::HostRule(_))
        ));
    }

    #[test]
    fn why_answers_from_the_same_list() {
        let net = NetPolicy {
            hosts: hosts_from(&spec(&[("*.example.com", FLAG), ("localhost:5432", FLAG)])).unwrap(),
            ..Default::default()
        };
        let (h, p) = parse_query("api.example.com").unwrap();
        let d = decide_host(&net, &h, p);
        assert!(d.allowed);
        assert_eq!(
            (d.code, d.entry.as_deref()),
            ("host_listed", Some("*.example.com"))
        );
        let (h, p) = parse_query("example.com:443").unwrap();
        let d = decide_host(&net, &h, p);
        assert!(!d.allowed);
        assert_eq!(
            d.suggestion.as_deref(),
            Some("--allow-host example.com:443")
        );
        let (h, p) = parse_query("127.0.0.1:5432").unwrap();
        assert!(
            decide_host(&net, &h, p).allowed,
            "loopback entries are one port of the host's loopback"
        );
        let (h, p) = parse_query("localhost:5432").unwrap();
        assert!(decide_host(&net, &h, p).allowed);
        assert!(decide_host(&NetPolicy::default(), &h, p).allowed);
    }
}
