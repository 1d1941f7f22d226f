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
use super::spec::Source;
use super::PolicyError;

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
        })
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
    use std::path::Path;

    fn ctx(dir: &Path) -> Context {
        Context {
            home: dir.to_path_buf(),
            cwd: dir.to_path_buf(),
        }
    }

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
    let why = if net.block {
        "--net-block blocks every socket but Unix ones".to_string()
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
