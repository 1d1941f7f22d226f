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
//! 1. [`start`], as soon as the options show host-allowlist mode and
//!    before the policy is built: a lifetime pipe and two socketpairs, then
//!    a fork. The child (the helper) starts a new session and forks the
//!    proxy, which stays in the host's namespaces: it is nobody's child in
//!    the run, not dumpable, and closes every descriptor it does not need.
//!    The helper then creates the network namespace (inside a new user
//!    namespace when nono lacks `CAP_SYS_ADMIN`, its ids mapped to
//!    themselves), brings up its `lo`, sends nono descriptors of the new
//!    namespaces and exits. The kernel's work for a new network namespace
//!    (about 0.5 ms here, several ms on a loaded machine) and the two
//!    forks run while nono builds the policy, on another CPU where there
//!    is one.
//! 2. [`Started::enter`], where nono enters its namespaces: it takes the
//!    helper's answer (waiting for it if need be), joins the user and
//!    network namespaces with `setns(2)` and, for the mount layer, unshares
//!    its mount namespace inside them, so every namespace of the run has the
//!    same owner, as with one `unshare(2)`.
//! 3. [`ProxyChild::hand_over`]: the listeners bound inside, sent to the
//!    proxy with the namespace's inode and the `--net-log` file, nono's
//!    copies closed. The write end of the lifetime pipe stays open into the
//!    command (see `proxy::lifetime`).
//!
//! If anything fails nono exits 125 before the command starts; the helper
//! has exited by then or exits when its socket closes, and the proxy,
//! seeing its socketpair close with nothing received, exits too.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

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

impl crate::error::Diagnostic for NetError {
    fn hints(&self) -> Vec<String> {
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

/// Host-allowlist mode's processes, started early (step 1 above).
pub struct Started {
    proxy: ProxyChild,
    /// nono's end of the socketpair the helper answers on.
    helper_sock: OwnedFd,
    helper: nix::unistd::Pid,
    user_ns: bool,
}

/// Starts the proxy and the helper that creates the network namespace
/// for `allow`. Must be called while nono is single-threaded and before
/// the sandbox is applied.
pub fn start(allow: Allowlist) -> Result<Started, NetError> {
    use nix::fcntl::OFlag;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use nix::unistd::{pipe2, ForkResult};

    let (pipe_r, pipe_w) = pipe2(OFlag::O_CLOEXEC).map_err(proxy_err("pipe"))?;
    let pipe_w = sys::dup_cloexec_above(&pipe_w, LIFETIME_FD_MIN).map_err(proxy_io_err("fcntl"))?;
    let pair = || {
        socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(proxy_err("socketpair"))
    };
    let (ours, theirs) = pair()?;
    let (helper_ours, helper_theirs) = pair()?;
    // Read before the fork: the helper's maps name nono's own ids.
    let user_ns = !super::namespaces::has_sys_admin();

    // nono is single-threaded here (the sandbox and the proxy's threads do
    // not exist yet), so the child may run ordinary Rust code.
    match sys::fork_single_threaded().map_err(proxy_io_err("fork"))? {
        ForkResult::Child => {
            // The helper: a new session, then the proxy as its child, then
            // the namespaces, then exit, so the proxy is nobody's child in
            // the run and no terminal signal reaches it.
            drop(ours);
            drop(helper_ours);
            drop(pipe_w);
            let _ = nix::unistd::setsid();
            // Still single-threaded (a fork of a single-threaded process).
            match sys::fork_single_threaded() {
                Ok(ForkResult::Child) => {
                    drop(helper_theirs);
                    proxy_main(allow, theirs, pipe_r);
                }
                Ok(ForkResult::Parent { .. }) => {
                    drop(theirs);
                    drop(pipe_r);
                    helper_main(&helper_theirs, user_ns);
                }
                // No proxy: nono hears of it from the proxy's socketpair
                // closing when it hands over, and stops there.
                Err(_) => helper_main(&helper_theirs, user_ns),
            }
            // _exit skips destructors that belong to nono.
            sys::exit_now(0)
        }
        ForkResult::Parent { child } => Ok(Started {
            proxy: ProxyChild {
                sock: ours,
                lifetime: pipe_w,
            },
            helper_sock: helper_ours,
            helper: child,
            user_ns,
        }),
    }
}

/// [`start`] for a run whose options ask for host-allowlist mode, called
/// before the policy is built so that the namespace is made while it is.
/// `None` when they do not, or when anything is amiss: the run then calls
/// [`start`] where it enters its namespaces and reports errors from there.
/// The allowlist is the one the policy will hold (the same function makes
/// both from the same options).
pub fn start_early(spec: &crate::policy::PolicySpec) -> Option<Started> {
    if simulated_unavailable().is_some() {
        return None;
    }
    let hosts = crate::policy::net::hosts_from(spec).ok()?;
    if hosts.is_empty() {
        return None;
    }
    start(Allowlist::new(hosts.into_iter().map(|h| h.rule).collect())).ok()
}

/// What the helper sends: 0 and the namespace descriptors, or the errno of
/// the step that failed and which step (see [`helper_main`]).
const STEP_UNSHARE: u8 = 1;
const STEP_MAP: u8 = 2;
const STEP_LO: u8 = 3;
const STEP_OPEN: u8 = 4;

/// The helper's work after forking the proxy (in the helper process).
fn helper_main(sock: &OwnedFd, user_ns: bool) {
    let answer = make_namespaces(user_ns);
    let (payload, fds): ([u8; 5], Vec<File>) = match answer {
        Ok(fds) => ([0; 5], fds),
        Err((step, errno)) => {
            let mut p = [step, 0, 0, 0, 0];
            p[1..].copy_from_slice(&errno.to_le_bytes());
            (p, Vec::new())
        }
    };
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let iov = [io::IoSlice::new(&payload)];
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &cmsg };
    // Nothing to do if this fails: nono sees the socket close unanswered.
    let _ = socket::sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None);
}

