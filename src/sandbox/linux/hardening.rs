//! Which Linux layer enforces which guarantee, for `--dry-run`. A pure
//! function of the policy, the ABI nono uses and the seccomp rules that
//! `seccomp::build` made for them: every line that names system calls
//! lists them from those rules, grouped by the filter's own reasons
//! (`TOPICS`), so a rule cannot be installed without appearing here (a
//! unit test checks that every reason belongs to a topic).

use crate::output;
use crate::policy::NetPolicy;
use crate::sandbox::abi::Abi;
use crate::sandbox::{Guarantee, PlannedRule};

use super::seccomp::why;

/// Each enforcement topic and the seccomp reasons whose rules it
/// describes. Every reason `seccomp::build` can use is listed once (the
/// test below holds the lines to it).
#[cfg(test)]
pub const TOPICS: [(&str, &[&str]); 11] = [
    ("truncation", &[why::TRUNCATE]),
    (
        "network",
        &[
            why::SOCKET_HOST_MODE,
            why::SOCKET_BLOCKED,
            why::SOCKET_BLOCKED_UNIX,
            why::SOCKET_TCP_ONLY,
            why::FASTOPEN,
            why::LISTEN,
        ],
    ),
    (
        "unix sockets",
        &[why::SOCKET_NO_UNIX, why::SOCKET_VSOCK, why::SOCKETPAIR],
    ),
    ("terminal", &[why::TERMINAL]),
    ("keyring", &[why::KEYRING]),
    ("io_uring", &[why::IO_URING]),
    ("setuid bits", &[why::SUGID]),
    ("file length", &[why::FALLOCATE]),
    ("mounts", &[why::MOUNT]),
    ("namespaces", &[why::NAMESPACE, why::CLONE3]),
    ("hidden arguments", &[why::OPENAT2]),
];

fn g(topic: &'static str, text: impl Into<String>) -> Guarantee {
    Guarantee {
        topic,
        text: text.into(),
    }
}

