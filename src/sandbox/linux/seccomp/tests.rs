//! The filter is checked twice: as a value (what [`build`] asks for) and as
//! compiled BPF, run through a small classic-BPF interpreter against
//! hand-made `seccomp_data`, so that the compiled program is tested for the
//! bypasses that matter (upper argument bits, flag bits, x32, i386).

use super::*;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;

#[cfg(target_arch = "x86_64")]
const ARCH: u32 = 62 | 0x8000_0000 | 0x4000_0000;
#[cfg(target_arch = "aarch64")]
const ARCH: u32 = 183 | 0x8000_0000 | 0x4000_0000;

/// The classic BPF subset seccompiler emits: LD W ABS, ALU AND K, JA, JEQ,
/// JGT, JGE (K), RET K.
fn run(prog: &[sock_filter], data: &[u8; 64]) -> u32 {
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    loop {
        let i = &prog[pc];
        pc += 1;
        match i.code {
            0x20 => {
                let k = i.k as usize;
                acc = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap());
            }
            0x54 => acc &= i.k,
            0x05 => pc += i.k as usize,
            0x15 | 0x25 | 0x35 => {
                let t = match i.code {
                    0x15 => acc == i.k,
                    0x25 => acc > i.k,
                    _ => acc >= i.k,
                };
                pc += usize::from(if t { i.jt } else { i.jf });
            }
            0x06 => return i.k,
            c => panic!("unexpected BPF opcode {c:#x}"),
        }
    }
}

/// The strictest result over all filters, as the kernel combines them.
fn eval(progs: &[BpfProgram], arch: u32, nr: i64, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&(nr as u32).to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
    }
    progs
        .iter()
        .map(|p| run(p, &data))
        // The kernel's precedence: the lowest action as a signed value
        // (KILL_PROCESS is 0x80000000, i.e. negative) wins.
        .min_by_key(|r| (r & libc::SECCOMP_RET_ACTION_FULL) as i32)
        .unwrap()
}

fn progs(inp: Inputs) -> Vec<BpfProgram> {
    compile(&build(inp)).unwrap()
}

fn call(p: &[BpfProgram], nr: libc::c_long, args: &[u64]) -> u32 {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    eval(p, ARCH, nr, a)
}

const DEFAULT: Inputs = Inputs {
    net_restricted: false,
    tcp_via_landlock: false,
    tcp_bind_granted: false,
    unix_granted: false,
    truncate_fallback: false,
    net_namespace: false,
};
const BLOCK: Inputs = Inputs {
    net_restricted: true,
    ..DEFAULT
};
const PORTS: Inputs = Inputs {
    net_restricted: true,
    tcp_via_landlock: true,
    ..DEFAULT
};

const INET: u64 = libc::AF_INET as u64;
const INET6: u64 = libc::AF_INET6 as u64;
const UNIX: u64 = libc::AF_UNIX as u64;
const STREAM: u64 = libc::SOCK_STREAM as u64;
const DGRAM: u64 = libc::SOCK_DGRAM as u64;
const RAW: u64 = libc::SOCK_RAW as u64;
const FLAGS: u64 = (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u64;

#[test]
fn default_filter_is_exactly_the_default_guarantees() {
    let names: Vec<&str> = build(DEFAULT).eperm.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "socket",
            "socketpair",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "ioctl",
            "keyctl",
            "add_key",
            "request_key",
            "chmod",
            "mknod",
            "fchmod",
            "fchmodat",
            "fchmodat2",
            "mknodat",
            "fallocate",
            "mount",
            "umount2",
            "pivot_root",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "setns",
            "unshare",
            "clone",
            "creat",
            "open",
            "openat",
        ]
    );
    let enosys: Vec<&str> = build(DEFAULT).enosys.iter().map(|r| r.name).collect();
    assert_eq!(enosys, ["openat2", "clone3"]);
}

