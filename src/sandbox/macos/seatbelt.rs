//! The macOS backend's profile: a pure function from the platform-neutral
//! [`Policy`] to Seatbelt's profile language (SBPL). Built and unit-tested on
//! every platform; only applying it (`macos.rs`, `sandbox_init`) needs macOS.
//!
//! The profile is the commented base profile `seatbelt/base.sbpl` (deny
//! default, then what every process needs) followed by generated rules:
//!
//! 1. one group of allows per policy [`Rule`](crate::policy::Rule): `subpath`
//!    for a directory, `literal` for a file; see [`grant_ops`] for the
//!    mapping of each [`Access`] right to Seatbelt operations;
//! 2. network ([`NetRules`]);
//! 3. denies: blocked commands, then every protected path. Seatbelt lets the
//!    last matching rule win, so these denies override any allow above,
//!    including a grant of a directory that contains a protected path.
//!
//! **No path is ever written into the profile text.** Every path is passed
//! as a parameter (`(param "P3")`, filled in by `sandbox_init_with_parameters`):
//! the text depends only on the number, kinds and rights of the rules, so a
//! directory named `a")) (allow default) ;` cannot change what the profile
//! means. There is no escaping function because nothing is escaped. Paths
//! that are not UTF-8 or contain NUL are refused (fail closed): parameters
//! are C strings and APFS and HFS+ store only UTF-8 names anyway.
//!
//! Differences from Landlock, by design of the two kernels:
//! - Truncation: Seatbelt has no operation for it. `open(O_TRUNC)`,
//!   `truncate` and `ftruncate` are `file-write-data`, the same operation as
//!   writing. Granting write therefore grants truncation of existing files;
//!   delete protection on macOS covers unlink, rmdir, rename and move, not
//!   truncation. (On Linux, existing data can be overwritten in place but not
//!   shortened; on macOS it can also be shortened.)
//! - Protected paths are denied explicitly after the allows, so on macOS they
//!   would not need the carve-out that Landlock needs. The policy's rules are
//!   still carved (the same rules that `nono why` evaluates); the deny is
//!   what guarantees the protection here.
//! - Rights on a directory rule apply to the directory itself as well as to
//!   everything beneath it (`subpath`), except `file-write-unlink`, which is
//!   limited to the entries beneath, as Landlock's REMOVE_* are.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::policy::{Access, Kind, Origin, Policy};

/// The base profile, kept as a commented file next to this module.
pub const BASE: &str = include_str!("seatbelt/base.sbpl");

/// Why a profile could not be generated. The command is not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeatbeltError {
    #[error("cannot pass {} to Seatbelt: the path is not valid UTF-8", .0.display())]
    NotUtf8(PathBuf),
    #[error("cannot pass {} to Seatbelt: the path contains a NUL byte", .0.display())]
    Nul(PathBuf),
    #[error("cannot pass {} to Seatbelt: the path is not absolute", .0.display())]
    NotAbsolute(PathBuf),
}

/// The network part of a sandbox, in the terms Seatbelt can express. Kept
/// separate from [`Policy`] so that it can be wired to the policy's network
/// options in one small function ([`NetRules::from_policy`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetRules {
    /// `--net-block`: no IP traffic and no DNS.
    pub block: bool,
    /// With `block`: TCP ports that may still be connected to (any host).
    pub connect_tcp: Vec<u16>,
    /// With `block`: TCP ports that may still be bound and listened on.
    pub bind_tcp: Vec<u16>,
    /// Unix sockets of the host that may be connected to (e.g. a granted
    /// docker.sock); resolved like every other path. Every other host
    /// socket is denied.
    pub unix_sockets: Vec<PathBuf>,
    /// Host-allowlist mode: IP traffic only to these loopback ports. Takes
    /// the place of `block` (the policy never combines a host list with
    /// `--net-block` or port grants).
    pub via_proxy: Option<ViaProxy>,
}

/// The loopback TCP ports a command in host-allowlist mode may connect to:
/// the egress proxy's, and each exposed host port (`localhost:PORT`,
/// `127.0.0.1:PORT`), which on macOS is the host's loopback itself. Nothing
/// else of the network, not even DNS: the proxy resolves names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViaProxy {
    pub proxy: u16,
    /// Sorted, without duplicates, without the proxy's port.
    pub exposed: Vec<u16>,
}

