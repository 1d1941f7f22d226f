//! Profile generation, checked structurally (a small s-expression reader),
//! against golden files, and with hostile paths (proptest).
//!
//! Regenerate the golden files after an intended change with
//! `NONO_UPDATE_GOLDEN=1 cargo test seatbelt` and review the diff.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::policy::{Protected, Rule, Source};

// ------------------------------------------------------------ a tiny reader

#[derive(Clone, Debug, PartialEq, Eq)]
enum Sx {
    List(Vec<Sx>),
    Atom(String),
    Str(String),
    Regex(String),
}

impl Sx {
    fn head(&self) -> Option<&str> {
        match self {
            Sx::List(items) => match items.first() {
                Some(Sx::Atom(a)) => Some(a),
                _ => None,
            },
            _ => None,
        }
    }

    fn items(&self) -> &[Sx] {
        match self {
            Sx::List(items) => items,
            _ => &[],
        }
    }

    fn walk<'a>(&'a self, out: &mut Vec<&'a Sx>) {
        out.push(self);
        for i in self.items() {
            i.walk(out);
        }
    }
}

/// Reads SBPL: lists, atoms, "strings" with \\ and \" escapes, #"regex"
/// literals, ; comments. Fails on anything unbalanced or unterminated.
fn read_sbpl(text: &str) -> Result<Vec<Sx>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut stack: Vec<Vec<Sx>> = vec![Vec::new()];
    let read_string = |i: &mut usize| -> Result<String, String> {
        let mut s = String::new();
        loop {
            match chars.get(*i) {
                None => return Err("unterminated string".into()),
                Some('"') => {
                    *i += 1;
                    return Ok(s);
                }
                Some('\\') => {
                    match chars.get(*i + 1) {
                        Some(c @ ('"' | '\\')) => s.push(*c),
                        other => return Err(format!("unknown escape {other:?}")),
                    }
                    *i += 2;
                }
                Some('\n') => return Err("newline in string".into()),
                Some(c) => {
                    s.push(*c);
                    *i += 1;
                }
            }
        }
    };
    while i < chars.len() {
        match chars[i] {
            ';' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            c if c.is_whitespace() => i += 1,
            '(' => {
                stack.push(Vec::new());
                i += 1;
            }
            ')' => {
                let done = stack.pop().ok_or("unbalanced )")?;
                stack.last_mut().ok_or("unbalanced )")?.push(Sx::List(done));
                i += 1;
            }
            '"' => {
                i += 1;
                let s = read_string(&mut i)?;
                stack.last_mut().ok_or("no list")?.push(Sx::Str(s));
            }
            '#' if chars.get(i + 1) == Some(&'"') => {
                i += 2;
                let s = read_string(&mut i)?;
                stack.last_mut().ok_or("no list")?.push(Sx::Regex(s));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '"' | ';')
                {
                    i += 1;
                }
                let atom: String = chars[start..i].iter().collect();
                stack.last_mut().ok_or("no list")?.push(Sx::Atom(atom));
            }
        }
    }
    if stack.len() != 1 {
        return Err(format!("{} unclosed (", stack.len() - 1));
    }
    Ok(stack.pop().unwrap_or_default())
}

fn atom(s: &str) -> Sx {
    Sx::Atom(s.into())
}

/// The invariants every generated profile must satisfy. Returns the forms.
fn check_invariants(p: &Profile) -> Vec<Sx> {
    let forms = read_sbpl(&p.text).unwrap_or_else(|e| panic!("unreadable profile: {e}"));
    assert_eq!(
        forms.first(),
        Some(&Sx::List(vec![atom("version"), Sx::Atom("1".into())])),
        "must start with (version 1)"
    );
    assert_eq!(
        forms.get(1),
        Some(&Sx::List(vec![atom("deny"), atom("default")])),
        "(deny default) must come second"
    );
    assert!(
        p.text.starts_with("(version 1)\n"),
        "(version 1) must be the first line"
    );
    let mut all = Vec::new();
    for f in &forms {
        f.walk(&mut all);
    }
    for f in &all {
        if f.head() == Some("allow") {
            assert!(
                !f.items().contains(&atom("default")),
                "(allow default) found: {f:?}"
            );
        }
    }
    // Unfiltered allows only for operations that name no object worth
    // protecting: an unfiltered file-read*, file-write*, process-exec,
    // mach-lookup or network* would undo the sandbox.
    for f in &forms {
        if f.head() == Some("allow") && !f.items().iter().any(|i| matches!(i, Sx::List(_))) {
            for op in ops_of(f) {
                assert!(
                    UNFILTERED_OK.contains(&op.as_str()),
                    "unfiltered allow of {op}: {f:?}"
                );
            }
        }
    }
    // Every allow precedes every deny except (deny default): the denies
    // are what overrides the allows, and the last matching rule wins.
    let last_allow = forms.iter().rposition(|f| f.head() == Some("allow"));
    let first_deny = forms
        .iter()
        .skip(2)
        .position(|f| f.head() == Some("deny"))
        .map(|i| i + 2);
    if let (Some(a), Some(d)) = (last_allow, first_deny) {
        assert!(a < d, "an allow comes after a deny: {:?}", forms[a]);
    }
    // Every parameter referenced is defined, and every defined one used.
    let names: Vec<&str> = p.params.iter().map(|(n, _)| n.as_str()).collect();
    let mut used: Vec<String> = Vec::new();
    for f in &all {
        if f.head() == Some("param") {
            match f.items() {
                [_, Sx::Str(n)] => {
                    assert!(names.contains(&n.as_str()), "undefined parameter {n}");
                    used.push(n.clone());
                }
                other => panic!("malformed param: {other:?}"),
            }
        }
    }
    for n in &names {
        assert!(used.iter().any(|u| u == n), "parameter {n} unused");
    }
    // Never a door to the keychain, Launch Services or Apple events.
    for f in &all {
        if let Sx::Str(s) | Sx::Regex(s) = f {
            for bad in FORBIDDEN_SERVICES {
                assert!(!s.contains(bad), "{bad} appears in the profile");
            }
        }
        if let Sx::Atom(a) = f {
            assert_ne!(a, "appleevent-send");
        }
    }
    forms
}