#[test]
fn default_allows_the_network_but_not_unix_sockets() {
    let p = progs(DEFAULT);
    for (fam, ty) in [(INET, STREAM), (INET, DGRAM), (INET6, DGRAM | FLAGS)] {
        assert_eq!(call(&p, libc::SYS_socket, &[fam, ty, 0]), ALLOW);
    }
    assert_eq!(call(&p, libc::SYS_socket, &[UNIX, STREAM, 0]), EPERM);
    assert_eq!(call(&p, libc::SYS_socket, &[UNIX, DGRAM | FLAGS, 0]), EPERM);
    // The kernel reads the family as an int: the upper half is ignored.
    assert_eq!(
        call(&p, libc::SYS_socket, &[UNIX | 0xffff_0000_0000, STREAM, 0]),
        EPERM
    );
    assert_eq!(call(&p, libc::SYS_socketpair, &[UNIX, STREAM, 0]), ALLOW);
    assert_eq!(
        call(&p, libc::SYS_socketpair, &[UNIX, STREAM | FLAGS, 0]),
        ALLOW
    );
    let seqpacket = libc::SOCK_SEQPACKET as u64;
    assert_eq!(call(&p, libc::SYS_socketpair, &[UNIX, seqpacket, 0]), ALLOW);
    // Datagram pairs can sendto() host sockets; SOCK_RAW is a datagram
    // socket for AF_UNIX.
    for ty in [DGRAM, DGRAM | FLAGS, RAW] {
        assert_eq!(call(&p, libc::SYS_socketpair, &[UNIX, ty, 0]), EPERM);
    }
}

#[test]
fn a_unix_grant_allows_unix_sockets_altogether() {
    let p = progs(Inputs {
        unix_granted: true,
        ..DEFAULT
    });
    assert_eq!(call(&p, libc::SYS_socket, &[UNIX, STREAM, 0]), ALLOW);
    assert_eq!(call(&p, libc::SYS_socketpair, &[UNIX, DGRAM, 0]), ALLOW);
    let p = progs(Inputs {
        unix_granted: true,
        ..BLOCK
    });
    assert_eq!(call(&p, libc::SYS_socket, &[UNIX, STREAM, 0]), ALLOW);
    assert_eq!(call(&p, libc::SYS_socket, &[INET, STREAM, 0]), EPERM);
}

#[test]
fn net_block_denies_every_family_but_keeps_unix_pairs() {
    let p = progs(BLOCK);
    for fam in [
        libc::AF_INET,
        libc::AF_INET6,
        libc::AF_UNIX,
        libc::AF_PACKET,
        libc::AF_NETLINK,
        libc::AF_VSOCK,
        libc::AF_ALG,
        libc::AF_XDP,
        libc::AF_BLUETOOTH,
        libc::AF_TIPC,
        libc::AF_RDS,
    ] {
        for ty in [STREAM, DGRAM, RAW, STREAM | FLAGS] {
            assert_eq!(
                call(&p, libc::SYS_socket, &[fam as u64, ty, 0]),
                EPERM,
                "family {fam}"
            );
        }
    }
    assert_eq!(call(&p, libc::SYS_socketpair, &[UNIX, STREAM, 0]), ALLOW);
    assert_eq!(
        call(&p, libc::SYS_socketpair, &[UNIX, DGRAM | FLAGS, 0]),
        EPERM
    );
    assert_eq!(call(&p, libc::SYS_socketpair, &[INET, STREAM, 0]), EPERM);
    assert_eq!(
        call(&p, libc::SYS_socketpair, &[UNIX | 0x1_0000_0000, STREAM, 0]),
        ALLOW,
        "the kernel truncates to AF_UNIX too"
    );
}

