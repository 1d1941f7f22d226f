//! nono: run a command in a kernel-enforced capability sandbox.

// Every `unsafe` block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod advice;
mod cli;
mod exec;
mod explain;
mod manpage;
mod output;
mod policy;
mod profile;
mod proxy;
mod sandbox;
mod setup;
mod tmpdir;
mod undo;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use cli::{
    Cli, Command, CompletionShell, CompletionsArgs, OpArg, PolicyArgs, ProfileCommand, RunArgs,
    SetupArgs, SnapshotArg, UndoCommand, WhyArgs,
};
use policy::{Access, Context, Op, Policy, PolicySpec, Source};

/// nono's own failures: exit 125 unless the error says otherwise.
struct Failure {
    code: u8,
    message: String,
    hints: Vec<String>,
    /// Standard output was a pipe whose reader went away: end the way a
    /// program killed by SIGPIPE does, without a message.
    closed_pipe: bool,
}

impl Failure {
    fn new(code: u8, message: impl std::fmt::Display, hints: Vec<String>) -> Failure {
        Failure {
            code,
            message: message.to_string(),
            hints,
            closed_pipe: false,
        }
    }
}

/// Writes a report to standard output. Every report nono prints goes
/// through here, so a write error is handled once: a closed pipe
/// (`nono ... | head -c 1`) ends nono quietly, anything else (a full disk,
/// `/dev/full`) is one `nono:` line and exit 125. `print!` would panic.
fn out(bytes: impl AsRef<[u8]>) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes.as_ref())
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Failure {
                    closed_pipe: true,
                    ..Failure::new(141, "standard output closed", vec![])
                }
            } else {
                Failure::new(125, format!("cannot write to standard output: {e}"), vec![])
            }
        })
}

/// Writes nono's own messages to standard error. There is nowhere left to
/// report a failure of this write, so it is ignored rather than a panic
/// (`eprintln!` panics on `2>/dev/full`).
fn say(lines: &[String]) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    for l in lines {
        if writeln!(stderr, "{l}").is_err() {
            return;
        }
    }
}

/// Ends the process as SIGPIPE's default action would: a shell then sees
/// the same status as for any other program whose reader went away (141),
/// and prints nothing.
fn die_of_closed_pipe() -> ExitCode {
    // SAFETY: restoring the default disposition and raising the signal
    // touch no memory; if the signal does not end the process (blocked by
    // the parent), the exit code below stands in for it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    ExitCode::from(141)
}

