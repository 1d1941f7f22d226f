//! The seccomp layer: what Landlock cannot see.
//!
//! Landlock mediates paths, TCP ports and (ABI 6) scopes. It does not see
//! socket families (UDP, raw, MPTCP, SCTP, netlink, vsock, ...), io_uring,
//! terminal ioctls on the inherited tty, the kernel keyring, fallocate()
//! modes that shorten or shift a file, nor, before ABI 3, truncation. This module closes those doors with a deny-list
//! filter built by [`build`] (a pure function of the policy and the ABI,
//! unit-tested) and compiled with `seccompiler` (pure Rust, maintained by
//! the Firecracker project: no C library to link, the same code that
//! confines Firecracker's VMMs).
//!
//! Design decisions:
//! - Deny-list, default allow: nono runs arbitrary programs (shells,
//!   compilers, language runtimes) and cannot know their syscalls.
//! - Denials return EPERM, not a kill: programs treat EPERM from socket()
//!   or ioctl() as "not available here" and fall back (glibc's nscd lookup,
//!   syslog(), getaddrinfo), while a kill would break them for no gain.
//! - Two things kill the process instead, because a deny-list cannot reason
//!   about them at all: a foreign architecture (x86_64's `int 0x80` i386
//!   entry has other syscall numbers; seccompiler's own check) and x32
//!   system calls (x86_64 numbers with bit 30 set, which no rule below
//!   would match; seccompiler does not check this, so nono prepends it).
//! - Every argument compare is 32-bit (`Dword`): the kernel reads socket
//!   family/type/protocol, ioctl requests and open flags as `int`/`unsigned
//!   int`, so a 64-bit compare could be bypassed by setting the upper half.
//! - openat2() hides its flags behind a pointer; where O_TRUNC must be
//!   filtered (ABI < 3) it fails with ENOSYS so that libc falls back to
//!   openat(). Its check sits at the head of the one program, before the
//!   EPERM rules ([`compile`]; a second program only if an ENOSYS rule
//!   ever had conditions).

use std::collections::BTreeMap;

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

use crate::policy::NetPolicy;
use crate::sandbox::abi::Abi;
use crate::sandbox::SandboxError;

/// The filter's reasons, one per group of rules (`SyscallRule.why`): the
/// reports read them from the built filter, and `hardening` groups the
/// enforcement lines by them.
pub mod why {
    pub const SOCKET_HOST_MODE: &str =
        "host-allowlist mode: only IP (inside the network namespace), netlink and granted Unix sockets";
    pub const SOCKET_VSOCK: &str = "no AF_VSOCK: the channel from a virtual machine to its host";
    pub const SOCKET_NO_UNIX: &str =
        "host Unix sockets not granted: no Unix socket except socketpair(); no AF_VSOCK (a virtual machine's channel to its host)";
    pub const SOCKET_BLOCKED: &str = "network blocked: no socket family at all";
    pub const SOCKET_BLOCKED_UNIX: &str = "network blocked: no socket family except Unix (granted)";
    pub const SOCKET_TCP_ONLY: &str =
        "network restricted: only TCP (checked by Landlock port rules) and granted Unix sockets";
    pub const FASTOPEN: &str =
        "MSG_FASTOPEN connects without connect(), around Landlock's port rules";
    pub const LISTEN: &str =
        "no --allow-bind: listen() would bind an ephemeral port around Landlock's bind rule";
    pub const SOCKETPAIR: &str =
        "only Unix stream/seqpacket pairs: a datagram pair can send to host sockets";
    pub const IO_URING: &str =
        "io_uring performs socket, connect and open operations that bypass the checks on the plain system calls";
    pub const TERMINAL: &str =
        "TIOCSTI/TIOCLINUX push keystrokes into the terminal, i.e. commands into the shell outside";
    pub const KEYRING: &str =
        "the kernel keyring holds the user's secrets and is not covered by Landlock";
    pub const SUGID: &str = "setuid/setgid bits would grant privilege outside the sandbox";
    pub const FALLOCATE: &str =
        "FALLOC_FL_COLLAPSE_RANGE/INSERT_RANGE change a file's length around Landlock's truncation check";
    pub const MOUNT: &str =
        "mounts could uncover what the mount layer masks, or widen the filesystem view";
    pub const NAMESPACE: &str =
        "a new namespace gives capabilities over it: new mounts and kernel attack surface";
    pub const OPENAT2: &str =
        "its flags and mode are behind a pointer: ENOSYS makes programs fall back to openat()";
    pub const CLONE3: &str =
        "its flags are behind a pointer: ENOSYS makes libc fall back to clone(), whose namespace flags are checked";
    pub const TRUNCATE: &str =
        "truncation protection on a kernel without Landlock TRUNCATE (ABI < 3)";
}

