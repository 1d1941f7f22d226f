//! Host-allowlist mode on Linux: the proxy process, the command's network
//! namespace, and the bridge between them.
//!
//! The bridge is a set of listening sockets created *inside* the new
//! namespace and handed to the proxy over a socketpair (SCM_RIGHTS). A
//! socket keeps the namespace it was created in, so the proxy, which stays
//! in the host's namespace, accepts connections made inside and connects
//! out from outside. Nothing else connects the two: the namespace has only
//! its loopback interface, so no socket of any family reaches an address
//! outside the sandbox, whatever the program does with proxy variables.
//!
//! Sequence (nono single-threaded throughout):
//! 1. [`start_proxy`]: a lifetime pipe and a socketpair, then a double fork.
//!    The proxy (grandchild) is in its own session, not a child of the
//!    command, not dumpable, and closes every descriptor it does not need.
//! 2. `namespaces::enter` with `net: true` (one unshare with the other
//!    namespace layers).
//! 3. [`ProxyChild::hand_over`]: `lo` up, the listeners bound, sent to the
//!    proxy with the namespace's inode, nono's copies closed. The write end
//!    of the lifetime pipe stays open into the command (see
//!    `proxy::lifetime`).
//!
//! If anything fails nono exits 125 before the command starts, and the
//! proxy, seeing its socketpair close with nothing received, exits too.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

use nix::sys::socket::{self, ControlMessage, ControlMessageOwned, MsgFlags};

use super::namespaces::NsError;
use super::sys;
use crate::proxy::allow::Allowlist;
use crate::proxy::server::{self, Config, Role, Shared};

