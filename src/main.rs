//! nono: run a command in a kernel-enforced capability sandbox.

mod cli;
mod exec;
mod explain;
mod output;
mod policy;
mod sandbox;
mod tmpdir;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, OpArg, PolicyArgs, RunArgs, WhyArgs};
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

impl From<tmpdir::TmpError> for Failure {
    fn from(e: tmpdir::TmpError) -> Failure {
        Failure::new(125, e, vec![])
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
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(125);
        }
        _ => {}
    }
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("invalid usage");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("nono: {}", output::text(first));
    for l in lines {
        let l = l.trim();
        if let Some(tip) = l.strip_prefix("tip: ") {
            eprintln!("hint: {}", output::text(tip));
        }
    }
    eprintln!("hint: see 'nono --help'");
    ExitCode::from(125)
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NONO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("nono={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(args) => run_command(args),
        Command::Why(args) => why(args),
    }
}

/// The one place where flags become a policy request.
fn spec_from_args(args: &PolicyArgs) -> PolicySpec {
    let mut spec = PolicySpec::default();
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
    spec
}

fn run_command(args: RunArgs) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    let spec = spec_from_args(&args.policy);
    let mut policy = Policy::build(&spec, &ctx)?;
    let path_var = std::env::var_os("PATH");
    let cmd = exec::resolve(&args.command, path_var.as_deref(), &ctx.cwd)?;

    if args.dry_run {
        let view = kernel_view(&policy);
        print!(
            "{}",
            explain::dry_run(&policy, &cmd, &view, &tmpdir::base_dir())
        );
        return Ok(ExitCode::SUCCESS);
    }

    // Refuse before creating anything if this kernel cannot enforce it.
    sandbox::check(&policy)?;
    let run_dir = tmpdir::create()?;
    policy.add_tmpdir(&run_dir.path);
    tracing::debug!(rules = policy.rules.len(), tmpdir = %run_dir.path.display(), "applying sandbox");
    for r in &policy.rules {
        tracing::trace!(path = %r.path.display(), access = %r.access(), "rule");
    }

    exec::seal_fds(&[run_dir.lock_fd()])?;
    let enforced = sandbox::apply(&policy)?;
    tracing::debug!(
        abi = enforced.abi,
        rules = enforced.rules,
        "sandbox enforced"
    );

    let env = command_env(&run_dir.path);
    let err = exec::exec(&cmd, &env);
    // exec returned: the command did not start. Keep the lock descriptor
    // alive until here so the directory is not cleaned up under us.
    drop(run_dir);
    Err(err.into())
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
            refusal: sandbox::check(policy).err().map(|e| e.to_string()),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        explain::KernelView {
            summary: sandbox::backend_summary(),
            refusal: sandbox::check(policy).err().map(|e| e.to_string()),
        }
    }
}

fn why(args: WhyArgs) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    let spec = spec_from_args(&args.policy);
    let policy = Policy::build(&spec, &ctx)?;
    let op = match args.op {
        OpArg::Read => Op::Read,
        OpArg::Write => Op::Write,
        OpArg::Delete => Op::Delete,
        OpArg::Exec => Op::Exec,
    };
    let d = policy::decide::decide(&policy, &args.path, op, &ctx)?;
    print!("{}", explain::why(&d));
    Ok(ExitCode::SUCCESS)
}