const UNFILTERED_OK: [&str; 3] = ["process-fork", "file-read-metadata", "pseudo-tty"];

const FORBIDDEN_SERVICES: [&str; 9] = [
    "SecurityServer",
    "securityd",
    "secd",
    "com.apple.security",
    "launchservicesd",
    "lsd.",
    "lsopen",
    "appleevents",
    "pasteboard",
];

// ------------------------------------------------------------ fixtures

/// macOS canonicalization, simulated: /tmp, /var and /etc are symlinks into
/// /private.
fn macos_resolver(p: &Path) -> PathBuf {
    for top in ["/tmp", "/var", "/etc"] {
        if let Ok(rest) = p.strip_prefix(top) {
            let base = PathBuf::from(format!("/private{top}"));
            return if rest.as_os_str().is_empty() {
                base
            } else {
                base.join(rest)
            };
        }
    }
    p.to_path_buf()
}

fn identity(p: &Path) -> PathBuf {
    p.to_path_buf()
}

fn sys(path: &str, kind: Kind, access: Access) -> Rule {
    Rule {
        path: path.into(),
        kind,
        parts: vec![(
            access,
            Origin::System {
                why: "system".into(),
            },
        )],
    }
}

fn user(path: &str, kind: Kind, access: Access, flag: &'static str) -> Rule {
    Rule {
        path: path.into(),
        kind,
        parts: vec![(
            access,
            Origin::User {
                source: Source::Flag(flag),
                given: path.into(),
            },
        )],
    }
}

fn tmp(path: &str) -> Rule {
    Rule {
        path: path.into(),
        kind: Kind::Dir,
        parts: vec![(Access::ALL, Origin::TempDir)],
    }
}

fn prot(path: &str) -> Protected {
    Protected {
        path: path.into(),
        category: "test".into(),
        exists: true,
        read_only: false,
    }
}

fn system_rules() -> Vec<Rule> {
    vec![
        sys("/bin", Kind::Dir, Access::READ_EXEC),
        sys("/dev/null", Kind::File, Access::READ | Access::WRITE),
        sys("/etc/hosts", Kind::File, Access::READ),
        sys("/opt", Kind::Dir, Access::READ_EXEC),
        sys("/private/etc/passwd", Kind::File, Access::READ),
        sys("/sbin", Kind::Dir, Access::READ_EXEC),
        sys("/usr", Kind::Dir, Access::READ_EXEC),
    ]
}

fn protected_list() -> Vec<Protected> {
    vec![
        prot("/Users/u/.aws"),
        prot("/Users/u/.netrc"),
        prot("/Users/u/.ssh"),
        prot("/etc/sudoers"),
        prot("/private/etc/ssh/ssh_host_ed25519_key"),
    ]
}

fn with(mut rules: Vec<Rule>, more: Vec<Rule>) -> Vec<Rule> {
    rules.extend(more);
    rules.sort_by(|a, b| a.path.cmp(&b.path));
    rules
}

fn generate(policy: &Policy, extras: &Extras, r: Resolver<'_>) -> Profile {
    let p = profile(policy, extras, r).expect("profile");
    check_invariants(&p);
    p
}

fn param<'a>(p: &'a Profile, value: &str) -> &'a str {
    p.params
        .iter()
        .find(|(_, v)| v == value)
        .map(|(n, _)| n.as_str())
        .unwrap_or_else(|| panic!("no parameter for {value}: {:?}", p.params))
}

/// The generated forms (after the base profile) whose text mentions `expr`.
fn forms_with<'a>(forms: &'a [Sx], name: &str) -> Vec<&'a Sx> {
    let needle = Sx::List(vec![atom("param"), Sx::Str(name.into())]);
    forms
        .iter()
        .filter(|f| {
            let mut all = Vec::new();
            f.walk(&mut all);
            all.contains(&&needle)
        })
        .collect()
}

