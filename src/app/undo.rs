//! `nono undo ...`: the snapshots taken by `run --snapshot`.

use std::process::ExitCode;

use crate::cli::UndoCommand;
use crate::error::Failure;
use crate::policy::{self, Context};
use crate::undo;

/// `nono undo ...`: exit 0, or 1 (diff: differences; restore: some paths
/// not restored), 125 on error.
pub fn undo_command(cmd: UndoCommand) -> Result<ExitCode, Failure> {
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
    Ok(undo::app::run(req, &ctx, &protected)?.into())
}