impl ViaProxy {
    /// The ports for `allow`, the proxy's chosen as on Linux
    /// ([`crate::proxy::proxy_addr`]: never an exposed port).
    pub fn for_allowlist(allow: &crate::proxy::allow::Allowlist) -> ViaProxy {
        let proxy = crate::proxy::proxy_addr(allow).port();
        let mut exposed: Vec<u16> = allow
            .exposed()
            .iter()
            .map(|e| e.listen.port())
            .filter(|p| *p != proxy)
            .collect();
        exposed.sort_unstable();
        exposed.dedup();
        ViaProxy { proxy, exposed }
    }
}

impl NetRules {
    /// The network rules of `policy`.
    pub fn from_policy(policy: &Policy) -> NetRules {
        let net = &policy.net;
        NetRules {
            // A port grant implies no other network, as on Linux.
            block: net.restricted(),
            connect_tcp: net.connect.iter().copied().collect(),
            bind_tcp: net.bind.iter().copied().collect(),
            unix_sockets: net.unix_sockets.iter().map(|u| u.path.clone()).collect(),
            via_proxy: net
                .host_mode()
                .then(|| ViaProxy::for_allowlist(&net.allowlist())),
        }
    }
}

/// What the profile needs beyond [`Policy::rules`] and
/// [`Policy::protected`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub net: NetRules,
    /// Executables that may not be run by any process in the sandbox
    /// (the command blocklist, resolved to canonical paths).
    pub blocked_commands: Vec<PathBuf>,
    /// System directories found at run time whose programs every sandbox
    /// may read and run: the developer directory selected with
    /// `xcode-select` (see [`developer_bundle`]).
    pub system_exec: Vec<PathBuf>,
}

/// Appends formatted text (and a newline) to the profile being built.
/// Formatting into a `String` cannot fail, so there is no result to drop.
macro_rules! emit_line {
    ($s:expr, $($fmt:tt)*) => {{
        $s.push_str(&format!($($fmt)*));
        $s.push('\n');
    }};
}

/// Appends formatted text to the profile being built.
macro_rules! emit {
    ($s:expr, $($fmt:tt)*) => {
        $s.push_str(&format!($($fmt)*))
    };
}

/// The directory to grant for a developer directory selected with
/// `xcode-select` (the target of /private/var/db/xcode_select_link): the
/// whole `.app` bundle when it lies in one, because Xcode's tools load
/// frameworks from `Contents/SharedFrameworks` and `Contents/Frameworks`
/// too; else the directory itself (Command Line Tools).
pub fn developer_bundle(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|a| a.extension().is_some_and(|e| e == "app"))
        .unwrap_or(dir)
        .to_path_buf()
}

/// A generated profile: SBPL text plus the values of its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The profile. Contains no byte of any path.
    pub text: String,
    /// `(name, value)` for every `(param "name")` in `text`, in order of
    /// first use. Values are canonical paths.
    pub params: Vec<(String, String)>,
}

/// Maps a path to the form Seatbelt matches: absolute with every symlink
/// resolved (/tmp is /private/tmp on macOS). Injectable so that tests on any
/// platform can simulate macOS.
pub type Resolver<'a> = &'a dyn Fn(&Path) -> PathBuf;

