//! `nono run`: build the policy, refuse what cannot be enforced, enter
//! the namespaces, apply the sandbox and replace nono with the command
//! (or, with `--dry-run`, print what would be enforced).

use std::ffi::OsString;
use std::process::ExitCode;

use super::{
    blocked_failure, host_mode_unavailable, kernel_view, print, print_text, say, AppError,
};
use crate::cli::{RunArgs, SnapshotArg};
use crate::error::{Exit, Failure};
use crate::policy::{self, Access, Context, Policy};
use crate::request::{
    add_tool_env, build_policy, choose_agent, env_plan, git_fallback, insert_agent_args,
    spec_from_args, with_agent_env,
};
use crate::{advice, exec, output, profile, proxy, report, sandbox, tmpdir, undo};

pub fn run_command(mut args: RunArgs) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    policy::programs::cache::configure(&ctx.home, &policy::state_base(&ctx.home), !args.dry_run);
    let agent = choose_agent(&mut args.policy, &args.command, &ctx);
    // Only a real run creates the directories profiles ask for.
    let create = if args.dry_run {
        profile::CreateDirs::No
    } else {
        profile::CreateDirs::Yes
    };
    // The policy builder resolves every grant: the profiles' own existence
    // checks would only repeat it (see `profile::PathChecks`).
    let checks = profile::PathChecks::Deferred;
    let (spec, created) = spec_from_args(&args.policy, &ctx, create, checks)?;
    let (env_policy, mut env_plan) = env_plan(&spec)?;
    // Host-allowlist mode: the proxy and the network namespace are made by
    // a helper process while the policy is built (sandbox::netns).
    #[cfg(target_os = "linux")]
    let early_net = (!args.dry_run)
        .then(|| sandbox::netns::start_early(&spec))
        .flatten();
    #[cfg(not(target_os = "linux"))]
    let early_net: Option<()> = None;
    let snapshot = match args.snapshot {
        Some(SnapshotArg::Strict) => Some(undo::Mode::Strict),
        Some(SnapshotArg::BestEffort) => Some(undo::Mode::BestEffort),
        Some(SnapshotArg::Off) => None,
        None => spec.snapshot.then_some(undo::Mode::Strict),
    };
    if !args.dry_run {
        ensure_state_base(&ctx, snapshot.is_some());
    }
    let mut policy = build_policy(&args.policy, &spec, &ctx, checks)?;
    let invoked = args.command.first().cloned().unwrap_or_default();
    // A blocked name not found here: the refusal `run` would print.
    let mut absent_blocked = None;
    let mut cmd = match exec::resolve(&args.command, spec.search_path.as_deref(), &ctx.cwd) {
        Ok(cmd) => cmd,
        Err(e) => {
            // A blocked name is refused even when no such program exists
            // here: the answer does not depend on what is installed.
            let Some(b) = policy.commands.check_name(&invoked) else {
                return Err(e.into());
            };
            tracing::debug!(error = %e, "blocked command not found");
            let f = blocked_failure(&invoked, &b);
            if !args.dry_run {
                return Err(f.into());
            }
            if !args.json {
                print_text(&report::dry_run::BlockedCommand {
                    message: &f.to_string(),
                })?;
                return Ok(Exit::Success.into());
            }
            // The JSON document keeps all its keys: the command as written.
            absent_blocked = Some(f.to_string());
            exec::Command {
                path: invoked.clone().into(),
                resolved: invoked.clone().into(),
                argv: args.command.clone(),
            }
        }
    };
    let inserted = insert_agent_args(&mut cmd, agent.as_ref(), &spec);
    let auto = args.policy.auto_profile.clone();
    let block = policy.commands.check_file(&invoked, &cmd.resolved);
    refuse_protected_tmp_base(&policy)?;

    if args.dry_run {
        let layer = sandbox::mount_layer(&policy);
        match &layer {
            Ok(l) => l.install(&mut policy, false),
            Err(_) => {
                if let Some((p, _)) = git_fallback(&spec, &ctx, &policy)? {
                    policy = p;
                }
                policy.split_programs();
            }
        }
        add_tool_env(&mut env_plan, &policy, &ctx);
        let view = kernel_view(&policy);
        let tmp = policy::decide::TmpBase::new(&tmpdir::base_dir());
        // What run would say when the sandbox cannot execute COMMAND
        // itself (a program in the home, not granted): run exits 126.
        let exec_denied = (block.is_none() && absent_blocked.is_none())
            .then(|| exec_refusal(&policy, &cmd, &ctx, &tmp))
            .flatten();
        let tmp_base = tmp.base;
        let guarantees = sandbox::guarantees(&policy, args.keep_caps);
        let plan = sandbox::kernel_plan(&policy);
        let advice = advice::for_command(&policy, &cmd, &ctx);
        let refusal = block
            .as_ref()
            .map(|b| blocked_failure(&invoked, b).to_string())
            .or(absent_blocked);
        let host_view = policy.net.host_mode().then(|| report::net::HostView {
            proxy: proxy::proxy_addr(&policy.net.allowlist()),
            unavailable: host_mode_unavailable(),
        });
        let snapshot_plans = match snapshot {
            Some(mode) => Some((mode, super::undo::plan(&policy)?, undo::Limits::from_env()?)),
            None => None,
        };
        let dry = report::dry_run::DryRun {
            policy: &policy,
            cmd: &cmd,
            kernel: &view,
            tmp_base: &tmp_base,
            style: output::Style::for_stdout(),
            blocked: refusal.as_deref(),
            exec_denied: exec_denied.as_deref(),
            guarantees: &guarantees,
            plan: plan.as_ref(),
            mount_layer: &layer,
            require_isolation: args.require_isolation,
            env_plan: &env_plan,
            env_policy: &env_policy,
            hosts: host_view.as_ref(),
            advice: &advice,
            created: &created,
            agent: report::dry_run::Agent {
                profile: agent.as_ref().map(|a| a.profile),
                auto: auto.is_some(),
                args: &inserted,
                env: &spec.agent_env,
            },
            snapshot: snapshot_plans.as_ref().map(|(mode, plans, limits)| {
                report::dry_run::Snapshot {
                    plans,
                    mode: *mode,
                    limits,
                }
            }),
        };
        print(&dry, args.json)?;
        return Ok(Exit::Success.into());
    }
    if let Some(b) = &block {
        return Err(blocked_failure(&invoked, b).into());
    }

    // Refuse before creating anything if this kernel cannot enforce it.
    sandbox::check(&policy)?;
    if args.keep_caps && policy.net.host_mode() {
        // Kept capabilities over the namespace's owner could undo it.
        return Err(AppError::KeepCapsInHostMode.into());
    }
    let net_log = open_net_log(&policy, &args)?;
    if let (Some(name), false) = (&auto, args.quiet) {
        say(&[format!(
            "nono: {} is a known agent: applying its profile {name} (--no-profile: only the options given; -q: hide this line)",
            output::text(&invoked.to_string_lossy()),
        )]);
    }
    // After the policy (the grants are known), before the sandbox and the
    // command: the command replaces this process, nothing runs after it.
    if let Some(mode) = snapshot {
        super::undo::take_for_run(&policy, mode, &ctx.cwd, &args.command, args.quiet)?;
    }
    let run_dir = tmpdir::create()?;
    // Rules are opened without following symlinks: bind the directory by
    // its canonical path, even when TMPDIR is reached through a symlink.
    let run_path = canonical(&run_dir.path);
    // The mount-namespace layer first: its mounts must exist before the
    // Landlock rules are opened. The run directory becomes the private
    // /tmp where no grant lies in /tmp; otherwise it stays where it is.
    // Before the namespaces: the descriptors' paths are the host's.
    warn_truncatable_stdio(&policy);
    let planned = sandbox::mount_layer_plan(&policy, Some(&run_path));
    // Every namespace of the run, with one owner (mount layer, host
    // allowlist); the proxy was started before, outside.
    let (mount_state, network) = enter_namespaces(&policy, &planned, net_log, early_net)?;
    let active = match (&planned, mount_state) {
        (Ok(layer), Ok(())) => Ok(layer),
        (_, Err(reason)) => Err(reason),
        (Err(reason), Ok(())) => Err(reason.clone()),
    };
    let layer_active = active.is_ok();
    let tmp_path = match active {
        Ok(layer) => {
            tracing::debug!("mount layer active");
            layer.install(&mut policy, false);
            match layer.tmpdir() {
                Some(t) => t,
                None => {
                    policy.add_tmpdir(&run_path);
                    run_dir.path.clone()
                }
            }
        }
        Err(reason) => {
            if args.require_isolation {
                return Err(sandbox::SandboxError::IsolationRequired(reason).into());
            }
            tracing::debug!(%reason, "mount layer unavailable: Landlock only");
            if let Some((p, warning)) = git_fallback(&spec, &ctx, &policy)? {
                policy = p;
                if !args.quiet {
                    say(&[warning]);
                }
            }
            policy.split_programs();
            policy.add_tmpdir(&run_path);
            run_dir.path.clone()
        }
    };
    add_tool_env(&mut env_plan, &policy, &ctx);
    tracing::debug!(rules = policy.rules.len(), tmpdir = %output::path(&tmp_path), "applying sandbox");
    for r in &policy.rules {
        tracing::trace!(path = %output::path(&r.path), access = %r.access(), "rule");
    }

    let mut keep = vec![run_dir.lock_fd()];
    keep.extend(
        network
            .as_ref()
            .map(|n| n.lifetime_fd())
            .filter(|fd| *fd >= 0),
    );
    exec::seal_fds(&keep)?;
    let enforced = sandbox::apply(&policy)?;
    if !args.quiet {
        super::say(&enforced.warnings);
    }
    tracing::debug!(
        abi = enforced.abi,
        rules = enforced.rules,
        filters = enforced.filters,
        "sandbox enforced"
    );
    // A user namespace hands its creator every capability over it: those
    // go whatever --keep-caps says (it is about a root caller's own).
    let in_user_ns = layer_active && !nix::unistd::geteuid().is_root();
    if !args.keep_caps || in_user_ns {
        let dropped = sandbox::drop_capabilities()?;
        tracing::debug!(dropped, "capabilities");
    }

    let mut env = with_agent_env(env_plan.command_env(&tmp_path), &spec.agent_env);
    if let Some(n) = &network {
        add_proxy_env(&mut env, n.proxy_addr());
    }
    let err = exec::exec(&cmd, &env);
    // exec returned: the command did not start. Keep the lock descriptor
    // alive until here so the directory is not cleaned up under us.
    drop((run_dir, network));
    Err(err.into())
}