fn ops_of(form: &Sx) -> Vec<String> {
    form.items()
        .iter()
        .skip(1)
        .filter_map(|i| match i {
            Sx::Atom(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------ unit tests

#[test]
fn base_profile_reads_and_has_a_reason_for_every_allow() {
    let forms = read_sbpl(BASE).unwrap();
    assert!(forms.len() > 5);
    let lines: Vec<&str> = BASE.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("(allow") || t.starts_with("(global-name") {
            let prev = lines[..n]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim_start())
                .unwrap_or("");
            assert!(
                prev.starts_with(';') || prev.starts_with("(allow mach-lookup"),
                "line {}: `{t}` has no `;` reason right above it",
                n + 1
            );
        }
    }
    // Each Mach service is listed with its own reason.
    let gn = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("(global-name"))
        .count();
    assert!(gn >= 3);
}

#[test]
fn write_never_grants_unlink_and_delete_grants_it_below_the_directory_only() {
    let w = grant_ops(Access::READ_WRITE, Kind::Dir);
    assert!(w.contains(&"file-write-data") && w.contains(&"file-write-create"));
    for denied in [
        "file-write-unlink",
        "file-write*",
        "file-write-setugid",
        "file-write-owner",
        "file-write-flags",
        "file-write-acl",
        "file-ioctl",
    ] {
        assert!(!w.contains(&denied), "--allow must not grant {denied}");
    }
    assert_eq!(
        grant_ops(Access::DELETE, Kind::Dir),
        vec!["file-write-unlink"]
    );
    assert!(grant_ops(Access::DELETE, Kind::File).is_empty());
    assert_eq!(
        grant_ops(Access::READ_EXEC, Kind::Dir),
        vec!["file-read*", "process-exec", "file-map-executable"]
    );

    let policy = Policy::from_parts(
        vec![
            user("/Users/u/proj", Kind::Dir, Access::READ_WRITE, "--allow"),
            user(
                "/Users/u/proj/build",
                Kind::Dir,
                Access::DELETE,
                "--allow-delete",
            ),
        ],
        vec![],
        false,
    );
    let p = generate(&policy, &Extras::default(), &identity);
    let forms = read_sbpl(&p.text).unwrap();
    let proj = forms_with(&forms, param(&p, "/Users/u/proj"));
    assert!(
        proj.iter()
            .all(|f| !ops_of(f).contains(&"file-write-unlink".into())),
        "{proj:?}"
    );
    let build = param(&p, "/Users/u/proj/build");
    let b = forms_with(&forms, build);
    assert_eq!(b.len(), 1);
    let expected = read_sbpl(&format!(
        "(allow file-write-unlink (require-all (subpath (param \"{build}\")) (require-not (literal (param \"{build}\")))))"
    ))
    .unwrap();
    assert_eq!(b[0], &expected[0]);
}

#[test]
fn dirs_are_subpaths_and_files_literals() {
    let policy = Policy::from_parts(
        vec![
            user("/Users/u/f.txt", Kind::File, Access::READ_EXEC, "--read"),
            user("/Users/u/d", Kind::Dir, Access::READ_EXEC, "--read"),
        ],
        vec![],
        false,
    );
    let p = generate(&policy, &Extras::default(), &identity);
    assert!(p.text.contains(&format!(
        "(allow file-read* process-exec file-map-executable (literal (param \"{}\")))",
        param(&p, "/Users/u/f.txt")
    )));
    assert!(p.text.contains(&format!(
        "(allow file-read* process-exec file-map-executable (subpath (param \"{}\")))",
        param(&p, "/Users/u/d")
    )));
}

#[test]
fn only_the_commands_own_terminal_device_is_reachable() {
    // The policy grants the terminal on descriptors 0-2 by name (as
    // own_terminals does); the base profile grants no /dev/ttysN of its own.
    let rw_ioctl = Access::READ_WRITE.union(Access::IOCTL);
    let policy = Policy::from_parts(
        vec![sys("/dev/ttys003", Kind::File, rw_ioctl)],
        vec![],
        false,
    );
    let p = generate(&policy, &Extras::default(), &identity);
    let forms = read_sbpl(&p.text).unwrap();
    let mut all = Vec::new();
    for f in &forms {
        f.walk(&mut all);
    }
    let param = param(&p, "/dev/ttys003");
    let grant = all
        .iter()
        .filter(|f| f.head() == Some("allow"))
        .find(|f| format!("{f:?}").contains(param))
        .expect("the own terminal is granted");
    let ops = ops_of(grant);
    for op in ["file-read*", "file-ioctl"] {
        assert!(ops.iter().any(|o| o == op), "{op} in {ops:?}");
    }
    assert!(ops.iter().any(|o| o.starts_with("file-write")), "{ops:?}");
    assert!(
        !p.text.contains("ttys[0-9]") && !p.text.contains("(subpath \"/dev\")"),
        "no rule reaches every terminal device"
    );
    // Without it, no terminal device but /dev/tty is named at all.
    let none = generate(
        &Policy::from_parts(vec![], vec![], false),
        &Extras::default(),
        &identity,
    );
    let code: String = none
        .text
        .lines()
        .filter(|l| !l.trim_start().starts_with(';'))
        .collect();
    assert!(!code.contains("/dev/ttys"), "{code}");
    assert!(none.text.contains("(literal \"/dev/tty\")"));
}

#[test]
fn paths_are_resolved_like_macos_and_protected_paths_denied_in_both_forms() {
    let policy = Policy::from_parts(
        vec![tmp("/var/folders/xy/T/nono-501/run-abc")],
        vec![prot("/etc/sudoers"), prot("/Users/u/.ssh")],
        false,
    );
    let p = generate(&policy, &Extras::default(), &macos_resolver);
    let values: Vec<&str> = p.params.iter().map(|(_, v)| v.as_str()).collect();
    assert!(values.contains(&"/private/var/folders/xy/T/nono-501/run-abc"));
    assert!(!values.contains(&"/var/folders/xy/T/nono-501/run-abc"));
    assert!(values.contains(&"/etc/sudoers") && values.contains(&"/private/etc/sudoers"));
    assert_eq!(
        macos_resolver(Path::new("/tmp")),
        PathBuf::from("/private/tmp")
    );
    let forms = read_sbpl(&p.text).unwrap();
    for v in ["/etc/sudoers", "/private/etc/sudoers", "/Users/u/.ssh"] {
        let f = forms_with(&forms, param(&p, v));
        assert_eq!(f.len(), 1, "{v}: {f:?}");
        assert_eq!(f[0].head(), Some("deny"));
        let ops = ops_of(f[0]);
        assert!(ops.contains(&"file-read*".into()) && ops.contains(&"file-write*".into()));
    }
}

#[test]
fn protected_deny_follows_a_grant_that_covers_it() {
    let policy = Policy::from_parts(
        vec![user("/Users/u", Kind::Dir, Access::READ_WRITE, "--allow")],
        vec![prot("/Users/u/.ssh")],
        false,
    );
    let p = generate(&policy, &Extras::default(), &identity);
    let forms = read_sbpl(&p.text).unwrap();
    let home = param(&p, "/Users/u");
    let ssh = param(&p, "/Users/u/.ssh");
    let pos = |name: &str| {
        forms
            .iter()
            .position(|f| forms_with(std::slice::from_ref(f), name).len() == 1)
    };
    assert!(pos(home).unwrap() < pos(ssh).unwrap());
}

#[test]
fn only_the_temporary_directory_gets_unix_sockets() {
    let policy = Policy::from_parts(
        vec![
            tmp("/private/var/folders/T/run-1"),
            user("/Users/u/proj", Kind::Dir, Access::READ_WRITE, "--allow"),
        ],
        vec![],
        true,
    );
    let p = generate(&policy, &Extras::default(), &identity);
    let forms = read_sbpl(&p.text).unwrap();
    let net_forms = |name: &str| -> usize {
        forms_with(&forms, name)
            .iter()
            .filter(|f| ops_of(f).iter().any(|o| o.starts_with("network")))
            .count()
    };
    assert_eq!(net_forms(param(&p, "/private/var/folders/T/run-1")), 1);
    assert_eq!(net_forms(param(&p, "/Users/u/proj")), 0);
    // The private directory gets everything, delete included.
    let t = forms_with(&forms, param(&p, "/private/var/folders/T/run-1"));
    let all: Vec<String> = t.iter().flat_map(|f| ops_of(f)).collect();
    for op in [
        "file-read*",
        "file-write-data",
        "file-write-unlink",
        "process-exec",
    ] {
        assert!(all.contains(&op.to_string()), "{op}: {all:?}");
    }
}

fn host_policy(entries: &[&str]) -> Policy {
    let mut policy = Policy::from_parts(system_rules(), vec![], false);
    policy.net.hosts = entries
        .iter()
        .map(|e| crate::policy::net::HostEntry {
            rule: crate::proxy::allow::parse_rule(e).unwrap(),
            source: Source::Flag("--allow-host"),
            group: None,
        })
        .collect();
    policy
}

#[test]
fn host_allowlist_reaches_only_the_proxy_and_exposed_loopback_ports() {
    let policy = host_policy(&[
        "api.example",
        "localhost:5432",
        "127.0.0.1:8080",
        "[::1]:8080",
    ]);
    let net = NetRules::from_policy(&policy);
    assert_eq!(
        net.via_proxy,
        Some(ViaProxy {
            proxy: crate::proxy::PROXY_PORT,
            exposed: vec![5432, 8080],
        })
    );
    assert!(!net.block && net.connect_tcp.is_empty() && net.bind_tcp.is_empty());
    let extras = Extras {
        net,
        ..Extras::default()
    };
    let p = generate(&policy, &extras, &identity);
    let forms = read_sbpl(&p.text).unwrap();
    let mut all = Vec::new();
    for f in &forms {
        f.walk(&mut all);
    }
    let network_allows: Vec<Sx> = all
        .iter()
        .filter(|f| f.head() == Some("allow"))
        .filter(|f| ops_of(f).iter().any(|o| o.starts_with("network")))
        .map(|f| (*f).clone())
        .collect();
    let want = read_sbpl(&format!(
        "(allow network-outbound (remote tcp \"localhost:{}\"))
         (allow network-outbound (remote tcp \"localhost:5432\"))
         (allow network-outbound (remote tcp \"localhost:8080\"))",
        crate::proxy::PROXY_PORT
    ))
    .unwrap();
    assert_eq!(network_allows, want, "only the proxy and the exposed ports");
    // No DNS (the proxy resolves), no interface list, no trustd.
    for absent in [
        "mDNSResponder",
        "DNSConfiguration",
        "net.routetable",
        "com.apple.trustd",
        "remote ip",
        "local ",
    ] {
        assert!(!p.text.contains(absent), "{absent} in the profile");
    }

    // An exposed port that would take the proxy's moves the proxy, as on
    // Linux; the port is then only listed once.
    let taken = format!("localhost:{}", crate::proxy::PROXY_PORT);
    let net = NetRules::from_policy(&host_policy(&["api.example", &taken]));
    let via = net.via_proxy.unwrap();
    assert_ne!(via.proxy, crate::proxy::PROXY_PORT);
    assert_eq!(via.exposed, vec![crate::proxy::PROXY_PORT]);

    // Control: without a host list, no proxy rule and the open network.
    let open = NetRules::from_policy(&Policy::from_parts(system_rules(), vec![], false));
    assert_eq!(open.via_proxy, None);
    let p = generate(
        &Policy::from_parts(system_rules(), vec![], false),
        &Extras {
            net: open,
            ..Extras::default()
        },
        &identity,
    );
    assert!(p
        .text
        .contains("(allow network-outbound (remote ip \"*:*\"))"));
}

#[test]
fn net_block_allows_no_ip_no_dns_and_keeps_granted_sockets() {
    let policy = Policy::from_parts(system_rules(), vec![], true);
    let extras = Extras {
        net: NetRules::from_policy(&policy),
        ..Extras::default()
    };
    assert!(extras.net.block);
    let p = generate(&policy, &extras, &identity);
    let forms = read_sbpl(&p.text).unwrap();
    let mut all = Vec::new();
    for f in &forms {
        f.walk(&mut all);
    }
    let network_allows: Vec<&&Sx> = all
        .iter()
        .filter(|f| f.head() == Some("allow"))
        .filter(|f| ops_of(f).iter().any(|o| o.starts_with("network")))
        .collect();
    assert!(network_allows.is_empty(), "{network_allows:?}");
    assert!(!p.text.contains("mDNSResponder"));
    assert!(!p.text.contains("DNSConfiguration"));

    let extras = Extras {
        net: NetRules {
            block: true,
            connect_tcp: vec![443],
            bind_tcp: vec![8080],
            unix_sockets: vec!["/Users/u/.colima/docker.sock".into()],
            via_proxy: None,
        },
        ..Extras::default()
    };
    let p = generate(&policy, &extras, &identity);
    assert!(p
        .text
        .contains("(allow network-outbound (remote tcp \"*:443\"))"));
    let resolved = generate(
        &policy,
        &Extras {
            net: NetRules {
                unix_sockets: vec!["/var/run/docker.sock".into()],
                ..NetRules::default()
            },
            ..Extras::default()
        },
        &macos_resolver,
    );
    param(&resolved, "/private/var/run/docker.sock");
    assert!(p
        .text
        .contains("(allow network-bind network-inbound (local tcp \"*:8080\"))"));
    let sock = param(&p, "/Users/u/.colima/docker.sock");
    assert!(p.text.contains(&format!(
        "(allow network-outbound (literal (param \"{sock}\")))"
    )));
    assert!(!p.text.contains("(remote ip"));
}

#[test]
fn open_network_is_ip_only() {
    let policy = Policy::from_parts(system_rules(), vec![], false);
    let p = generate(&policy, &Extras::default(), &identity);
    let forms = read_sbpl(&p.text).unwrap();
    for f in &forms {
        if f.head() == Some("allow") && ops_of(f).iter().any(|o| o.starts_with("network")) {
            // Each network allow is filtered: IP addresses or one named path,
            // never unfiltered (which would open every Unix socket).
            let filters: Vec<&Sx> = f
                .items()
                .iter()
                .filter(|i| matches!(i, Sx::List(_)))
                .collect();
            assert_eq!(filters.len(), 1, "{f:?}");
            let h = filters[0].head();
            assert!(
                matches!(
                    h,
                    Some("remote") | Some("local") | Some("literal") | Some("subpath")
                ),
                "{f:?}"
            );
        }
    }
    assert!(p
        .text
        .contains("(allow network-outbound (remote ip \"*:*\"))"));
}

#[test]
fn blocked_commands_are_denied_after_the_grants() {
    let policy = Policy::from_parts(system_rules(), vec![], false);
    let extras = Extras {
        blocked_commands: vec!["/bin/rm".into()],
        ..Extras::default()
    };
    let p = generate(&policy, &extras, &identity);
    let rm = param(&p, "/bin/rm");
    assert!(p
        .text
        .contains(&format!("(deny process-exec (literal (param \"{rm}\")))")));
}

#[test]
fn unusable_paths_fail_closed() {
    let bad_utf8 = PathBuf::from(OsStr::from_bytes(b"/Users/u/\xff\xfe"));
    let with_nul = PathBuf::from(OsStr::from_bytes(b"/Users/u/a\0b"));
    let cases = [
        (bad_utf8.clone(), SeatbeltError::NotUtf8(bad_utf8)),
        (with_nul.clone(), SeatbeltError::Nul(with_nul)),
        (
            PathBuf::from("rel/x"),
            SeatbeltError::NotAbsolute("rel/x".into()),
        ),
    ];
    for (path, err) in cases {
        // As a grant ...
        let mut r = user("/x", Kind::Dir, Access::READ, "--read");
        r.path = path.clone();
        let policy = Policy::from_parts(vec![r], vec![], false);
        assert_eq!(
            profile(&policy, &Extras::default(), &identity),
            Err(err.clone())
        );
        // ... and, which matters more, as a protected path: never dropped.
        let mut pr = prot("/x");
        pr.path = path.clone();
        let policy = Policy::from_parts(vec![], vec![pr], false);
        assert_eq!(profile(&policy, &Extras::default(), &identity), Err(err));
    }
}

#[test]
fn developer_dir_is_granted_as_its_app_bundle() {
    assert_eq!(
        developer_bundle(Path::new("/Applications/Xcode_16.2.app/Contents/Developer")),
        PathBuf::from("/Applications/Xcode_16.2.app")
    );
    assert_eq!(
        developer_bundle(Path::new("/Library/Developer/CommandLineTools")),
        PathBuf::from("/Library/Developer/CommandLineTools")
    );
}

#[test]
fn host_resolver_keeps_missing_tails() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::canonicalize(dir.path()).unwrap();
    std::os::unix::fs::symlink(&real, real.join("link")).unwrap();
    assert_eq!(
        host_resolver(&real.join("link/missing/deeper")),
        real.join("missing/deeper")
    );
    assert_eq!(host_resolver(&real.join("link")), real);
}

// ------------------------------------------------------------ golden files

fn golden_cases() -> Vec<(&'static str, Policy, Extras)> {
    let minimal = Policy::from_parts(
        with(
            system_rules(),
            vec![tmp("/var/folders/xy/abc/T/nono-501/run-Q1w2E3")],
        ),
        protected_list(),
        false,
    );
    let project = Policy::from_parts(
        with(
            system_rules(),
            vec![
                user("/Users/u/proj", Kind::Dir, Access::READ_WRITE, "--allow"),
                user(
                    "/Users/u/proj/target",
                    Kind::Dir,
                    Access::DELETE,
                    "--allow-delete",
                ),
                user("/Users/u/lib", Kind::Dir, Access::READ_EXEC, "--read"),
                user("/Users/u/out.log", Kind::File, Access::WRITE, "--write"),
                tmp("/private/var/folders/xy/abc/T/nono-501/run-Q1w2E3"),
            ],
        ),
        protected_list(),
        true,
    );
    let project_extras = Extras {
        net: NetRules {
            block: true,
            connect_tcp: vec![443],
            bind_tcp: vec![],
            unix_sockets: vec![],
            via_proxy: None,
        },
        blocked_commands: vec!["/bin/rm".into(), "/bin/dd".into()],
        system_exec: vec!["/Applications/Xcode_16.2.app".into()],
    };
    // `--allow ~`, carved around the protected entries.
    let carve = |p: &str, kind| Rule {
        path: p.into(),
        kind,
        parts: vec![(
            Access::READ_WRITE,
            Origin::CarveOut {
                grant: "/Users/u".into(),
                from: Box::new(Origin::User {
                    source: Source::Flag("--allow"),
                    given: "~".into(),
                }),
            },
        )],
    };
    let home = Policy::from_parts(
        with(
            system_rules(),
            vec![
                carve("/Users/u/Documents", Kind::Dir),
                carve("/Users/u/proj", Kind::Dir),
                carve("/Users/u/notes.txt", Kind::File),
                tmp("/var/folders/xy/abc/T/nono-501/run-Q1w2E3"),
            ],
        ),
        protected_list(),
        false,
    );
    let home_extras = Extras {
        net: NetRules {
            unix_sockets: vec!["/Users/u/.colima/default/docker.sock".into()],
            ..NetRules::default()
        },
        ..Extras::default()
    };
    // `--allow . --allow-host api.example --allow-host localhost:5432`.
    let hosts = Policy::from_parts(
        with(
            system_rules(),
            vec![
                user("/Users/u/proj", Kind::Dir, Access::READ_WRITE, "--allow"),
                tmp("/var/folders/xy/abc/T/nono-501/run-Q1w2E3"),
            ],
        ),
        protected_list(),
        false,
    );
    let hosts_extras = Extras {
        net: NetRules {
            via_proxy: Some(ViaProxy {
                proxy: 41080,
                exposed: vec![5432],
            }),
            ..NetRules::default()
        },
        ..Extras::default()
    };
    vec![
        ("minimal", minimal, Extras::default()),
        ("project-net-block", project, project_extras),
        ("home-carved", home, home_extras),
        ("host-allowlist", hosts, hosts_extras),
    ]
}

fn render_golden(p: &Profile) -> String {
    let mut s = p.text.clone();
    s.push_str(
        "\n; ---- parameters (golden file only: passed to sandbox_init_with_parameters) ----\n",
    );
    for (n, v) in &p.params {
        s.push_str(&format!("; {n} = {}\n", v.escape_debug()));
    }
    s
}

#[test]
fn golden_profiles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sandbox/macos/seatbelt/golden");
    let update = std::env::var_os("NONO_UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (name, policy, extras) in golden_cases() {
        let p = generate(&policy, &extras, &macos_resolver);
        let got = render_golden(&p);
        let file = dir.join(format!("{name}.sbpl"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&file, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!("{}: {e} (NONO_UPDATE_GOLDEN=1 creates it)", file.display())
        });
        // The golden file itself must read as the same profile.
        check_invariants(&Profile {
            text: want.clone(),
            params: p.params.clone(),
        });
        if got != want {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "golden profiles differ: {stale:?}; review with NONO_UPDATE_GOLDEN=1 cargo test golden && git diff"
    );
}

// ------------------------------------------------------------ hostile paths

/// Path components built from what breaks quoting: quotes, parentheses,
/// backslashes, semicolons, newlines and other control characters, `#"`,
/// dots and slashes, non-ASCII; and whole injection attempts. Paths are
/// compared as strings throughout, so `//` or `/../` need no special case.
fn hostile_component() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z\"()\\\\;#|./\n\r\t\u{0}-\u{1f} é€\u{202e}]{1,12}",
        Just("a\")) (allow default) ;".to_string()),
        Just("\")(allow default)(deny \"".to_string()),
        Just("\\\")) (allow file-write* (subpath \"/\")) ;".to_string()),
        Just("x\n(allow default)\n".to_string()),
        Just("#\"^/\"".to_string()),
    ]
}

fn hostile_path() -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_component(), 1..4).prop_map(|cs| format!("/{}", cs.join("/")))
}