/// A 32-bit comparison of one syscall argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond {
    pub arg: u8,
    pub op: Op,
    pub value: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    /// `(arg & mask) == value`
    MaskedEq(u32),
}

const fn eq(arg: u8, value: u32) -> Cond {
    Cond {
        arg,
        op: Op::Eq,
        value,
    }
}

const fn ne(arg: u8, value: u32) -> Cond {
    Cond {
        arg,
        op: Op::Ne,
        value,
    }
}

const fn masked(arg: u8, mask: u32, value: u32) -> Cond {
    Cond {
        arg,
        op: Op::MaskedEq(mask),
        value,
    }
}

/// One syscall and when it is refused: `when` lists alternatives (any
/// matches), each a conjunction of conditions. An empty `when` refuses the
/// call always.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallRule {
    pub name: &'static str,
    pub nr: i64,
    pub when: Vec<Vec<Cond>>,
    /// Why, for `--dry-run`: one reason per merged rule.
    pub why: Vec<&'static str>,
}

/// The complete filter request: calls failing with EPERM, and calls failing
/// with ENOSYS (so that libc uses an older, filterable call instead).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterSpec {
    pub eperm: Vec<SyscallRule>,
    pub enosys: Vec<SyscallRule>,
}

/// What the filter depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inputs {
    /// `--net-block` or a port grant.
    pub net_restricted: bool,
    /// TCP is allowed to the extent Landlock's port rules say (port grants
    /// on ABI >= 4).
    pub tcp_via_landlock: bool,
    /// Some TCP port may be bound (`--allow-bind`).
    pub tcp_bind_granted: bool,
    /// A host Unix socket was granted: Unix sockets are allowed altogether.
    pub unix_granted: bool,
    /// Landlock cannot control truncation (ABI < 3).
    pub truncate_fallback: bool,
    /// Host-allowlist mode: the command has a network namespace of its
    /// own, so IP sockets are allowed (they reach only its loopback), but
    /// families that are not confined by a network namespace are not.
    pub net_namespace: bool,
}

impl Inputs {
    pub fn new(net: &NetPolicy, abi: i32) -> Inputs {
        Inputs {
            net_restricted: net.restricted(),
            tcp_via_landlock: net.has_port_grants() && abi >= Abi::NET,
            tcp_bind_granted: !net.bind.is_empty(),
            unix_granted: net.unix_granted(),
            truncate_fallback: abi < Abi::TRUNCATE,
            net_namespace: net.host_mode(),
        }
    }
}