/// The error `run` would end with when the sandbox denies executing
/// COMMAND (or its `#!` interpreter), from the same decision `why --op
/// exec` makes; `None` when it may run.
fn exec_refusal(
    policy: &Policy,
    cmd: &exec::Command,
    ctx: &Context,
    tmp: &policy::decide::TmpBase,
) -> Option<String> {
    let d = policy::decide::decide(policy, &cmd.path, policy::Op::Exec, ctx, tmp).ok()?;
    if d.allowed || !d.exists {
        return None;
    }
    let e = exec::ExecError::DeniedBySandbox(d.checked.clone());
    let mut text = e.to_string();
    for h in crate::error::Diagnostic::hints(&e) {
        text.push_str("; ");
        text.push_str(&h);
    }
    Some(text)
}

/// nono's state directory (`policy::state_base`: snapshots, scan cache,
/// overlays) made before the policy is built. It is protected, but the
/// mount layer can only mask what exists when its plan is made: created
/// later in the run (the first snapshot, the first kept listing), it would
/// stay readable under a grant of the home, to this command and to a
/// process it leaves behind, for every later run's snapshots. Made where
/// nono would write there anyway: a home the user owns, or a snapshot.
fn ensure_state_base(ctx: &Context, snapshot: bool) {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    let base = policy::state_base(&ctx.home);
    if base.is_dir() {
        return;
    }
    let owned =
        std::fs::metadata(&ctx.home).is_ok_and(|m| m.uid() == nix::unistd::geteuid().as_raw());
    if owned || snapshot {
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&base)
        {
            tracing::debug!(error = %e, "cannot create the state directory");
        }
    }
}

