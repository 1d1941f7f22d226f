//! nono: run a command in a kernel-enforced capability sandbox.

mod cli;
mod exec;
mod explain;
mod manpage;
mod output;
mod policy;
mod profile;
mod sandbox;
mod setup;
mod tmpdir;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use cli::{
    Cli, Command, CompletionShell, CompletionsArgs, OpArg, PolicyArgs, ProfileCommand, RunArgs,
    SetupArgs, WhyArgs,
};
use policy::{Access, Context, Op, Policy, PolicySpec, Source};

/// nono's own failures: exit 125 unless the error says otherwise.
struct Failure {
    code: u8,
    message: String,
    hints: Vec<String>,
}

impl Failure {
    fn new(code: u8, message: impl std::fmt::Display, hints: Vec<String>) -> Failure {
        Failure {
            code,
            message: message.to_string(),
            hints,
        }
    }
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
        Err(f) => {
            eprintln!("nono: {}", output::text(&f.message));
            for h in &f.hints {
                eprintln!("hint: {}", output::text(h));
            }
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
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // `nono` alone: an error like any other, not a help page on stderr.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("nono: no subcommand given");
            eprintln!("hint: see 'nono --help'");
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
    eprintln!("nono: {}", output::text(message));
    for l in rendered.lines() {
        if let Some(tip) = l.trim().strip_prefix("tip: ") {
            eprintln!("hint: {}", output::text(tip));
        }
    }
    eprintln!("hint: see 'nono --help'");
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
    let (mut spec, created) = profile::spec_for(&args.profile, &vars, create)?;
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
    // The command inherits nono's PATH: its directories are where it finds
    // programs, so they are scanned for blocked ones.
    spec.search_path = std::env::var_os("PATH");
    Ok((spec, created))
}

fn run_command(args: RunArgs) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    // Only a real run creates the directories profiles ask for.
    let create = if args.dry_run {
        profile::CreateDirs::No
    } else {
        profile::CreateDirs::Yes
    };
    profile::defer_path_checks(true);
    let (spec, created) = spec_from_args(&args.policy, &ctx, create)?;
    let mut policy = match Policy::build(&spec, &ctx) {
        Ok(p) => p,
        Err(e @ policy::PolicyError::NotFound(_)) if !args.policy.profile.is_empty() => {
            // A profile may name it: load the profiles again with their
            // path checks, for an error that gives the file and line.
            profile::defer_path_checks(false);
            spec_from_args(&args.policy, &ctx, profile::CreateDirs::No)?;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let invoked = args.command.first().cloned().unwrap_or_default();
    let path_var = std::env::var_os("PATH");
    let cmd = match exec::resolve(&args.command, path_var.as_deref(), &ctx.cwd) {
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
                print!("{}", explain::blocked_command(Some(&f.message)));
                return Ok(ExitCode::SUCCESS);
            }
            return Err(f);
        }
    };
    let block = policy.commands.check_file(&invoked, &cmd.resolved);