/// Why host-allowlist mode could not be set up. The command was not run.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("host-allowlist mode needs a network namespace: {0}")]
    Namespace(#[from] NsError),
    #[error("cannot start the egress proxy: {op} failed: {source}")]
    Proxy {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot set up the sandbox's network: {op} failed: {source}")]
    Setup {
        op: String,
        #[source]
        source: io::Error,
    },
}

impl NetError {
    pub fn hints(&self) -> Vec<String> {
        match self {
            NetError::Namespace(e) => {
                let mut h = e.hints();
                h.push("nono does not fall back to port rules: without the namespace, drop --allow-host (and a profile's allow_hosts: --net-allow) or use --net-block".into());
                h
            }
            NetError::Setup { .. } | NetError::Proxy { .. } => {
                vec!["run 'nono setup' to see whether host-allowlist mode is available here".into()]
            }
        }
    }
}

fn proxy_err(op: &'static str) -> impl Fn(nix::errno::Errno) -> NetError {
    move |e| NetError::Proxy {
        op,
        source: e.into(),
    }
}

fn proxy_io_err(op: &'static str) -> impl Fn(io::Error) -> NetError {
    move |source| NetError::Proxy { op, source }
}

/// The test-only switch that makes namespaces look unavailable, so the
/// refusal path is tested on machines that have them.
pub fn simulated_unavailable() -> Option<NsError> {
    #[cfg(feature = "test-abi-cap")]
    if std::env::var_os("NONO_TEST_NO_USERNS").is_some() {
        return Some(NsError::Unshare {
            what: "a network namespace",
            source: io::Error::other(
                "user namespaces unavailable (simulated by NONO_TEST_NO_USERNS)",
            ),
        });
    }
    None
}

/// Whether host-allowlist mode can work here (for `setup` and
/// `--dry-run`): a network namespace can be entered.
pub fn available() -> Result<(), NsError> {
    if let Some(e) = simulated_unavailable() {
        return Err(e);
    }
    super::namespaces::probe(super::namespaces::Unshare {
        mount: false,
        net: true,
    })
}

/// The proxy, started and waiting for its listeners.
pub struct ProxyChild {
    sock: OwnedFd,
    lifetime: OwnedFd,
}

/// The bridge in place: what the command needs.
pub struct Handed {
    /// Write end of the lifetime pipe; must survive into the command.
    pub lifetime: OwnedFd,
    pub proxy: SocketAddr,
}

/// Lowest descriptor the lifetime pipe may use in the command, like the
/// TMPDIR lock: a shell's `exec 3>&-` must not end the proxy.
const LIFETIME_FD_MIN: RawFd = 100;

/// Forks the proxy. Must be called while nono is single-threaded and before
/// the sandbox is applied.
pub fn start_proxy(allow: Allowlist, log: Option<File>) -> Result<ProxyChild, NetError> {
    use nix::fcntl::OFlag;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use nix::sys::wait::waitpid;
    use nix::unistd::{pipe2, ForkResult};

    let (pipe_r, pipe_w) = pipe2(OFlag::O_CLOEXEC).map_err(proxy_err("pipe"))?;
    let pipe_w = sys::dup_cloexec_above(&pipe_w, LIFETIME_FD_MIN).map_err(proxy_io_err("fcntl"))?;
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(proxy_err("socketpair"))?;

    // nono is single-threaded here (the sandbox and the proxy's threads do
    // not exist yet), so the child may run ordinary Rust code.
    match sys::fork_single_threaded().map_err(proxy_io_err("fork"))? {
        ForkResult::Child => {
            // The intermediate process: a new session, then the proxy as
            // its child, then exit, so the proxy is nobody's child in the
            // run and no terminal signal reaches it.
            let _ = nix::unistd::setsid();
            // Still single-threaded (a fork of a single-threaded process).
            if let Ok(ForkResult::Child) = sys::fork_single_threaded() {
                drop(ours);
                drop(pipe_w);
                proxy_main(allow, log, theirs, pipe_r);
            }
            // _exit skips destructors that belong to nono.
            sys::exit_now(0)
        }
        ForkResult::Parent { child } => {
            let _ = waitpid(child, None);
        }
    }
    drop(theirs);
    drop(pipe_r);
    Ok(ProxyChild {
        sock: ours,
        lifetime: pipe_w,
    })
}

impl ProxyChild {
    /// Inside the new network namespace: brings up `lo`, binds the
    /// listeners, and hands them to the proxy.
    pub fn hand_over(self, allow: &Allowlist) -> Result<Handed, NetError> {
        sys::loopback_up().map_err(|source| NetError::Setup {
            op: "bringing up the loopback interface (SIOCSIFFLAGS)".into(),
            source,
        })?;
        let proxy = crate::proxy::proxy_addr(allow);
        let mut addrs = vec![proxy];
        addrs.extend(allow.exposed().iter().map(|e| e.listen));
        let mut listeners: Vec<TcpListener> = Vec::new();
        for a in &addrs {
            match TcpListener::bind(a) {
                Ok(l) => listeners.push(l),
                // `localhost:PORT` also listens on ::1; a kernel without
                // IPv6 has no ::1, and 127.0.0.1 serves the entry alone.
                Err(_)
                    if a.is_ipv6()
                        && listeners
                            .iter()
                            .any(|l| l.local_addr().is_ok_and(|b| b.port() == a.port())) => {}
                Err(source) => {
                    return Err(NetError::Setup {
                        op: format!("listening on {a} inside the sandbox"),
                        source,
                    })
                }
            }
        }
        let ino = std::fs::metadata("/proc/self/ns/net")
            .map_err(|source| NetError::Setup {
                op: "reading /proc/self/ns/net".into(),
                source,
            })?
            .ino();
        let fds: Vec<RawFd> = listeners.iter().map(|l| l.as_raw_fd()).collect();
        let payload = ino.to_le_bytes();
        let iov = [io::IoSlice::new(&payload)];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        socket::sendmsg::<()>(self.sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
            .map_err(|e| NetError::Setup {
                op: "handing the listeners to the proxy".into(),
                source: e.into(),
            })?;
        drop(listeners);
        Ok(Handed {
            lifetime: self.lifetime,
            proxy,
        })
    }
}

/// The proxy process. Never returns.
fn proxy_main(allow: Allowlist, log: Option<File>, sock: OwnedFd, lifetime: OwnedFd) -> ! {
    // Not dumpable: no ptrace or /proc/PID/mem by same-uid processes (the
    // sandbox has its own barriers; this is one more).
    sys::set_undumpable_named(c"nono-proxy");
    let mut keep = vec![2, sock.as_raw_fd(), lifetime.as_raw_fd()];
    if let Some(f) = &log {
        keep.push(f.as_raw_fd());
    }
    close_all_but(&keep);
    let exposures = allow.exposed();
    let code = match receive(&sock, &exposures) {
        Some((ino, listeners)) => {
            let shared = Arc::new(Shared {
                cfg: Config {
                    allow,
                    log: crate::proxy::log::Log::new(log),
                },
                refused: Mutex::new(Default::default()),
            });
            drop(sock);
            if server::spawn(&shared, listeners).is_ok() {
                crate::proxy::lifetime::wait_for_end(&lifetime, ino);
                if let Ok(r) = shared.refused.lock() {
                    if let Some(text) = crate::proxy::log::summary(&r.targets) {
                        for line in text.lines() {
                            eprintln!("{}", crate::output::text(line));
                        }
                    }
                }
                0
            } else {
                1
            }
        }
        // nono failed before handing over: nothing to serve.
        None => 0,
    };
    // _exit ends the proxy without unwinding into nono's frames; the
    // connection threads die with it (no process of the run is left).
    sys::exit_now(code)
}

/// Closes every descriptor but `keep`; stdin and stdout become /dev/null
/// so the proxy holds no pipe of the caller but stderr (for the summary).
fn close_all_but(keep: &[RawFd]) {
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        let null = OwnedFd::from(null);
        sys::redirect_stdin_stdout(&null);
        if null.as_raw_fd() <= 2 {
            // It is now 0 or 1 itself: keep it open.
            let _ = null.into_raw_fd();
        }
    }
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    for fd in fds {
        if fd > 2 && !keep.contains(&fd) {
            // Descriptors inherited from nono that no Rust object in this
            // process will use again (the read_dir one is already closed:
            // EBADF is harmless).
            sys::close_inherited(fd);
        }
    }
}

/// Receives the listeners and the namespace inode from nono.
fn receive(
    sock: &OwnedFd,
    exposures: &[crate::proxy::allow::Exposure],
) -> Option<(u64, Vec<(TcpListener, Role)>)> {
    let mut payload = [0u8; 8];
    let mut iov = [io::IoSliceMut::new(&mut payload)];
    let mut space = nix::cmsg_space!([RawFd; 64]);
    let msg = socket::recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ok()?;
    if msg.bytes != 8 {
        return None;
    }
    let mut fds = Vec::new();
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(v) = c {
            fds.extend(v);
        }
    }
    let ino = u64::from_le_bytes(payload);
    let mut out = Vec::new();
    for (i, fd) in fds.into_iter().enumerate() {
        // The kernel just installed this descriptor for us.
        let l = TcpListener::from(sys::take_received(fd));
        let role = if i == 0 {
            Role::Proxy
        } else {
            let a = l.local_addr().ok()?;
            let e = exposures.iter().find(|e| e.listen == a)?;
            Role::Expose(e.targets.clone())
        };
        out.push((l, role));
    }
    (!out.is_empty()).then_some((ino, out))
}