impl From<policy::PolicyError> for Failure {
    fn from(e: policy::PolicyError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<sandbox::SandboxError> for Failure {
    fn from(e: sandbox::SandboxError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<exec::ExecError> for Failure {
    fn from(e: exec::ExecError) -> Failure {
        let hints = e.hints();
        Failure::new(e.exit_code(), e, hints)
    }
}

impl From<profile::ProfileError> for Failure {
    fn from(e: profile::ProfileError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<policy::env::EnvError> for Failure {
    fn from(e: policy::env::EnvError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<undo::UndoError> for Failure {
    fn from(e: undo::UndoError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

#[cfg(target_os = "linux")]
impl From<sandbox::netns::NetError> for Failure {
    fn from(e: sandbox::netns::NetError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<tmpdir::TmpError> for Failure {
    fn from(e: tmpdir::TmpError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(f) if f.closed_pipe => die_of_closed_pipe(),
        Err(f) => {
            let mut lines = vec![format!("nono: {}", output::text(&f.message))];
            lines.extend(f.hints.iter().map(|h| format!("hint: {}", output::text(h))));
            say(&lines);
            ExitCode::from(f.code)
        }
    }
}

/// Help and version go to stdout with status 0; every other parse error is
/// a one-line `nono:` message with status 125 (not clap's 2), so scripts can
/// tell nono's failures from the command's.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let styled = e.render();
            let text = if output::Style::for_stdout().color() {
                styled.ansi().to_string()
            } else {
                styled.to_string()
            };
            return match out(text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(f) if f.closed_pipe => die_of_closed_pipe(),
                Err(f) => {
                    say(&[format!("nono: {}", output::text(&f.message))]);
                    ExitCode::from(f.code)
                }
            };
        }
        // `nono` alone: an error like any other, not a help page on stderr.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            say(&[
                "nono: no subcommand given".into(),
                "hint: see 'nono --help'".into(),
            ]);
            return ExitCode::from(125);
        }
        _ => {}
    }
    let rendered = e.render().to_string();
    // clap's message is the first paragraph; some messages continue on
    // indented lines ("required arguments were not provided:\n  <COMMAND>").
    let mut paragraphs = rendered.split("\n\n");
    let message = paragraphs
        .next()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("tip: "))
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    let message = if message.is_empty() {
        "invalid usage"
    } else {
        message
    };
    let mut lines = vec![format!("nono: {}", output::text(message))];
    for l in rendered.lines() {
        if let Some(tip) = l.trim().strip_prefix("tip: ") {
            lines.push(format!("hint: {}", output::text(tip)));
        }
    }
    lines.push("hint: see 'nono --help'".into());
    say(&lines);
    ExitCode::from(125)
}

/// Logging costs start-up time, so the subscriber is only installed when
/// asked for (`-v` or `NONO_LOG`).
fn init_logging(verbose: u8) {
    let from_env = std::env::var_os("NONO_LOG").is_some();
    if verbose == 0 && !from_env {
        return;
    }
    let level = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NONO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("nono={level}")));
    // Colour only on a terminal: logs redirected to a file stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(args) => run_command(args),
        Command::Why(args) => why(args),
        Command::Setup(args) => setup(args),
        Command::Completions(args) => completions(args),
        Command::Man => man(),
        Command::Profile(cmd) => profile_command(cmd),
        Command::Undo(cmd) => undo_command(cmd),
    }
}

/// The one place where flags become a policy request: the profiles first,
/// then the flags add to them.
fn spec_from_args(
    args: &PolicyArgs,
    ctx: &Context,
    create: profile::CreateDirs,
) -> Result<(PolicySpec, Vec<std::path::PathBuf>), Failure> {
    let vars = profile::expand::Vars {
        ctx,
        env: &profile::expand::process_env,
    };
    let (mut spec, created) =
        profile::spec_for(&args.profile, args.auto_profile.as_deref(), &vars, create)?;
    for p in &args.allow {
        spec.grant(p, Access::READ_WRITE, Source::Flag("--allow"));
    }
    for p in &args.read {
        spec.grant(p, Access::READ_EXEC, Source::Flag("--read"));
    }
    for p in &args.write {
        spec.grant(p, Access::WRITE, Source::Flag("--write"));
    }
    for p in &args.allow_delete {
        spec.allow_delete.push(policy::DeleteRequest {
            path: p.clone(),
            source: Source::Flag("--allow-delete"),
        });
    }
    spec.net_block |= args.net_block;
    spec.allow_git_config |= args.allow_git_config;
    for h in &args.allow_host {
        spec.allow_hosts
            .push((h.clone(), Source::Flag("--allow-host")));
    }
    spec.net_allow |= args.net_allow;
    spec.allow_connect.extend(&args.allow_connect);
    spec.allow_bind.extend(&args.allow_bind);
    for p in &args.allow_unix_socket {
        spec.allow_unix_sockets
            .push((p.clone(), Source::Flag("--allow-unix-socket")));
    }
    for n in &args.allow_command {
        spec.allow_commands.push(policy::spec::CommandRequest {
            name: n.clone(),
            source: Source::Flag("--allow-command"),
        });
    }
    for n in &args.block_command {
        spec.block_commands.push(policy::spec::CommandRequest {
            name: n.clone(),
            source: Source::Flag("--block-command"),
        });
    }
    for pattern in &args.allow_env {
        spec.env.allow.push(policy::env::AllowRequest {
            pattern: pattern.clone(),
            source: Source::Flag("--allow-env"),
        });
    }
    for arg in &args.env {
        spec.env.set_arg(arg, Source::Flag("--env"))?;
    }
    if args.env_clear && spec.env.clear.is_none() {
        spec.env.clear = Some(Source::Flag("--env-clear"));
    }
    // The command's PATH (nono's, unless --env sets it): its directories
    // are where the command finds programs, so they are scanned for
    // blocked ones, and COMMAND is looked up in it.
    spec.search_path = spec.env.command_path(std::env::var_os("PATH"));
    Ok((spec, created))
}

/// The known agent `argv` starts, and, when no profile was named and
/// `--no-profile` was not given, its profile chosen for `policy`.
fn choose_agent(
    policy: &mut PolicyArgs,
    argv: &[OsString],
    ctx: &Context,
) -> Option<profile::agents::Detected> {
    let path_var = std::env::var_os("PATH");
    let cmd = exec::resolve(argv, path_var.as_deref(), &ctx.cwd).ok()?;
    let agent = profile::agents::detect(argv, &cmd.resolved, &ctx.cwd)?;
    if policy.profile.is_empty() && !policy.no_profile {
        policy.auto_profile = Some(agent.profile.to_string());
    }
    Some(agent)
}

/// The profiles' `[agent] args` for the agent the command is, inserted
/// after its program (or script).
fn insert_agent_args(
    cmd: &mut exec::Command,
    agent: Option<&profile::agents::Detected>,
    spec: &PolicySpec,
) -> Vec<String> {
    let Some(agent) = agent else {
        return Vec::new();
    };
    let Some((_, extra)) = spec.agent_args.iter().find(|(n, _)| n == agent.profile) else {
        return Vec::new();
    };
    let at = agent.insert_at.min(cmd.argv.len());
    cmd.argv
        .splice(at..at, extra.iter().map(OsString::from))
        .for_each(drop);
    extra.clone()
}

fn run_command(mut args: RunArgs) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    let agent = choose_agent(&mut args.policy, &args.command, &ctx);
    // Only a real run creates the directories profiles ask for.
    let create = if args.dry_run {
        profile::CreateDirs::No
    } else {
        profile::CreateDirs::Yes
    };
    profile::defer_path_checks(true);
    let (spec, created) = spec_from_args(&args.policy, &ctx, create)?;
    let (env_policy, env_plan) = env_plan(&spec)?;
    let snapshot = match args.snapshot {
        Some(SnapshotArg::Strict) => Some(undo::Mode::Strict),
        Some(SnapshotArg::BestEffort) => Some(undo::Mode::BestEffort),
        Some(SnapshotArg::Off) => None,
        None => spec.snapshot.then_some(undo::Mode::Strict),
    };
    let mut policy = match Policy::build(&spec, &ctx) {
        Ok(p) => p,
        Err(e @ policy::PolicyError::NotFound(_))
            if !args.policy.profile.is_empty() || args.policy.auto_profile.is_some() =>
        {
            // A profile may name it: load the profiles again with their
            // path checks, for an error that gives the file and line.
            profile::defer_path_checks(false);
            spec_from_args(&args.policy, &ctx, profile::CreateDirs::No)?;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let invoked = args.command.first().cloned().unwrap_or_default();
    let cmd = match exec::resolve(&args.command, spec.search_path.as_deref(), &ctx.cwd) {
        Ok(cmd) => cmd,
        Err(e) => {
            // A blocked name is refused even when no such program exists
            // here: the answer does not depend on what is installed.
            let Some(b) = policy.commands.check_name(&invoked) else {
                return Err(e.into());
            };
            tracing::debug!(error = %e, "blocked command not found");
            let f = blocked_failure(&invoked, &b);
            if args.dry_run {
                out(explain::blocked_command(Some(&f.message)))?;
                return Ok(ExitCode::SUCCESS);
            }
            return Err(f);
        }
    };
    let mut cmd = cmd;
    let inserted = insert_agent_args(&mut cmd, agent.as_ref(), &spec);
    let auto = args.policy.auto_profile.clone();
    let block = policy.commands.check_file(&invoked, &cmd.resolved);
    refuse_protected_tmp_base(&policy)?;

    if args.dry_run {
        let layer = sandbox::mount_layer(&policy);
        match &layer {
            Ok(l) => policy.add_rules(l.rules()),
            Err(_) => {
                if let Some((p, _)) = git_fallback(&spec, &ctx, &policy)? {
                    policy = p;
                }
            }
        }
        let view = kernel_view(&policy);
        let tmp_base = policy::decide::TmpBase::new(&tmpdir::base_dir()).base;
        let guarantees = sandbox::guarantees(&policy, args.keep_caps);
        let plan = sandbox::kernel_plan(&policy);
        let advice = advice::for_command(&policy, &cmd, &ctx);
        let refusal = block.as_ref().map(|b| blocked_failure(&invoked, b).message);
        let host_view = policy.net.host_mode().then(|| explain::HostView {
            proxy: proxy::proxy_addr(&policy.net.allowlist()),
            unavailable: host_mode_unavailable(),
        });
        if args.json {
            let mut doc =
                explain::dry_run_json(&policy, &cmd, &view, &tmp_base, &guarantees, plan.as_ref());
            doc["blocked"] = serde_json::json!(refusal);
            doc["host_allowlist"] = explain::host_allowlist_json(&policy.net, host_view.as_ref());
            doc["advice"] = serde_json::json!(advice);
            doc["create"] = serde_json::json!(created
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect::<Vec<_>>());
            doc["env"] = explain::env_json(&env_plan, &env_policy);
            doc["snapshot"] = match snapshot {
                Some(mode) => undo::report::plan_json(&undo::app::plan(&policy)?, mode),
                None => serde_json::Value::Null,
            };
            doc["agent"] = explain::agent_json(
                agent.as_ref().map(|a| a.profile),
                auto.is_some(),
                &inserted,
                &spec.agent_env,
            );
            doc["mount_layer"] = explain::mount_layer_json(&layer, args.require_isolation);
            out(explain::to_json_text(&doc))?;
        } else {
            let style = output::Style::for_stdout();
            let mut text =
                explain::dry_run(&policy, &cmd, &view, &tmp_base, style, refusal.as_deref());
            text.push_str(&explain::enforcement(&guarantees));
            text.push_str(&explain::mount_layer_text(&layer, args.require_isolation));
            text.push_str(&explain::env_section(&env_plan, &env_policy));
            text.push_str(&explain::kernel_rules(plan.as_ref()));
            if let Some(v) = &host_view {
                text.push_str(&explain::host_allowlist(&policy.net, v));
            }
            if !advice.is_empty() {
                text.push_str("\nknown to fail here, and the fix:\n");
                for a in &advice {
                    text.push_str(&format!("  - {}\n", output::text(a)));
                }
            }
            if !created.is_empty() {
                let dirs: Vec<String> = created.iter().map(|p| output::path(p)).collect();
                text.push_str(&format!(
                    "\nmissing now, created (mode 0700) and granted by the profile when nono runs: {}\n",
                    dirs.join(", ")
                ));
            }
            text.push_str(&explain::agent_text(
                agent.as_ref().map(|a| a.profile),
                auto.is_some(),
                &inserted,
                &spec.agent_env,
            ));
            if let Some(mode) = snapshot {
                let plans = undo::app::plan(&policy)?;
                let mut buf = Vec::new();
                undo::report::plan_text(&mut buf, &plans, mode, &undo::Limits::from_env()?)
                    .map_err(undo::UndoError::Output)?;
                text.push_str(&String::from_utf8_lossy(&buf));
            }
            out(text)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(b) = &block {
        return Err(blocked_failure(&invoked, b));
    }

    // Refuse before creating anything if this kernel cannot enforce it.
    sandbox::check(&policy)?;
    if args.keep_caps && policy.net.host_mode() {
        // Kept capabilities over the namespace's owner could undo it.
        return Err(Failure::new(
            125,
            "--keep-caps cannot be combined with host-allowlist mode: the kept capabilities could take the command out of its network namespace",
            vec!["drop --keep-caps, or --allow-host for an unrestricted network".into()],
        ));
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
        undo::app::take_for_run(&policy, mode, &ctx.cwd, &args.command, args.quiet)?;
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
    // One unshare for every namespace of the run (mount layer, host
    // allowlist); the proxy is started before it, outside.
    let (mount_state, network) = enter_namespaces(&policy, &planned, net_log)?;
    let active = match (&planned, mount_state) {
        (Ok(layer), Ok(())) => Ok(layer),
        (_, Err(reason)) => Err(reason),
        (Err(reason), Ok(())) => Err(reason.clone()),
    };
    let layer_active = active.is_ok();
    let tmp_path = match active {
        Ok(layer) => {
            tracing::debug!("mount layer active");
            policy.add_rules(layer.rules());
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
            policy.add_tmpdir(&run_path);
            run_dir.path.clone()
        }
    };
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
    drop(run_dir);
    drop(network);
    Err(err.into())
}

/// `--net-log FILE`, opened by nono (with the caller's rights, before the
/// sandbox) and handed to the proxy. Only meaningful with a host list.
fn open_net_log(policy: &Policy, args: &RunArgs) -> Result<Option<std::fs::File>, Failure> {
    let Some(path) = &args.net_log else {
        return Ok(None);
    };
    if !policy.net.host_mode() {
        return Err(Failure::new(
            125,
            "--net-log needs host-allowlist mode: only connections through the proxy are logged",
            vec!["add --allow-host HOST[:PORT] (or a profile with [network] allow_hosts)".into()],
        ));
    }
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map(Some)
        .map_err(|e| {
            Failure::new(
                125,
                format!("cannot open the --net-log file {}: {e}", output::path(path)),
                vec![],
            )
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

/// The run's namespaces, entered with one `unshare(2)`: the mount layer's
/// (when it is planned) and, in host-allowlist mode, the network namespace,
/// whose proxy is started first, outside it, and given its listeners after.
/// `--net-block` as root adds an empty network namespace as a second layer.
/// Returns whether the mount layer is active (or why not) and the network
/// side. Host-allowlist mode fails closed; the mount layer falls back.
#[cfg(target_os = "linux")]
fn enter_namespaces(
    policy: &Policy,
    planned: &Result<sandbox::MountLayer, String>,
    log: Option<std::fs::File>,
) -> Result<(Result<(), String>, Option<Network>), Failure> {
    use sandbox::namespaces::{enter, NsError, Unshare};
    use sandbox::netns::{self, NetError};
    let host = policy.net.host_mode();
    if host {
        if let Some(e) = netns::simulated_unavailable() {
            return Err(NetError::Namespace(e).into());
        }
    }
    // Only where no user namespace is needed (root): inside one, files of
    // unmapped users would appear owned by `nobody`, a visible change that
    // --net-block, fully enforced by seccomp and Landlock, need not make
    // on its own.
    let block_ns = !host
        && policy.net.block
        && sandbox::namespaces::has_sys_admin()
        && netns::simulated_unavailable().is_none();
    let allow = policy.net.allowlist();
    let child = if host {
        Some(netns::start_proxy(allow.clone(), log)?)
    } else {
        None
    };
    let mut want = Unshare {
        mount: planned.is_ok(),
        net: host || block_ns,
    };
    let mut mount_state: Result<(), String> = planned.as_ref().map(|_| ()).map_err(Clone::clone);
    if want.any() {
        if let Err(e) = enter(want) {
            // Half-entered (a user namespace without id maps), or the
            // network namespace host mode needs: refuse.
            if host || !matches!(e, NsError::Unshare { .. }) {
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
    let network = match child {
        Some(child) => {
            let handed = child.hand_over(&allow)?;
            tracing::debug!(proxy = %handed.proxy, "host-allowlist mode");
            Some(Network(Some(handed)))
        }
        None if want.net => {
            tracing::debug!("--net-block: empty network namespace entered");
            Some(Network(None))
        }
        None => None,
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
) -> Result<(Result<(), String>, Option<Network>), Failure> {
    if policy.net.host_mode() {
        return Err(Failure::new(
            125,
            "host-allowlist mode (--allow-host) is not available on this operating system yet",
            vec!["use --net-block, or --net-allow to run without a host list".into()],
        ));
    }
    Ok((planned.as_ref().map(|_| ()).map_err(Clone::clone), None))
}

/// Why host-allowlist mode cannot be set up here, if it cannot.
fn host_mode_unavailable() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        sandbox::netns::available().err().map(|e| e.to_string())
    }
    #[cfg(not(target_os = "linux"))]
    {
        Some("network namespaces are Linux-only".into())
    }
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
        Some(p) => Err(Failure::new(
            125,
            format!(
                "refusing to create the private temporary directory in {}: it lies in a protected path ({})",
                output::path(&base),
                p.category
            ),
            vec!["set TMPDIR to a directory outside the protected paths, e.g. TMPDIR=/tmp".into()],
        )),
        None => Ok(()),
    }
}

fn canonical(p: &std::path::Path) -> std::path::PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Without the mount layer, `.git/config` and `.git/hooks` can be kept
/// read-only only by carving the directories that hold them, which leaves
/// nothing creatable at the top of the project and git unable to commit.
/// The Landlock-only fallback leaves them writable instead, says so, and
/// `--require-isolation` refuses (SECURITY.md). Returns the policy to use
/// and the warning, when something changes.
fn git_fallback(
    spec: &PolicySpec,
    ctx: &Context,
    policy: &Policy,
) -> Result<Option<(Policy, String)>, Failure> {
    if spec.allow_git_config || policy.git_dirs.is_empty() {
        return Ok(None);
    }
    let dirs: Vec<String> = policy.git_dirs.iter().map(|p| output::path(p)).collect();
    let mut open = spec.clone();
    open.allow_git_config = true;
    let p = Policy::build(&open, ctx)?;
    Ok(Some((
        p,
        format!(
            "nono: warning: without the mount-namespace layer the configuration and hooks of {} stay writable (Landlock alone cannot keep them read-only and let git work); --require-isolation refuses instead",
            dirs.join(", ")
        ),
    )))
}

/// `nono: 'rm' is blocked (file destruction)`, exit 126.
fn blocked_failure(invoked: &std::ffi::OsStr, b: &policy::programs::CommandBlock) -> Failure {
    Failure::new(
        126,
        b.message(invoked),
        vec![format!("to run it anyway: {}", b.allow_flags())],
    )
}

/// The command's environment, decided from nono's: see `policy::env`.
/// Logs names only, never values.
fn env_plan(spec: &PolicySpec) -> Result<(policy::env::EnvPolicy, policy::env::EnvPlan), Failure> {
    let env_policy = policy::env::EnvPolicy::new(policy::env::EnvData::builtin()?, &spec.env)?;
    let inherited: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let plan = policy::env::build(&inherited, &env_policy);
    for e in plan
        .entries
        .iter()
        .filter(|e| e.action != policy::env::Action::Kept)
    {
        tracing::debug!(name = %output::path(std::path::Path::new(&e.name)), action = e.action.name(), reason = e.reason.code(), "environment");
    }
    Ok((env_policy, plan))
}

/// The profiles' `[agent] state_env` variables, set last over the
/// command's environment (a later profile's value wins).
fn with_agent_env(
    mut env: Vec<(OsString, OsString)>,
    agent_env: &[policy::spec::AgentEnv],
) -> Vec<(OsString, OsString)> {
    for a in agent_env {
        env.retain(|(k, _)| k != a.name.as_str());
        env.push((a.name.clone().into(), a.value.clone().into_os_string()));
    }
    env
}

fn kernel_view(policy: &Policy) -> explain::KernelView {
    let refusal = sandbox::check(policy).err().map(|e| e.to_string());
    #[cfg(target_os = "linux")]
    {
        let s = sandbox::Support::detect();
        let summary = if s.kernel_abi > 0 {
            format!(
                "Landlock ABI {} (nono uses ABI {}{})",
                s.kernel_abi,
                s.abi,
                s.test_cap
                    .map(|c| format!(", capped to {c} for testing"))
                    .unwrap_or_default()
            )
        } else {
            "Landlock unavailable".to_string()
        };
        explain::KernelView {
            summary,
            backend: "landlock",
            kernel_abi: (s.kernel_abi > 0).then_some(s.kernel_abi),
            abi: s.abi.max(0),
            refusal,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        explain::KernelView {
            summary: sandbox::backend_summary(),
            backend: if cfg!(target_os = "macos") {
                "seatbelt"
            } else {
                "none"
            },
            kernel_abi: None,
            abi: 0,
            refusal,
        }
    }
}

/// `nono why`: exit 0 when allowed, 1 when denied, 125 on error.
fn why(mut args: WhyArgs) -> Result<ExitCode, Failure> {
    use policy::decide::{self, GrantFlag, TmpBase};
    let ctx = Context::from_process()?;
    // `--env NAME=VALUE` is a policy option; `--env NAME` is the question.
    let (questions, sets): (Vec<OsString>, Vec<OsString>) = std::mem::take(&mut args.policy.env)
        .into_iter()
        .partition(|a| !a.as_encoded_bytes().contains(&b'='));
    args.policy.env = sets;
    // The command `run` would start: `-- COMMAND`, or the one asked about.
    let run_argv: Vec<OsString> = if !args.run_command.is_empty() {
        args.run_command.clone()
    } else {
        args.command.iter().cloned().collect()
    };
    if !run_argv.is_empty() {
        choose_agent(&mut args.policy, &run_argv, &ctx);
    }
    let auto_note = args.policy.auto_profile.as_ref().map(|p| {
        format!(
            "profile {p} is applied automatically for {} (--no-profile: only the options given)",
            run_argv[0].to_string_lossy()
        )
    });
    // The policy `run` would build from the same options, optionally with
    // extra grants: used to check a suggestion before offering it.
    let build = |extra: &[(GrantFlag, std::path::PathBuf)]| -> Result<Policy, Failure> {
        let mut with = args.policy.clone();
        for (flag, path) in extra {
            match flag {
                GrantFlag::Read => with.read.push(path.clone()),
                GrantFlag::Write => with.write.push(path.clone()),
                GrantFlag::AllowDelete => with.allow_delete.push(path.clone()),
            }
        }
        let (spec, _) = spec_from_args(&with, &ctx, profile::CreateDirs::No)?;
        Ok(Policy::build(&spec, &ctx)?)
    };
    // What build(&[]) gives, keeping the request for the environment and
    // the command's PATH.
    let (spec, _) = spec_from_args(&args.policy, &ctx, profile::CreateDirs::No)?;
    let mut policy = Policy::build(&spec, &ctx)?;
    let layer = sandbox::mount_layer(&policy).ok();
    match &layer {
        Some(l) => policy.add_rules(l.why_rules()),
        None => {
            if let Some((p, _)) = git_fallback(&spec, &ctx, &policy)? {
                policy = p;
            }
        }
    }
    if let Some(name) = questions.first() {
        if questions.len() > 1
            || args.path.is_some()
            || args.command.is_some()
            || args.connect.is_some()
            || args.bind.is_some()
        {
            return Err(Failure::new(
                125,
                "ask one question at a time: --env NAME, or a PATH, --command, --connect or --bind",
                vec![
                    "--env NAME=VALUE (with '=') sets a variable for the sandbox asked about"
                        .into(),
                ],
            ));
        }
        let (env_policy, _) = env_plan(&spec)?;
        let e = env_policy.decide(name, std::env::var_os(name).as_deref());
        if args.json {
            out(explain::to_json_text(&explain::why_env_json(&e)))?;
        } else {
            out(explain::why_env(&e, output::Style::for_stdout()))?;
        }
        let removed = e.action == policy::env::Action::Removed;
        return Ok(ExitCode::from(if removed { 1 } else { 0 }));
    }
    if let Some(name) = &args.command {
        return why_command(&policy, name, spec.search_path.as_deref(), &ctx, args.json);
    }
    if let Some(q) = &args.host {
        let (host, port) = policy::net::parse_query(q)?;
        let d = policy::net::decide_host(&policy.net, &host, port);
        let layers = if policy.net.host_mode() {
            explain::host_mode_layers(proxy::proxy_addr(&policy.net.allowlist()))
        } else {
            vec![]
        };
        if args.json {
            out(explain::to_json_text(&explain::why_host_json(&d, &layers)))?;
        } else {
            out(explain::why_host(&d, &layers, output::Style::for_stdout()))?;
        }
        return Ok(ExitCode::from(if d.allowed { 0 } else { 1 }));
    }
    let net_op = match (args.connect, args.bind) {
        (Some(p), _) => Some(policy::net::NetOp::Connect(p)),
        (None, Some(p)) => Some(policy::net::NetOp::Bind(p)),
        (None, None) => None,
    };
    if let Some(op) = net_op {
        let d = policy::net::decide(&policy.net, op);
        let refusal = sandbox::check(&policy).err().map(|e| e.to_string());
        let layers = sandbox::guarantees(&policy, false)
            .into_iter()
            .filter(|g| g.topic.contains("network") || g.topic.contains("TCP"))
            .map(|g| format!("{}: {}", g.topic, g.text))
            .collect::<Vec<_>>();
        if args.json {
            let doc = explain::why_net_json(&d, &layers, refusal.as_deref());
            out(explain::to_json_text(&doc))?;
        } else {
            out(explain::why_net(
                &d,
                &layers,
                refusal.as_deref(),
                output::Style::for_stdout(),
            ))?;
        }
        return Ok(ExitCode::from(if d.allowed { 0 } else { 1 }));
    }
    let Some(path) = args.path.clone() else {
        return Err(Failure::new(
            125,
            "nothing to ask about: give a PATH or --command NAME",
            vec![],
        ));
    };
    let op = match args.op {
        OpArg::Read => Op::Read,
        OpArg::Write => Op::Write,
        OpArg::Delete => Op::Delete,
        OpArg::Exec => Op::Exec,
    };
    let tmp = TmpBase::new(&tmpdir::base_dir());
    let mut d = decide::decide(&policy, &path, op, &ctx, &tmp)?;
    d.suggestion = decide::candidates(&d).into_iter().find(|s| {
        build(&s.options)
            .ok()
            .and_then(|p| decide::decide(&p, &path, op, &ctx, &tmp).ok())
            .is_some_and(|again| again.allowed)
    });
    if let Some(note) = layer.as_ref().and_then(|l| l.note_for(&d.checked)) {
        d.notes.push(note);
    }
    if let Err(e) = sandbox::check(&policy) {
        d.notes.push(format!(
            "this kernel cannot enforce the policy: run would refuse to start (exit 125): {e}"
        ));
    }
    if let Some(n) = auto_note {
        d.notes.push(n);
    }
    if args.json {
        out(explain::to_json_text(&explain::why_json(&d)))?;
    } else {
        out(explain::why(&d, output::Style::for_stdout()))?;
    }
    Ok(ExitCode::from(if d.allowed { 0 } else { 1 }))
}

/// `nono setup`: exit 0 when nono can run commands here, 1 when it cannot.
fn setup(args: SetupArgs) -> Result<ExitCode, Failure> {
    if args.apparmor_profile {
        let exe = std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .map_err(|e| Failure::new(125, format!("cannot find nono's own path: {e}"), vec![]))?;
        print!("{}", sandbox::apparmor_profile(&exe));
        return Ok(ExitCode::SUCCESS);
    }
    let report = setup::detect();
    let hosts = host_mode_unavailable();
    if args.json {
        let mut doc = explain::setup_json(&report);
        doc["host_allowlist"] = serde_json::json!({
            "available": hosts.is_none(),
            "unavailable_reason": hosts,
        });
        out(explain::to_json_text(&doc))?;
    } else {
        let mut text = explain::setup_text(&report, output::Style::for_stdout());
        match &hosts {
            None => text.push_str(&format!(
                "\nhost-allowlist mode (--allow-host): available (network namespace{})\n",
                if sandbox::privileged() {
                    ", entered directly as root"
                } else {
                    " in an unprivileged user namespace"
                }
            )),
            Some(why) => {
                text.push_str(&format!(
                    "\nhost-allowlist mode (--allow-host): NOT available: {}\n",
                    output::text(why)
                ));
                text.push_str("  enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0; on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for nono), or run as root\n");
            }
        }
        out(text)?;
    }
    Ok(ExitCode::from(if report.usable() { 0 } else { 1 }))
}

fn completions(args: CompletionsArgs) -> Result<ExitCode, Failure> {
    use clap::CommandFactory;
    let shell = match args.shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics on a failed write.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "nono", &mut script);
    out(script)?;
    Ok(ExitCode::SUCCESS)
}

fn man() -> Result<ExitCode, Failure> {
    let page = manpage::render()
        .map_err(|e| Failure::new(125, format!("cannot render the man page: {e}"), vec![]))?;
    out(page)?;
    Ok(ExitCode::SUCCESS)
}

fn profile_command(cmd: ProfileCommand) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    let vars = profile::expand::Vars {
        ctx: &ctx,
        env: &profile::expand::process_env,
    };
    match cmd {
        ProfileCommand::List => out(profile::show::list(&profile::list(&vars)))?,
        ProfileCommand::Show { name } => {
            let loaded = profile::load_all(std::slice::from_ref(&name), &vars)?;
            let mut spec = PolicySpec::default();
            let missing = profile::apply(&loaded, &vars, &mut spec, profile::CreateDirs::No)?;
            let policy = Policy::build(&spec, &ctx)?;
            out(profile::show::show(&loaded, &spec, &policy, &missing))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `nono undo ...`: exit 0, or 1 (diff: differences; restore: some paths
/// not restored), 125 on error.
fn undo_command(cmd: UndoCommand) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    let protected = policy::protected::load(&ctx)?;
    let req = match cmd {
        UndoCommand::List => undo::app::Request::List,
        UndoCommand::Diff { json, args } => undo::app::Request::Diff { json, args },
        UndoCommand::Restore {
            remove_new,
            dry_run,
            args,
        } => undo::app::Request::Restore {
            remove_new,
            dry_run,
            args,
        },
        UndoCommand::Prune => undo::app::Request::Prune,
    };
    Ok(ExitCode::from(undo::app::run(req, &ctx, &protected)?))
}

/// `nono --command NAME`: the same checks `run` makes, plus what the
/// kernel rules say about executing the file. Exit 0 not blocked, 1 blocked.
fn why_command(
    policy: &Policy,
    name: &OsString,
    path_var: Option<&std::ffi::OsStr>,
    ctx: &Context,
    json: bool,
) -> Result<ExitCode, Failure> {
    let found = exec::resolve(std::slice::from_ref(name), path_var, &ctx.cwd).ok();
    let block = match &found {
        Some(cmd) => policy.commands.check_file(name, &cmd.resolved),
        None => policy.commands.check_name(name),
    };
    let message = block.as_ref().map(|b| blocked_failure(name, b));
    let exec_rights = found
        .as_ref()
        .map(|c| policy.rights_at(&c.resolved).0.contains(Access::EXECUTE));
    let blocked = message
        .as_ref()
        .map(|m| (m.message.as_str(), m.hints.as_slice()));
    if json {
        let lifted = block.is_none() && {
            let default = policy::blocklist::Blocklist::build(&[], &[]).ok();
            default.is_some_and(|d| d.check(name.as_encoded_bytes()).is_some())
        };
        let doc = explain::why_command_json(name, found.as_ref(), blocked, lifted, exec_rights);
        out(explain::to_json_text(&doc))?;
    } else {
        out(explain::why_command(
            name,
            found.as_ref(),
            blocked,
            exec_rights,
        ))?;
    }
    Ok(ExitCode::from(if block.is_some() { 1 } else { 0 }))
}