fn access_strategy() -> impl Strategy<Value = Access> {
    (0u8..32).prop_map(|bits| {
        let mut a = Access::NONE;
        for (i, r) in [
            Access::READ,
            Access::EXECUTE,
            Access::WRITE,
            Access::DELETE,
            Access::IOCTL,
        ]
        .into_iter()
        .enumerate()
        {
            if bits & (1 << i) != 0 {
                a |= r;
            }
        }
        a
    })
}

/// A policy with hostile paths, and the same policy with each distinct path
/// replaced by a harmless one.
fn policies_from(
    rules: &[(String, bool, Access, bool)],
    protected: &[String],
    sockets: &[String],
    blocked: &[String],
    block: bool,
) -> (Policy, Extras, Policy, Extras, HashMap<String, String>) {
    let mut benign: HashMap<String, String> = HashMap::new();
    let mut map = |p: &String| -> String {
        let n = benign.len();
        benign
            .entry(p.clone())
            .or_insert_with(|| format!("/benign/{n}"))
            .clone()
    };
    let mk_rule = |p: String, dir: bool, a: Access, tmpdir: bool| Rule {
        path: p.into(),
        kind: if dir { Kind::Dir } else { Kind::File },
        parts: vec![(
            a,
            if tmpdir {
                Origin::TempDir
            } else {
                Origin::System { why: "t".into() }
            },
        )],
    };
    let mut hr = Vec::new();
    let mut br = Vec::new();
    for (p, dir, a, t) in rules {
        hr.push(mk_rule(p.clone(), *dir, *a, *t));
        br.push(mk_rule(map(p), *dir, *a, *t));
    }
    let hp: Vec<Protected> = protected.iter().map(|p| prot(p)).collect();
    let bp: Vec<Protected> = protected.iter().map(|p| prot(&map(p))).collect();
    let he = Extras {
        net: NetRules {
            block,
            unix_sockets: sockets.iter().map(PathBuf::from).collect(),
            ..NetRules::default()
        },
        blocked_commands: blocked.iter().map(PathBuf::from).collect(),
        system_exec: vec![],
    };
    let be = Extras {
        net: NetRules {
            block,
            unix_sockets: sockets.iter().map(|s| PathBuf::from(map(s))).collect(),
            ..NetRules::default()
        },
        blocked_commands: blocked.iter().map(|s| PathBuf::from(map(s))).collect(),
        system_exec: vec![],
    };
    (
        Policy::from_parts(hr, hp, block),
        he,
        Policy::from_parts(br, bp, block),
        be,
        benign,
    )
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer run.
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256), ..ProptestConfig::default() })]

    /// Whatever the paths, the profile text is exactly the text for harmless
    /// paths of the same shape (so no path can change its meaning), it reads
    /// as well-formed SBPL with all invariants, and every parameter carries
    /// its path unchanged.
    #[test]
    fn hostile_paths_never_change_the_profile(
        rules in prop::collection::vec((hostile_path(), any::<bool>(), access_strategy(), any::<bool>()), 0..5),
        protected in prop::collection::vec(hostile_path(), 0..4),
        sockets in prop::collection::vec(hostile_path(), 0..2),
        blocked in prop::collection::vec(hostile_path(), 0..2),
        block in any::<bool>(),
    ) {
        let (hp, he, bp, be, _) = policies_from(&rules, &protected, &sockets, &blocked, block);
        let hostile = profile(&hp, &he, &identity);
        // Every path that grants something or is denied reaches Seatbelt; a
        // rule that grants nothing is left out.
        let needed: Vec<&String> = rules
            .iter()
            .filter(|(_, dir, a, t)| *t || !grant_ops(*a, if *dir { Kind::Dir } else { Kind::File }).is_empty())
            .map(|r| &r.0)
            .chain(&protected)
            .chain(&sockets)
            .chain(&blocked)
            .collect();
        if needed.iter().any(|p| p.contains('\0')) {
            prop_assert!(matches!(hostile, Err(SeatbeltError::Nul(_))));
            return Ok(());
        }
        let hostile = hostile.expect("profile");
        let benign = profile(&bp, &be, &identity).expect("benign profile");
        prop_assert_eq!(&hostile.text, &benign.text);
        check_invariants(&hostile);
        // Parameters round-trip: same names, values are the original paths.
        let all_paths: Vec<&String> = rules.iter().map(|r| &r.0).chain(&protected).chain(&sockets).chain(&blocked).collect();
        prop_assert_eq!(hostile.params.len(), benign.params.len());
        for (n, v) in &hostile.params {
            prop_assert!(all_paths.contains(&v), "{:?} is not one of the paths", v);
            let reference = format!("(param \"{n}\")");
            prop_assert!(hostile.text.contains(&reference), "{} unused", n);
        }
        for p in needed {
            prop_assert!(hostile.params.iter().any(|(_, v)| v == p), "{:?} lost", p);
        }
    }

    /// Arbitrary bytes: either the path is valid UTF-8 without NUL and is
    /// passed through unchanged, or the profile is refused.
    #[test]
    fn arbitrary_bytes_pass_unchanged_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..24)) {
        let mut raw = b"/".to_vec();
        raw.extend(&bytes);
        let path = PathBuf::from(OsStr::from_bytes(&raw));
        let mut pr = prot("/x");
        pr.path = path.clone();
        let policy = Policy::from_parts(vec![], vec![pr], false);
        match profile(&policy, &Extras::default(), &identity) {
            Ok(p) => {
                check_invariants(&p);
                let s = std::str::from_utf8(&raw).expect("accepted only if UTF-8");
                prop_assert!(!s.contains('\0'));
                prop_assert!(p.params.iter().any(|(_, v)| v == s));
            }
            Err(SeatbeltError::NotUtf8(_)) => prop_assert!(std::str::from_utf8(&raw).is_err()),
            Err(SeatbeltError::Nul(_)) => prop_assert!(raw.contains(&0)),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}

#[test]
fn the_reader_catches_what_the_invariants_rely_on() {
    // The checks above are only as good as this reader: make sure it fails
    // on what an injected path would produce.
    assert!(read_sbpl("(allow (subpath \"a\")").is_err());
    assert!(read_sbpl("(allow (subpath \"a\"))))").is_err());
    assert!(read_sbpl("(allow (subpath \"a))").is_err());
    assert!(read_sbpl("(a \"x\ny\")").is_err());
    let forms = read_sbpl("(version 1) ; c \"(\n(deny default) (allow default)").unwrap();
    assert_eq!(forms.len(), 3);
    for bad in [
        "(version 1)\n(deny default)\n(allow default)\n",
        "(version 1)\n(deny default)\n(allow file-read*)\n",
        "(version 1)\n(deny default)\n(allow mach-lookup (global-name \"com.apple.SecurityServer\"))\n",
        "(deny default)\n(version 1)\n",
    ] {
        let bad = Profile {
            text: bad.into(),
            params: vec![],
        };
        assert!(
            std::panic::catch_unwind(|| check_invariants(&bad)).is_err(),
            "accepted: {}",
            bad.text
        );
    }
    let late_allow = Profile {
        text: "(version 1)\n(deny default)\n(deny file-read* (subpath \"/a\"))\n(allow file-read* (subpath \"/a\"))\n".into(),
        params: vec![],
    };
    assert!(std::panic::catch_unwind(|| check_invariants(&late_allow)).is_err());
}

#[test]
fn read_only_protected_paths_deny_writes_only() {
    let mut ro = prot("/Users/u/.gitconfig");
    ro.read_only = true;
    let policy = Policy::from_parts(vec![], vec![prot("/Users/u/.ssh"), ro], false);
    let p = profile(&policy, &Extras::default(), &|p: &Path| p.to_path_buf()).unwrap();
    let name = |path: &str| {
        p.params
            .iter()
            .find(|(_, v)| v == path)
            .map(|(n, _)| n.clone())
            .unwrap()
    };
    let (ssh, git) = (name("/Users/u/.ssh"), name("/Users/u/.gitconfig"));
    let line_for = |n: &str| {
        p.text
            .lines()
            .find(|l| l.starts_with("(deny") && l.contains(&format!("\"{n}\"")))
            .unwrap()
            .to_string()
    };
    assert!(line_for(&ssh).starts_with("(deny file-read* file-write*"));
    assert!(line_for(&git).starts_with("(deny file-write* (subpath"));
}