// Values from the kernel's UAPI (stable ABI), as u32 for 32-bit compares.
const AF_UNIX: u32 = libc::AF_UNIX as u32;
const AF_INET: u32 = libc::AF_INET as u32;
const AF_INET6: u32 = libc::AF_INET6 as u32;
const AF_VSOCK: u32 = libc::AF_VSOCK as u32;
const AF_NETLINK: u32 = libc::AF_NETLINK as u32;
const SOCK_TYPE_MASK: u32 = 0xf;
const SOCK_STREAM: u32 = libc::SOCK_STREAM as u32;
const SOCK_SEQPACKET: u32 = libc::SOCK_SEQPACKET as u32;
const IPPROTO_TCP: u32 = libc::IPPROTO_TCP as u32;
const MSG_FASTOPEN: u32 = libc::MSG_FASTOPEN as u32;
const TIOCSTI: u32 = 0x5412;
const TIOCLINUX: u32 = 0x541C;
const O_TRUNC: u32 = libc::O_TRUNC as u32;
const O_CREAT: u32 = libc::O_CREAT as u32;
const O_EXCL: u32 = libc::O_EXCL as u32;
const S_ISUID: u32 = libc::S_ISUID;
const S_ISGID: u32 = libc::S_ISGID;
const FALLOC_FL_COLLAPSE_RANGE: u32 = libc::FALLOC_FL_COLLAPSE_RANGE as u32;
const FALLOC_FL_INSERT_RANGE: u32 = libc::FALLOC_FL_INSERT_RANGE as u32;
/// fchmodat2 (Linux 6.6); the same number on every architecture.
const SYS_FCHMODAT2: libc::c_long = 452;
// The mount API and clone3 (Linux 5.2-5.12); the same numbers on every
// architecture that uses the generic table, and on x86_64.
const SYS_CLONE3: libc::c_long = 435;
const SYS_OPEN_TREE: libc::c_long = 428;
const SYS_MOVE_MOUNT: libc::c_long = 429;
const SYS_FSOPEN: libc::c_long = 430;
const SYS_FSCONFIG: libc::c_long = 431;
const SYS_FSMOUNT: libc::c_long = 432;
const SYS_FSPICK: libc::c_long = 433;
const SYS_MOUNT_SETATTR: libc::c_long = 442;
/// Every CLONE_NEW* flag; CLONE_NEWTIME last (see the clone rule).
const NS_FLAGS: [u32; 8] = [
    libc::CLONE_NEWNS as u32,
    libc::CLONE_NEWCGROUP as u32,
    libc::CLONE_NEWUTS as u32,
    libc::CLONE_NEWIPC as u32,
    libc::CLONE_NEWUSER as u32,
    libc::CLONE_NEWPID as u32,
    libc::CLONE_NEWNET as u32,
    0x80, // CLONE_NEWTIME
];
/// x32 system calls are x86_64 numbers with this bit set.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

fn rule(
    name: &'static str,
    nr: libc::c_long,
    when: Vec<Vec<Cond>>,
    why: &'static str,
) -> SyscallRule {
    SyscallRule {
        name,
        nr,
        when,
        why: vec![why],
    }
}

/// When `socket(domain, type, protocol)` is refused: an allowlist of
/// families. `None`: never.
fn socket_rule(inp: Inputs) -> Option<SyscallRule> {
    let nr = libc::SYS_socket;
    if !inp.net_restricted && inp.net_namespace {
        // IP and netlink sockets see only the command's own namespace;
        // vsock, Bluetooth, packet and the rest are refused outright: not
        // every family is confined by a network namespace (vsock reaches
        // the hypervisor on most kernels).
        let mut families = vec![AF_INET, AF_INET6, AF_NETLINK];
        if inp.unix_granted {
            families.push(AF_UNIX);
        }
        return Some(rule(
            "socket",
            nr,
            vec![families.iter().map(|f| ne(0, *f)).collect()],
            why::SOCKET_HOST_MODE,
        ));
    }
    if !inp.net_restricted {
        // AF_VSOCK: a virtual machine's channel to agents on its host
        // (guest tools, container runtimes), as much a way out as the
        // host's Unix sockets, and no flag grants it. The allowlists
        // below leave it out too.
        if inp.unix_granted {
            return Some(rule(
                "socket",
                nr,
                vec![vec![eq(0, AF_VSOCK)]],
                why::SOCKET_VSOCK,
            ));
        }
        return Some(rule(
            "socket",
            nr,
            vec![vec![eq(0, AF_UNIX)], vec![eq(0, AF_VSOCK)]],
            why::SOCKET_NO_UNIX,
        ));
    }
    let mut families = Vec::new();
    if inp.unix_granted {
        families.push(AF_UNIX);
    }
    if inp.tcp_via_landlock {
        families.extend([AF_INET, AF_INET6]);
    }
    if families.is_empty() {
        // seccompiler has no empty conjunction: an empty list means always.
        return Some(rule("socket", nr, vec![], why::SOCKET_BLOCKED));
    }
    // Any family outside the list: one conjunction of "!=".
    let mut when = vec![families.iter().map(|f| ne(0, *f)).collect::<Vec<_>>()];
    if !inp.tcp_via_landlock {
        return Some(rule("socket", nr, when, why::SOCKET_BLOCKED_UNIX));
    }
    for fam in [AF_INET, AF_INET6] {
        // Only SOCK_STREAM: the kernel rejects any type bit outside the type
        // mask, SOCK_NONBLOCK and SOCK_CLOEXEC, so listing every other value
        // of the masked type is complete.
        for t in (0..=SOCK_TYPE_MASK).filter(|t| *t != SOCK_STREAM) {
            when.push(vec![eq(0, fam), masked(1, SOCK_TYPE_MASK, t)]);
        }
        // Only plain TCP: MPTCP (262) and SCTP (132) are stream sockets
        // too, and Landlock's TCP rules do not cover them.
        when.push(vec![eq(0, fam), ne(2, 0), ne(2, IPPROTO_TCP)]);
    }
    Some(rule("socket", nr, when, why::SOCKET_TCP_ONLY))
}

