//! Which Linux layer enforces which guarantee, for `--dry-run`. A pure
//! function of the policy and the ABI nono uses, so the text cannot drift
//! from what `landlock::apply` and `seccomp::build` do (both read the same
//! ABI thresholds).

use super::landlock::ABI_SCOPE;
use super::seccomp::{ABI_NET, ABI_TRUNCATE};
use crate::output;
use crate::policy::Policy;
use crate::sandbox::Guarantee;

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

pub fn guarantees(policy: &Policy, abi: i32, keep_caps: bool, privileged: bool) -> Vec<Guarantee> {
    let net = &policy.net;
    let mut out = Vec::new();

    out.push(if abi >= ABI_TRUNCATE {
        g(
            "truncation",
            "Landlock: denied except where delete is allowed (--allow-delete, TMPDIR)",
        )
    } else {
        g(
            "truncation",
            format!(
                "seccomp (Landlock ABI {abi} has no TRUNCATE): open/openat with O_TRUNC (unless O_CREAT|O_EXCL), creat, truncate and ftruncate fail with EPERM everywhere, TMPDIR and new files included ('>' redirection and fopen(\"w\") fail; '>>' works); openat2 fails with ENOSYS so libc falls back to openat"
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
            " (any address, loopback included): Landlock TCP port rules (ABI {ABI_NET}); seccomp refuses {families}, and TCP Fast Open (MSG_FASTOPEN connects around Landlock's connect check)"
        );
        if net.bind.is_empty() && !net.unix_granted() {
            t += "; listen() refused (on an unbound socket it would bind an ephemeral port unseen by Landlock)";
        } else {
            t += "; GAP: listen() on an unbound socket binds an ephemeral port, which Landlock does not check";
        }
        out.push(g("network", t));
    } else {
        let landlock = if abi >= ABI_NET {
            "; Landlock also denies every TCP bind and connect"
        } else {
            " (Landlock ABI < 4 has no TCP rules: seccomp alone)"
        };
        out.push(g(
            "network",
            format!(
                "blocked, loopback included: seccomp refuses every IP socket, {families}{landlock}"
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
                "ALL Unix sockets allowed, not only {}: the kernel cannot check the path of connect() before Landlock ABI 9, so a grant is all-or-nothing",
                paths.join(", ")
            ),
        ));
        out.push(if abi >= ABI_SCOPE {
            g(
                "abstract sockets",
                "Landlock scope: only those created inside this sandbox",
            )
        } else {
            g(
                "abstract sockets",
                "NOT confined on this kernel (needs Landlock ABI 6, Linux 6.12) since Unix sockets are granted",
            )
        });
    } else {
        out.push(g(
            "unix sockets",
            "host sockets unreachable (docker.sock, D-Bus, ssh-agent; pathname and abstract): seccomp refuses socket(AF_UNIX) and datagram socketpair() (which can sendto() host sockets); stream socketpair() and pipes work",
        ));
    }

    out.push(if abi >= ABI_SCOPE {
        g(
            "signals",
            "Landlock scope: only processes inside this sandbox",
        )
    } else {
        g(
            "signals",
            "NOT confined on this kernel: the command can signal the user's other processes (needs Landlock ABI 6, Linux 6.12; seccomp cannot see the target)",
        )
    });
    out.push(g(
        "ptrace",
        "Landlock: only processes inside this sandbox (also /proc/PID/mem, environ, fd)",
    ));
    out.push(g(
        "terminal",
        "seccomp: TIOCSTI and TIOCLINUX ioctls (keystroke injection) fail with EPERM",
    ));
    out.push(g(
        "other terminals",
        "Landlock: only the command's own terminal, /dev/tty and /dev/ptmx; a pty made inside cannot be opened (script, tmux)",
    ));
    out.push(g(
        "keyring",
        "seccomp: keyctl, add_key, request_key fail with EPERM",
    ));
    out.push(g(
        "io_uring",
        "seccomp: io_uring_setup/enter/register fail with EPERM",
    ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicySpec;

    fn policy(spec: PolicySpec) -> Policy {
        let d = tempfile::tempdir().unwrap();
        crate::test_support::policy_in(&spec, d.path())
    }

    fn text(gs: &[Guarantee], topic: &str) -> String {
        gs.iter()
            .find(|g| g.topic == topic)
            .map(|g| g.text.clone())
            .unwrap_or_default()
    }

    #[test]
    fn layers_follow_the_abi() {
        let p = policy(PolicySpec {
            net_block: true,
            ..PolicySpec::default()
        });
        let new = guarantees(&p, 6, false, true);
        assert!(text(&new, "network").contains("Landlock also denies"));
        assert!(text(&new, "signals").starts_with("Landlock scope"));
        assert!(text(&new, "truncation").starts_with("Landlock"));
        let old = guarantees(&p, 1, false, true);
        assert!(text(&old, "network").contains("seccomp alone"));
        assert!(text(&old, "signals").starts_with("NOT confined"));
        assert!(text(&old, "truncation").starts_with("seccomp"));
        assert!(text(&old, "capabilities").starts_with("all dropped"));
        assert!(text(&guarantees(&p, 6, true, true), "capabilities").starts_with("KEPT"));
    }

    #[test]
    fn port_grants_are_listed() {
        let p = policy(PolicySpec {
            allow_connect: vec![443, 80],
            allow_bind: vec![3000],
            ..PolicySpec::default()
        });
        let t = text(&guarantees(&p, 6, false, false), "network");
        assert!(
            t.contains("connect to port 80, 443") && t.contains("bind port 3000"),
            "{t}"
        );
    }
}