#[test]
fn port_grants_allow_plain_tcp_only() {
    let p = progs(PORTS);
    for fam in [INET, INET6] {
        assert_eq!(call(&p, libc::SYS_socket, &[fam, STREAM, 0]), ALLOW);
        assert_eq!(call(&p, libc::SYS_socket, &[fam, STREAM | FLAGS, 6]), ALLOW);
        for ty in [DGRAM, RAW, DGRAM | FLAGS, libc::SOCK_SEQPACKET as u64, 10] {
            assert_eq!(
                call(&p, libc::SYS_socket, &[fam, ty, 0]),
                EPERM,
                "type {ty}"
            );
        }
        for proto in [262u64 /* MPTCP */, 132 /* SCTP */, 17, 1] {
            assert_eq!(
                call(&p, libc::SYS_socket, &[fam, STREAM, proto]),
                EPERM,
                "protocol {proto}"
            );
        }
        // Upper bits of protocol are ignored by the kernel: 0x1_0000_0106
        // is MPTCP to it, and must be to the filter too.
        assert_eq!(
            call(&p, libc::SYS_socket, &[fam, STREAM, 0x1_0000_0106]),
            EPERM
        );
    }
    assert_eq!(call(&p, libc::SYS_socket, &[UNIX, STREAM, 0]), EPERM);
    assert_eq!(
        call(&p, libc::SYS_socket, &[libc::AF_PACKET as u64, RAW, 0]),
        EPERM
    );
    // TCP Fast Open connects from sendto/sendmsg, where Landlock does not look.
    let fo = libc::MSG_FASTOPEN as u64;
    assert_eq!(call(&p, libc::SYS_sendto, &[3, 0, 1, fo, 0, 16]), EPERM);
    assert_eq!(
        call(&p, libc::SYS_sendto, &[3, 0, 1, fo | 0x40, 0, 16]),
        EPERM
    );
    assert_eq!(call(&p, libc::SYS_sendmsg, &[3, 0, fo]), EPERM);
    assert_eq!(call(&p, libc::SYS_sendmmsg, &[3, 0, 1, fo]), EPERM);
    assert_eq!(call(&p, libc::SYS_sendto, &[3, 0, 1, 0x40, 0, 0]), ALLOW);
    assert_eq!(call(&p, libc::SYS_sendmsg, &[3, 0, 0]), ALLOW);
    // No bind grant: listen() would autobind an ephemeral port.
    assert_eq!(call(&p, libc::SYS_listen, &[3, 1]), EPERM);
    let with_bind = progs(Inputs {
        tcp_bind_granted: true,
        ..PORTS
    });
    assert_eq!(call(&with_bind, libc::SYS_listen, &[3, 1]), ALLOW);
    assert_eq!(call(&progs(DEFAULT), libc::SYS_listen, &[3, 1]), ALLOW);
    // Without TCP sockets there is nothing to fast-open: not filtered.
    assert_eq!(
        call(&progs(DEFAULT), libc::SYS_sendto, &[3, 0, 1, fo, 0, 16]),
        ALLOW
    );
}

#[test]
fn terminal_injection_and_keyring_and_io_uring_are_always_denied() {
    for inp in [DEFAULT, BLOCK, PORTS] {
        let p = progs(inp);
        assert_eq!(call(&p, libc::SYS_ioctl, &[0, 0x5412, 0]), EPERM);
        assert_eq!(call(&p, libc::SYS_ioctl, &[0, 0x541C, 0]), EPERM);
        // The kernel takes the request as unsigned int.
        assert_eq!(
            call(&p, libc::SYS_ioctl, &[0, 0xdead_0000_0000_5412, 0]),
            EPERM
        );
        assert_eq!(call(&p, libc::SYS_ioctl, &[0, libc::TIOCGWINSZ, 0]), ALLOW);
        for nr in [
            libc::SYS_keyctl,
            libc::SYS_add_key,
            libc::SYS_request_key,
            libc::SYS_io_uring_setup,
            libc::SYS_io_uring_enter,
            libc::SYS_io_uring_register,
        ] {
            assert_eq!(call(&p, nr, &[]), EPERM, "syscall {nr}");
        }
        assert_eq!(call(&p, libc::SYS_getpid, &[]), ALLOW);
    }
}

#[test]
fn foreign_architectures_and_x32_are_killed() {
    let p = progs(DEFAULT);
    // i386 (int 0x80 on x86_64): socketcall and friends have other numbers.
    assert_eq!(eval(&p, 3 | 0x4000_0000, 102, [0; 6]), KILL);
    #[cfg(target_arch = "x86_64")]
    {
        let x32 = 0x4000_0000i64;
        assert_eq!(
            eval(&p, ARCH, x32 | libc::SYS_socket, [UNIX, STREAM, 0, 0, 0, 0]),
            KILL
        );
        assert_eq!(eval(&p, ARCH, x32 | 16 /* ioctl */, [0; 6]), KILL);
    }
}