/// The filter for a policy: a pure function, so it can be tested and shown.
pub fn build(inp: Inputs) -> FilterSpec {
    let mut eperm = Vec::new();

    // --- sockets -------------------------------------------------------
    if let Some(r) = socket_rule(inp) {
        eperm.push(r);
    }
    // TCP Fast Open: sendto()/sendmsg() with MSG_FASTOPEN connects
    // without connect(), and Landlock's port check hooks only connect():
    // measured on Linux 6.18, a sandbox allowed port A reached port B this
    // way. Only relevant where TCP sockets exist under a port grant.
    if inp.tcp_via_landlock {
        let why = why::FASTOPEN;
        eperm.push(rule(
            "sendto",
            libc::SYS_sendto,
            vec![vec![masked(3, MSG_FASTOPEN, MSG_FASTOPEN)]],
            why,
        ));
        eperm.push(rule(
            "sendmsg",
            libc::SYS_sendmsg,
            vec![vec![masked(2, MSG_FASTOPEN, MSG_FASTOPEN)]],
            why,
        ));
        eperm.push(rule(
            "sendmmsg",
            libc::SYS_sendmmsg,
            vec![vec![masked(3, MSG_FASTOPEN, MSG_FASTOPEN)]],
            why,
        ));
    }

    // listen() on a socket that was never bound binds an ephemeral port
    // without bind(), so Landlock's bind rule never sees it: measured on
    // Linux 6.18, --allow-connect alone let the sandbox listen on 0.0.0.0.
    // Without a bind grant nothing needs to listen, so listen() is refused
    // (unless Unix sockets are granted: listen() cannot tell families
    // apart, and Unix servers must keep working; documented gap).
    if inp.tcp_via_landlock && !inp.tcp_bind_granted && !inp.unix_granted {
        eperm.push(rule("listen", libc::SYS_listen, vec![], why::LISTEN));
    }

    // socketpair(): connected stream and seqpacket pairs are private to
    // the sandbox, so they always work (node, python multiprocessing and
    // git use them). A datagram pair is not: sendto() with an address, or
    // a new connect(), reaches any host datagram socket (/dev/log, the
    // journal, ...). So without a Unix socket grant only SOCK_STREAM and
    // SOCK_SEQPACKET pairs (SOCK_RAW is a datagram socket for AF_UNIX).
    let mut pair_when: Vec<Vec<Cond>> = Vec::new();
    if inp.net_restricted {
        pair_when.push(vec![ne(0, AF_UNIX)]);
    }
    if !inp.unix_granted {
        for t in 0..=SOCK_TYPE_MASK {
            if t != SOCK_STREAM && t != SOCK_SEQPACKET {
                pair_when.push(vec![masked(1, SOCK_TYPE_MASK, t)]);
            }
        }
    }
    if !pair_when.is_empty() {
        eperm.push(rule(
            "socketpair",
            libc::SYS_socketpair,
            pair_when,
            why::SOCKETPAIR,
        ));
    }

    // --- always --------------------------------------------------------
    for (name, nr) in [
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("io_uring_enter", libc::SYS_io_uring_enter),
        ("io_uring_register", libc::SYS_io_uring_register),
    ] {
        eperm.push(rule(name, nr, vec![], why::IO_URING));
    }
    eperm.push(rule(
        "ioctl",
        libc::SYS_ioctl,
        vec![vec![eq(1, TIOCSTI)], vec![eq(1, TIOCLINUX)]],
        why::TERMINAL,
    ));
    for (name, nr) in [
        ("keyctl", libc::SYS_keyctl),
        ("add_key", libc::SYS_add_key),
        ("request_key", libc::SYS_request_key),
    ] {
        eperm.push(rule(name, nr, vec![], why::KEYRING));
    }

    // setuid/setgid bits: Landlock does not mediate chmod or the mode of
    // new files. A sandboxed root (capabilities dropped, but still the
    // owner of root's files) could otherwise leave a setuid-root program in
    // a granted directory, and any user could plant a setgid one: privilege
    // that outlives the sandbox. Refused whatever the path.
    let sugid = |arg| {
        vec![
            vec![masked(arg, S_ISUID, S_ISUID)],
            vec![masked(arg, S_ISGID, S_ISGID)],
        ]
    };
    let why_sugid = why::SUGID;
    #[cfg(target_arch = "x86_64")]
    {
        eperm.push(rule("chmod", libc::SYS_chmod, sugid(1), why_sugid));
        eperm.push(rule("mknod", libc::SYS_mknod, sugid(1), why_sugid));
    }
    eperm.push(rule("fchmod", libc::SYS_fchmod, sugid(1), why_sugid));
    eperm.push(rule("fchmodat", libc::SYS_fchmodat, sugid(2), why_sugid));
    eperm.push(rule("fchmodat2", SYS_FCHMODAT2, sugid(2), why_sugid));
    eperm.push(rule("mknodat", libc::SYS_mknodat, sugid(2), why_sugid));

    // fallocate() modes that move data and change a file's length:
    // COLLAPSE_RANGE cuts a range out (a 1 MiB file became 4 KiB without
    // --allow-delete), INSERT_RANGE shifts everything after the offset.
    // Landlock's TRUNCATE right does not cover fallocate(), and seccomp sees
    // only the descriptor, not its path, so they are refused everywhere,
    // the private TMPDIR and --allow-delete paths included (documented).
    // PUNCH_HOLE and ZERO_RANGE zero bytes in place without shortening the
    // file: the same as overwriting in place, which a write grant allows.
    let falloc_why = why::FALLOCATE;
    eperm.push(rule(
        "fallocate",
        libc::SYS_fallocate,
        vec![
            vec![masked(
                1,
                FALLOC_FL_COLLAPSE_RANGE,
                FALLOC_FL_COLLAPSE_RANGE,
            )],
            vec![masked(1, FALLOC_FL_INSERT_RANGE, FALLOC_FL_INSERT_RANGE)],
        ],
        falloc_why,
    ));
    // --- namespaces and mounts ------------------------------------------
    // The mount-namespace layer's masks and read-only binds are mounts:
    // the command must not be able to change them, nor get the
    // capabilities of a fresh user namespace to try. Landlock already
    // denies mount, umount and pivot_root to a sandboxed process; the
    // filter repeats it for every mount call (also on the Landlock-only
    // path) and keeps the namespace attack surface closed.
    let why_mount = why::MOUNT;
    for (name, nr) in [
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("pivot_root", libc::SYS_pivot_root),
        ("fsopen", SYS_FSOPEN),
        ("fsconfig", SYS_FSCONFIG),
        ("fsmount", SYS_FSMOUNT),
        ("fspick", SYS_FSPICK),
        ("move_mount", SYS_MOVE_MOUNT),
        ("open_tree", SYS_OPEN_TREE),
        ("mount_setattr", SYS_MOUNT_SETATTR),
    ] {
        eperm.push(rule(name, nr, vec![], why_mount));
    }
    let why_ns = why::NAMESPACE;
    eperm.push(rule("setns", libc::SYS_setns, vec![], why_ns));
    let ns_bits = |flags: &[u32]| -> Vec<Vec<Cond>> {
        flags.iter().map(|f| vec![masked(0, *f, *f)]).collect()
    };
    eperm.push(rule(
        "unshare",
        libc::SYS_unshare,
        ns_bits(&NS_FLAGS),
        why_ns,
    ));
    // clone(): CLONE_NEWTIME shares its bit with the exit signal there, and
    // clone() cannot create a time namespace anyway.
    eperm.push(rule(
        "clone",
        libc::SYS_clone,
        ns_bits(&NS_FLAGS[..NS_FLAGS.len() - 1]),
        why_ns,
    ));

    // --- truncation before Landlock ABI 3 ---------------------------------
    // openat2 keeps its flags and mode behind a pointer, out of seccomp's
    // sight: ENOSYS makes libc and runtimes fall back to openat(), whose
    // arguments the rules below and the mode rule can see.
    let enosys = vec![
        rule("openat2", libc::SYS_openat2, vec![], why::OPENAT2),
        // clone3 keeps its flags in a struct seccomp cannot read: ENOSYS
        // makes libc fall back to clone(), whose namespace flags the rule
        // above sees.
        rule("clone3", SYS_CLONE3, vec![], why::CLONE3),
    ];
    #[cfg(target_arch = "x86_64")]
    {
        eperm.push(rule("creat", libc::SYS_creat, sugid(1), why_sugid));
        eperm.push(rule("open", libc::SYS_open, sugid(2), why_sugid));
    }
    eperm.push(rule("openat", libc::SYS_openat, sugid(3), why_sugid));
    if inp.truncate_fallback {
        // O_TRUNC truncates unless the open is sure to create a new file
        // (O_CREAT|O_EXCL): without O_CREAT, O_EXCL is ignored.
        let trunc = |arg| {
            vec![
                vec![masked(arg, O_TRUNC | O_CREAT | O_EXCL, O_TRUNC)],
                vec![masked(arg, O_TRUNC | O_CREAT | O_EXCL, O_TRUNC | O_CREAT)],
                vec![masked(arg, O_TRUNC | O_CREAT | O_EXCL, O_TRUNC | O_EXCL)],
            ]
        };
        let why = why::TRUNCATE;
        #[cfg(target_arch = "x86_64")]
        {
            eperm.push(rule("open", libc::SYS_open, trunc(1), why));
            eperm.push(rule("creat", libc::SYS_creat, vec![], why));
        }
        eperm.push(rule("openat", libc::SYS_openat, trunc(2), why));
        eperm.push(rule(
            "open_by_handle_at",
            libc::SYS_open_by_handle_at,
            trunc(2),
            why,
        ));
        eperm.push(rule("truncate", libc::SYS_truncate, vec![], why));
        eperm.push(rule("ftruncate", libc::SYS_ftruncate, vec![], why));
    }
    FilterSpec {
        eperm: merge_by_syscall(eperm),
        enosys: merge_by_syscall(enosys),
    }
}