/// In the helper: the namespaces, `lo` up, and descriptors of them for
/// nono (user namespace first when there is one).
fn make_namespaces(user_ns: bool) -> Result<Vec<File>, (u8, i32)> {
    let errno = |e: io::Error| e.raw_os_error().unwrap_or(libc::EIO);
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let mut flags = libc::CLONE_NEWNET;
    if user_ns {
        flags |= libc::CLONE_NEWUSER;
    }
    sys::unshare(flags).map_err(|e| (STEP_UNSHARE, errno(e)))?;
    if user_ns {
        // As in `namespaces::enter`: setgroups denied first, then the ids
        // mapped to themselves.
        for (file, text) in [
            ("setgroups", "deny".to_string()),
            ("uid_map", format!("{uid} {uid} 1")),
            ("gid_map", format!("{gid} {gid} 1")),
        ] {
            std::fs::write(format!("/proc/self/{file}"), text).map_err(|e| (STEP_MAP, errno(e)))?;
        }
    }
    sys::loopback_up().map_err(|e| (STEP_LO, errno(e)))?;
    let mut out = Vec::new();
    if user_ns {
        out.push(File::open("/proc/self/ns/user").map_err(|e| (STEP_OPEN, errno(e)))?);
    }
    out.push(File::open("/proc/self/ns/net").map_err(|e| (STEP_OPEN, errno(e)))?);
    Ok(out)
}

impl Started {
    /// Joins the helper's namespaces (step 2 above) and, when `mount`,
    /// unshares a mount namespace inside them. Returns the proxy, waiting
    /// for its listeners, and whether the mount namespace was entered (or
    /// why not: the mount layer then falls back, as it does without host
    /// mode). Fails closed: without the network namespace nothing runs.
    pub fn enter(self, mount: bool) -> Result<(ProxyChild, Result<(), String>), NetError> {
        let answer = self.receive();
        // The helper exits right after answering (or has died): reap it
        // here, so the command does not inherit a child it never made.
        let _ = nix::sys::wait::waitpid(self.helper, None);
        let fds = answer?;
        let mut it = fds.iter();
        let what = "a network namespace";
        if self.user_ns {
            let user = it.next().ok_or_else(|| answer_err("no user namespace"))?;
            join(user, libc::CLONE_NEWUSER, what)?;
        }
        let net = it
            .next()
            .ok_or_else(|| answer_err("no network namespace"))?;
        join(net, libc::CLONE_NEWNET, what)?;
        drop(fds);
        let mut mount_state = Ok(());
        if mount {
            // As in `namespaces::enter`: a private IPC namespace with the
            // mount layer.
            if let Err(source) = sys::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWIPC) {
                let e = NsError::Unshare {
                    what: "a mount and an IPC namespace",
                    source,
                };
                mount_state = Err(e.to_string());
            }
        }
        Ok((self.proxy, mount_state))
    }

    /// The helper's answer: the namespace descriptors, or why it failed.
    fn receive(&self) -> Result<Vec<File>, NetError> {
        let mut payload = [0u8; 5];
        let mut iov = [io::IoSliceMut::new(&mut payload)];
        let mut space = nix::cmsg_space!([RawFd; 2]);
        let msg = loop {
            match socket::recvmsg::<()>(
                self.helper_sock.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(answer_err(&e.to_string())),
                Ok(m) => break m,
            }
        };
        let mut fds = Vec::new();
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(v) = c {
                    // The kernel just installed these descriptors for us;
                    // each is owned once, here.
                    fds.extend(v.into_iter().map(|fd| File::from(sys::take_received(fd))));
                }
            }
        }
        if msg.bytes != 5 {
            return Err(answer_err("the helper process ended without an answer"));
        }
        let errno = i32::from_le_bytes([payload[1], payload[2], payload[3], payload[4]]);
        let source = io::Error::from_raw_os_error(errno);
        match payload[0] {
            0 => Ok(fds),
            STEP_UNSHARE => Err(NsError::Unshare {
                what: if self.user_ns {
                    "a network namespace (in a new user namespace)"
                } else {
                    "a network namespace"
                },
                source,
            }
            .into()),
            STEP_MAP => Err(NsError::Map {
                file: "uid_map/gid_map",
                source,
            }
            .into()),
            STEP_LO => Err(NetError::Setup {
                op: "bringing up the loopback interface (SIOCSIFFLAGS)".into(),
                source,
            }),
            _ => Err(NetError::Setup {
                op: "opening the new namespaces (/proc/self/ns)".into(),
                source,
            }),
        }
    }
}