#[test]
fn truncation_fallback_denies_o_trunc_but_not_exclusive_creation() {
    let p = progs(Inputs {
        truncate_fallback: true,
        ..DEFAULT
    });
    let (t, c, x) = (
        libc::O_TRUNC as u64,
        libc::O_CREAT as u64,
        libc::O_EXCL as u64,
    );
    let w = libc::O_WRONLY as u64;
    assert_eq!(call(&p, libc::SYS_openat, &[0, 0, w | c | t, 0]), EPERM);
    assert_eq!(call(&p, libc::SYS_openat, &[0, 0, t, 0]), EPERM);
    assert_eq!(call(&p, libc::SYS_openat, &[0, 0, w | t | x, 0]), EPERM);
    assert_eq!(call(&p, libc::SYS_openat, &[0, 0, w | c | t | x, 0]), ALLOW);
    assert_eq!(call(&p, libc::SYS_openat, &[0, 0, w | c, 0]), ALLOW);
    assert_eq!(
        call(
            &p,
            libc::SYS_openat,
            &[0, 0, (libc::O_APPEND as u64) | w, 0]
        ),
        ALLOW
    );
    assert_eq!(call(&p, libc::SYS_truncate, &[]), EPERM);
    assert_eq!(call(&p, libc::SYS_ftruncate, &[]), EPERM);
    assert_eq!(call(&p, libc::SYS_openat2, &[]), ENOSYS);
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(call(&p, libc::SYS_open, &[0, w | c | t]), EPERM);
        assert_eq!(call(&p, libc::SYS_creat, &[]), EPERM);
    }
    // Not on newer kernels: Landlock does it per path there.
    let p = progs(DEFAULT);
    assert_eq!(call(&p, libc::SYS_openat, &[0, 0, w | c | t, 0]), ALLOW);
    // openat2 is never available (its mode is out of sight, see below).
    assert_eq!(call(&p, libc::SYS_openat2, &[]), ENOSYS);
}

#[test]
fn inputs_follow_the_policy_and_abi() {
    let mut net = NetPolicy::default();
    assert_eq!(Inputs::new(&net, 6), DEFAULT);
    net.connect.insert(443);
    assert_eq!(Inputs::new(&net, 4), PORTS);
    net.bind.insert(8080);
    assert!(Inputs::new(&net, 4).tcp_bind_granted);
    net.bind.clear();
    // Below ABI 4 port grants are refused by check(); should one get here,
    // the filter still closes IP entirely.
    assert_eq!(Inputs::new(&net, 3), BLOCK);
    assert!(Inputs::new(&NetPolicy::default(), 2).truncate_fallback);
}

#[test]
fn programs_stay_small() {
    // A syscall without rules pays one compare per listed syscall; only the
    // matching syscall walks its conditions. The total must stay far below
    // the kernel's 4096-instruction limit.
    let worst = progs(Inputs {
        truncate_fallback: true,
        ..PORTS
    });
    let len: usize = worst.iter().map(Vec::len).sum();
    assert!(len < 1000, "{len} instructions");
    let listed = build(Inputs {
        truncate_fallback: true,
        ..PORTS
    });
    assert!(listed.eperm.len() + listed.enosys.len() < 60);
}

#[test]
fn setuid_and_setgid_bits_are_refused_other_modes_pass() {
    let p = progs(DEFAULT);
    let (suid, sgid) = (libc::S_ISUID as u64, libc::S_ISGID as u64);
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(call(&p, libc::SYS_chmod, &[0, 0o4755]), EPERM);
        assert_eq!(call(&p, libc::SYS_chmod, &[0, 0o755]), ALLOW);
        assert_eq!(call(&p, libc::SYS_creat, &[0, 0o2755]), EPERM);
        assert_eq!(
            call(&p, libc::SYS_open, &[0, libc::O_CREAT as u64, 0o644]),
            ALLOW
        );
    }
    assert_eq!(call(&p, libc::SYS_fchmod, &[3, suid | 0o755]), EPERM);
    assert_eq!(call(&p, libc::SYS_fchmod, &[3, 0o644]), ALLOW);
    assert_eq!(
        call(&p, libc::SYS_fchmodat, &[0, 0, sgid | 0o755, 0]),
        EPERM
    );
    assert_eq!(call(&p, 452, &[0, 0, suid, 0]), EPERM);
    assert_eq!(
        call(&p, libc::SYS_mknodat, &[0, 0, libc::S_IFREG as u64 | suid]),
        EPERM
    );
    assert_eq!(
        call(&p, libc::SYS_openat, &[0, 0, libc::O_CREAT as u64, 0o4755]),
        EPERM
    );
    assert_eq!(
        call(&p, libc::SYS_openat, &[0, 0, libc::O_CREAT as u64, 0o644]),
        ALLOW
    );
    // The upper half of the mode is ignored by the kernel and by the rule.
    assert_eq!(call(&p, libc::SYS_fchmod, &[3, (1 << 40) | 0o644]), ALLOW);
    // openat2 hides its mode: it is not available, programs fall back.
    assert_eq!(call(&p, libc::SYS_openat2, &[]), ENOSYS);
}