/// `--net-log FILE`, opened by nono (with the caller's rights, before the
/// sandbox) and handed to the proxy. Only meaningful with a host list.
fn open_net_log(policy: &Policy, args: &RunArgs) -> Result<Option<std::fs::File>, Failure> {
    let Some(path) = &args.net_log else {
        return Ok(None);
    };
    if !policy.net.host_mode() {
        return Err(AppError::NetLogWithoutHosts.into());
    }
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map(Some)
        .map_err(|source| {
            AppError::NetLog {
                path: path.clone(),
                source,
            }
            .into()
        })
}

/// The network side of the run, once the namespace is entered.
#[cfg(target_os = "linux")]
struct Network(Option<sandbox::netns::Handed>);

#[cfg(target_os = "linux")]
impl Network {
    fn lifetime_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.0.as_ref().map_or(-1, |h| h.lifetime.as_raw_fd())
    }
    fn proxy_addr(&self) -> Option<std::net::SocketAddr> {
        self.0.as_ref().map(|h| h.proxy)
    }
}

/// The run's namespaces: the mount layer's (when it is planned) and, in
/// host-allowlist mode, the network namespace, made with its proxy by a
/// helper (started early, or here) and joined, the proxy given its
/// listeners after.
/// `--net-block` as root adds an empty network namespace as a second layer.
/// Returns whether the mount layer is active (or why not) and the network
/// side. Host-allowlist mode fails closed; the mount layer falls back.
#[cfg(target_os = "linux")]
fn enter_namespaces(
    policy: &Policy,
    planned: &Result<sandbox::MountLayer, String>,
    log: Option<std::fs::File>,
    early: Option<sandbox::netns::Started>,
) -> Result<(Result<(), String>, Option<Network>), Failure> {
    use sandbox::namespaces::{enter, NsError, Unshare};
    use sandbox::netns::{self, NetError};
    let host = policy.net.host_mode();
    if host {
        if let Some(e) = netns::simulated_unavailable() {
            return Err(NetError::Namespace(e).into());
        }
        // The helper's user and network namespaces, joined; the mount
        // namespace unshared inside them. Without the network namespace
        // nothing runs.
        let allow = policy.net.allowlist();
        let started = match early {
            Some(s) => s,
            None => netns::start(allow.clone())?,
        };
        let (proxy, mut mount_state) = started.enter(planned.is_ok())?;
        if let Err(planned_why) = planned {
            mount_state = Err(planned_why.clone());
        }
        let handed = proxy.hand_over(&allow, log)?;
        tracing::debug!(proxy = %handed.proxy, "host-allowlist mode");
        if let (Ok(()), Ok(layer)) = (&mount_state, planned) {
            mount_state = sandbox::apply_mount_layer(layer)?;
        }
        return Ok((mount_state, Some(Network(Some(handed)))));
    }
    // Only where no user namespace is needed (root): inside one, files of
    // unmapped users would appear owned by `nobody`, a visible change that
    // --net-block, fully enforced by seccomp and Landlock, need not make
    // on its own.
    let block_ns = !host
        && policy.net.block
        && sandbox::namespaces::has_sys_admin()
        && netns::simulated_unavailable().is_none();
    let mut want = Unshare {
        mount: planned.is_ok(),
        net: block_ns,
    };
    let mut mount_state: Result<(), String> = planned.as_ref().map(|_| ()).map_err(Clone::clone);
    if want.any() {
        if let Err(e) = enter(want) {
            // Half-entered (a user namespace without id maps): refuse.
            if !matches!(e, NsError::Unshare { .. }) {
                return Err(NetError::from(e).into());
            }
            // Nothing changed: the mount layer falls back; --net-block's
            // namespace is tried alone (seccomp and Landlock still block
            // everything without it).
            if want.mount {
                mount_state = Err(e.to_string());
            }
            want.mount = false;
            if block_ns {
                let net_only = Unshare {
                    mount: false,
                    net: true,
                };
                if let Err(e) = enter(net_only) {
                    if !matches!(e, NsError::Unshare { .. }) {
                        return Err(NetError::from(e).into());
                    }
                    tracing::debug!(error = %e, "--net-block without a network namespace");
                    want.net = false;
                }
            }
        }
    }
    let network = if want.net {
        tracing::debug!("--net-block: empty network namespace entered");
        Some(Network(None))
    } else {
        None
    };
    if let (true, Ok(layer)) = (want.mount, planned) {
        mount_state = sandbox::apply_mount_layer(layer)?;
    }
    Ok((mount_state, network))
}

