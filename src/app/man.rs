//! `nono man`: the man page, generated from the clap definitions.

use std::process::ExitCode;

use super::{out, AppError};
use crate::error::{Exit, Failure};
use crate::manpage;

pub fn man() -> Result<ExitCode, Failure> {
    let page = manpage::render().map_err(AppError::ManPage)?;
    out(page)?;
    Ok(Exit::Success.into())
}