#[test]
fn fallocate_may_not_shorten_or_shift_a_file() {
    for inp in [DEFAULT, BLOCK, PORTS] {
        let p = progs(inp);
        let fa = |mode: i32| call(&p, libc::SYS_fallocate, &[3, mode as u64, 0, 4096]);
        assert_eq!(fa(libc::FALLOC_FL_COLLAPSE_RANGE), EPERM);
        assert_eq!(fa(libc::FALLOC_FL_INSERT_RANGE), EPERM);
        // Combined with other bits, and with garbage in the upper half.
        assert_eq!(
            call(
                &p,
                libc::SYS_fallocate,
                &[3, (1 << 40) | libc::FALLOC_FL_COLLAPSE_RANGE as u64, 0, 1]
            ),
            EPERM
        );
        // Allocation, and zeroing in place (like an overwrite), pass.
        assert_eq!(fa(0), ALLOW);
        assert_eq!(fa(libc::FALLOC_FL_KEEP_SIZE), ALLOW);
        assert_eq!(
            fa(libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE),
            ALLOW
        );
        assert_eq!(fa(libc::FALLOC_FL_ZERO_RANGE), ALLOW);
    }
}

#[test]
fn host_mode_allows_ip_and_netlink_but_no_family_a_namespace_does_not_confine() {
    let p = progs(Inputs {
        net_namespace: true,
        ..DEFAULT
    });
    const NETLINK: u64 = libc::AF_NETLINK as u64;
    for (fam, ty) in [
        (INET, STREAM),
        (INET, DGRAM),
        (INET6, DGRAM),
        (INET, RAW),
        (NETLINK, RAW),
    ] {
        assert_eq!(
            call(&p, libc::SYS_socket, &[fam, ty, 0]),
            ALLOW,
            "{fam} {ty}"
        );
    }
    for fam in [
        libc::AF_VSOCK,
        libc::AF_PACKET,
        libc::AF_BLUETOOTH,
        libc::AF_UNIX,
    ] {
        assert_eq!(
            call(&p, libc::SYS_socket, &[fam as u64, STREAM, 0]),
            EPERM,
            "{fam}"
        );
    }
    assert_eq!(call(&p, libc::SYS_socketpair, &[UNIX, STREAM, 0]), ALLOW);
}

#[test]
fn namespaces_and_mounts_are_refused_plain_clone_and_unshare_pass() {
    let p = progs(DEFAULT);
    let ns = [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWPID,
    ];
    for f in ns {
        assert_eq!(call(&p, libc::SYS_unshare, &[f as u64]), EPERM);
        assert_eq!(call(&p, libc::SYS_clone, &[f as u64 | 17]), EPERM);
    }
    assert_eq!(call(&p, libc::SYS_unshare, &[0x80]), EPERM, "CLONE_NEWTIME");
    // fork() and threads: clone without namespace flags; SIGCHLD (17) as
    // the exit signal shares the low byte with CLONE_NEWTIME's bit.
    assert_eq!(call(&p, libc::SYS_clone, &[17]), ALLOW);
    assert_eq!(call(&p, libc::SYS_clone, &[0x3d0f00]), ALLOW);
    assert_eq!(
        call(&p, libc::SYS_unshare, &[libc::CLONE_FILES as u64]),
        ALLOW
    );
    for nr in [
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_setns,
        428,
        429,
        442,
    ] {
        assert_eq!(call(&p, nr, &[0, 0, 0]), EPERM, "syscall {nr}");
    }
}