#[cfg(not(target_os = "linux"))]
struct Network;

#[cfg(not(target_os = "linux"))]
impl Network {
    fn lifetime_fd(&self) -> i32 {
        -1
    }
    fn proxy_addr(&self) -> Option<std::net::SocketAddr> {
        None
    }
}

/// Host-allowlist mode and the mount layer need namespaces, which only
/// Linux has.
#[cfg(not(target_os = "linux"))]
fn enter_namespaces(
    policy: &Policy,
    planned: &Result<sandbox::MountLayer, String>,
    _log: Option<std::fs::File>,
    _early: Option<()>,
) -> Result<(Result<(), String>, Option<Network>), Failure> {
    if policy.net.host_mode() {
        return Err(AppError::HostModeUnsupported.into());
    }
    Ok((planned.as_ref().map(|_| ()).map_err(Clone::clone), None))
}

/// Points the command's HTTP clients at the proxy (see `proxy::env_vars`):
/// replaces whatever proxy variables the caller had.
fn add_proxy_env(env: &mut Vec<(OsString, OsString)>, proxy: Option<std::net::SocketAddr>) {
    let Some(proxy) = proxy else { return };
    let names = proxy::env_names();
    env.retain(|(k, _)| !names.iter().any(|n| k == n.as_str()));
    for (k, v) in proxy::env_vars(proxy) {
        env.push((k.into(), v.into()));
    }
}