/// The resolver for this machine: the longest existing prefix of `path` is
/// canonicalized, the rest appended as written (protected paths need not
/// exist).
pub fn host_resolver(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(existing) {
            let mut out = c;
            for name in rest.iter().rev() {
                out.push(name);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// The Seatbelt operations that one platform-neutral right grants on a rule
/// of `kind`. This is the one Access -> Seatbelt mapping.
///
/// - READ: `file-read*` (data, metadata, xattrs; listing for directories).
/// - EXECUTE: `process-exec`, and `file-map-executable` so that dyld can map
///   libraries and plug-ins found there.
/// - WRITE: create files, directories, links and sockets
///   (`file-write-create`), write into files (`file-write-data`, which on
///   macOS includes truncation, see the module docs), chmod
///   (`file-write-mode`), utimes (`file-write-times`) and extended
///   attributes (`file-write-xattr`, e.g. com.apple.quarantine copied by
///   cp and tar). Not `file-write-unlink`, so no unlink, rmdir, rename or
///   move; not `file-write-setugid` (setuid bits), `file-write-owner`,
///   `file-write-flags` (chflags) or `file-write-acl`.
/// - DELETE: `file-write-unlink` (unlink, rmdir, rename and move away) on
///   the entries beneath a directory; nothing on a file rule, where Landlock
///   too can only add truncation.
/// - IOCTL: `file-ioctl`.
pub fn grant_ops(access: Access, kind: Kind) -> Vec<&'static str> {
    let mut ops = Vec::new();
    if access.contains(Access::READ) {
        ops.push("file-read*");
    }
    if access.contains(Access::EXECUTE) {
        ops.extend(["process-exec", "file-map-executable"]);
    }
    if access.contains(Access::WRITE) {
        ops.extend([
            "file-write-create",
            "file-write-data",
            "file-write-mode",
            "file-write-times",
            "file-write-xattr",
        ]);
    }
    if access.contains(Access::IOCTL) {
        ops.push("file-ioctl");
    }
    if access.contains(Access::DELETE) && kind == Kind::Dir {
        ops.push(UNLINK_OP);
    }
    ops
}

/// The operation behind delete protection. It is emitted with a filter of
/// its own (entries beneath the directory, not the directory itself).
const UNLINK_OP: &str = "file-write-unlink";

/// What a protected path is denied: everything a grant could give.
const PROTECTED_OPS: &str =
    "file-read* file-write* process-exec file-map-executable file-ioctl network-outbound";

/// What a read-only protected path is denied: every write (it stays
/// readable where a grant covers it).
const READ_ONLY_OPS: &str = "file-write*";

/// Mach services that only make sense with network access: DNS
/// configuration and certificate trust evaluation (TLS in programs that use
/// Security.framework, e.g. everything written in Go or Swift). trustd
/// evaluates certificates; it does not serve keychain items.
const NET_MACH_SERVICES: [&str; 3] = [
    "com.apple.SystemConfiguration.DNSConfiguration",
    "com.apple.trustd",
    "com.apple.trustd.agent",
];

/// Generates the profile for `policy`. Pure apart from `resolve`.
pub fn profile(
    policy: &Policy,
    extras: &Extras,
    resolve: Resolver<'_>,
) -> Result<Profile, SeatbeltError> {
    let mut params = Params::default();
    let mut s = String::from(BASE);
    if !s.ends_with('\n') {
        s.push('\n');
    }

    s.push_str("\n; ================================================ generated by nono\n");
    s.push_str("; ---------------------------------------------------------------- grants\n");
    for rule in &policy.rules {
        let access = rule.access();
        let ops = grant_ops(access, rule.kind);
        let tempdir = rule.parts.iter().any(|(_, o)| *o == Origin::TempDir);
        if ops.is_empty() && !tempdir {
            continue;
        }
        let p = params.add(&resolve(&rule.path))?;
        let filter = match rule.kind {
            Kind::Dir => format!("(subpath {p})"),
            Kind::File => format!("(literal {p})"),
        };
        emit_line!(s, "; {} {}", rule.kind.name(), access.short());
        let plain: Vec<&str> = ops.iter().copied().filter(|o| *o != UNLINK_OP).collect();
        if !plain.is_empty() {
            emit_line!(s, "(allow {} {filter})", plain.join(" "));
        }
        if ops.contains(&UNLINK_OP) {
            emit_line!(
                s,
                "(allow {UNLINK_OP} (require-all (subpath {p}) (require-not (literal {p}))))"
            );
        }
        if tempdir {
            // Programs talk to themselves over Unix sockets in TMPDIR (tmux,
            // ssh ControlMaster, language servers, test servers).
            emit_line!(s, "; unix sockets in the private temporary directory");
            emit_line!(s, "(allow network* (subpath {p}))");
        }
    }

    if !extras.system_exec.is_empty() {
        s.push_str(
            "; the selected developer directory (xcode-select): xcrun shims run tools from it\n",
        );
    }
    for dir in &extras.system_exec {
        let p = params.add(&resolve(dir))?;
        emit_line!(
            s,
            "(allow file-read* file-map-executable process-exec (subpath {p}))"
        );
    }

    s.push_str("; ---------------------------------------------------------------- network\n");
    net_rules(&mut s, &mut params, &extras.net, resolve)?;

    // Everything below is a deny and must stay after every allow.
    s.push_str(
        "; ---------------------------------------------------------------- blocked commands\n",
    );
    for cmd in &extras.blocked_commands {
        let p = params.add(&resolve(cmd))?;
        emit_line!(s, "(deny process-exec (literal {p}))");
    }

    s.push_str(
        "; ---------------------------------------------------------------- protected paths\n",
    );
    s.push_str("; Last in the profile: the last matching rule wins, so these hold even\n");
    s.push_str("; inside a granted directory.\n");
    // Both the path as listed and as resolved: a protected path that does
    // not exist yet is listed lexically (/etc/...), Seatbelt sees /private/etc.
    let mut seen: Vec<String> = Vec::new();
    for prot in &policy.protected {
        for candidate in [prot.path.clone(), resolve(&prot.path)] {
            let p = params.add(&candidate)?;
            if !seen.contains(&p) {
                let ops = if prot.read_only {
                    READ_ONLY_OPS
                } else {
                    PROTECTED_OPS
                };
                emit_line!(s, "(deny {ops} (subpath {p}))");
                seen.push(p);
            }
        }
    }

    Ok(Profile {
        text: s,
        params: params.into_vec(),
    })
}

fn net_rules(
    s: &mut String,
    params: &mut Params,
    net: &NetRules,
    resolve: Resolver<'_>,
) -> Result<(), SeatbeltError> {
    if let Some(via) = &net.via_proxy {
        s.push_str("; host-allowlist mode: TCP only to the egress proxy on loopback, and to\n");
        s.push_str("; exposed loopback ports. No other IP traffic, no DNS (the proxy\n");
        s.push_str("; resolves), no trustd (it fetches certificates itself, past the proxy).\n");
        emit_line!(
            s,
            "(allow network-outbound (remote tcp \"localhost:{}\"))",
            via.proxy
        );
        for port in &via.exposed {
            emit_line!(
                s,
                "(allow network-outbound (remote tcp \"localhost:{port}\"))"
            );
        }
    } else if net.block {
        s.push_str("; --net-block: no IP traffic, no DNS ((deny default) covers it)\n");
        for port in &net.connect_tcp {
            emit_line!(s, "(allow network-outbound (remote tcp \"*:{port}\"))");
        }
        for port in &net.bind_tcp {
            emit_line!(
                s,
                "(allow network-bind network-inbound (local tcp \"*:{port}\"))"
            );
        }
    } else {
        s.push_str("; IP traffic to and from any host. Not Unix sockets: (remote ip) does not\n");
        s.push_str("; match them, so the host's sockets (docker, ssh-agent) stay denied.\n");
        s.push_str("(allow network-outbound (remote ip \"*:*\"))\n");
        s.push_str("(allow network-bind network-inbound (local ip \"*:*\"))\n");
        s.push_str("; DNS: getaddrinfo asks mDNSResponder over this socket.\n");
        s.push_str("(allow network-outbound (literal \"/private/var/run/mDNSResponder\"))\n");
        s.push_str("; Interface list (getifaddrs).\n");
        s.push_str("(allow sysctl-read (sysctl-name-prefix \"net.routetable\"))\n");
        s.push_str("(allow mach-lookup");
        for name in NET_MACH_SERVICES {
            emit!(s, "\n  (global-name \"{name}\")");
        }
        s.push_str(")\n");
    }
    if !net.unix_sockets.is_empty() {
        s.push_str("; host Unix sockets granted by name (connect only)\n");
    }
    for sock in &net.unix_sockets {
        // /var/run/docker.sock is /private/var/run/docker.sock to Seatbelt.
        let p = params.add(&resolve(sock))?;
        emit_line!(s, "(allow network-outbound (literal {p}))");
    }
    Ok(())
}

/// Parameter names and values. The same path always gets the same name.
#[derive(Default)]
struct Params {
    values: Vec<(String, String)>,
    index: BTreeMap<String, usize>,
}

impl Params {
    /// Registers `path` and returns the SBPL expression that refers to it.
    fn add(&mut self, path: &Path) -> Result<String, SeatbeltError> {
        let value = param_value(path)?;
        let i = match self.index.get(&value) {
            Some(i) => *i,
            None => {
                let i = self.values.len();
                self.values.push((format!("P{i}"), value.clone()));
                self.index.insert(value, i);
                i
            }
        };
        Ok(format!("(param \"P{i}\")"))
    }

    fn into_vec(self) -> Vec<(String, String)> {
        self.values
    }
}

/// The one gate every path passes on its way to Seatbelt.
fn param_value(path: &Path) -> Result<String, SeatbeltError> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.contains(&0) {
        return Err(SeatbeltError::Nul(path.to_path_buf()));
    }
    if !path.is_absolute() {
        return Err(SeatbeltError::NotAbsolute(path.to_path_buf()));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => Err(SeatbeltError::NotUtf8(path.to_path_buf())),
    }
}

#[cfg(test)]
mod tests;