/// One rule per system call: the alternatives of rules on the same call
/// are joined (any of them refuses it); an unconditional rule absorbs the
/// conditional ones (the call is always refused).
fn merge_by_syscall(rules: Vec<SyscallRule>) -> Vec<SyscallRule> {
    let mut out: Vec<SyscallRule> = Vec::new();
    for r in rules {
        match out.iter_mut().find(|e| e.nr == r.nr) {
            Some(e) if e.when.is_empty() => e.why.extend(r.why),
            Some(e) if r.when.is_empty() => {
                let mut why = std::mem::take(&mut e.why);
                *e = r;
                why.append(&mut e.why);
                e.why = why;
            }
            Some(e) => {
                e.when.extend(r.when);
                e.why.extend(r.why);
            }
            None => out.push(r),
        }
    }
    out
}

fn target_arch() -> Result<TargetArch, SandboxError> {
    #[cfg(target_arch = "x86_64")]
    {
        Ok(TargetArch::x86_64)
    }
    #[cfg(target_arch = "aarch64")]
    {
        Ok(TargetArch::aarch64)
    }
    #[cfg(target_arch = "riscv64")]
    {
        Ok(TargetArch::riscv64)
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )))]
    {
        Err(SandboxError::SeccompRules(
            "this CPU architecture is not supported by the seccomp layer".into(),
        ))
    }
}