/// A regular file on descriptor 0, 1 or 2 opened for writing (`>> log`)
/// was opened by the shell before the sandbox: Landlock does not check
/// descriptors opened before it, so the command can truncate (or, outside
/// the write grants, overwrite) that file through it. nono cannot take that
/// right away without breaking the redirection, so it says so, once per
/// file, where the policy would not allow truncating it. (Descriptors
/// opened with O_APPEND can lose the flag with fcntl, so "append only"
/// does not hold either.)
fn warn_truncatable_stdio(policy: &Policy) {
    use std::os::unix::fs::FileTypeExt as _;
    let names = ["standard input", "standard output", "standard error"];
    let mut seen: Vec<std::path::PathBuf> = Vec::new();
    let can = if sandbox::truncation_refused_everywhere() {
        // seccomp refuses ftruncate and O_TRUNC everywhere on this kernel;
        // rewriting in place stays possible.
        "overwrite"
    } else {
        "truncate or overwrite"
    };
    let mut lines = Vec::new();
    for (fd, name) in names.iter().enumerate() {
        // SAFETY: F_GETFL only reads the descriptor's status flags.
        let flags = unsafe { libc::fcntl(fd as i32, libc::F_GETFL) };
        if flags < 0 || flags & libc::O_ACCMODE == libc::O_RDONLY {
            continue;
        }
        let link = format!("/dev/fd/{fd}");
        let Ok(meta) = std::fs::metadata(&link) else {
            continue;
        };
        let ft = meta.file_type();
        if !ft.is_file() || ft.is_fifo() || ft.is_socket() {
            continue;
        }
        let Ok(path) = std::fs::read_link(&link) else {
            continue;
        };
        if seen.contains(&path) || policy.rights_at(&path).0.contains(Access::DELETE) {
            continue;
        }
        lines.push(format!(
            "nono: warning: {name} is the file {}, opened before the sandbox: the command can {can} it through that descriptor, whatever the grants",
            output::path(&path)
        ));
        seen.push(path);
    }
    if !lines.is_empty() {
        lines.push("hint: to keep the file safe, pass the output through a pipe: nono run ... | cat >> FILE".into());
        say(&lines);
    }
}

/// The run directory is created and granted read-write-delete: under a
/// TMPDIR inside a protected (or read-only) path that would hand the
/// command a directory there. Refused before anything is created.
fn refuse_protected_tmp_base(policy: &Policy) -> Result<(), Failure> {
    let base = policy::decide::TmpBase::new(&tmpdir::base_dir()).base;
    let hit = policy::protected::find(&policy.protected, &base)
        .or_else(|| policy::protected::find_read_only(&policy.protected, &base));
    match hit {
        Some(p) => Err(AppError::ProtectedTmpBase {
            base,
            category: p.category.to_string(),
        }
        .into()),
        None => Ok(()),
    }
}

fn canonical(p: &std::path::Path) -> std::path::PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
