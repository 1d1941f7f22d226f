//! The one place where flags become a policy request: the command line
//! (already parsed by clap) and the profiles it names turn into a
//! [`PolicySpec`], the agent's extra arguments and environment, and the
//! command's environment plan. Nothing below this stage sees a clap type.
//!
//! `run` and `why` go through the same functions, so `why` answers for the
//! sandbox `run` with the same options would build.

use std::ffi::OsString;

use crate::cli::PolicyArgs;
use crate::error::Failure;
use crate::policy::{self, Access, Context, Policy, PolicySpec, Source};
use crate::profile::{self, CreateDirs, PathChecks};
use crate::{exec, output};

/// The one place where flags become a policy request: the profiles first,
/// then the flags add to them.
pub fn spec_from_args(
    args: &PolicyArgs,
    ctx: &Context,
    create: CreateDirs,
    checks: PathChecks,
) -> Result<(PolicySpec, Vec<std::path::PathBuf>), Failure> {
    let vars = profile::expand::Vars {
        ctx,
        env: &profile::expand::process_env,
    };
    let (mut spec, created) = profile::spec_for(
        &args.profile,
        args.auto_profile.as_deref(),
        &vars,
        create,
        checks,
    )?;
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

/// The policy for `spec`, built from `args` with `checks`, less the
/// blocklist's per-file split (see `Policy::build_deferred`: the caller
/// masks or splits once it knows whether the mount layer is up). With the checks
/// deferred, a missing path that a profile may name is looked for again
/// with the profiles' own checks, for an error that gives the file and
/// line.
pub fn build_policy(
    args: &PolicyArgs,
    spec: &PolicySpec,
    ctx: &Context,
    checks: PathChecks,
) -> Result<Policy, Failure> {
    match Policy::build_deferred(spec, ctx) {
        Ok(p) => Ok(p),
        Err(e @ policy::PolicyError::NotFound(_))
            if checks == PathChecks::Deferred
                && (!args.profile.is_empty() || args.auto_profile.is_some()) =>
        {
            spec_from_args(args, ctx, CreateDirs::No, PathChecks::Now)?;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The known agent `argv` starts, and, when no profile was named and
/// `--no-profile` was not given, its profile chosen for `policy`.
pub fn choose_agent(
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
pub fn insert_agent_args(
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

/// Without the mount layer, `.git/config` and `.git/hooks` can be kept
/// read-only only by carving the directories that hold them, which leaves
/// nothing creatable at the top of the project and git unable to commit.
/// The Landlock-only fallback leaves them writable instead, says so, and
/// `--require-isolation` refuses (SECURITY.md). Returns the policy to use
/// and the warning, when something changes.
pub fn git_fallback(
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

/// The command's environment, decided from nono's: see `policy::env`.
/// Logs names only, never values.
pub fn env_plan(
    spec: &PolicySpec,
) -> Result<(policy::env::EnvPolicy, policy::env::EnvPlan), Failure> {
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

/// The variables git and python need in the sandbox, added to `plan` once the policy
/// is final, before the command's environment is taken from the plan:
/// `GIT_OPTIONAL_LOCKS=0` where git would leave `index.lock` behind, and
/// `GIT_CONFIG_GLOBAL` where git's user configuration is unreadable. A
/// value the caller gives (environment or `--env`) is kept.
pub fn add_tool_env(plan: &mut policy::env::EnvPlan, policy: &Policy, ctx: &Context) {
    add_git_locks_env(plan, policy);
    add_git_config_env(plan, policy, ctx);
    add_python_bytecode_env(plan, policy);
}

/// A grant the user asked for, or a piece of one.
fn from_user(o: &policy::Origin) -> bool {
    use policy::Origin;
    match o {
        Origin::User { .. } => true,
        Origin::CarveOut { from, .. } | Origin::ExecSplit { from, .. } => from_user(from),
        _ => false,
    }
}

/// `PYTHONDONTWRITEBYTECODE=1` where a write grant has no delete rights:
/// python saves bytecode by renaming a temporary file into place, and where
/// it may not, the temporary file stays (one more per module and run).
fn add_python_bytecode_env(plan: &mut policy::env::EnvPlan, policy: &Policy) {
    let dirs: Vec<std::path::PathBuf> = policy
        .rules
        .iter()
        .filter(|r| r.kind == policy::Kind::Dir)
        .filter(|r| r.parts.iter().any(|(_, o)| from_user(o)))
        .filter(|r| {
            let a = r.access();
            a.contains(Access::WRITE) && !a.intersects(Access::DELETE.union(Access::DELETE_FILES))
        })
        .map(|r| r.path.clone())
        .collect();
    if dirs.is_empty() {
        return;
    }
    let reason = policy::env::Reason::PyBytecode { dirs };
    plan.set_by_nono("PYTHONDONTWRITEBYTECODE", "1".into(), reason);
}

/// `GIT_CONFIG_GLOBAL` for a policy that leaves git's user configuration
/// unreadable (see `policy::git::user_config_fallback`).
fn add_git_config_env(plan: &mut policy::env::EnvPlan, policy: &Policy, ctx: &Context) {
    let Some(f) = policy.git_user_config_fallback(&ctx.home) else {
        return;
    };
    let value = f.value.clone().into_os_string();
    let reason = policy::env::Reason::GitConfig {
        unreadable: f.unreadable,
        value: f.value,
    };
    if plan.set_by_nono("GIT_CONFIG_GLOBAL", value, reason) {
        tracing::debug!("GIT_CONFIG_GLOBAL set: git's user configuration is not readable");
    }
}

/// `GIT_OPTIONAL_LOCKS=0` for a policy under which git would leave
/// `index.lock` behind in a repository (see
/// `policy::git::lock_trap_dirs`).
fn add_git_locks_env(plan: &mut policy::env::EnvPlan, policy: &Policy) {
    let mut dirs = policy.git_dirs.clone();
    dirs.extend(policy.git_dirs_writable.iter().cloned());
    let trap = policy::git::lock_trap_dirs(policy, &dirs);
    if trap.is_empty() {
        return;
    }
    let reason = policy::env::Reason::GitLocks { git_dirs: trap };
    if plan.set_by_nono("GIT_OPTIONAL_LOCKS", "0".into(), reason) {
        tracing::debug!("GIT_OPTIONAL_LOCKS set: a repository cannot be renamed in");
    }
}

/// The profiles' `[agent] state_env` variables, set last over the
/// command's environment (a later profile's value wins).
pub fn with_agent_env(
    mut env: Vec<(OsString, OsString)>,
    agent_env: &[policy::spec::AgentEnv],
) -> Vec<(OsString, OsString)> {
    for a in agent_env {
        env.retain(|(k, _)| k != a.name.as_str());
        env.push((a.name.clone().into(), a.value.clone().into_os_string()));
    }
    env
}
