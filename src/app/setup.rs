//! `nono setup`: what this kernel can enforce.

use std::process::ExitCode;

use super::{host_mode_unavailable, out, AppError};
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
        return Ok(ExitCode::SUCCESS);
    }
    let report = setup::detect();
    let hosts = host_mode_unavailable();
    if args.json {
        let mut doc = report::setup_json(&report);
        doc["host_allowlist"] = serde_json::json!({
            "available": hosts.is_none(),
            "unavailable_reason": hosts,
        });
        out(report::to_json_text(&doc))?;
    } else {
        let mut text = report::setup_text(&report, output::Style::for_stdout());
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
    Ok(Exit::answer(report.usable()).into())
}