fn ports(set: &std::collections::BTreeSet<u16>) -> String {
    set.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// "a, b and c"
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The rules refused for reason `why`, as "a, b and c fail with EPERM;
/// d fails with ENOSYS". Empty when there are none.
fn refused(rules: &[PlannedRule], why: &str) -> String {
    let mut parts = Vec::new();
    for errno in ["EPERM", "ENOSYS"] {
        let names: Vec<&str> = rules
            .iter()
            .filter(|r| r.errno == errno && r.why.contains(&why))
            .map(|r| r.syscall)
            .collect();
        if names.is_empty() {
            continue;
        }
        let verb = if names.len() == 1 { "fails" } else { "fail" };
        parts.push(format!("{} {verb} with {errno}", and_list(&names)));
    }
    parts.join("; ")
}

/// The names of the rules refused for reason `why`, as "a, b and c".
fn calls(rules: &[PlannedRule], why: &str) -> String {
    let names: Vec<&str> = rules
        .iter()
        .filter(|r| r.why.contains(&why))
        .map(|r| r.syscall)
        .collect();
    and_list(&names)
}

/// `seccomp: {what}` for reason `why`, or nothing when no rule has it.
fn seccomp_line(
    out: &mut Vec<Guarantee>,
    topic: &'static str,
    rules: &[PlannedRule],
    why: &str,
    detail: &str,
) {
    let r = refused(rules, why);
    if !r.is_empty() {
        out.push(g(topic, format!("seccomp: {r}{detail}")));
    }
}

/// The enforcement lines for the network policy `net` on Landlock ABI
/// `abi`, with `rules` the seccomp filter built for the same policy and
/// ABI.
pub fn guarantees(
    net: &NetPolicy,
    abi: i32,
    rules: &[PlannedRule],
    keep_caps: bool,
    privileged: bool,
) -> Vec<Guarantee> {
    let mut out = Vec::new();

    out.push(if abi >= Abi::TRUNCATE {
        g(
            "truncation",
            "Landlock: denied except where delete is allowed (--allow-delete, TMPDIR)",
        )
    } else {
        g(
            "truncation",
            format!(
                "seccomp (Landlock ABI {abi} has no TRUNCATE): {} (the open calls only with O_TRUNC, unless O_CREAT|O_EXCL) everywhere, TMPDIR and new files included ('>' redirection and fopen(\"w\") fail; '>>' works); {} so libc falls back to openat",
                refused(rules, why::TRUNCATE),
                refused(rules, why::OPENAT2)
            ),
        )
    });

    let families =
        "UDP (so DNS), ICMP/raw, MPTCP, SCTP, netlink, packet, vsock and every other socket family";
    if !net.restricted() {
        out.push(g(
            "network",
            "allowed (no --net-block): TCP, UDP and DNS work, loopback included",
        ));
    } else if net.has_port_grants() {
        let mut t = String::from("restricted to TCP");
        if !net.connect.is_empty() {
            t += &format!(", connect to port {}", ports(&net.connect));
        }
        if !net.bind.is_empty() {
            t += &format!(", bind port {}", ports(&net.bind));
        }
        t += &format!(
            " (any address, loopback included): Landlock TCP port rules (ABI {}); seccomp's socket() rule refuses {families}, and TCP Fast Open (MSG_FASTOPEN in {}: it connects around Landlock's connect check)",
            Abi::NET,
            calls(rules, why::FASTOPEN)
        );
        if rules.iter().any(|r| r.why.contains(&why::LISTEN)) {
            t += "; listen() refused (on an unbound socket it would bind an ephemeral port unseen by Landlock)";
        } else {
            t += "; GAP: listen() on an unbound socket binds an ephemeral port, which Landlock does not check";
        }
        out.push(g("network", t));
    } else {
        let landlock = if abi >= Abi::NET {
            "; Landlock also denies every TCP bind and connect".to_string()
        } else {
            format!(
                " (Landlock ABI < {} has no TCP rules: seccomp alone)",
                Abi::NET
            )
        };
        out.push(g(
            "network",
            format!(
                "blocked, loopback included: seccomp refuses every IP socket, {families} (socket(){}){landlock}",
                if rules.iter().any(|r| r.why.contains(&why::SOCKETPAIR) && r.syscall == "socketpair") {
                    ", and socketpair() but for Unix pairs"
                } else {
                    ""
                }
            ),
        ));
    }

    if net.unix_granted() {
        let paths: Vec<String> = net
            .unix_sockets
            .iter()
            .map(|u| output::path(&u.path))
            .collect();
        out.push(g(
            "unix sockets",
            format!(
                "ALL Unix sockets allowed, not only {}: the kernel cannot check the path of connect() before Landlock ABI {}, so a grant is all-or-nothing; {} (socket() of AF_VSOCK, a virtual machine's channel to its host)",
                paths.join(", "),
                Abi::UNIX_PATHS,
                if rules.iter().any(|r| r.why.contains(&why::SOCKET_VSOCK)) {
                    "seccomp refuses only AF_VSOCK"
                } else {
                    "seccomp refuses AF_VSOCK with the other families"
                }
            ),
        ));
        out.push(if abi >= Abi::SCOPES {
            g(
                "abstract sockets",
                "Landlock scope: only those created inside this sandbox",
            )
        } else {
            g(
                "abstract sockets",
                format!(
                    "NOT confined on this kernel (needs {}) since Unix sockets are granted",
                    Abi::SCOPES.needs()
                ),
            )
        });
    } else {
        out.push(g(
            "unix sockets",
            format!(
                "host sockets unreachable (docker.sock, D-Bus, ssh-agent; pathname and abstract): seccomp refuses socket(AF_UNIX) and AF_VSOCK, and datagram {} (which can sendto() host sockets); stream socketpair() and pipes work",
                calls(rules, why::SOCKETPAIR)
            ),
        ));
    }

    out.push(if abi >= Abi::SCOPES {
        g(
            "signals",
            "Landlock scope: only processes inside this sandbox",
        )
    } else {
        g(
            "signals",
            format!(
                "NOT confined on this kernel: the command can signal the user's other processes (needs {}; seccomp cannot see the target)",
                Abi::SCOPES.needs()
            ),
        )
    });
    out.push(g(
        "ptrace",
        "Landlock: only processes inside this sandbox (also /proc/PID/mem, environ, fd)",
    ));
    seccomp_line(
        &mut out,
        "terminal",
        rules,
        why::TERMINAL,
        " for TIOCSTI and TIOCLINUX (keystroke injection)",
    );
    out.push(g(
        "other terminals",
        "Landlock: only the command's own terminal, /dev/tty and /dev/ptmx; a pty made inside cannot be opened (script, tmux)",
    ));
    seccomp_line(&mut out, "keyring", rules, why::KEYRING, "");
    seccomp_line(&mut out, "io_uring", rules, why::IO_URING, "");
    seccomp_line(
        &mut out,
        "setuid bits",
        rules,
        why::SUGID,
        " when the mode has S_ISUID or S_ISGID (other modes pass): no setuid or setgid file is left behind",
    );
    seccomp_line(
        &mut out,
        "file length",
        rules,
        why::FALLOCATE,
        " for FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE, everywhere (TMPDIR and --allow-delete paths included)",
    );
    seccomp_line(
        &mut out,
        "mounts",
        rules,
        why::MOUNT,
        " (Landlock also denies mount, umount and pivot_root)",
    );
    let clone3 = refused(rules, why::CLONE3);
    seccomp_line(
        &mut out,
        "namespaces",
        rules,
        why::NAMESPACE,
        &format!(
            " (unshare and clone only with a CLONE_NEW* flag){}",
            if clone3.is_empty() {
                String::new()
            } else {
                format!("; {clone3} so libc falls back to clone")
            }
        ),
    );
    seccomp_line(
        &mut out,
        "hidden arguments",
        rules,
        why::OPENAT2,
        " (its flags and mode are behind a pointer): libc falls back to openat, whose flags and mode the filter sees",
    );
    out.push(g(
        "syscall ABI",
        "seccomp: x32 and foreign-architecture system calls kill the process",
    ));
    out.push(g(
        "privileges",
        "no_new_privs: setuid and file capabilities do nothing",
    ));
    out.push(g(
        "capabilities",
        match (privileged, keep_caps) {
            (true, false) => {
                "all dropped before exec (bounding, permitted, effective, inheritable, ambient)"
            }
            (true, true) => "KEPT (--keep-caps): the command runs with nono's capabilities",
            (false, _) => "none held",
        },
    ));
    out
}

/// The seccomp filter as Markdown, for SPEC.md: every rule of every kind
/// of sandbox, from `seccomp::build` itself, with where it applies and the
/// filter's own reasons. Generated on x86_64 (other architectures have no
/// chmod, mknod, creat and open calls).
#[cfg(test)]
pub fn seccomp_table() -> String {
    use super::seccomp::{build, Inputs};
    let base = Inputs {
        net_restricted: false,
        tcp_via_landlock: false,
        tcp_bind_granted: false,
        unix_granted: false,
        truncate_fallback: false,
        net_namespace: false,
    };
    let modes = [
        ("no network option", base),
        (
            "`--net-block`",
            Inputs {
                net_restricted: true,
                ..base
            },
        ),
        (
            "port grants",
            Inputs {
                net_restricted: true,
                tcp_via_landlock: true,
                ..base
            },
        ),
        (
            "port grants with `--allow-bind`",
            Inputs {
                net_restricted: true,
                tcp_via_landlock: true,
                tcp_bind_granted: true,
                ..base
            },
        ),
        (
            "`--allow-unix-socket`",
            Inputs {
                unix_granted: true,
                ..base
            },
        ),
        (
            "`--allow-host`",
            Inputs {
                net_namespace: true,
                ..base
            },
        ),
    ];
    let old_abi = Inputs {
        truncate_fallback: true,
        ..base
    };
    type Key = (&'static str, &'static str, bool, Vec<&'static str>);
    let key = |r: &PlannedRule| -> Key { (r.syscall, r.errno, r.always, r.why.clone()) };
    let mut rows: Vec<Key> = Vec::new();
    let mut present: Vec<Vec<&str>> = Vec::new();
    let scenarios = modes.iter().copied().chain([("Landlock ABI < 3", old_abi)]);
    for (label, inp) in scenarios {
        for r in super::planned_rules(&build(inp)) {
            let k = key(&r);
            match rows.iter().position(|x| *x == k) {
                Some(i) => present[i].push(label),
                None => {
                    rows.push(k);
                    present.push(vec![label]);
                }
            }
        }
    }
    let mut s =
        String::from("| call | fails with | arguments | in | why |\n|---|---|---|---|---|\n");
    for ((call, errno, always, why), at) in rows.iter().zip(&present) {
        let modes_at: Vec<&str> = at
            .iter()
            .copied()
            .filter(|l| *l != "Landlock ABI < 3")
            .collect();
        let place = if modes_at.len() == modes.len() {
            "every sandbox".to_string()
        } else if modes_at.is_empty() {
            format!("Landlock ABI < {}", Abi::TRUNCATE)
        } else {
            modes_at.join(", ")
        };
        let args = if *always { "any" } else { "some" };
        s += &format!(
            "| `{call}` | {errno} | {args} | {place} | {} |\n",
            why.join("; ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Policy, PolicySpec};
    use crate::sandbox::linux::{planned_rules, seccomp};

    fn policy(spec: PolicySpec) -> Policy {
        let d = tempfile::tempdir().unwrap();
        crate::test_support::policy_in(&spec, d.path())
    }

    fn rules(p: &Policy, abi: i32) -> Vec<PlannedRule> {
        planned_rules(&seccomp::build(seccomp::Inputs::new(&p.net, abi)))
    }

    fn text(gs: &[Guarantee], topic: &str) -> String {
        gs.iter()
            .find(|g| g.topic == topic)
            .map(|g| g.text.clone())
            .unwrap_or_default()
    }

    fn gs(p: &Policy, abi: i32, keep_caps: bool, privileged: bool) -> Vec<Guarantee> {
        guarantees(&p.net, abi, &rules(p, abi), keep_caps, privileged)
    }

    #[test]
    fn layers_follow_the_abi() {
        let p = policy(PolicySpec {
            net_block: true,
            ..PolicySpec::default()
        });
        let new = gs(&p, 6, false, true);
        assert!(text(&new, "network").contains("Landlock also denies"));
        assert!(text(&new, "signals").starts_with("Landlock scope"));
        assert!(text(&new, "truncation").starts_with("Landlock"));
        let old = gs(&p, 1, false, true);
        assert!(text(&old, "network").contains("seccomp alone"));
        assert!(text(&old, "signals").starts_with("NOT confined"));
        assert!(text(&old, "truncation").starts_with("seccomp"));
        assert!(text(&old, "capabilities").starts_with("all dropped"));
        assert!(text(&gs(&p, 6, true, true), "capabilities").starts_with("KEPT"));
    }

    #[test]
    fn port_grants_are_listed() {
        let p = policy(PolicySpec {
            allow_connect: vec![443, 80],
            allow_bind: vec![3000],
            ..PolicySpec::default()
        });
        let t = text(&gs(&p, 6, false, false), "network");
        assert!(
            t.contains("connect to port 80, 443") && t.contains("bind port 3000"),
            "{t}"
        );
        assert!(t.contains("sendto, sendmsg and sendmmsg"), "{t}");
    }

    /// Every seccomp rule, for every kind of policy and ABI, is described:
    /// its reason belongs to a topic, and that topic's line names the
    /// system call. A rule added to the filter without a place here fails.
    #[test]
    fn every_seccomp_rule_is_described() {
        let claimed: Vec<&str> = TOPICS.iter().flat_map(|(_, w)| w.iter().copied()).collect();
        let mut seen = std::collections::BTreeSet::new();
        for inp in seccomp::tests_support::all_inputs() {
            for r in planned_rules(&seccomp::build(inp)) {
                for w in &r.why {
                    assert!(
                        claimed.contains(w),
                        "{}: reason {w:?} has no topic",
                        r.syscall
                    );
                    seen.insert(*w);
                }
            }
        }
        // No topic claims a reason the filter never gives.
        for w in &claimed {
            assert!(seen.contains(w), "reason {w:?} is never used");
        }
        // And the lines name their calls, for policies built end to end.
        let specs = [
            PolicySpec::default(),
            PolicySpec {
                net_block: true,
                ..PolicySpec::default()
            },
            PolicySpec {
                allow_connect: vec![443],
                ..PolicySpec::default()
            },
        ];
        for spec in specs {
            let p = policy(spec);
            for abi in 1..=6 {
                let rs = rules(&p, abi);
                let lines = gs(&p, abi, false, false);
                for r in &rs {
                    let topics: Vec<&str> = TOPICS
                        .iter()
                        .filter(|(_, w)| r.why.iter().any(|x| w.contains(x)))
                        .map(|(t, _)| *t)
                        .collect();
                    let named = topics.iter().any(|t| {
                        let line = text(&lines, t);
                        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .any(|word| word == r.syscall)
                    });
                    assert!(
                        named,
                        "ABI {abi}: seccomp rule {} is not named by {topics:?}\n{lines:#?}",
                        r.syscall
                    );
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn spec_seccomp_table_is_generated() {
        crate::sandbox::plan::spec_block::check("seccomp-rules", &seccomp_table());
    }
}