fn compile_err(source: seccompiler::BackendError) -> SandboxError {
    SandboxError::SeccompCompile { source }
}

fn compile_rules(rules: &[SyscallRule], errno: i32) -> Result<BpfProgram, SandboxError> {
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for r in rules {
        if map.contains_key(&r.nr) {
            // build() emits one rule per syscall; merging an unconditional
            // rule with conditional ones would silently narrow it.
            return Err(SandboxError::SeccompRules(format!(
                "syscall {} listed twice",
                r.name
            )));
        }
        let mut alts = Vec::new();
        for conj in &r.when {
            let conds = conj
                .iter()
                .map(|c| {
                    let (op, value) = match c.op {
                        Op::Eq => (SeccompCmpOp::Eq, c.value),
                        Op::Ne => (SeccompCmpOp::Ne, c.value),
                        Op::MaskedEq(m) => (SeccompCmpOp::MaskedEq(u64::from(m)), c.value),
                    };
                    SeccompCondition::new(c.arg, SeccompCmpArgLen::Dword, op, u64::from(value))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(compile_err)?;
            alts.push(SeccompRule::new(conds).map_err(compile_err)?);
        }
        map.insert(r.nr, alts);
    }
    let filter = SeccompFilter::new(
        map,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        target_arch()?,
    )
    .map_err(compile_err)?;
    let prog: BpfProgram = filter.try_into().map_err(compile_err)?;
    Ok(prog)
}

/// `nr >= X32_SYSCALL_BIT` kills the process. Prepended to seccompiler's
/// program, whose jumps are all relative, so they stay valid.
fn x32_guard() -> Vec<sock_filter> {
    const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const BPF_JGE_K: u16 = 0x05 | 0x30;
    const BPF_RET_K: u16 = 0x06;
    vec![
        sock_filter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 0, // seccomp_data.nr
        },
        sock_filter {
            code: BPF_JGE_K,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_KILL_PROCESS,
        },
    ]
}

/// After `x32_guard` (the accumulator holds the syscall number): each
/// listed call returns ENOSYS. Unconditional rules only.
fn enosys_prefix(rules: &[SyscallRule]) -> Vec<sock_filter> {
    const BPF_JEQ_K: u16 = 0x05 | 0x10;
    const BPF_RET_K: u16 = 0x06;
    let mut out = Vec::new();
    for r in rules {
        out.push(sock_filter {
            code: BPF_JEQ_K,
            jt: 0,
            jf: 1,
            k: r.nr as u32,
        });
        out.push(sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        });
    }
    out
}

