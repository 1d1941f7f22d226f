//! `nono setup`: what this kernel can enforce.

use std::process::ExitCode;

use super::{host_mode_unavailable, out, print, AppError};
use crate::cli::SetupArgs;
use crate::error::{Exit, Failure};
use crate::{output, report, sandbox, setup};

/// `nono setup`: exit 0 when nono can run commands here, 1 when it cannot.
pub fn setup(args: SetupArgs) -> Result<ExitCode, Failure> {
    if args.apparmor_profile {
        let exe = std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .map_err(AppError::OwnPath)?;
        out(sandbox::apparmor_profile(&exe))?;
        return Ok(Exit::Success.into());
    }
    let report = setup::detect();
    let hosts = host_mode_unavailable();
    let setup = report::setup::Setup {
        report: &report,
        hosts_unavailable: hosts.as_deref(),
        privileged: sandbox::privileged(),
        style: output::Style::for_stdout(),
    };
    print(&setup, args.json)?;
    Ok(Exit::answer(report.usable()).into())
}