fn answer_err(why: &str) -> NetError {
    NetError::Setup {
        op: "creating the network namespace in a helper process".into(),
        source: io::Error::other(why.to_string()),
    }
}

/// `setns(2)` into the namespace `fd` refers to.
fn join(fd: &File, kind: libc::c_int, what: &'static str) -> Result<(), NetError> {
    sys::setns(fd, kind).map_err(|source| NsError::Unshare { what, source })?;
    Ok(())
}

impl ProxyChild {
    /// Inside the new network namespace (its `lo` is up): binds the
    /// listeners and hands them to the proxy with the `--net-log` file.
    pub fn hand_over(self, allow: &Allowlist, log: Option<File>) -> Result<Handed, NetError> {
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
        // The log first when there is one, then the listeners in the order
        // of `addrs` (the proxy's listener first).
        let mut fds: Vec<RawFd> = log.iter().map(|f| f.as_raw_fd()).collect();
        fds.extend(listeners.iter().map(|l| l.as_raw_fd()));
        let mut payload = [0u8; 9];
        payload[..8].copy_from_slice(&ino.to_le_bytes());
        payload[8] = u8::from(log.is_some());
        let iov = [io::IoSlice::new(&payload)];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        socket::sendmsg::<()>(self.sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
            .map_err(|e| NetError::Setup {
                op: "handing the listeners to the proxy".into(),
                source: e.into(),
            })?;
        drop(listeners);
        drop(log);
        Ok(Handed {
            lifetime: self.lifetime,
            proxy,
        })
    }
}

/// The proxy process. Never returns.
fn proxy_main(allow: Allowlist, sock: OwnedFd, lifetime: OwnedFd) -> ! {
    // Not dumpable: no ptrace or /proc/PID/mem by same-uid processes (the
    // sandbox has its own barriers; this is one more).
    sys::set_undumpable_named(c"nono-proxy");
    close_all_but(&[2, sock.as_raw_fd(), lifetime.as_raw_fd()]);
    let exposures = allow.exposed();
    let code = match receive(&sock, &exposures) {
        Some((ino, log, listeners)) => {
            let shared = Arc::new(Shared::new(Config {
                allow,
                log: crate::proxy::log::Log::new(log),
            }));
            drop(sock);
            if server::spawn(&shared, listeners).is_ok() {
                crate::proxy::lifetime::wait_for_end(&lifetime, ino);
                shared.settle(std::time::Duration::from_millis(500));
                let mut lines = Vec::new();
                let lost = shared.cfg.log.lost();
                if lost > 0 {
                    lines.push(format!(
                        "nono: warning: --net-log: {lost} connection record(s) could not be written"
                    ));
                }
                if let Ok(r) = shared.refused.lock() {
                    if let Some(text) = crate::proxy::log::summary(&r.targets) {
                        lines.extend(text.lines().map(|l| crate::output::text(l).to_string()));
                    }
                }
                // The proxy outlives nothing it could report a failed write
                // to; unlike eprintln!, this cannot panic on a closed or full
                // stderr.
                use std::io::Write as _;
                let mut err = std::io::stderr().lock();
                for line in &lines {
                    if writeln!(err, "{line}").is_err() {
                        break;
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

/// What the proxy receives from nono: the namespace's inode, the
/// `--net-log` file and the listeners with what each serves.
type Handover = (u64, Option<File>, Vec<(TcpListener, Role)>);

/// Receives the namespace inode, the `--net-log` file and the listeners
/// from nono.
fn receive(sock: &OwnedFd, exposures: &[crate::proxy::allow::Exposure]) -> Option<Handover> {
    let mut payload = [0u8; 9];
    let mut iov = [io::IoSliceMut::new(&mut payload)];
    let mut space = nix::cmsg_space!([RawFd; 64]);
    let msg = socket::recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ok()?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(v) = c {
            fds.extend(v);
        }
    }
    if msg.bytes != 9 {
        return None;
    }
    let mut ino = [0u8; 8];
    ino.copy_from_slice(&payload[..8]);
    let ino = u64::from_le_bytes(ino);
    let mut fds = fds.into_iter();
    let log = if payload[8] == 1 {
        // The kernel just installed this descriptor for us.
        Some(File::from(sys::take_received(fds.next()?)))
    } else {
        None
    };
    let mut out = Vec::new();
    for (i, fd) in fds.enumerate() {
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
    (!out.is_empty()).then_some((ino, log, out))
}
