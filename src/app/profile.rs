//! `nono profile list | show NAME`.

use std::process::ExitCode;

use super::print_text;
use crate::cli::ProfileCommand;
use crate::error::{Exit, Failure};
use crate::policy::{self, Context, Policy, PolicySpec};
use crate::{profile, report};

pub fn profile_command(cmd: ProfileCommand) -> Result<ExitCode, Failure> {
    let ctx = Context::from_process()?;
    policy::programs::cache::configure(&ctx.home, &policy::state_base(&ctx.home), false);
    let vars = profile::expand::Vars {
        ctx: &ctx,
        env: &profile::expand::process_env,
    };
    match cmd {
        ProfileCommand::List => print_text(&report::profile::ProfileList {
            items: &profile::list(&vars),
        })?,
        ProfileCommand::Show { name } => {
            let loaded = profile::load_all(std::slice::from_ref(&name), &vars)?;
            let mut spec = PolicySpec::default();
            let missing = profile::apply(
                &loaded,
                &vars,
                &mut spec,
                profile::CreateDirs::No,
                profile::PathChecks::Now,
            )?;
            let policy = Policy::build(&spec, &ctx)?;
            print_text(&report::profile::ProfileShow {
                loaded: &loaded,
                spec: &spec,
                policy: &policy,
                missing: &missing,
            })?;
        }
    }
    Ok(Exit::Success.into())
}