/// The BPF programs for `spec`, in installation order. One program when
/// the ENOSYS rules are unconditional (the usual case): every system call
/// of the sandboxed process runs each installed program, so one is cheaper
/// than two.
pub fn compile(spec: &FilterSpec) -> Result<Vec<BpfProgram>, SandboxError> {
    let mut main = x32_guard();
    let inline = spec.enosys.iter().all(|r| r.when.is_empty());
    if inline {
        main.extend(enosys_prefix(&spec.enosys));
    }
    main.extend(compile_rules(&spec.eperm, libc::EPERM)?);
    let mut progs = vec![main];
    if !inline && !spec.enosys.is_empty() {
        progs.push(compile_rules(&spec.enosys, libc::ENOSYS)?);
    }
    Ok(progs)
}

/// Installs the filters on this thread. no_new_privs is already set by
/// Landlock (seccompiler sets it again, harmlessly). Filters are inherited
/// across fork and execve and cannot be removed.
pub fn install(spec: &FilterSpec) -> Result<usize, SandboxError> {
    let progs = compile(spec)?;
    // What is installed, from the spec compiled above: tests compare it
    // with --dry-run's list.
    for (rules, errno) in [(&spec.eperm, "EPERM"), (&spec.enosys, "ENOSYS")] {
        for r in rules {
            tracing::debug!(syscall = r.name, errno, "seccomp rule");
        }
    }
    for p in &progs {
        seccompiler::apply_filter(p).map_err(|source| SandboxError::Seccomp {
            op: "install",
            source,
        })?;
    }
    Ok(progs.len())
}

#[cfg(test)]
mod tests;

/// Filter inputs for tests elsewhere in the backend.
#[cfg(test)]
pub mod tests_support {
    use super::Inputs;

    /// Every combination of the inputs, possible or not: `build` must
    /// handle each.
    pub fn all_inputs() -> Vec<Inputs> {
        (0u8..64)
            .map(|b| Inputs {
                net_restricted: b & 1 != 0,
                tcp_via_landlock: b & 2 != 0,
                tcp_bind_granted: b & 4 != 0,
                unix_granted: b & 8 != 0,
                truncate_fallback: b & 16 != 0,
                net_namespace: b & 32 != 0,
            })
            .collect()
    }
}