    if args.dry_run {
        let layer = sandbox::mount_layer(&policy);
        if let Ok(l) = &layer {
            policy.add_rules(l.rules());
        }
        let view = kernel_view(&policy);
        let tmp_base = policy::decide::TmpBase::new(&tmpdir::base_dir()).base;
        let guarantees = sandbox::guarantees(&policy, args.keep_caps);
        let refusal = block.as_ref().map(|b| blocked_failure(&invoked, b).message);
        if args.json {
            let mut doc = explain::dry_run_json(&policy, &cmd, &view, &tmp_base, &guarantees);
            doc["blocked"] = serde_json::json!(refusal);
            doc["create"] = serde_json::json!(created
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect::<Vec<_>>());
            doc["mount_layer"] = explain::mount_layer_json(&layer, args.require_isolation);
            print!("{}", explain::to_json_text(&doc));
        } else {
            let style = output::Style::for_stdout();
            print!(
                "{}",
                explain::dry_run(&policy, &cmd, &view, &tmp_base, style, refusal.as_deref())
            );
            print!("{}", explain::enforcement(&guarantees));
            print!(
                "{}",
                explain::mount_layer_text(&layer, args.require_isolation)
            );
            if !created.is_empty() {
                let dirs: Vec<String> = created.iter().map(|p| output::path(p)).collect();
                println!();
                println!(
                    "missing now, created (mode 0700) and granted by the profile when nono runs: {}",
                    dirs.join(", ")
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(b) = &block {
        return Err(blocked_failure(&invoked, b));
    }

    // Refuse before creating anything if this kernel cannot enforce it.
    sandbox::check(&policy)?;
    let run_dir = tmpdir::create()?;
    // Rules are opened without following symlinks: bind the directory by
    // its canonical path, even when TMPDIR is reached through a symlink.
    let run_path = canonical(&run_dir.path);
    // The mount-namespace layer first: its mounts must exist before the
    // Landlock rules are opened. The run directory becomes the private
    // /tmp where no grant lies in /tmp; otherwise it stays where it is.
    let planned = sandbox::mount_layer_plan(&policy, Some(&run_path));
    let active = match &planned {
        Ok(layer) => sandbox::enter_mount_layer(layer)?.map(|()| layer),
        Err(reason) => Err(reason.clone()),
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
            policy.add_tmpdir(&run_path);
            run_dir.path.clone()
        }
    };
    tracing::debug!(rules = policy.rules.len(), tmpdir = %output::path(&tmp_path), "applying sandbox");
    for r in &policy.rules {
        tracing::trace!(path = %output::path(&r.path), access = %r.access(), "rule");
    }

    exec::seal_fds(&[run_dir.lock_fd()])?;
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

    let env = command_env(&tmp_path);
    let err = exec::exec(&cmd, &env);
    // exec returned: the command did not start. Keep the lock descriptor
    // alive until here so the directory is not cleaned up under us.
    drop(run_dir);
    Err(err.into())
}

fn canonical(p: &std::path::Path) -> std::path::PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `nono: 'rm' is blocked (file destruction)`, exit 126.
fn blocked_failure(invoked: &std::ffi::OsStr, b: &policy::programs::CommandBlock) -> Failure {
    Failure::new(
        126,
        b.message(invoked),
        vec![format!("to run it anyway: {}", b.allow_flags())],
    )
}

/// The environment of the command: nono's own, with every temporary
/// directory variable pointing at the private run directory.
fn command_env(tmp: &std::path::Path) -> Vec<(OsString, OsString)> {
    const TMP_VARS: [&str; 3] = ["TMPDIR", "TMP", "TEMP"];
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !TMP_VARS.iter().any(|t| k == t))
        .collect();
    for t in TMP_VARS {
        env.push((t.into(), tmp.as_os_str().to_os_string()));
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
fn why(args: WhyArgs) -> Result<ExitCode, Failure> {
    use policy::decide::{self, GrantFlag, TmpBase};
    let ctx = Context::from_process()?;
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
    let mut policy = build(&[])?;
    let layer = sandbox::mount_layer(&policy).ok();
    if let Some(l) = &layer {
        policy.add_rules(l.why_rules());
    }
    if let Some(name) = &args.command {
        return why_command(&policy, name, &ctx, args.json);
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
            print!("{}", explain::to_json_text(&doc));
        } else {
            print!(
                "{}",
                explain::why_net(&d, &layers, refusal.as_deref(), output::Style::for_stdout())
            );
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
    if args.json {
        print!("{}", explain::to_json_text(&explain::why_json(&d)));
    } else {
        print!("{}", explain::why(&d, output::Style::for_stdout()));
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
    if args.json {
        print!("{}", explain::to_json_text(&explain::setup_json(&report)));
    } else {
        print!(
            "{}",
            explain::setup_text(&report, output::Style::for_stdout())
        );
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
    clap_complete::generate(shell, &mut cmd, "nono", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

fn man() -> Result<ExitCode, Failure> {
    use std::io::Write as _;
    let page = manpage::render()
        .map_err(|e| Failure::new(125, format!("cannot render the man page: {e}"), vec![]))?;
    std::io::stdout()
        .write_all(&page)
        .map_err(|e| Failure::new(125, format!("cannot write the man page: {e}"), vec![]))?;
    Ok(ExitCode::SUCCESS)
}

fn profile_command(cmd: ProfileCommand) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    let vars = profile::expand::Vars {
        ctx: &ctx,
        env: &profile::expand::process_env,
    };
    match cmd {
        ProfileCommand::List => print!("{}", profile::show::list(&profile::list(&vars))),
        ProfileCommand::Show { name } => {
            let loaded = profile::load_all(std::slice::from_ref(&name), &vars)?;
            let mut spec = PolicySpec::default();
            let missing = profile::apply(&loaded, &vars, &mut spec, profile::CreateDirs::No)?;
            let policy = Policy::build(&spec, &ctx)?;
            print!("{}", profile::show::show(&loaded, &spec, &policy, &missing));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `nono why --command NAME`: the same checks `run` makes, plus what the
/// kernel rules say about executing the file.
/// `nono why --command NAME`: the same checks `run` makes, plus what the
/// kernel rules say about executing the file. Exit 0 not blocked, 1 blocked.
fn why_command(
    policy: &Policy,
    name: &OsString,
    ctx: &Context,
    json: bool,
) -> Result<ExitCode, Failure> {
    let path_var = std::env::var_os("PATH");
    let found = exec::resolve(std::slice::from_ref(name), path_var.as_deref(), &ctx.cwd).ok();
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
        print!("{}", explain::to_json_text(&doc));
    } else {
        print!(
            "{}",
            explain::why_command(name, found.as_ref(), blocked, exec_rights)
        );
    }
    Ok(ExitCode::from(if block.is_some() { 1 } else { 0 }))
}
