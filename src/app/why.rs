//! `nono why`: would `run` with the same options let the command reach
//! a path, a host, a port, a variable or a program, and why.

use std::ffi::OsString;
use std::process::ExitCode;

use super::{blocked_failure, print, AppError};
use crate::cli::{OpArg, WhyArgs};
use crate::error::{Diagnostic as _, Exit, Failure};
use crate::policy::{self, Access, Context, Op, Policy};
use crate::profile::{CreateDirs, PathChecks};
use crate::request::{add_tool_env, choose_agent, env_plan, git_fallback, spec_from_args};
use crate::{exec, output, proxy, report, sandbox, tmpdir};

/// `nono why`: exit 0 when allowed, 1 when denied, 125 on error.
pub fn why(mut args: WhyArgs) -> Result<ExitCode, Failure> {
    use policy::decide::{self, GrantFlag, TmpBase};
    let ctx = Context::from_process()?;
    policy::programs::cache::configure(&ctx.home, &policy::state_base(&ctx.home), false);
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
        let (spec, _) = spec_from_args(&with, &ctx, CreateDirs::No, PathChecks::Now)?;
        Ok(Policy::build(&spec, &ctx)?)
    };
    // What build(&[]) gives, keeping the request for the environment and
    // the command's PATH.
    let (spec, _) = spec_from_args(&args.policy, &ctx, CreateDirs::No, PathChecks::Now)?;
    let mut policy = Policy::build_deferred(&spec, &ctx)?;
    let layer = sandbox::mount_layer(&policy).ok();
    match &layer {
        Some(l) => l.install(&mut policy, true),
        None => {
            if let Some((p, _)) = git_fallback(&spec, &ctx, &policy)? {
                policy = p;
            }
            policy.split_programs();
        }
    }
    if let Some(name) = questions.first() {
        if questions.len() > 1
            || args.path.is_some()
            || args.command.is_some()
            || args.connect.is_some()
            || args.bind.is_some()
        {
            return Err(AppError::OneQuestion.into());
        }
        let (env_policy, mut plan) = env_plan(&spec)?;
        add_tool_env(&mut plan, &policy, &ctx);
        // A variable nono sets for this policy is in the plan; any other
        // name is decided as if it were in the environment.
        let e = match plan.entries.iter().find(|e| e.name == *name) {
            Some(e) if e.reason.for_tools() => e.clone(),
            _ => env_policy.decide(name, std::env::var_os(name).as_deref()),
        };
        let why = report::env::WhyEnv {
            e: &e,
            style: output::Style::for_stdout(),
        };
        print(&why, args.json)?;
        let removed = e.action == policy::env::Action::Removed;
        return Ok(Exit::answer(!removed).into());
    }
    if let Some(name) = &args.command {
        return why_command(&policy, name, spec.search_path.as_deref(), &ctx, args.json);
    }
    if let Some(q) = &args.host {
        let (host, port) = policy::net::parse_query(q)?;
        let d = policy::net::decide_host(&policy.net, &host, port);
        let layers = if policy.net.host_mode() {
            report::net::host_mode_layers(proxy::proxy_addr(&policy.net.allowlist()))
        } else {
            vec![]
        };
        let why = report::net::WhyHost {
            d: &d,
            layers: &layers,
            style: output::Style::for_stdout(),
        };
        print(&why, args.json)?;
        return Ok(Exit::answer(d.allowed).into());
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
        let why = report::net::WhyNet {
            d: &d,
            layers: &layers,
            refusal: refusal.as_deref(),
            style: output::Style::for_stdout(),
        };
        print(&why, args.json)?;
        return Ok(Exit::answer(d.allowed).into());
    }
    let Some(path) = args.path.clone() else {
        return Err(AppError::NothingToAsk.into());
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
            "this kernel cannot enforce the policy: run would refuse to start (exit {}): {e}",
            Exit::Failure.code()
        ));
    }
    if let Some(n) = auto_note {
        d.notes.push(n);
    }
    let why = report::why::WhyPath {
        d: &d,
        style: output::Style::for_stdout(),
    };
    print(&why, args.json)?;
    Ok(Exit::answer(d.allowed).into())
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
    let message = block.as_ref().map(|b| {
        let e = blocked_failure(name, b);
        (e.to_string(), e.hints())
    });
    let exec_rights = found
        .as_ref()
        .map(|c| policy.rights_at(&c.resolved).0.contains(Access::EXECUTE));
    let blocked = message
        .as_ref()
        .map(|(message, hints)| (message.as_str(), hints.as_slice()));
    let lifted = block.is_none() && {
        let default = policy::blocklist::Blocklist::build(&[], &[]).ok();
        default.is_some_and(|d| d.check(name.as_encoded_bytes()).is_some())
    };
    let why = report::why::WhyCommand {
        name,
        found: found.as_ref(),
        blocked,
        lifted,
        kernel_exec: exec_rights,
    };
    print(&why, json)?;
    Ok(Exit::answer(block.is_none()).into())
}
